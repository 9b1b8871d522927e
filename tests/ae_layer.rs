//! The AE layer: clients chatting through the AE server, what the broadcast
//! port shows a listener, and what a rogue server can and cannot do to AE.
//! The layer is tested in process (servers through `ServerHandle`, clients
//! as the library's `SimpleClient`, what they receive as values); the
//! `ae_client`, `ae_server` and `rogue_server` binaries where the contract
//! is theirs (end to end, the password's sources, the servers' logs).
//!
//! AE stops a server from reading or altering a message. It does not stop
//! one from relabelling, replaying or dropping it: the tests against the
//! rogue server assert those weaknesses as the lab wants them seen, so the
//! AEAD layer's tests can show them fixed.

// Test names say what is observed, then `__`, then what it means for the
// lab: `ae_accepts_a_replayed_message_twice__the_weakness_aead_fixes`.
#![allow(non_snake_case)]

mod common;

use std::time::Duration;

use anyhow::Result;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use chat::client::Delivery;
use chat::layer::crypto::{self, DEFAULT_ITERATIONS, DecryptError, Password, SALT_LEN};
use chat::layer::{AeSettings, Layer};
use chat::server::rogue_server::{Attack, DEFAULT_IMPERSONATED};
use chat_lab::process::{Process, QUIET, ServerProcess, run};
use chat_lab::raw::{Sub, ok};
use chat_lab::stage::{Member, Server};
use common::{ae, assert_ko, client, rogue};
use serde_json::Value;
use unsecured_chat::display;

/// The chat's shared password in these tests.
const PASSWORD: &str = "s3cret";
/// What a client that does not know it tries.
const WRONG_PASSWORD: &str = "guess";
/// How every Fernet token starts: version 0x80 and a timestamp's high zero
/// bytes, in URL-safe base64.
const FERNET_PREFIX: &str = "gAAAAA";
/// What an AE client says of a token it cannot verify.
const CANNOT_VERIFY: &str = "cannot verify: wrong password or altered message (or another --kdf or --iterations than the sender's)";

/// An AE client of `endpoint`'s server, joined as `nick` with `password`.
fn member_of(endpoint: &chat::Endpoint, nick: &str, password: &str) -> Member {
    let settings = AeSettings::new(Password::new(password));
    Member::join(endpoint, nick, Layer::Ae, Some(&settings)).unwrap()
}

fn member(server: &Server, nick: &str, password: &str) -> Member {
    member_of(&server.endpoint(), nick, password)
}

/// The line an AE client prints for its next delivery.
fn next_shown(member: &Member) -> String {
    display::delivery(&member.next().unwrap())
}

/// The line a client prints for a token from `nick` it cannot verify.
fn unverifiable_from(nick: &str) -> String {
    format!("[rejected] {nick}: {CANNOT_VERIFY}")
}

/// Whether a delivery carries news beyond its message: a rejection, or a
/// layer's warning.
fn noticed(delivery: &Delivery) -> bool {
    match delivery {
        Delivery::Accepted { opened, .. } => !opened.warnings.is_empty(),
        Delivery::Rejected { .. } | Delivery::Notice(_) => true,
    }
}

#[test]
fn two_ae_clients_chat_through_ae_server() -> Result<()> {
    let server = ae();
    let mut alice = client(
        &bin!("ae_client"),
        &server,
        "alice",
        &["--password", PASSWORD],
    );
    let mut bob = client(
        &bin!("ae_client"),
        &server,
        "bob",
        &["--password", PASSWORD],
    );

    alice.send_line("hello")?;
    bob.stdout.wait_for_line("alice : hello")?;
    alice.stdout.wait_for_line("alice : hello")?;

    bob.send_line("hi alice, all is encrypted")?;
    alice
        .stdout
        .wait_for_line("bob : hi alice, all is encrypted")?;
    bob.stdout
        .wait_for_line("bob : hi alice, all is encrypted")?;

    alice.close_stdin();
    bob.close_stdin();
    assert!(alice.exit_status()?.success());
    assert!(bob.exit_status()?.success());
    Ok(())
}

#[test]
fn the_broadcast_port_carries_only_a_salt_and_a_token() -> Result<()> {
    let server = ae();
    let mut listener = server.synced_subscriber()?;
    let mut alice = member(&server, "alice", PASSWORD);
    let text = "attack at dawn";

    alice.send(text).unwrap();
    let line = listener.next_line()?;
    assert_no_trace_of(&line, text);
    let frame: Value = serde_json::from_str(&line).unwrap();
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
    Ok(())
}

/// A server binary of this project, logging at info as it does by default.
fn server_process(name: &std::path::Path, args: &[&str]) -> Result<ServerProcess> {
    ServerProcess::start(name, args, &[("RUST_LOG", "info")])
}

