//! Helpers for the tests of the pages (PROTOCOL.md section 10) over raw
//! TCP: the real binaries started through `chat_lab::process`, requests
//! written by hand (so that what a browser would never send can be sent),
//! responses and event streams read back.
//!
//! Timeouts here are failure guards, never assertions about speed.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use chat_lab::process::{PATIENCE, Process, ServerProcess};
use serde_json::Value;

/// Path of one of the project's binaries, built by cargo for the tests.
#[macro_export]
macro_rules! exe {
    ($name:literal) => {
        std::path::PathBuf::from(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}

/// A client started with `--web`: its process, and where its page is.
pub struct PageClient {
    pub process: Process,
    pub port: u16,
    pub token: String,
}

impl PageClient {
    /// `binary` joined to `server` as `nick` with `--web` and `extra`,
    /// once it has printed its page's address.
    pub fn start(binary: &Path, server: &ServerProcess, nick: &str, extra: &[&str]) -> Self {
        Self::start_with_env(binary, server, nick, extra, &[])
    }

    pub fn start_with_env(
        binary: &Path,
        server: &ServerProcess,
        nick: &str,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let mut args = server.client_args();
        args.extend(["--nick", nick, "--web"].map(String::from));
        args.extend(extra.iter().map(|a| a.to_string()));
        let process = Process::spawn(binary, &args, envs).unwrap();
        let line = process
            .stdout
            .wait_for("naming the page", |l| l.starts_with("page: "))
            .unwrap();
        let (port, token) = parse_page_line(&line).unwrap_or_else(|| panic!("{line:?}"));
        Self {
            process,
            port,
            token,
        }
    }

    /// The `Host` the page answers to.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The page's cookie (`NAME=VALUE`), as the token's answer sets it.
    pub fn cookie(&self) -> String {
        let page = self.get(&format!("/?token={}", self.token), &[]);
        assert_eq!(page.status, 200, "{page:?}");
        let set = page.header("set-cookie").expect("no cookie set");
        set.split(';').next().unwrap().to_owned()
    }

    /// `GET path` with the right `Host` and `headers`.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        request(self.port, "GET", path, &self.host(), headers, b"")
    }

    /// A line sent as the page sends it: the cookie, its own origin.
    pub fn send(&self, cookie: &str, line: &str) -> HttpResponse {
        let origin = format!("http://{}", self.host());
        let headers = [("Cookie", cookie), ("Origin", origin.as_str())];
        request(
            self.port,
            "POST",
            "/send",
            &self.host(),
            &headers,
            line.as_bytes(),
        )
    }

    /// The page's event stream, with the cookie.
    pub fn events(&self, cookie: &str, last: Option<u64>) -> Events {
        let last = last.map(|n| n.to_string());
        let mut headers = vec![("Cookie", cookie)];
        if let Some(last) = &last {
            headers.push(("Last-Event-ID", last.as_str()));
        }
        Events::open(self.port, &self.host(), &headers)
    }
}

/// The port and token of `page: http://127.0.0.1:N/?token=T`.
pub fn parse_page_line(line: &str) -> Option<(u16, String)> {
    let rest = line.strip_prefix("page: http://127.0.0.1:")?;
    let (port, query) = rest.split_once("/?token=")?;
    Some((port.parse().ok()?, query.to_owned()))
}

/// A response, read to its end.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Writes a request by hand (`Host` as given: empty for none), reads the
/// response to the end.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !host.is_empty() {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    raw(port, &[head.as_bytes(), body].concat())
}

/// Sends `bytes` and reads the response to the end.
pub fn raw(port: u16, bytes: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    // The server may answer before reading all of a request it refuses.
    let _ = stream.write_all(bytes);
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    parse_response(&String::from_utf8_lossy(&got))
}

fn parse_response(text: &str) -> HttpResponse {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub id: Option<u64>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {:?}", self.data))
    }

    /// The text of a `line` event.
    pub fn text(&self) -> String {
        self.json()["text"].as_str().unwrap_or_default().to_owned()
    }
}

/// An open event stream.
pub struct Events {
    pub status: u16,
    reader: BufReader<TcpStream>,
}

impl Events {
    pub fn open(port: u16, host: &str, headers: &[(&str, &str)]) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut head = format!("GET /events HTTP/1.1\r\nHost: {host}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).unwrap();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
        }
        Self { status, reader }
    }

    /// The next event, skipping comments and the retry field; `None` once
    /// the stream ends, or when no event comes within `PATIENCE` (however
    /// many heartbeats do).
    pub fn next(&mut self) -> Option<Event> {
        let started = std::time::Instant::now();
        let mut event = Event {
            name: "message".into(),
            id: None,
            data: String::new(),
        };
        let mut fields = 0;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                if fields > 0 {
                    return Some(event);
                }
                continue;
            }
            if started.elapsed() > PATIENCE {
                return None;
            }
            let (field, value) = line.split_once(": ").unwrap_or((line, ""));
            match field {
                "event" => event.name = value.to_owned(),
                "id" => event.id = value.parse().ok(),
                "data" => event.data.push_str(value),
                _ => continue,
            }
            fields += 1;
        }
    }

    /// The next `line` event.
    pub fn next_line(&mut self) -> Option<Event> {
        std::iter::from_fn(|| self.next()).find(|e| e.name == "line")
    }

    /// `line` events until one whose text is `text`; their texts.
    pub fn lines_until(&mut self, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        while let Some(event) = self.next_line() {
            seen.push(event.text());
            if seen.last().is_some_and(|t| t == text) {
                return seen;
            }
        }
        panic!("the stream ended before {text:?}; saw {seen:#?}");
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }
}

/// Waits up to `PATIENCE` for `cond`.
pub fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    let mut cond = cond;
    chat_lab::process::wait_until(what, || Ok(cond())).unwrap();
}

/// A little longer than `duration`, for "it did not happen" checks.
pub fn beyond(duration: Duration) -> Duration {
    duration + Duration::from_secs(2)
}

/// Name of the pages' connection threads, as Linux shows it.
pub const CONNECTION_THREAD: &str = "http-connection";

/// Threads of process `pid` named `name` (Linux `/proc`).
pub fn threads_named(pid: u32, name: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}
