//! Helpers for the hostile-peer tests (issue 14): the real binaries started
//! through `chat_lab::process`, raw connections that speak the wire by
//! hand, and a fake server that sends what a rogue server would.
//!
//! Timeouts here are failure guards, never assertions about speed.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::Instant;

pub use chat_lab::process::PATIENCE;
use chat_lab::process::{POLL, Process, ServerProcess, Stderr};
use serde_json::{Value, json};

/// Path of one of the project's binaries, built by cargo for the tests.
#[macro_export]
macro_rules! exe {
    ($name:literal) => {
        std::path::PathBuf::from(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}

/// Starts a server binary on free ports, logging at info level.
pub fn start_server(binary: PathBuf, flags: &[&str], stderr: Stderr) -> ServerProcess {
    ServerProcess::start_with(&binary, flags, &[("RUST_LOG", "info")], stderr)
        .unwrap_or_else(|e| panic!("cannot start {binary:?}: {e}"))
}

/// Starts a chat client of `server` and waits until it has joined.
pub fn start_client(binary: PathBuf, ports: (u16, u16), nick: &str, extra: &[&str]) -> Process {
    let mut args = endpoint_args(ports);
    args.extend(["--nick", nick].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let client = Process::spawn(&binary, &args, &[("RUST_LOG", "warn")])
        .unwrap_or_else(|e| panic!("cannot start {binary:?}: {e}"));
    client
        .stderr
        .find(PATIENCE, |l| l.starts_with("joined as "))
        .unwrap_or_else(|| panic!("{binary:?} did not join as {nick}"));
    client
}

/// `--host 127.0.0.1 --port P --broadcast-port B`.
pub fn endpoint_args((port, broadcast_port): (u16, u16)) -> Vec<String> {
    [
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--broadcast-port",
        &broadcast_port.to_string(),
    ]
    .map(String::from)
    .into()
}

pub fn ports(server: &ServerProcess) -> (u16, u16) {
    (server.port, server.broadcast_port)
}

/// The next line of a child's stream, failing the test if none comes.
pub fn next_line(lines: &chat_lab::process::Lines, what: &str) -> String {
    lines
        .next(PATIENCE)
        .unwrap_or_else(|| panic!("no line {what} within {PATIENCE:?}"))
}

/// A raw connection to a port, read line by line: a request connection
/// speaking the wire by hand, or a broadcast reader.
pub struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    pub fn from_stream(stream: TcpStream) -> Self {
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_ref().write_all(bytes).unwrap();
    }

    /// The next line, without its `\n`; `None` once the peer closed.
    /// Fails the test if nothing comes within [`PATIENCE`].
    pub fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
            Err(e) => panic!("no line within {PATIENCE:?}: {e}"),
        }
    }

    /// Sends one line, returns the answer line.
    pub fn request(&mut self, line: &str) -> String {
        self.send(format!("{line}\n").as_bytes());
        self.line().expect("closed instead of answering")
    }

    pub fn json(&mut self, frame: &Value) -> Value {
        serde_json::from_str(&self.request(&frame.to_string())).unwrap()
    }

    pub fn join(&mut self, nick: &str) -> Value {
        self.json(&json!({"type": "join", "nick": nick}))
    }

    /// Joins, naming `sub` as this client's broadcast connection: the
    /// server answers once `sub` is registered (PROTOCOL.md addition 1).
    pub fn join_with(&mut self, nick: &str, sub: &Raw) -> Value {
        let addr = sub.local_addr().to_string();
        self.json(&json!({"type": "join", "nick": nick, "subscriber": addr}))
    }

    pub fn say(&mut self, nick: &str, text: &str) -> Value {
        self.json(&json!({"type": "message", "nick": nick, "message": text}))
    }

    pub fn list(&mut self) -> Value {
        self.json(&json!({"type": "list"}))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.reader.get_ref().local_addr().unwrap()
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }
}

/// `{"response":"ok"}`.
pub fn ok() -> Value {
    json!({"response": "ok"})
}

/// The `error` of a `ko` answer; fails the test on any other answer.
pub fn ko_reason(answer: &Value) -> String {
    assert_eq!(answer["response"], "ko", "{answer}");
    answer["error"]
        .as_str()
        .expect("a ko without error")
        .to_owned()
}

/// Polls `cond` until it holds, failing after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(POLL);
    }
}

/// Two listening ports that nothing serves: the test plays the server by
/// hand, as a rogue server would, sending whatever it likes.
pub struct FakeServer {
    requests: TcpListener,
    broadcasts: TcpListener,
}

impl FakeServer {
    pub fn bind() -> Self {
        Self {
            requests: TcpListener::bind("127.0.0.1:0").unwrap(),
            broadcasts: TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }

    pub fn ports(&self) -> (u16, u16) {
        let port = |l: &TcpListener| l.local_addr().unwrap().port();
        (port(&self.requests), port(&self.broadcasts))
    }

    pub fn accept_request(&self) -> Raw {
        Raw::from_stream(self.requests.accept().unwrap().0)
    }

    pub fn accept_broadcast(&self) -> Raw {
        Raw::from_stream(self.broadcasts.accept().unwrap().0)
    }

    /// Answers every line on every request connection with `answer`, on
    /// threads of its own, for tools that open several connections.
    pub fn answer_every_request_with(self, answer: String) {
        thread::spawn(move || {
            for stream in self.requests.incoming() {
                let Ok(stream) = stream else { return };
                let answer = answer.clone();
                thread::spawn(move || answer_each_line(stream, &answer));
            }
        });
    }
}

fn answer_each_line(stream: TcpStream, answer: &str) {
    let mut reader = BufReader::new(&stream);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        line.clear();
        if (&stream)
            .write_all(format!("{answer}\n").as_bytes())
            .is_err()
        {
            return;
        }
    }
}
