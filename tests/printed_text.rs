//! What the tools print of a peer's text (issue 14, finding 6; PROTOCOL.md
//! section 4): every bidirectional control, zero-width character and line
//! or paragraph separator is escaped by every tool that prints peer text,
//! and a nick that is no nick is shown quoted and cut, so no printed line
//! passes for another. The peer is a fake server played by the test, as a
//! rogue server would: it sends whatever it likes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use anyhow::Result;
use chat::client::Endpoint;
use chat_lab::process::{PATIENCE, Process, endpoint_args};
use chat_lab::raw::Conn;
use serde_json::json;

/// Two listening ports that nothing serves: the test plays the server by
/// hand, as a rogue server would, sending whatever it likes.
struct FakeServer {
    requests: TcpListener,
    broadcasts: TcpListener,
}

impl FakeServer {
    fn bind() -> Result<Self> {
        Ok(Self {
            requests: TcpListener::bind("127.0.0.1:0")?,
            broadcasts: TcpListener::bind("127.0.0.1:0")?,
        })
    }

    /// `--host H --port P --broadcast-port B`, for the tools.
    fn client_args(&self) -> Result<Vec<String>> {
        let endpoint = Endpoint::of(self.requests.local_addr()?, self.broadcasts.local_addr()?);
        Ok(endpoint_args(&endpoint))
    }

    fn accept_request(&self) -> Result<Conn> {
        Conn::from_stream(self.requests.accept()?.0)
    }

    fn accept_broadcast(&self) -> Result<Conn> {
        Conn::from_stream(self.broadcasts.accept()?.0)
    }

