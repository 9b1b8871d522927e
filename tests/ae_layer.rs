//! The AE layer through the real binaries: `ae_client` processes chatting
//! through `ae_server`, what the broadcast port shows a listener, and what
//! `rogue_server` can and cannot do to AE.
//!
//! AE stops a server from reading or altering a message. It does not stop
//! one from relabelling, replaying or dropping it: the tests against
//! `rogue_server` assert those weaknesses as the lab wants them seen, so the
//! AEAD layer's tests can show them fixed.

// Test names say what is observed, then `__`, then what it means for the
// lab: `ae_accepts_a_replayed_message_twice__the_weakness_aead_fixes`.
#![allow(non_snake_case)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use std::time::{Duration, Instant};

use common::{PATIENCE, Proc, Server, Sub, assert_ko, ok, run};
use serde_json::{Value, json};
use unsecured_chat::layer::crypto::{self, DEFAULT_ITERATIONS, DecryptError, Password, SALT_LEN};
use unsecured_chat::server::rogue_server::DEFAULT_IMPERSONATED;

/// The chat's shared password in these tests.
const PASSWORD: &str = "s3cret";
/// What a client that does not know it tries.
const WRONG_PASSWORD: &str = "guess";
/// How every Fernet token starts: version 0x80 and a timestamp's high zero
/// bytes, in URL-safe base64.
const FERNET_PREFIX: &str = "gAAAAA";
/// What `ae_client` says of a token it cannot verify.
const CANNOT_VERIFY: &str = "cannot verify: wrong password or altered message";
/// The nick that sends [`subscribed`]'s markers.
const SYNC_NICK: &str = "sync-probe";
/// How long to wait for a marker before sending another: a polling
/// interval, not an expectation.
const SYNC_RETRY: Duration = Duration::from_millis(50);

fn ae_server() -> Server {
    Server::start(bin!("ae_server"), &[])
}

fn rogue_server(args: &[&str]) -> Server {
    Server::start(bin!("rogue_server"), args)
}

/// An `ae_client` joined as `nick` with `password` on the command line.
fn ae_client(server: &Server, nick: &str, password: &str) -> Proc {
    Proc::client(bin!("ae_client"), server, nick, &["--password", password])
}

/// Every line `proc` printed on stdout and stderr so far, for assertions
/// that something never appeared.
fn everything_printed(proc: &Proc) -> Vec<String> {
    let mut lines = proc.stdout.all();
    lines.extend(proc.stderr.all());
    lines
}

/// Returns once the server has certainly subscribed the broadcast
/// connection of every client in `clients`.
///
/// A client connects its broadcast port before it joins, but the server
/// subscribes that connection only when its accept thread gets to it. Under
/// load that can come after the client has joined and a first message has
/// been relayed, which that client then never receives (a library bug, to be
/// fixed on the server side). So a raw connection sends sealed markers until
/// every client has printed a line for one, then leaves.
fn subscribed(server: &Server, clients: &[&Proc]) {
    let mut speaker = server.request();
    assert_eq!(speaker.join(SYNC_NICK), ok());
    let deadline = Instant::now() + PATIENCE;
    for client in clients {
        loop {
            assert!(Instant::now() < deadline, "a client was never subscribed");
            assert_eq!(speaker.send_json(&sealed_marker()), ok());
            if client.stdout.next(SYNC_RETRY).is_some() {
                break;
            }
        }
    }
    assert_eq!(speaker.leave(SYNC_NICK), ok());
}

/// A message from [`SYNC_NICK`], sealed as the clients seal theirs.
fn sealed_marker() -> Value {
    let (salt, token) =
        crypto::encrypt_message(&Password::new(PASSWORD), b"sync marker", DEFAULT_ITERATIONS)
            .expect("the OS gives randomness");
    json!({"type": "message", "nick": SYNC_NICK, "message": {"salt": salt.to_base64(), "token": token}})
}

