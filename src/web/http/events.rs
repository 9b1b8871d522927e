//! Server-sent events (the HTML standard's `text/event-stream`): what the
//! pages read to get new lines without a reload. Events are gathered in a
//! buffer and written together, so a burst costs one write; the browser's
//! `EventSource` reconnects by itself and names the last event it had
//! (`Last-Event-ID`), which is how a page gets what it missed.

use std::io::{self, ErrorKind, Write};
use std::net::TcpStream;

/// How long, in milliseconds, a browser waits before reconnecting a stream
/// that broke.
pub const RETRY_MS: u32 = 1000;

/// An event stream being written on a connection.
pub struct EventStream<'a> {
    stream: &'a TcpStream,
    pending: Vec<u8>,
}

impl<'a> EventStream<'a> {
    /// A stream on `stream`, whose first words tell the browser how soon to
    /// reconnect.
    pub fn new(stream: &'a TcpStream) -> Self {
        Self {
            stream,
            pending: format!("retry: {RETRY_MS}\n\n").into_bytes(),
        }
    }

    /// Adds an event named `name` carrying `data` (a line per `data:`
    /// field, so that no text can end the event early), numbered `id` if
    /// given: the browser sends back the last number it had when it
    /// reconnects.
    pub fn event(&mut self, name: &str, id: Option<u64>, data: &str) {
        let out = &mut self.pending;
        if let Some(id) = id {
            out.extend_from_slice(format!("id: {id}\n").as_bytes());
        }
        out.extend_from_slice(format!("event: {name}\n").as_bytes());
        for line in data.split(['\n', '\r']) {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }

    /// Adds a comment, which the browser ignores: a heartbeat.
    pub fn comment(&mut self) {
        self.pending.extend_from_slice(b":\n\n");
    }

    /// Bytes added and not yet written.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Writes what was added.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut stream = self.stream;
        stream.write_all(&self.pending)?;
        self.pending.clear();
        stream.flush()
    }

    /// Whether the browser has closed the stream (the page was closed or
    /// reloaded). A stream's reader sends nothing after its request, so an
    /// end of file, seen without waiting, says it left.
    pub fn peer_gone(&self) -> bool {
        peer_gone(self.stream)
    }
}

/// Whether the peer of `stream` has closed it, seen without waiting.
pub fn peer_gone(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let peeked = stream.peek(&mut [0u8; 1]);
    let restored = stream.set_nonblocking(false).is_ok();
    match peeked {
        Ok(0) => true,
        Ok(_) => !restored,
        Err(e) => e.kind() != ErrorKind::WouldBlock || !restored,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

    use super::*;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (client, listener.accept().unwrap().0)
    }

    #[test]
    fn events_are_framed_and_no_text_ends_one_early() {
        let (mut client, server) = pair();
        let mut events = EventStream::new(&server);
        events.event("line", Some(7), "a\nevent: forged\r\nb");
        events.comment();
        events.flush().unwrap();
        assert_eq!(events.pending(), 0);
        drop(server);
        let mut got = String::new();
        client.read_to_string(&mut got).unwrap();
        assert_eq!(
            got,
            "retry: 1000\n\nid: 7\nevent: line\ndata: a\ndata: event: forged\ndata: \ndata: b\n\n:\n\n"
        );
    }

    #[test]
    fn a_closed_peer_is_seen_and_an_open_one_is_not() {
        let (client, server) = pair();
        assert!(!peer_gone(&server));
        drop(client);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !peer_gone(&server) {
            assert!(std::time::Instant::now() < deadline, "close not seen");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
