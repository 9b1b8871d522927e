//! Shared helpers for the integration tests, over real TCP on 127.0.0.1 and
//! ports the system picks, never fixed ones.
//!
//! - Servers run in the test's own process (`chat_lab::stage::Server`, the
//!   library's `ServerHandle`), built here per kind: [`plain`], [`guarded`],
//!   [`ae`], [`rogue`].
//! - Raw sockets ([`Conn`], [`Sub`]) speak the protocol byte for byte, for
//!   the tests of the protocol.
//! - Binaries, for the tests of the command-line contract, run through
//!   `chat_lab::process`: [`client`], [`run`].
//!
//! Timeouts here are failure guards (a test that would otherwise hang),
//! never performance assertions: they are generous on purpose.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Mutex, Once};
use std::time::Duration;

use chat::server::rogue_server::{Attack, DEFAULT_REPLAY_DELAY, RogueConfig, RogueServer};
use chat::server::{ServerConfig, SimpleServer, TrustModel};
use chat::{Layer, Nick};
pub use chat_lab::process::PATIENCE;
use chat_lab::process::{Finished, Process};
use chat_lab::stage::Server;

/// Path of one of the project's binaries, built by cargo for the tests.
#[macro_export]
macro_rules! bin {
    ($name:literal) => {
        std::path::PathBuf::from(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}

/// The plain server, in the Python original's trust model.
pub fn plain() -> Server {
    started(Server::of_layer(Layer::Plain, TrustModel::Open))
}

/// The plain server with `--guard`.
pub fn guarded() -> Server {
    started(Server::of_layer(Layer::Plain, TrustModel::Guarded))
}

/// The AE server: encrypted messages only.
pub fn ae() -> Server {
    started(Server::of_layer(Layer::Ae, TrustModel::Open))
}

/// A plain server that accepts at most `max` connections, both ports together.
pub fn plain_capped(max: usize, trust: TrustModel) -> Server {
    let config = ServerConfig {
        max_connections: max,
        ..ServerConfig::local()
    };
    started(Server::start_with(&config, |_| SimpleServer::new(trust)))
}

/// A rogue server running `attacks`, relabelling as `impersonate` if
/// given, replaying after `replay_delay` (default: the binary's).
pub fn rogue(
    attacks: &[Attack],
    impersonate: Option<&str>,
    replay_delay: Option<Duration>,
) -> Server {
    let config = RogueConfig {
        attacks: attacks.iter().copied().collect::<BTreeSet<_>>(),
        impersonate: impersonate.map(|nick| Nick::new(nick).unwrap()),
        replay_delay: replay_delay.unwrap_or(DEFAULT_REPLAY_DELAY),
    };
    let chat = SimpleServer::new(TrustModel::Open);
    started(Server::start(|publisher| {
        RogueServer::new(chat, config, publisher)
    }))
}

fn started(server: anyhow::Result<Server>) -> Server {
    watch_for_server_panics();
    server.expect("cannot start a server on loopback")
}

/// Raw sockets to a server in this process.
pub trait RawSockets {
    fn request(&self) -> Conn;
    fn subscribe(&self) -> Sub;
    /// A broadcast connection the server has certainly registered: it
    /// receives every line accepted from now on.
    fn synced_subscriber(&self) -> Sub;
    fn synced_subscribers(&self, count: usize) -> Vec<Sub> {
        (0..count).map(|_| self.synced_subscriber()).collect()
    }
}

impl RawSockets for Server {
    fn request(&self) -> Conn {
        Conn::connect(self.request_addr())
    }

    fn subscribe(&self) -> Sub {
        Sub::connect(self.broadcast_addr())
    }

    fn synced_subscriber(&self) -> Sub {
        let sub = self.subscribe();
        self.wait_for_subscriber(sub.local_addr()).unwrap();
        sub
    }
}

/// Panics in the servers' threads, as `THREAD: MESSAGE`. A server thread
/// that panics takes a connection down with it, which the tests that throw
/// bad input at a server must show never happens.
static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The names the library gives its server threads.
const SERVER_THREADS: [&str; 5] = [
    "request-",
    "broadcast-",
    "accept-",
    "broadcaster",
    "replayer",
];

fn watch_for_server_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            if SERVER_THREADS.iter().any(|t| thread.starts_with(t)) {
                let mut panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
                panics.push(format!("{thread}: {info}"));
            }
            previous(info);
        }));
    });
}