/// A raw broadcast connection, to be opened before any client starts.
///
/// The server subscribes connections in the order it accepts them, on one
/// thread, and accepts them in the order they were established. So once
/// [`subscribed`] has returned for clients started after this listener, the
/// listener is certainly subscribed too.
fn early_listener(server: &Server) -> Sub {
    server.subscribe()
}

/// The next broadcast frame not sent by [`subscribed`], and its line.
fn next_frame_not_a_marker(listener: &mut Sub) -> (String, Value) {
    loop {
        let line = listener.next_line();
        let frame: Value = serde_json::from_str(&line).expect("a JSON frame");
        if frame["nick"] != SYNC_NICK {
            return (line, frame);
        }
    }
}

/// The line a client prints for a token from `nick` it cannot verify.
fn unverifiable_from(nick: &str) -> String {
    format!("[rejected] {nick}: {CANNOT_VERIFY}")
}

fn assert_never_shown(proc: &Proc, secret: &str) {
    let lines = everything_printed(proc);
    assert!(
        lines.iter().all(|l| !l.contains(secret)),
        "{secret:?} appeared in {lines:#?}"
    );
}

#[test]
fn two_ae_clients_chat_through_ae_server() {
    let server = ae_server();
    let mut alice = ae_client(&server, "alice", PASSWORD);
    let mut bob = ae_client(&server, "bob", PASSWORD);
    subscribed(&server, &[&alice, &bob]);

    alice.send_line("hello");
    bob.stdout.wait_for_line("alice : hello");
    alice.stdout.wait_for_line("alice : hello");

    bob.send_line("hi alice, all is encrypted");
    alice
        .stdout
        .wait_for_line("bob : hi alice, all is encrypted");
    bob.stdout.wait_for_line("bob : hi alice, all is encrypted");

    alice.close_stdin();
    bob.close_stdin();
    assert!(alice.wait().success());
    assert!(bob.wait().success());
}

#[test]
fn the_broadcast_port_carries_only_a_salt_and_a_token() {
    let server = ae_server();
    let mut listener = early_listener(&server);
    let mut alice = ae_client(&server, "alice", PASSWORD);
    subscribed(&server, &[&alice]);
    let text = "attack at dawn";

    alice.send_line(text);
    let (line, frame) = next_frame_not_a_marker(&mut listener);
    assert_no_trace_of(&line, text);
    assert_eq!(frame["type"], "message");
    assert_eq!(frame["nick"], "alice");
    let (salt, token) = salt_and_token(&frame);

    let salt_bytes = STANDARD.decode(salt).expect("the salt is standard base64");
    assert_eq!(salt_bytes.len(), SALT_LEN);
    assert!(token.starts_with(FERNET_PREFIX), "{token}");

    // Without the password the token says nothing; with it, it is the text.
    let guess = crypto::decrypt_message(
        &Password::new(WRONG_PASSWORD),
        token,
        salt,
        DEFAULT_ITERATIONS,
    );
    assert_eq!(guess, Err(DecryptError::WrongKeyOrAltered));
    let known = crypto::decrypt_message(&Password::new(PASSWORD), token, salt, DEFAULT_ITERATIONS);
    assert_eq!(known.as_deref(), Ok(text));

    // The server, too, only ever held ciphertext.
    let log = server.stderr.all();
    assert!(log.iter().all(|l| !l.contains(text)), "{log:#?}");
}

/// Asserts a broadcast line shows `text` neither in clear nor base64-encoded.
fn assert_no_trace_of(line: &str, text: &str) {
    for encoded in [
        text.to_owned(),
        STANDARD.encode(text),
        URL_SAFE.encode(text),
    ] {
        assert!(!line.contains(&encoded), "{encoded:?} in {line}");
    }
}

/// The `{"salt", "token"}` of a message frame, as strings.
fn salt_and_token(frame: &Value) -> (&str, &str) {
    let message = frame["message"]
        .as_object()
        .unwrap_or_else(|| panic!("the message field is not an object: {frame}"));
    let field = |name| {
        message[name]
            .as_str()
            .unwrap_or_else(|| panic!("no string {name:?} in {frame}"))
    };
    (field("salt"), field("token"))
}