/// The log `ae_server` writes only ever holds ciphertext.
#[test]
fn ae_servers_log_shows_a_salt_and_a_token_never_the_text() -> Result<()> {
    let server = server_process(&bin!("ae_server"), &[])?;
    let mut alice = member_of(&server.endpoint(), "alice", PASSWORD);
    let text = "attack at dawn";

    alice.send(text)?;
    let logged = server.process.stderr.wait_for("logging the message", |l| {
        l.contains("Client 'alice' sent message: salt")
    })?;
    assert!(logged.ends_with("ciphertext only"), "{logged}");
    let log = server.process.stderr.all();
    assert!(log.iter().all(|l| !l.contains(text)), "{log:#?}");
    Ok(())
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
    let server = ae();
    let mut alice = member(&server, "alice", PASSWORD);
    let eve = member(&server, "eve", WRONG_PASSWORD);
    let text = "the vault code is 1234";

    alice.send(text).unwrap();
    assert_eq!(next_shown(&eve), unverifiable_from("alice"));
    assert_eq!(next_shown(&alice), format!("alice : {text}"));
    assert_eq!(eve.next_within(QUIET), None, "one line per broadcast");
}

#[test]
fn ae_server_refuses_a_cleartext_message() -> Result<()> {
    let server = ae();
    let mut listener = server.synced_subscriber()?;
    let mut conn = server.request()?;
    assert_eq!(conn.join("mallory")?, ok());

    assert_ko(&conn.say("mallory", "in clear")?, "encrypted messages only");

    // Nothing was relayed: the next broadcast is the next sealed message.
    let mut alice = member(&server, "alice", PASSWORD);
    alice.send("sealed").unwrap();
    assert_eq!(listener.next_json()?["nick"], "alice");
    Ok(())
}

#[test]
fn the_password_may_come_from_chat_password() -> Result<()> {
    let server = ae();
    let mut args = server.client_args();
    args.extend(["--nick".to_owned(), "alice".to_owned()]);
    let mut alice = Process::spawn(&bin!("ae_client"), &args, &[("CHAT_PASSWORD", PASSWORD)])?;
    alice
        .stderr
        .wait_for("announcing the join", |l| l.starts_with("joined as "))?;
    let bob = member(&server, "bob", PASSWORD);

    alice.send_line("from the environment")?;
    assert_eq!(next_shown(&bob), "alice : from the environment");
    Ok(())
}

#[test]
fn without_any_password_ae_client_exits_with_one_error_line() -> Result<()> {
    let server = ae();
    let mut args = server.client_args();
    args.extend(["--nick".to_owned(), "alice".to_owned()]);

    // `run` gives no CHAT_PASSWORD and a stdin that is not a terminal.
    let done = run(&bin!("ae_client"), &args)?;
    assert!(!done.status.success());
    assert_eq!(done.stdout, "");
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", done.stderr);
    assert!(lines[0].contains("no password"), "{}", done.stderr);
    Ok(())
}

#[test]
fn ae_rejects_a_tampered_message() {
    let server = rogue(&[Attack::Tamper], None, None);
    let mut alice = member(&server, "alice", PASSWORD);
    let bob = member(&server, "bob", PASSWORD);

    alice.send("transfer 10 euros").unwrap();
    assert_eq!(next_shown(&bob), unverifiable_from("alice"));
    assert_eq!(next_shown(&alice), unverifiable_from("alice"));
}

// The weakness the lab wants seen: the nick is outside the token, so the
// server can relabel alice's message and AE has no way to tell. The AEAD
// layer seals the nick inside the token to fix exactly this.
#[test]
fn ae_accepts_a_relabelled_message__the_weakness_aead_fixes() {
    let server = rogue(&[Attack::Impersonate], None, None);
    let mut alice = member(&server, "alice", PASSWORD);
    let bob = member(&server, "bob", PASSWORD);

    alice.send("I owe alice 100 euros").unwrap();
    // Relabelled with the other joined nick: bob reads his own name on
    // alice's words, and accepts them.
    assert_eq!(next_shown(&bob), "bob : I owe alice 100 euros");
    assert_eq!(next_shown(&alice), "bob : I owe alice 100 euros");
}

// The same weakness with a nick of the server's choosing, one that never
// joined: AE accepts it all the same.
#[test]
fn ae_accepts_a_message_relabelled_as_anyone__the_weakness_aead_fixes() {
    let server = rogue(&[Attack::Impersonate], Some("mallory"), None);
    let mut alice = member(&server, "alice", PASSWORD);
    let bob = member(&server, "bob", PASSWORD);

    alice.send("send the password to mallory").unwrap();
    assert_eq!(next_shown(&bob), "mallory : send the password to mallory");
}

