//! Helpers shared by the robustness and soak tests, on top of `common`:
//! a broadcast reader that tells a closed connection from a quiet one, a
//! handshake that proves a subscriber of a server process is registered,
//! and probes that find out whether the server admitted a connection.
//!
//! Timeouts here are failure guards or "nothing came yet" probes, never
//! assertions about speed.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use chat_lab::process::{QUIET, SYNC_PREFIX, until_heard};

use crate::common::{Conn, PATIENCE, ok, wait_until};

/// The start of every `ko` line the server sends.
pub const KO_START: &[u8] = b"{\"response\":\"ko\",\"error\":\"";

/// What reading a broadcast connection gave.
#[derive(Debug)]
pub enum Next {
    /// A whole line, without its `\n`.
    Line(String),
    /// The server closed (or reset) the connection; `fragment` holds the
    /// bytes of an unfinished last line, if any.
    Closed { fragment: Vec<u8> },
    /// Nothing arrived within the timeout; the connection is still open.
    Quiet,
}

/// A raw broadcast connection, read line by line.
pub struct LineConn {
    reader: BufReader<TcpStream>,
    /// Bytes of a line whose end has not arrived yet.
    pending: Vec<u8>,
    /// The socket's read timeout, set only when it changes: a system call
    /// per line would weigh on the soak test.
    timeout: Option<Duration>,
}

impl LineConn {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        Self {
            reader: BufReader::new(stream),
            pending: Vec::new(),
            timeout: None,
        }
    }

    /// The next line, waiting up to `timeout`. A line cut by a timeout is
    /// kept and completed by a later call.
    pub fn next(&mut self, timeout: Duration) -> Next {
        if self.timeout != Some(timeout) {
            self.reader
                .get_ref()
                .set_read_timeout(Some(timeout))
                .unwrap();
            self.timeout = Some(timeout);
        }
        let got = self.reader.read_until(b'\n', &mut self.pending);
        let fragment = std::mem::take(&mut self.pending);
        match got {
            Ok(_) if fragment.last() == Some(&b'\n') => {
                let line = &fragment[..fragment.len() - 1];
                Next::Line(String::from_utf8_lossy(line).into_owned())
            }
            Ok(_) => Next::Closed { fragment },
            Err(e) if is_timeout(&e) => {
                self.pending = fragment;
                Next::Quiet
            }
            Err(_) => Next::Closed { fragment },
        }
    }

    /// The next line that is not a handshake; panics if none comes.
    pub fn next_message(&mut self) -> serde_json::Value {
        loop {
            match self.next(PATIENCE) {
                Next::Line(line) => {
                    let frame: serde_json::Value = serde_json::from_str(&line).unwrap();
                    if !is_sync(&frame) {
                        return frame;
                    }
                }
                other => panic!("expected a broadcast line, got {other:?}"),
            }
        }
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.stream().local_addr().unwrap()
    }
}

/// Whether a broadcast frame is one of the handshakes sent here.
pub fn is_sync(frame: &serde_json::Value) -> bool {
    frame["message"]
        .as_str()
        .is_some_and(|m| m.starts_with(SYNC_PREFIX))
}

/// Proves that `sub` is registered with a server in another process:
/// `speaker`, joined as `nick`, broadcasts markers until one reaches `sub`.
/// Every broadcast connection accepted before `sub` is then registered too:
/// one accept thread registers them in the order they connected.
pub fn await_subscribed(speaker: &mut Conn, nick: &str, sub: &mut LineConn) {
    let say = |marker: &str| {
        assert_eq!(speaker.say(nick, marker), ok());
        Ok(())
    };
    until_heard(PATIENCE, say, |marker| sees_marker(sub, marker)).unwrap();
}

/// Reads until `marker` arrives (true) or the connection goes quiet (false).
fn sees_marker(sub: &mut LineConn, marker: &str) -> bool {
    loop {
        match sub.next(QUIET) {
            Next::Line(line) => {
                let frame: serde_json::Value = serde_json::from_str(&line).unwrap();
                if frame["message"] == marker {
                    return true;
                }
            }
            Next::Quiet => return false,
            Next::Closed { .. } => panic!("the subscriber was closed during the handshake"),
        }
    }
}

/// Reads a socket until the server closes it, returning every byte it sent.
/// Panics if the connection stays open and silent for [`PATIENCE`].
pub fn drain_until_closed(mut stream: &TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut all = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                panic!("still open after sending {} bytes", all.len())
            }
            Err(_) => return all,
        }
    }
}

/// Whether a connection refused over the cap got what the contract says:
/// exactly one `ko` line saying the server is full, then end of stream.
pub fn assert_refused_over_cap(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        bytes.starts_with(KO_START) && text.ends_with('\n') && text.matches('\n').count() == 1,
        "expected one ko line then end of stream, got {text:?}"
    );
    let response: serde_json::Value = serde_json::from_str(&text).unwrap();
    crate::common::assert_ko(&response, "server full");
}

/// A request connection the server admits, waiting for a slot under the cap
/// to free up: connections refused over the cap are dropped and retried.
pub fn admitted_request(addr: SocketAddr) -> TcpStream {
    let mut admitted = None;
    wait_until("a request connection is admitted", || {
        let stream = TcpStream::connect(addr).unwrap();
        if answers_list(&stream) {
            admitted = Some(stream);
        }
        admitted.is_some()
    });
    admitted.unwrap()
}

/// Sends `list` and reports whether a list came back (not a refusal).
pub fn answers_list(mut stream: &TcpStream) -> bool {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    if stream.write_all(b"{\"type\":\"list\"}\n").is_err() {
        return false;
    }
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    matches!(reader.read_line(&mut line), Ok(n) if n > 0) && line.starts_with("{\"response\":[")
}

/// A broadcast connection the server admits, waiting for a slot under the
/// cap to free up. `speaker` (joined as `nick`) broadcasts until the new
/// connection receives a line; a refused one gets its `ko` line first.
pub fn admitted_subscriber(addr: SocketAddr, speaker: &mut Conn, nick: &str) -> LineConn {
    let mut admitted = None;
    wait_until("a broadcast connection is admitted", || {
        let mut sub = LineConn::connect(addr);
        if receives_broadcasts(&mut sub, speaker, nick) {
            admitted = Some(sub);
        }
        admitted.is_some()
    });
    admitted.unwrap()
}

fn receives_broadcasts(sub: &mut LineConn, speaker: &mut Conn, nick: &str) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        assert_eq!(speaker.say(nick, &format!("{SYNC_PREFIX}probe")), ok());
        match sub.next(QUIET) {
            Next::Line(line) => return !line.as_bytes().starts_with(KO_START),
            Next::Closed { .. } => return false,
            Next::Quiet => {}
        }
    }
    panic!("a broadcast connection neither received a line nor was refused");
}

pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
