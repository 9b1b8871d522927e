//! What the tools print of a peer's text (issue 14, finding 6; PROTOCOL.md
//! section 4): every bidirectional control, zero-width character and line
//! or paragraph separator is escaped by every tool that prints peer text,
//! and a nick that is no nick is shown quoted and cut, so no printed line
//! passes for another. The peer is a fake server played by the test, as a
//! rogue server would: it sends whatever it likes.

mod hostile;

use chat_lab::process::Process;
use hostile::{FakeServer, PATIENCE, endpoint_args, next_line};
use serde_json::json;

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
fn the_chat_client_escapes_peer_text_and_quotes_what_is_no_nick() {
    let fake = FakeServer::bind();
    let mut args = endpoint_args(fake.ports());
    args.extend(["--nick", "bob"].map(String::from));
    let mut client = Process::spawn(&exe!("simple_client"), &args, &[]).unwrap();
    let mut broadcast = fake.accept_broadcast();
    let mut requests = fake.accept_request();
    let join = requests.line().expect("no join");
    assert!(join.contains(r#""type":"join""#), "{join}");
    requests.send(b"{\"response\":\"ok\"}\n");
    client
        .stderr
        .find(PATIENCE, |l| l.starts_with("joined as"))
        .unwrap();

    broadcast.send(message("mallory", &hostile_text()).as_bytes());
    broadcast.send(message(&padded_nick(), "hi").as_bytes());
    broadcast.send(message("\u{202e}ecila", "hi").as_bytes());
    let accepted = next_line(&client.stdout, "for mallory's message");
    let padded = next_line(&client.stdout, "for the padded nick");
    let reversed = next_line(&client.stdout, "for the reversed nick");
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

    client.send_line("/list").unwrap();
    assert!(requests.line().unwrap().contains(r#""type":"list""#));
    let list = json!({"response": ["bob", "\u{2067}eve", hostile_text()], "more": 3});
    requests.send(format!("{list}\n").as_bytes());
    let shown = next_line(&client.stdout, "answering /list");
    assert!(
        shown.starts_with("joined (3, 3 more not shown): bob, \"\\u{2067}eve\", \"a\\u{202a}b"),
        "{shown}"
    );

    client.send_line("hello").unwrap();
    requests.line().expect("no message");
    let refusal = json!({"response": "ko", "error": hostile_text()});
    requests.send(format!("{refusal}\n").as_bytes());
    let said = client
        .stderr
        .find(PATIENCE, |l| l.starts_with("message refused"))
        .unwrap();
    assert!(said.starts_with("message refused: a\\u{202a}b"), "{said}");
    assert_all_escaped("simple_client", &[accepted, padded, reversed, shown, said]);
}

#[test]
fn big_brother_escapes_what_it_overhears() {
    let fake = FakeServer::bind();
    let args = endpoint_args(fake.ports());
    let spy = Process::spawn(&exe!("simple_bigbrother"), &args, &[("RUST_LOG", "warn")]).unwrap();
    let mut broadcast = fake.accept_broadcast();
    broadcast.send(message("mallory", &hostile_text()).as_bytes());
    broadcast.send(message(&padded_nick(), "hi").as_bytes());
    let heard = next_line(&spy.stdout, "for mallory's message");
    let padded = next_line(&spy.stdout, "for the padded nick");
    assert_eq!(heard, format!("mallory : {}", escaped_text()));
    assert_eq!(padded, format!("{} : hi", padded_shown()));
    assert_all_escaped("simple_bigbrother", &[heard, padded]);
}

#[test]
fn simple_dos_escapes_what_the_server_answers() {
    let fake = FakeServer::bind();
    let mut args = endpoint_args(fake.ports());
    args.extend(["--evict", "bob"].map(String::from));
    let dos = Process::spawn(&exe!("simple_dos"), &args, &[]).unwrap();
    let mut requests = fake.accept_request();
    requests.line().expect("no leave");
    let refusal = json!({"response": "ko", "error": hostile_text()});
    requests.send(format!("{refusal}\n").as_bytes());
    let report = next_line(&dos.stdout, "reporting the answer");
    assert_eq!(
        report,
        format!("evict 'bob': server answered ko: {}", escaped_text())
    );
    assert_all_escaped("simple_dos", &[report]);
}

#[test]
fn simple_exploit_escapes_what_the_server_answers() {
    let fake = FakeServer::bind();
    let args = endpoint_args(fake.ports());
    let refusal = json!({"response": "ko", "error": hostile_text()}).to_string();
    fake.answer_every_request_with(refusal);
    let mut exploit = Process::spawn(&exe!("simple_exploit"), &args, &[]).unwrap();
    exploit
        .wait(PATIENCE)
        .expect("simple_exploit did not finish");
    let report: Vec<String> = std::iter::from_fn(|| exploit.stdout.next(PATIENCE / 20)).collect();
    let answers: Vec<&String> = report
        .iter()
        .filter(|l| l.contains("a\\u{202e}b"))
        .collect();
    assert!(answers.len() > 2, "the answers are not shown: {report:#?}");
    assert_all_escaped("simple_exploit", &report);
}