// The weakness the lab wants seen: a replayed token is still a valid token,
// and AE keeps no memory of what it accepted, so the copy is shown again as
// new. AEAD's TTL and replay guard fix this.
#[test]
fn ae_accepts_a_replayed_message_twice__the_weakness_aead_fixes() {
    let delay = Duration::from_millis(200);
    let server = rogue(&[Attack::Replay], None, Some(delay));
    let mut alice = member(&server, "alice", PASSWORD);
    let bob = member(&server, "bob", PASSWORD);

    alice.send("pay bob 10 euros").unwrap();
    for _ in 0..2 {
        let delivery = bob.next().unwrap();
        assert_eq!(display::delivery(&delivery), "alice : pay bob 10 euros");
        assert!(!noticed(&delivery), "{delivery:?}");
    }
}

// Nobody can stop a server from dropping messages, and AE cannot even
// notice: every sender got `ok`, the receiver sees a gap and no warning.
// AEAD's sealed counters report it.
#[test]
fn ae_does_not_notice_dropped_messages__the_weakness_aead_reports() {
    let server = rogue(&[Attack::Drop], None, None);
    let mut alice = member(&server, "alice", PASSWORD);
    let bob = member(&server, "bob", PASSWORD);

    let sent: Vec<String> = (1..=4).map(|i| format!("alice : m{i}")).collect();
    // Every send is answered ok: the sender is told nothing either.
    for i in 1..=4 {
        alice.send(&format!("m{i}")).unwrap();
    }
    // Of two more messages one is relayed (the server drops every other
    // one), and broadcasts arrive in order: once it is in, the first four
    // are settled.
    alice.send("over").unwrap();
    alice.send("over").unwrap();
    let received = [until_over(&bob), until_over(&alice)];

    let arrived = received[0].iter().filter(|l| sent.contains(l)).count();
    assert_eq!(arrived, 2, "of 4 messages only 2 arrive: {:?}", received[0]);
    let told = |l: &String| l.starts_with("[rejected]") || l.starts_with("[warning]");
    assert!(!received.concat().iter().any(told), "{received:?}");
}

/// The lines a member's client prints up to `alice : over`, its layer's
/// warnings among them.
fn until_over(member: &Member) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let delivery = member.next().unwrap();
        lines.push(display::delivery(&delivery));
        if let Delivery::Accepted { opened, .. } = &delivery {
            lines.extend(opened.warnings.iter().map(|w| display::warning(w)));
        }
        if lines.last().is_some_and(|l| l == "alice : over") {
            return lines;
        }
    }
}

/// What a listener on the broadcast port sees of a rogue server's relays is
/// still only ciphertext: the attacks need no key.
#[test]
fn a_rogue_server_attacks_without_ever_reading_the_text() -> Result<()> {
    let attacks = [Attack::Impersonate, Attack::Replay];
    let server = rogue(&attacks, None, Some(Duration::ZERO));
    let mut listener = server.synced_subscriber()?;
    let mut alice = member(&server, "alice", PASSWORD);
    let text = "rendezvous at noon";

    alice.send(text).unwrap();
    assert_eq!(copies_of_alices_token(&mut listener, text, 2), 2);
    Ok(())
}

/// Reads the broadcast port until `wanted` frames carry `text` sealed,
/// checking every line is ciphertext and each copy is relabelled with the
/// default victim's nick (alice is alone in the chat).
fn copies_of_alices_token(listener: &mut Sub, text: &str, wanted: usize) -> usize {
    let mut copies = 0;
    while copies < wanted {
        let line = listener.next_line().unwrap();
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
    copies
}

/// The `rogue_server` binary does what its flags say, and its log, too,
/// never holds the text.
#[test]
fn the_rogue_server_binary_attacks_as_its_flags_say_and_never_logs_the_text() -> Result<()> {
    let flags = ["--attack", "impersonate,replay", "--delay", "0"];
    let server = server_process(&bin!("rogue_server"), &flags)?;
    // Connected before alice's broadcast connection, which the server
    // registers before it answers her join: so is this one, by then (one
    // accept thread registers them in the order they connected).
    let mut listener = Sub::connect(server.broadcast_addr())?;
    let mut alice = member_of(&server.endpoint(), "alice", PASSWORD);
    let text = "rendezvous at noon";

    alice.send(text)?;
    assert_eq!(copies_of_alices_token(&mut listener, text, 2), 2);
    let stderr = &server.process.stderr;
    stderr.wait_for("logging the replay", |l| {
        l.contains("ATTACK replay: relayed")
    })?;
    let log = stderr.all();
    assert!(log.iter().all(|l| !l.contains(text)), "{log:#?}");
    Ok(())
}
