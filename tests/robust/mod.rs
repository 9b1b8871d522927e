//! What the robustness and soak tests share on top of the lab's raw
//! connections (`chat_lab::raw`): the connection cap's refusal, and probes
//! that find out whether the server admitted a connection.
//!
//! Timeouts here are failure guards or "nothing came yet" probes, never
//! assertions about speed.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use chat_lab::process::{PATIENCE, QUIET, SYNC_PREFIX, wait_until};
use chat_lab::raw::{Conn, Next, Sub, ok};

use crate::common::assert_ko;

/// The start of every `ko` line the server sends.
pub const KO_START: &[u8] = b"{\"response\":\"ko\",\"error\":\"";

/// Whether a connection refused over the cap got what the contract says:
/// exactly one `ko` line saying the server is full, then end of stream.
pub fn assert_refused_over_cap(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        bytes.starts_with(KO_START) && text.ends_with('\n') && text.matches('\n').count() == 1,
        "expected one ko line then end of stream, got {text:?}"
    );
    let response: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_ko(&response, "server full");
}

/// A request connection the server admits, waiting for a slot under the cap
/// to free up: connections refused over the cap are dropped and retried.
pub fn admitted_request(addr: SocketAddr) -> TcpStream {
    let mut admitted = None;
    wait_until("a request connection is admitted", || {
        let stream = TcpStream::connect(addr)?;
        if answers_list(&stream) {
            admitted = Some(stream);
        }
        Ok(admitted.is_some())
    })
    .unwrap();
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
pub fn admitted_subscriber(addr: SocketAddr, speaker: &mut Conn, nick: &str) -> Sub {
    let mut admitted = None;
    wait_until("a broadcast connection is admitted", || {
        let mut sub = Sub::connect(addr)?;
        if receives_broadcasts(&mut sub, speaker, nick) {
            admitted = Some(sub);
        }
        Ok(admitted.is_some())
    })
    .unwrap();
    admitted.unwrap()
}

fn receives_broadcasts(sub: &mut Sub, speaker: &mut Conn, nick: &str) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let probe = format!("{SYNC_PREFIX}probe");
        assert_eq!(speaker.say(nick, &probe).unwrap(), ok());
        match sub.next(QUIET) {
            Next::Line(line) => return !line.as_bytes().starts_with(KO_START),
            Next::Closed { .. } => return false,
            Next::Quiet => {}
        }
    }
    panic!("a broadcast connection neither received a line nor was refused");
}