/// Asserts that no server thread of this test binary has panicked.
pub fn assert_no_server_panic() {
    let panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(panics.is_empty(), "server threads panicked: {panics:#?}");
}

/// A chat client binary (`simple_client`, `ae_client`, `aead_client`)
/// joined to `server` as `nick`, with `extra` flags.
pub fn client(binary: &Path, server: &Server, nick: &str, extra: &[&str]) -> Process {
    let mut args = server.client_args();
    args.extend(["--nick", nick].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    Process::chat_client(binary, &args).unwrap()
}

/// Runs a tool to completion with empty input and no chat password.
pub fn run<S: AsRef<std::ffi::OsStr>>(binary: &Path, args: &[S]) -> Finished {
    chat_lab::process::run(binary, args).unwrap()
}

/// Polls `cond` until it holds, failing after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    chat_lab::process::wait_until(what, || Ok(cond())).unwrap();
}

/// A raw request connection.
pub struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Self { stream, reader }
    }

    /// Sends one line (a `\n` is added) and returns the response line.
    pub fn request(&mut self, line: &str) -> String {
        self.send_raw(format!("{line}\n").as_bytes());
        self.read_line()
            .expect("the server closed the connection instead of answering")
    }

    /// Sends a frame built with `serde_json::json!` and returns the response.
    pub fn send_json(&mut self, frame: &serde_json::Value) -> serde_json::Value {
        let response = self.request(&frame.to_string());
        serde_json::from_str(&response).unwrap()
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next line, or `None` once the server closed the connection.
    pub fn read_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
            Err(e) => panic!("reading a response: {e}"),
        }
    }

    pub fn join(&mut self, nick: &str) -> serde_json::Value {
        self.send_json(&serde_json::json!({"type": "join", "nick": nick}))
    }

    pub fn leave(&mut self, nick: &str) -> serde_json::Value {
        self.send_json(&serde_json::json!({"type": "leave", "nick": nick}))
    }

    pub fn say(&mut self, nick: &str, text: &str) -> serde_json::Value {
        self.send_json(&serde_json::json!({"type": "message", "nick": nick, "message": text}))
    }

    pub fn list(&mut self) -> Vec<String> {
        let response = self.send_json(&serde_json::json!({"type": "list"}));
        serde_json::from_value(response["response"].clone()).unwrap()
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

/// The `{"response":"ok"}` value.
pub fn ok() -> serde_json::Value {
    serde_json::json!({"response": "ok"})
}

/// Asserts a response is `ko` with an error containing `needle`.
pub fn assert_ko(response: &serde_json::Value, needle: &str) {
    assert_eq!(response["response"], "ko", "{response}");
    let error = response["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text: {response}"));
    assert!(error.contains(needle), "error {error:?} lacks {needle:?}");
    assert!(!error.contains('\n'));
}

/// A raw broadcast connection.
pub struct Sub {
    reader: BufReader<TcpStream>,
}

impl Sub {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    /// The next broadcast line; panics if none arrives within [`PATIENCE`].
    pub fn next_line(&mut self) -> String {
        self.try_next_line(PATIENCE)
            .expect("no broadcast line arrived")
    }

    /// The next broadcast line, or `None` if the connection closed or
    /// nothing came within `timeout`.
    pub fn try_next_line(&mut self, timeout: Duration) -> Option<String> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .unwrap();
        let mut line = String::new();
        let got = self.reader.read_line(&mut line);
        self.reader
            .get_ref()
            .set_read_timeout(Some(PATIENCE))
            .unwrap();
        match got {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
        }
    }

    /// Where this connection comes from, as the server sees it.
    pub fn local_addr(&self) -> SocketAddr {
        self.reader.get_ref().local_addr().unwrap()
    }

    pub fn next_json(&mut self) -> serde_json::Value {
        serde_json::from_str(&self.next_line()).unwrap()
    }

    /// Whether the server closed the connection with nothing more to read:
    /// end of stream (or a reset) within [`PATIENCE`].
    pub fn sees_end_of_stream(&mut self) -> bool {
        sees_end_of_stream(&mut self.reader)
    }
}

/// Whether reading `stream` meets end of stream (or a reset) before
/// [`PATIENCE`] runs out, with no byte before it.
pub fn sees_end_of_stream(stream: &mut impl std::io::Read) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}