#[test]
fn a_wrong_password_gives_a_rejection_never_garbage() {
    let server = ae_server();
    let mut alice = ae_client(&server, "alice", PASSWORD);
    let eve = ae_client(&server, "eve", WRONG_PASSWORD);
    subscribed(&server, &[&alice, &eve]);
    let text = "the vault code is 1234";

    alice.send_line(text);
    eve.stdout.wait_for_line(&unverifiable_from("alice"));
    alice.stdout.wait_for_line(&format!("alice : {text}"));
    assert_never_shown(&eve, text);
    let about_alice = eve
        .stdout
        .all()
        .iter()
        .filter(|l| l.contains("alice"))
        .count();
    assert_eq!(about_alice, 1, "one line per broadcast");
}

#[test]
fn ae_server_refuses_a_cleartext_message() {
    let server = ae_server();
    let mut listener = early_listener(&server);
    let mut conn = server.request();
    assert_eq!(conn.join("mallory"), ok());

    assert_ko(&conn.say("mallory", "in clear"), "encrypted messages only");

    // Nothing was relayed: the next broadcast is the next sealed message.
    let mut alice = ae_client(&server, "alice", PASSWORD);
    subscribed(&server, &[&alice]);
    alice.send_line("sealed");
    let (_, frame) = next_frame_not_a_marker(&mut listener);
    assert_eq!(frame["nick"], "alice");
}

#[test]
fn the_password_may_come_from_chat_password() {
    let server = ae_server();
    let mut args = server.client_args();
    args.extend(["--nick".to_owned(), "alice".to_owned()]);
    let mut alice = Proc::spawn(bin!("ae_client"), &args, &[("CHAT_PASSWORD", PASSWORD)]);
    alice
        .stderr
        .wait_for("announcing the join", |l| l.starts_with("joined as "));
    let bob = ae_client(&server, "bob", PASSWORD);
    subscribed(&server, &[&alice, &bob]);

    alice.send_line("from the environment");
    bob.stdout.wait_for_line("alice : from the environment");
}

#[test]
fn without_any_password_ae_client_exits_with_one_error_line() {
    let server = ae_server();
    let mut args = server.client_args();
    args.extend(["--nick".to_owned(), "alice".to_owned()]);

    // `run` gives no CHAT_PASSWORD and a stdin that is not a terminal.
    let (status, stdout, stderr) = run(bin!("ae_client"), &args);
    assert!(!status.success());
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("no password"), "{stderr}");
}

#[test]
fn ae_rejects_a_tampered_message() {
    let server = rogue_server(&["--attack", "tamper"]);
    let mut alice = ae_client(&server, "alice", PASSWORD);
    let bob = ae_client(&server, "bob", PASSWORD);
    subscribed(&server, &[&alice, &bob]);
    let text = "transfer 10 euros";

    alice.send_line(text);
    bob.stdout.wait_for_line(&unverifiable_from("alice"));
    alice.stdout.wait_for_line(&unverifiable_from("alice"));
    assert_never_shown(&bob, text);
}

// The weakness the lab wants seen: the nick is outside the token, so the
// server can relabel alice's message and AE has no way to tell. The AEAD
// layer seals the nick inside the token to fix exactly this.
#[test]
fn ae_accepts_a_relabelled_message__the_weakness_aead_fixes() {
    let server = rogue_server(&["--attack", "impersonate"]);
    let mut alice = ae_client(&server, "alice", PASSWORD);
    let bob = ae_client(&server, "bob", PASSWORD);
    subscribed(&server, &[&alice, &bob]);

    alice.send_line("I owe alice 100 euros");
    // Relabelled with the other joined nick: bob reads his own name on
    // alice's words, and accepts them.
    bob.stdout.wait_for_line("bob : I owe alice 100 euros");
    alice.stdout.wait_for_line("bob : I owe alice 100 euros");
}

