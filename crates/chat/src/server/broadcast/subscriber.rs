//! One broadcast connection, shared by two writers that never write at the
//! same time: the broadcaster, with non-blocking writes while the
//! subscriber keeps up, and the subscriber's own thread, with blocking
//! writes while it catches up. Who may write now is the [`Owner`]; the
//! broadcaster hands the socket over as soon as a pass does not fit in it,
//! so a subscriber that stops reading never holds the broadcaster up.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::frame_boundary::FrameBoundary;
use super::is_timeout;
use crate::wire::Codec;

/// Who may write to a subscriber's socket now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// The broadcaster, with non-blocking writes: the subscriber keeps up.
    Broadcaster,
    /// The subscriber's own thread, catching up with blocking writes.
    OwnThread,
    /// Nobody: the connection is over.
    Closed,
}

pub(super) struct SubscriberState {
    pub(super) owner: Owner,
    /// Position in the ring of the next byte to send to this subscriber.
    pub(super) cursor: u64,
    /// Where the bytes sent so far stop: between two frames or inside one.
    pub(super) framing: FrameBoundary,
}

impl SubscriberState {
    /// Records that `sent` went out.
    pub(super) fn advance(&mut self, sent: &[u8]) {
        self.cursor += sent.len() as u64;
        self.framing.advance(sent);
    }
}

/// One broadcast connection, shared by the broadcaster and its own thread.
pub(super) struct Subscriber {
    pub(super) stream: Arc<TcpStream>,
    state: Mutex<SubscriberState>,
    /// Signalled when the broadcaster hands the socket to the own thread.
    pub(super) handed_over: Condvar,
}

impl Subscriber {
    /// A subscriber fed by the broadcaster from position `cursor` on, on a
    /// socket already non-blocking.
    pub(super) fn new(stream: Arc<TcpStream>, cursor: u64, codec: Codec) -> Self {
        Self {
            stream,
            state: Mutex::new(SubscriberState {
                owner: Owner::Broadcaster,
                cursor,
                framing: FrameBoundary::new(codec),
            }),
            handed_over: Condvar::new(),
        }
    }

    /// The broadcaster offers the ring's bytes `from..to` (in `pass`).
    pub(super) fn offer(&self, from: u64, to: u64, pass: &[u8]) {
        let mut state = self.lock();
        if state.owner != Owner::Broadcaster || state.cursor >= to {
            return;
        }
        if state.cursor < from {
            // Bytes it needs are gone from this pass: let its thread judge.
            return self.hand_over(&mut state, Owner::OwnThread);
        }
        let unsent = &pass[(state.cursor - from) as usize..];
        match (&*self.stream).write(unsent) {
            Ok(n) => state.advance(&unsent[..n]),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return self.hand_over(&mut state, Owner::Closed),
        }
        if state.cursor < to {
            self.hand_over(&mut state, Owner::OwnThread);
        }
    }

    pub(super) fn hand_over(&self, state: &mut SubscriberState, owner: Owner) {
        state.owner = owner;
        self.handed_over.notify_one();
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, SubscriberState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::server::test_sockets::socket_pair;

    /// A subscriber at `cursor` on a fresh connection, and the peer's end.
    fn subscriber_at(cursor: u64) -> (Subscriber, TcpStream) {
        let (server_end, client) = socket_pair();
        server_end.set_nonblocking(true).unwrap();
        (
            Subscriber::new(Arc::new(server_end), cursor, Codec::Json),
            client,
        )
    }

    fn owner_and_cursor(subscriber: &Subscriber) -> (Owner, u64) {
        let state = subscriber.lock();
        (state.owner, state.cursor)
    }

    #[test]
    fn a_subscriber_keeping_up_is_written_from_its_cursor() {
        let (subscriber, mut client) = subscriber_at(3);
        subscriber.offer(0, 9, b"abcdefgh\n");
        assert_eq!(owner_and_cursor(&subscriber), (Owner::Broadcaster, 9));
        let mut received = [0u8; 6];
        client.read_exact(&mut received).unwrap();
        assert_eq!(&received, b"defgh\n");
    }

    #[test]
    fn a_subscriber_behind_the_pass_is_handed_to_its_own_thread() {
        let (subscriber, _client) = subscriber_at(2);
        subscriber.offer(5, 9, b"fgh\n");
        assert_eq!(owner_and_cursor(&subscriber), (Owner::OwnThread, 2));
    }

    #[test]
    fn a_pass_its_socket_cannot_take_whole_is_left_to_its_own_thread() {
        let (subscriber, _client) = subscriber_at(0);
        // Far more than both socket buffers hold.
        let pass = vec![b'x'; 64 * 1024 * 1024];
        subscriber.offer(0, pass.len() as u64, &pass);
        let (owner, cursor) = owner_and_cursor(&subscriber);
        assert_eq!(owner, Owner::OwnThread);
        assert!(cursor < pass.len() as u64);
    }

    #[test]
    fn a_socket_the_broadcaster_does_not_own_is_left_alone() {
        let (subscriber, _client) = subscriber_at(0);
        subscriber.lock().owner = Owner::OwnThread;
        subscriber.offer(0, 4, b"abc\n");
        assert_eq!(owner_and_cursor(&subscriber), (Owner::OwnThread, 0));
        let (level, _peer) = subscriber_at(4);
        level.offer(0, 4, b"abc\n");
        assert_eq!(owner_and_cursor(&level), (Owner::Broadcaster, 4));
    }

    #[test]
    fn what_was_sent_moves_the_cursor_and_the_frame_boundary() {
        let (subscriber, _client) = subscriber_at(0);
        let mut state = subscriber.lock();
        state.advance(b"abc");
        assert_eq!(state.cursor, 3);
        assert_eq!(state.framing.before_last_words(), Some(&b"\n"[..]));
        state.advance(b"\n");
        assert_eq!(state.framing.before_last_words(), Some(&b""[..]));
    }
}
