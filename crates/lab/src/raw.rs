//! Raw connections to a chat server on the JSON-lines wire, for whatever
//! must speak it byte for byte (the tests of the protocol, of robustness, of
//! hostile peers): a request connection ([`Conn`]) and a broadcast reader
//! ([`Sub`]), each read line by line with a deadline, and the handshake that
//! proves a subscriber of a server in another process registered
//! ([`await_subscribed`]). For a server in this process,
//! `stage::Server::synced_subscriber` asks the server itself.
//!
//! Timeouts here are failure guards ([`PATIENCE`]) or "nothing came yet"
//! probes ([`QUIET`]), never expectations of speed. What the peer sends is
//! never trusted: whatever it does is an error, not a panic.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::process::{PATIENCE, QUIET, SYNC_PREFIX, until_heard};

/// The `{"response":"ok"}` answer.
pub fn ok() -> Value {
    json!({"response": "ok"})
}

/// A raw request connection (or any connection whose lines are read
/// whole): lines written by hand, answers read within [`PATIENCE`].
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Result<Self> {
        let stream =
            TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        Self::from_stream(stream)
    }

    /// A connection opened otherwise (accepted by a fake server, say).
    pub fn from_stream(stream: TcpStream) -> Result<Self> {
        stream.set_read_timeout(Some(PATIENCE))?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.reader
            .get_ref()
            .write_all(bytes)
            .context("cannot write to the connection")
    }

    /// The next line, without its `\n`; `None` once the peer closed (or
    /// reset) the connection; an error if nothing comes within
    /// [`PATIENCE`].
    pub fn read_line(&mut self) -> Result<Option<String>> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(line.trim_end_matches('\n').to_owned())),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(None),
            Err(e) if is_timeout(&e) => bail!("no line within {PATIENCE:?}"),
            Err(e) => Err(e).context("cannot read a line"),
        }
    }

    /// Sends one line (a `\n` is added) and returns the answer line.
    pub fn request(&mut self, line: &str) -> Result<String> {
        self.send_raw(format!("{line}\n").as_bytes())?;
        self.read_line()?
            .context("the server closed the connection instead of answering")
    }

    /// Sends a frame built with `serde_json::json!`, returns the answer.
    pub fn send_json(&mut self, frame: &Value) -> Result<Value> {
        let answer = self.request(&frame.to_string())?;
        serde_json::from_str(&answer)
            .with_context(|| format!("an answer that is not JSON: {answer:?}"))
    }

    pub fn join(&mut self, nick: &str) -> Result<Value> {
        self.send_json(&json!({"type": "join", "nick": nick}))
    }

    /// Joins, naming `subscriber` as this client's broadcast connection:
    /// the server answers once it is registered (PROTOCOL.md addition 1).
    pub fn join_with(&mut self, nick: &str, subscriber: SocketAddr) -> Result<Value> {
        let subscriber = subscriber.to_string();
        self.send_json(&json!({"type": "join", "nick": nick, "subscriber": subscriber}))
    }

    pub fn leave(&mut self, nick: &str) -> Result<Value> {
        self.send_json(&json!({"type": "leave", "nick": nick}))
    }

    pub fn say(&mut self, nick: &str, text: &str) -> Result<Value> {
        self.send_json(&json!({"type": "message", "nick": nick, "message": text}))
    }

    /// The nicks of a `list` answer.
    pub fn list(&mut self) -> Result<Vec<String>> {
        let answer = self.send_json(&json!({"type": "list"}))?;
        serde_json::from_value(answer["response"].clone())
            .with_context(|| format!("not a list answer: {answer}"))
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.stream().local_addr()?)
    }
}

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

/// A raw broadcast connection, read line by line: it tells a closed
/// connection from a quiet one, and a line cut by a timeout is completed by
/// a later read.
pub struct Sub {
    reader: BufReader<TcpStream>,
    /// Bytes of a line whose end has not arrived yet.
    pending: Vec<u8>,
    /// The socket's read timeout, set only when it changes: a system call
    /// per line would weigh on the soak test.
    timeout: Option<Duration>,
}

