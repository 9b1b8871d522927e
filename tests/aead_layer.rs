//! The AEAD layer: clients through the AE server and the rogue server, in
//! process, what they receive judged as values. Each weakness the AE tests
//! assert (relabelling, replay, silent drops) is shown fixed or reported
//! here, and the lab's clock experiments are played with a sender whose
//! clock is off. One test runs the `aead_client` binary, whose
//! `--clock-offset` and `--ttl` flags play those experiments by hand.

mod common;

use std::time::Duration;

use anyhow::Result;
use chat::client::Delivery;
use chat::layer::SealedPlaintext;
use chat::layer::crypto::{DEFAULT_ITERATIONS, Password, decrypt_message};
use chat::layer::{AeSettings, Layer};
use chat::server::rogue_server::Attack;
use chat_lab::stage::{Member, Server};
use common::{ae, client, rogue};
use unsecured_chat::display;

/// The chat's shared password in these tests.
const PASSWORD: &str = "s3cret";
/// Delay of the rogue server's replays.
const REPLAY_DELAY: Duration = Duration::from_millis(200);

/// The layer's settings, with `tweak` applied.
fn settings(tweak: impl FnOnce(&mut AeSettings)) -> AeSettings {
    let mut settings = AeSettings::new(Password::new(PASSWORD));
    tweak(&mut settings);
    settings
}

/// An AEAD client of `server` joined as `nick`.
fn aead(server: &Server, nick: &str) -> Member {
    aead_with(server, nick, settings(|_| {}))
}

fn aead_with(server: &Server, nick: &str, settings: AeSettings) -> Member {
    Member::join(&server.endpoint(), nick, Layer::Aead, Some(&settings)).unwrap()
}

/// alice and bob, AEAD clients of `server`.
fn alice_and_bob(server: &Server) -> (Member, Member) {
    (aead(server, "alice"), aead(server, "bob"))
}

/// The line a client prints for its next delivery.
fn next_shown(member: &Member) -> String {
    display::delivery(&member.next().unwrap())
}

#[test]
fn two_aead_clients_chat_through_ae_server() {
    let server = ae();
    let (mut alice, bob) = alice_and_bob(&server);
    alice.send("hello bob").unwrap();
    assert_eq!(next_shown(&bob), "alice : hello bob");
    assert_eq!(next_shown(&alice), "alice : hello bob");
}

#[test]
fn the_token_seals_the_senders_nick_and_counter() -> Result<()> {
    let server = ae();
    let mut listener = server.synced_subscriber()?;
    let (mut alice, bob) = alice_and_bob(&server);
    for text in ["first", "second"] {
        alice.send(text).unwrap();
        next_shown(&bob);
    }
    for (seq, text) in [(0, "first"), (1, "second")] {
        let frame = listener.next_json()?;
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
    Ok(())
}

#[test]
fn aead_rejects_a_relabelled_message() {
    let server = rogue(&[Attack::Impersonate], Some("mallory"), None);
    let (mut alice, bob) = alice_and_bob(&server);
    alice.send("I resign").unwrap();
    assert_eq!(
        next_shown(&bob),
        "[rejected] mallory: sender mismatch (sealed by alice)"
    );
}

#[test]
fn aead_accepts_a_message_once_and_rejects_its_replay() {
    let server = rogue(&[Attack::Replay], None, Some(REPLAY_DELAY));
    let (mut alice, bob) = alice_and_bob(&server);
    alice.send("transfer 100 euros").unwrap();
    assert_eq!(next_shown(&bob), "alice : transfer 100 euros");
    assert_eq!(
        next_shown(&bob),
        "[rejected] alice: replay of a message already accepted"
    );
}

#[test]
fn aead_rejects_a_tampered_message() {
    let server = rogue(&[Attack::Tamper], None, None);
    let (mut alice, bob) = alice_and_bob(&server);
    alice.send("meet me at noon").unwrap();
    assert_eq!(
        next_shown(&bob),
        "[rejected] alice: cannot verify: wrong password or altered message (or another --kdf or --iterations than the sender's)"
    );
}

#[test]
fn aead_reports_the_messages_a_server_drops() {
    let server = rogue(&[Attack::Drop], None, None);
    let (mut alice, bob) = alice_and_bob(&server);
    for i in 1..=3 {
        alice.send(&format!("m{i}")).unwrap();
    }
    let first = bob.next().unwrap();
    assert_eq!(display::delivery(&first), "alice : m1");
    assert!(warnings(&first).is_empty());
    let third = bob.next().unwrap();
    assert_eq!(display::delivery(&third), "alice : m3");
    let shown: Vec<String> = warnings(&third)
        .iter()
        .map(|w| display::warning(w))
        .collect();
    assert_eq!(shown, ["[warning] 1 message(s) from alice missing"]);
}

fn warnings(delivery: &Delivery) -> &[String] {
    match delivery {
        Delivery::Accepted { opened, .. } => &opened.warnings,
        Delivery::Rejected { .. } | Delivery::Notice(_) => &[],
    }
}

#[test]
fn a_token_45_seconds_old_is_rejected_as_in_the_labs_experiment() {
    let server = ae();
    let mut alice = aead_with(&server, "alice", settings(|s| s.clock_offset = -45));
    let bob = aead(&server, "bob");
    alice.send("hello from the past").unwrap();
    let shown = next_shown(&bob);
    assert!(
        shown.starts_with("[rejected] alice: expired: sent 4"),
        "{shown}"
    );
    assert!(shown.ends_with("s ago, TTL is 30 s"), "{shown}");
}

#[test]
fn a_longer_ttl_accepts_the_same_old_token() {
    let server = ae();
    let mut alice = aead_with(&server, "alice", settings(|s| s.clock_offset = -45));
    let bob = aead_with(&server, "bob", settings(|s| s.ttl = 60));
    alice.send("hello from the past").unwrap();
    assert_eq!(next_shown(&bob), "alice : hello from the past");
}

#[test]
fn a_token_120_seconds_ahead_is_rejected() {
    let server = ae();
    let mut alice = aead_with(&server, "alice", settings(|s| s.clock_offset = 120));
    let bob = aead(&server, "bob");
    alice.send("hello from the future").unwrap();
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
    let server = ae();
    let settings = settings(|_| {});
    let mut old_client =
        Member::join(&server.endpoint(), "alice", Layer::Ae, Some(&settings)).unwrap();
    let bob = aead(&server, "bob");
    old_client.send("no nick inside").unwrap();
    assert_eq!(
        next_shown(&bob),
        "[rejected] alice: sealed content is not a JSON object (sent by an AE client?)"
    );
}

/// The lab's clock experiments by hand: `aead_client --clock-offset -45`
/// sends as if 45 s late; a receiver rejects it, one with `--ttl 60` not.
#[test]
fn aead_clients_clock_offset_and_ttl_flags_play_the_labs_experiment() -> Result<()> {
    let server = ae();
    let bin = bin!("aead_client");
    let password = ["--password", PASSWORD];
    let mut alice = client(
        &bin,
        &server,
        "alice",
        &[&password[..], &["--clock-offset", "-45"]].concat(),
    );
    let bob = client(&bin, &server, "bob", &password);
    let carol = client(
        &bin,
        &server,
        "carol",
        &[&password[..], &["--ttl", "60"]].concat(),
    );
    alice.send_line("hello from the past")?;
    let rejected = bob.stdout.wait_for("a line", |_| true)?;
    assert!(
        rejected.starts_with("[rejected] alice: expired: sent 4"),
        "{rejected}"
    );
    carol.stdout.wait_for_line("alice : hello from the past")?;
    Ok(())
}
