//! Shared helpers for the integration tests: real binaries, real TCP on
//! 127.0.0.1, ports chosen by the system (`--port 0`), never fixed ones.
//!
//! Timeouts here are failure guards (a test that would otherwise hang),
//! never performance assertions: they are generous on purpose.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long to wait for anything that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// How long to wait before concluding that something did *not* happen.
pub const QUIET: Duration = Duration::from_millis(500);

/// Path of one of the project's binaries, built by cargo for the tests.
#[macro_export]
macro_rules! bin {
    ($name:literal) => {
        std::path::PathBuf::from(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}

/// Collects a child's output stream line by line on a thread.
pub struct Lines {
    rx: Receiver<String>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Lines {
    fn spawn(stream: impl Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { return };
                log.lock().unwrap().push(line.clone());
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self { rx, seen }
    }

    /// The next line not yet taken, waiting up to `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<String> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Takes lines until one matches, panicking with everything seen if
    /// none does within [`PATIENCE`].
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no line {what} within {PATIENCE:?}; saw: {:#?}", self.all());
    }

    /// Takes lines until one equals `expected`.
    pub fn wait_for_line(&self, expected: &str) -> String {
        self.wait_for(&format!("equal to {expected:?}"), |l| l == expected)
    }

    /// Every line seen so far, taken or not.
    pub fn all(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until the stream has ended (the process closed it, or exited),
    /// then returns every line it carried, taken or not.
    pub fn until_closed(&self) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return self.all(),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "stream still open after {PATIENCE:?}; saw: {:#?}",
                        self.all()
                    )
                }
            }
        }
    }
}

/// A server binary running on system-chosen ports; killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub broadcast_port: u16,
    pub stderr: Lines,
}

impl Server {
    /// Starts `binary` with `--port 0 --broadcast-port 0` and `args`, and
    /// waits for its "listening on" line.
    pub fn start(binary: PathBuf, args: &[&str]) -> Self {
        let mut child = Command::new(&binary)
            .args(["--port", "0", "--broadcast-port", "0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary:?}: {e}"));
        let stdout = Lines::spawn(child.stdout.take().unwrap());
        let stderr = Lines::spawn(child.stderr.take().unwrap());
        let line = stdout.next(PATIENCE).unwrap_or_else(|| {
            panic!(
                "{binary:?} printed no listening line; stderr: {:?}",
                stderr.all()
            )
        });
        let (port, broadcast_port) = parse_listening_line(&line);
        Self {
            child,
            port,
            broadcast_port,
            stderr,
        }
    }

    pub fn plain(args: &[&str]) -> Self {
        Self::start(bin!("simple_server"), args)
    }

    /// `--host 127.0.0.1 --port P --broadcast-port B`, for clients and tools.
    pub fn client_args(&self) -> Vec<String> {
        vec![
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            self.port.to_string(),
            "--broadcast-port".into(),
            self.broadcast_port.to_string(),
        ]
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process, in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        chat_lab::process::status_field(self.pid(), "VmRSS:").expect("no VmRSS for the server")
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn request(&self) -> Conn {
        Conn::connect(self.port)
    }

    pub fn subscribe(&self) -> Sub {
        Sub::connect(self.broadcast_port)
    }

    /// `count` broadcast connections that the server has certainly
    /// registered, with nothing left to read.
    ///
    /// A TCP connection is established before the server accepts it, so a
    /// line published right after [`subscribe`](Self::subscribe) returns may
    /// legitimately miss the new subscriber. This joins [`SYNC_NICK`], sends
    /// markers until every subscriber has received one, then a last marker
    /// that each subscriber reads up to, and leaves again.
    pub fn synced_subscribers(&self, count: usize) -> Vec<Sub> {
        let mut subs: Vec<Sub> = (0..count).map(|_| self.subscribe()).collect();
        let mut speaker = self.request();
        assert_eq!(speaker.join(SYNC_NICK), ok());
        let mut waiting: Vec<usize> = (0..count).collect();
        let deadline = Instant::now() + PATIENCE;
        while !waiting.is_empty() {
            assert!(Instant::now() < deadline, "subscribers never registered");
            assert_eq!(speaker.say(SYNC_NICK, "sync"), ok());
            waiting.retain(|&i| subs[i].try_next_line(SYNC_RETRY).is_none());
        }
        assert_eq!(speaker.say(SYNC_NICK, SYNC_DONE), ok());
        for sub in &mut subs {
            sub.skip_past_message(SYNC_DONE);
        }
        assert_eq!(speaker.leave(SYNC_NICK), ok());
        subs
    }

    /// One broadcast connection the server has certainly registered.
    pub fn synced_subscriber(&self) -> Sub {
        self.synced_subscribers(1).pop().unwrap()
    }
}

/// The nick [`Server::synced_subscribers`] joins (and leaves) for its markers.
pub const SYNC_NICK: &str = "sync-probe";

/// The text of the last marker [`Server::synced_subscribers`] sends.
const SYNC_DONE: &str = "sync done";

/// How long to wait for a marker before sending another; a polling
/// interval, not an expectation.
const SYNC_RETRY: Duration = Duration::from_millis(50);

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads the two ports from `listening on H:P (requests) and H:B (broadcast)`.
pub fn parse_listening_line(line: &str) -> (u16, u16) {
    chat_lab::process::parse_listening_line(line)
        .unwrap_or_else(|| panic!("unexpected listening line: {line:?}"))
}

/// A raw request connection.
pub struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
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
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
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
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.reader.get_ref().local_addr().unwrap()
    }

    pub fn next_json(&mut self) -> serde_json::Value {
        serde_json::from_str(&self.next_line()).unwrap()
    }

    /// Reads lines up to and including the broadcast whose text is `text`.
    pub fn skip_past_message(&mut self, text: &str) {
        loop {
            let line = self.next_line();
            let frame: Option<serde_json::Value> = serde_json::from_str(&line).ok();
            if frame.is_some_and(|f| f["message"] == text) {
                return;
            }
        }
    }
}

/// A client or tool binary driven through its stdin, stdout and stderr.
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    pub stdout: Lines,
    pub stderr: Lines,
}

impl Proc {
    pub fn spawn(binary: PathBuf, args: &[String], envs: &[(&str, &str)]) -> Self {
        let mut command = Command::new(&binary);
        command
            .args(args)
            .env_remove("CHAT_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary:?}: {e}"));
        let stdin = child.stdin.take();
        let stdout = Lines::spawn(child.stdout.take().unwrap());
        let stderr = Lines::spawn(child.stderr.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Starts a chat client and waits until it has joined.
    pub fn client(binary: PathBuf, server: &Server, nick: &str, extra: &[&str]) -> Self {
        let mut args = server.client_args();
        args.extend(["--nick".to_owned(), nick.to_owned()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let client = Self::spawn(binary, &args, &[]);
        client
            .stderr
            .wait_for("announcing the join", |l| l.starts_with("joined as "));
        client
    }

    /// Writes one line to the process's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin: end of input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to exit (failing the test after [`PATIENCE`]).
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit; stderr: {:?}",
                self.stderr.all()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a tool to completion with empty stdin; returns (status, stdout, stderr).
pub fn run(binary: PathBuf, args: &[String]) -> (ExitStatus, String, String) {
    let output = Command::new(&binary)
        .args(args)
        .env_remove("CHAT_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {binary:?}: {e}"));
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Polls `cond` until it holds, failing after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(20));
    }
}