// The same weakness with a nick of the server's choosing, one that never
// joined: AE accepts it all the same.
#[test]
fn ae_accepts_a_message_relabelled_as_anyone__the_weakness_aead_fixes() {
    let server = rogue_server(&["--attack", "impersonate", "--as", "mallory"]);
    let mut alice = ae_client(&server, "alice", PASSWORD);
    let bob = ae_client(&server, "bob", PASSWORD);
    subscribed(&server, &[&alice, &bob]);

    alice.send_line("send the password to mallory");
    bob.stdout
        .wait_for_line("mallory : send the password to mallory");
}

// The weakness the lab wants seen: a replayed token is still a valid token,
// and AE keeps no memory of what it accepted, so the copy is shown again as
// new. AEAD's TTL and replay guard fix this.
#[test]
fn ae_accepts_a_replayed_message_twice__the_weakness_aead_fixes() {
    let server = rogue_server(&["--attack", "replay", "--delay", "0.2"]);
    let mut alice = ae_client(&server, "alice", PASSWORD);
    let bob = ae_client(&server, "bob", PASSWORD);
    subscribed(&server, &[&alice, &bob]);

    alice.send_line("pay bob 10 euros");
    bob.stdout.wait_for_line("alice : pay bob 10 euros");
    bob.stdout.wait_for_line("alice : pay bob 10 euros");
    assert!(bob.stderr.all().iter().all(|l| !l.contains("[warning]")));
}

// Nobody can stop a server from dropping messages, and AE cannot even
// notice: every sender got `ok`, the receiver sees a gap and no warning.
// AEAD's sealed counters report it.
#[test]
fn ae_does_not_notice_dropped_messages__the_weakness_aead_reports() {
    let server = rogue_server(&["--attack", "drop"]);
    let mut alice = ae_client(&server, "alice", PASSWORD);
    let bob = ae_client(&server, "bob", PASSWORD);
    subscribed(&server, &[&alice, &bob]);

    let sent: Vec<String> = (1..=4).map(|i| format!("alice : m{i}")).collect();
    for i in 1..=4 {
        alice.send_line(&format!("m{i}"));
    }
    // Of two more messages one is relayed (the server drops every other
    // one), and broadcasts arrive in order: once it is in, the first four
    // are settled.
    alice.send_line("over");
    alice.send_line("over");
    bob.stdout.wait_for_line("alice : over");

    let arrived: Vec<String> = bob
        .stdout
        .all()
        .into_iter()
        .filter(|l| sent.contains(l))
        .collect();
    assert_eq!(arrived.len(), 2, "of 4 messages only 2 arrive: {arrived:?}");
    let noticed: Vec<String> = everything_printed(&bob)
        .into_iter()
        .chain(everything_printed(&alice))
        .filter(|l| l.contains("[warning]") || l.contains("refused") || l.contains("missing"))
        .collect();
    assert!(noticed.is_empty(), "{noticed:#?}");
}

/// What a listener on the broadcast port sees of a rogue server's relays is
/// still only ciphertext: the attacks need no key.
#[test]
fn a_rogue_server_attacks_without_ever_reading_the_text() {
    let server = rogue_server(&["--attack", "impersonate,replay", "--delay", "0"]);
    let mut listener = early_listener(&server);
    let mut alice = ae_client(&server, "alice", PASSWORD);
    subscribed(&server, &[&alice]);
    let text = "rendezvous at noon";

    alice.send_line(text);
    // Every line on the port is ciphertext; two carry alice's token, relayed
    // under the default victim's nick (she is alone in the chat) and replayed.
    let mut copies = 0;
    while copies < 2 {
        let line = listener.next_line();
        assert_no_trace_of(&line, text);
        let frame: Value = serde_json::from_str(&line).expect("a JSON frame");
        let (salt, token) = salt_and_token(&frame);
        let opened =
            crypto::decrypt_message(&Password::new(PASSWORD), token, salt, DEFAULT_ITERATIONS);
        if opened.as_deref() == Ok(text) {
            assert_eq!(frame["nick"], DEFAULT_IMPERSONATED);
            copies += 1;
        }
    }
    let log = server.stderr.all();
    assert!(log.iter().all(|l| !l.contains(text)), "{log:#?}");
}