    /// Answers every line on every request connection with `answer`, on
    /// threads of its own, for tools that open several connections.
    fn answer_every_request_with(self, answer: String) {
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

/// Every character that reorders or hides text on a terminal, or breaks a
/// line: bidirectional embeddings, overrides, isolates and marks,
/// zero-width characters, the line and paragraph separators.
const HOSTILE: &[char] = &[
    '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}',
    '\u{feff}', '\u{2028}', '\u{2029}',
];

/// A text holding each hostile character between two letters.
fn hostile_text() -> String {
    HOSTILE
        .iter()
        .map(|c| format!("a{c}b"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`hostile_text`] as every tool must print it.
fn escaped_text() -> String {
    HOSTILE
        .iter()
        .map(|c| format!("a\\u{{{:x}}}b", u32::from(*c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts that no line holds a hostile character as is.
fn assert_all_escaped(tool: &str, lines: &[String]) {
    for line in lines {
        let raw: Vec<char> = line.chars().filter(|c| HOSTILE.contains(c)).collect();
        assert!(raw.is_empty(), "{tool} printed {raw:?} as is: {line:?}");
    }
}

/// A message frame from `nick`, as a rogue server may relay it.
fn message(nick: &str, text: &str) -> String {
    json!({"type": "message", "nick": nick, "message": text}).to_string() + "\n"
}

/// A nick padded so that, wrapped at 80 columns after `[rejected] `, the
/// rest of the line would look like an accepted line from alice.
fn padded_nick() -> String {
    format!("x{}alice : I resign", " ".repeat(80))
}

/// The padded nick as printed: quoted, cut to 64 characters.
fn padded_shown() -> String {
    format!("\"x{}\"...", " ".repeat(63))
}

#[test]
fn the_chat_client_escapes_peer_text_and_quotes_what_is_no_nick() -> Result<()> {
    let fake = FakeServer::bind()?;
    let mut args = fake.client_args()?;
    args.extend(["--nick", "bob"].map(String::from));
    let mut client = Process::spawn(&bin!("simple_client"), &args, &[])?;
    let mut broadcast = fake.accept_broadcast()?;
    let mut requests = fake.accept_request()?;
    let join = requests.read_line()?.expect("no join");
    assert!(join.contains(r#""type":"join""#), "{join}");
    requests.send_raw(b"{\"response\":\"ok\"}\n")?;
    client
        .stderr
        .find(PATIENCE, |l| l.starts_with("joined as"))
        .unwrap();

    broadcast.send_raw(message("mallory", &hostile_text()).as_bytes())?;
    broadcast.send_raw(message(&padded_nick(), "hi").as_bytes())?;
    broadcast.send_raw(message("\u{202e}ecila", "hi").as_bytes())?;
    let accepted = client.stdout.wait_next("for mallory's message")?;
    let padded = client.stdout.wait_next("for the padded nick")?;
    let reversed = client.stdout.wait_next("for the reversed nick")?;
    assert_eq!(accepted, format!("mallory : {}", escaped_text()));
    let chars = padded_nick().chars().count();
    let why = format!("nick has {chars} characters");
    assert!(
        padded.starts_with(&format!("[rejected] {}: {why}", padded_shown())),
        "{padded}"
    );
    assert!(
        reversed.starts_with("[rejected] \"\\u{202e}ecila\": nick must not contain format"),
        "{reversed}"
    );

    client.send_line("/list")?;
    assert!(requests.read_line()?.unwrap().contains(r#""type":"list""#));
    let list = json!({"response": ["bob", "\u{2067}eve", hostile_text()], "more": 3});
    requests.send_raw(format!("{list}\n").as_bytes())?;
    let shown = client.stdout.wait_next("answering /list")?;
    assert!(
        shown.starts_with("joined (3, 3 more not shown): bob, \"\\u{2067}eve\", \"a\\u{202a}b"),
        "{shown}"
    );

    client.send_line("hello")?;
    requests.read_line()?.expect("no message");
    let refusal = json!({"response": "ko", "error": hostile_text()});
    requests.send_raw(format!("{refusal}\n").as_bytes())?;
    let said = client
        .stderr
        .find(PATIENCE, |l| l.starts_with("message refused"))
        .unwrap();
    assert!(said.starts_with("message refused: a\\u{202a}b"), "{said}");
    assert_all_escaped("simple_client", &[accepted, padded, reversed, shown, said]);
    Ok(())
}

#[test]
fn big_brother_escapes_what_it_overhears() -> Result<()> {
    let fake = FakeServer::bind()?;
    let args = fake.client_args()?;
    let spy = Process::spawn(&bin!("simple_bigbrother"), &args, &[("RUST_LOG", "warn")])?;
    let mut broadcast = fake.accept_broadcast()?;
    broadcast.send_raw(message("mallory", &hostile_text()).as_bytes())?;
    broadcast.send_raw(message(&padded_nick(), "hi").as_bytes())?;
    let heard = spy.stdout.wait_next("for mallory's message")?;
    let padded = spy.stdout.wait_next("for the padded nick")?;
    assert_eq!(heard, format!("mallory : {}", escaped_text()));
    assert_eq!(padded, format!("{} : hi", padded_shown()));
    assert_all_escaped("simple_bigbrother", &[heard, padded]);
    Ok(())
}

#[test]
fn simple_dos_escapes_what_the_server_answers() -> Result<()> {
    let fake = FakeServer::bind()?;
    let mut args = fake.client_args()?;
    args.extend(["--evict", "bob"].map(String::from));
    let dos = Process::spawn(&bin!("simple_dos"), &args, &[])?;
    let mut requests = fake.accept_request()?;
    requests.read_line()?.expect("no leave");
    let refusal = json!({"response": "ko", "error": hostile_text()});
    requests.send_raw(format!("{refusal}\n").as_bytes())?;
    let report = dos.stdout.wait_next("reporting the answer")?;
    assert_eq!(
        report,
        format!("evict 'bob': server answered ko: {}", escaped_text())
    );
    assert_all_escaped("simple_dos", &[report]);
    Ok(())
}

#[test]
fn simple_exploit_escapes_what_the_server_answers() -> Result<()> {
    let fake = FakeServer::bind()?;
    let args = fake.client_args()?;
    let refusal = json!({"response": "ko", "error": hostile_text()}).to_string();
    fake.answer_every_request_with(refusal);
    let mut exploit = Process::spawn(&bin!("simple_exploit"), &args, &[])?;
    exploit
        .wait(PATIENCE)
        .expect("simple_exploit did not finish");
    let report = exploit.stdout.until_closed()?;
    let answers: Vec<&String> = report
        .iter()
        .filter(|l| l.contains("a\\u{202e}b"))
        .collect();
    assert!(answers.len() > 2, "the answers are not shown: {report:#?}");
    assert_all_escaped("simple_exploit", &report);
    Ok(())
}
