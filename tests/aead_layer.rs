//! The AEAD layer through the real binaries: `aead_client` processes
//! through `ae_server` and `rogue_server`. Each weakness the AE tests assert
//! (relabelling, replay, silent drops) is shown fixed or reported here, and
//! the lab's clock experiments are played with `--clock-offset`.

mod common;

use common::{Proc, Server, Sub};
use serde_json::Value;
use unsecured_chat::layer::aead_client::SealedPlaintext;
use unsecured_chat::layer::crypto::{DEFAULT_ITERATIONS, Password, decrypt_message};

/// The chat's shared password in these tests.
const PASSWORD: &str = "s3cret";
/// Delay of the rogue server's replays, in seconds.
const REPLAY_DELAY: &str = "0.2";

fn aead_client(server: &Server, nick: &str, extra: &[&str]) -> Proc {
    let mut flags = vec!["--password", PASSWORD];
    flags.extend_from_slice(extra);
    Proc::client(bin!("aead_client"), server, nick, &flags)
}

/// alice and bob, AEAD clients of `server`.
fn alice_and_bob(server: &Server) -> (Proc, Proc) {
    (
        aead_client(server, "alice", &[]),
        aead_client(server, "bob", &[]),
    )
}

/// The next line bob's client prints.
fn next_shown(client: &Proc) -> String {
    client
        .stdout
        .next(common::PATIENCE)
        .expect("the client printed nothing")
}

#[test]
fn two_aead_clients_chat_through_ae_server() {
    let server = Server::start(bin!("ae_server"), &[]);
    let (mut alice, bob) = alice_and_bob(&server);
    alice.send_line("hello bob");
    assert_eq!(next_shown(&bob), "alice : hello bob");
    assert_eq!(next_shown(&alice), "alice : hello bob");
}

#[test]
fn the_token_seals_the_senders_nick_and_counter() {
    let server = Server::start(bin!("ae_server"), &[]);
    let mut listener: Sub = server.subscribe();
    let (mut alice, bob) = alice_and_bob(&server);
    for text in ["first", "second"] {
        alice.send_line(text);
        next_shown(&bob);
    }
    for (seq, text) in [(0, "first"), (1, "second")] {
        let frame: Value = listener.next_json();
        let (salt, token) = (
            frame["message"]["salt"].as_str(),
            frame["message"]["token"].as_str(),
        );
        let plaintext = decrypt_message(
            &Password::new(PASSWORD),
            token.unwrap(),
            salt.unwrap(),
            DEFAULT_ITERATIONS,
        )
        .unwrap();
        let sealed: SealedPlaintext<'_> = serde_json::from_str(&plaintext).unwrap();
        assert_eq!(
            (sealed.nick.as_ref(), sealed.message.as_ref(), sealed.seq),
            ("alice", text, Some(seq))
        );
        assert!(sealed.session.is_some_and(|s| !s.is_empty()));
    }
}

#[test]
fn aead_rejects_a_relabelled_message() {
    let server = Server::start(
        bin!("rogue_server"),
        &["--attack", "impersonate", "--as", "mallory"],
    );
    let (mut alice, bob) = alice_and_bob(&server);
    alice.send_line("I resign");
    assert_eq!(
        next_shown(&bob),
        "[rejected] mallory: sender mismatch (sealed by alice)"
    );
}

#[test]
fn aead_accepts_a_message_once_and_rejects_its_replay() {
    let server = Server::start(
        bin!("rogue_server"),
        &["--attack", "replay", "--delay", REPLAY_DELAY],
    );
    let (mut alice, bob) = alice_and_bob(&server);
    alice.send_line("transfer 100 euros");
    assert_eq!(next_shown(&bob), "alice : transfer 100 euros");
    assert_eq!(
        next_shown(&bob),
        "[rejected] alice: replay of a message already accepted"
    );
}

#[test]
fn aead_rejects_a_tampered_message() {
    let server = Server::start(bin!("rogue_server"), &["--attack", "tamper"]);
    let (mut alice, bob) = alice_and_bob(&server);
    alice.send_line("meet me at noon");
    assert_eq!(
        next_shown(&bob),
        "[rejected] alice: cannot verify: wrong password or altered message"
    );
}

#[test]
fn aead_reports_the_messages_a_server_drops() {
    let server = Server::start(bin!("rogue_server"), &["--attack", "drop"]);
    let (mut alice, bob) = alice_and_bob(&server);
    for i in 1..=3 {
        alice.send_line(&format!("m{i}"));
    }
    assert_eq!(next_shown(&bob), "alice : m1");
    assert_eq!(next_shown(&bob), "alice : m3");
    bob.stderr
        .wait_for_line("[warning] 1 message(s) from alice missing");
}

#[test]
fn a_token_45_seconds_old_is_rejected_as_in_the_labs_experiment() {
    let server = Server::start(bin!("ae_server"), &[]);
    let mut alice = aead_client(&server, "alice", &["--clock-offset", "-45"]);
    let bob = aead_client(&server, "bob", &[]);
    alice.send_line("hello from the past");
    let shown = next_shown(&bob);
    assert!(
        shown.starts_with("[rejected] alice: expired: sent 4"),
        "{shown}"
    );
    assert!(shown.ends_with("s ago, TTL is 30 s"), "{shown}");
}

#[test]
fn a_longer_ttl_accepts_the_same_old_token() {
    let server = Server::start(bin!("ae_server"), &[]);
    let mut alice = aead_client(&server, "alice", &["--clock-offset", "-45"]);
    let bob = aead_client(&server, "bob", &["--ttl", "60"]);
    alice.send_line("hello from the past");
    assert_eq!(next_shown(&bob), "alice : hello from the past");
}

#[test]
fn a_token_120_seconds_ahead_is_rejected() {
    let server = Server::start(bin!("ae_server"), &[]);
    let mut alice = aead_client(&server, "alice", &["--clock-offset", "120"]);
    let bob = aead_client(&server, "bob", &[]);
    alice.send_line("hello from the future");
    let shown = next_shown(&bob);
    assert!(
        shown.starts_with("[rejected] alice: timestamp 1"),
        "{shown}"
    );
    assert!(
        shown.ends_with("s in the future (more than 60 s of clock skew)"),
        "{shown}"
    );
}

#[test]
fn an_ae_frame_without_a_sealed_nick_is_rejected_by_aead() {
    let server = Server::start(bin!("ae_server"), &[]);
    let mut old_client = Proc::client(
        bin!("ae_client"),
        &server,
        "alice",
        &["--password", PASSWORD],
    );
    let bob = aead_client(&server, "bob", &[]);
    old_client.send_line("no nick inside");
    assert_eq!(
        next_shown(&bob),
        "[rejected] alice: sealed content is not a JSON object (sent by an AE client?)"
    );
}