impl Sub {
    pub fn connect(addr: SocketAddr) -> Result<Self> {
        let stream =
            TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        Ok(Self {
            reader: BufReader::new(stream),
            pending: Vec::new(),
            timeout: None,
        })
    }

    /// The next line, waiting up to `timeout` (at least a millisecond).
    pub fn next(&mut self, timeout: Duration) -> Next {
        let timeout = timeout.max(Duration::from_millis(1));
        if self.timeout != Some(timeout) {
            if self.stream().set_read_timeout(Some(timeout)).is_err() {
                return Next::Closed {
                    fragment: std::mem::take(&mut self.pending),
                };
            }
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

    /// The next line, within [`PATIENCE`].
    pub fn next_line(&mut self) -> Result<String> {
        match self.next(PATIENCE) {
            Next::Line(line) => Ok(line),
            other => bail!("no broadcast line within {PATIENCE:?}: {other:?}"),
        }
    }

    pub fn next_json(&mut self) -> Result<Value> {
        let line = self.next_line()?;
        serde_json::from_str(&line)
            .with_context(|| format!("a broadcast that is not JSON: {line:?}"))
    }

    /// The next broadcast that is not one of [`await_subscribed`]'s
    /// markers.
    pub fn next_message(&mut self) -> Result<Value> {
        loop {
            let frame = self.next_json()?;
            if !is_sync(&frame) {
                return Ok(frame);
            }
        }
    }

    /// Whether the server closes the connection with nothing more to read:
    /// end of stream (or a reset) within [`PATIENCE`].
    pub fn sees_end_of_stream(&mut self) -> bool {
        matches!(self.next(PATIENCE), Next::Closed { fragment } if fragment.is_empty())
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    /// Where this connection comes from, as the server sees it.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.stream().local_addr()?)
    }
}

/// Whether a broadcast frame is one of [`await_subscribed`]'s markers.
pub fn is_sync(frame: &Value) -> bool {
    frame["message"]
        .as_str()
        .is_some_and(|m| m.starts_with(SYNC_PREFIX))
}

/// Proves that `sub` is registered with a server in another process:
/// `speaker`, joined as `nick`, broadcasts markers until one reaches `sub`.
/// Every broadcast connection accepted before `sub` is then registered too:
/// one accept thread registers them in the order they connected.
pub fn await_subscribed(speaker: &mut Conn, nick: &str, sub: &mut Sub) -> Result<()> {
    let say = |marker: &str| {
        let answer = speaker.say(nick, marker)?;
        if answer != ok() {
            bail!("a marker was refused: {answer}");
        }
        Ok(())
    };
    until_heard(PATIENCE, say, |marker| sees_marker(sub, marker))
}

/// Reads until `marker` arrives (true) or the connection goes quiet (false).
fn sees_marker(sub: &mut Sub, marker: &str) -> Result<bool> {
    loop {
        match sub.next(QUIET) {
            Next::Line(line) => {
                let frame: Value = serde_json::from_str(&line)
                    .with_context(|| format!("a broadcast that is not JSON: {line:?}"))?;
                if frame["message"] == marker {
                    return Ok(true);
                }
            }
            Next::Quiet => return Ok(false),
            Next::Closed { .. } => bail!("the subscriber was closed during the handshake"),
        }
    }
}

/// Reads a connection until the server closes it, returning every byte it
/// sent; an error if it stays open and silent for [`PATIENCE`].
pub fn drain_until_closed(mut stream: &TcpStream) -> Result<Vec<u8>> {
    stream.set_read_timeout(Some(PATIENCE))?;
    let mut all = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(all),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => bail!("still open after sending {} bytes", all.len()),
            Err(_) => return Ok(all),
        }
    }
}

/// Whether a read failed for its timeout.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
