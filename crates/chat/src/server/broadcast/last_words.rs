//! Last words: a subscriber lapped by the ring cannot receive every line
//! any more, so it is told why (a final `ko`) and disconnected, never fed a
//! gap in silence as Python's PUB socket would.
//!
//! Its socket is full by then (that is how it fell behind), so the notice
//! waits for room, up to [`LAST_WORDS_WAIT`](super::LAST_WORDS_WAIT), on the subscriber's own
//! thread, where waiting holds up no one else: a subscriber that reads
//! again within that time reads every line it was sent, then the notice,
//! then the end of the connection. One that stays stalled longer finds,
//! when it reads again, the lines already in its socket buffers and then
//! the end of the connection, with no notice: a client says it lost the
//! server.
//!
//! The notice must be a frame of its own: on JSON lines it starts on a
//! fresh line even if the last write stopped mid-line (the client refuses
//! that cut line as malformed, then reads the notice); on ZMTP, where a
//! frame cut short cannot be ended, it is written only between two frames,
//! and a subscriber lapped mid-frame is closed without one.

use std::io::Write;

use super::BACKLOG_BYTES;
use super::subscription::Subscription;
use crate::wire::Response;

impl Subscription {
    /// Tells a lapped subscriber why it is being dropped, waiting up to
    /// its `last_words_wait` for room in its socket, on a line of its own
    /// even if the last write stopped mid-line.
    pub(super) fn say_too_slow(&self) {
        let reason = format!(
            "disconnected: more than {} MiB of broadcasts behind",
            BACKLOG_BYTES / (1024 * 1024)
        );
        let Some(prefix) = self.subscriber.lock().framing.before_last_words() else {
            return;
        };
        let mut line = prefix.to_vec();
        let notice = Response::ko(reason);
        let codec = self.hub.codec();
        codec.push_frame_with(&mut line, |out| codec.encode_response(&notice, out));
        let stream = &self.subscriber.stream;
        let blocking = stream.set_nonblocking(false).is_ok();
        if blocking && stream.set_write_timeout(Some(self.last_words_wait)).is_ok() {
            let _ = (&**stream).write_all(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::Arc;

    use super::super::hub::Hub;
    use crate::server::test_sockets::socket_pair;
    use crate::wire::{Codec, zmtp};

    const NOTICE: &str =
        "{\"response\":\"ko\",\"error\":\"disconnected: more than 4 MiB of broadcasts behind\"}\n";

    /// What the peer of a subscriber that was sent `sent`, then found
    /// lapped, receives before the connection ends.
    fn last_words_after(sent: &[u8], codec: Codec) -> Vec<u8> {
        let hub = Hub::new(codec);
        let (server_end, mut client) = socket_pair();
        let subscription = hub.subscribe(Arc::new(server_end), None).unwrap();
        subscription.subscriber.lock().advance(sent);
        subscription.say_too_slow();
        drop(subscription);
        let mut received = Vec::new();
        client.read_to_end(&mut received).unwrap();
        received
    }

    #[test]
    fn last_words_start_on_a_line_of_their_own() {
        let after_a_whole_line = last_words_after(b"one\n", Codec::Json);
        assert_eq!(String::from_utf8_lossy(&after_a_whole_line), NOTICE);
        let mid_line = last_words_after(b"one\ntw", Codec::Json);
        assert_eq!(String::from_utf8_lossy(&mid_line), format!("\n{NOTICE}"));
    }

    #[test]
    fn on_zmtp_last_words_wait_for_a_frame_boundary() {
        let mut frame = Vec::new();
        zmtp::push_frame_with(&mut frame, 0, |out| out.extend_from_slice(b"body"));
        let cut = &frame[..frame.len() - 1];
        assert!(last_words_after(cut, Codec::Pickle).is_empty());
        let whole = last_words_after(&frame, Codec::Pickle);
        assert!(!whole.is_empty());
        let mut frames = frame.clone();
        frames.extend_from_slice(&frame);
        assert_eq!(last_words_after(&frames, Codec::Pickle), whole);
    }
}
