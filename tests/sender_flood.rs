//! An insider's flood against the AEAD counters, through a real server:
//! properly sealed messages (the insider knows the password), each in a
//! session of its own, from one nick or from 20,000 nicks joined on a
//! server in the original's trust model. Before, once 4,096 senders were
//! tracked the tracker cleared them all, so a message of alice's going
//! back passed unflagged. Now the receiver's tracker stays within its caps
//! (counted) and alice's counters survive.
//!
//! The server runs in this process; bob is a receiver built of the
//! library's pieces (a broadcast connection and an `AeadOpener`), so that
//! what his tracker holds can be counted.

mod common;

use anyhow::{Context, Result, ensure};
use chat::client::{BroadcastChannel, Delivery, RequestChannel, on_recv};
use chat::layer::{
    AeSealer, AeSettings, AeadOpener, AeadSealer, MAX_SESSIONS_PER_SENDER, MAX_TRACKED_SENDERS,
    Password, SaltMode, Seal, Verdict,
};
use chat::wire::{MessageBody, Nick, Request, Response, Sealed};
use chat_lab::stage::Server;

/// Messages in each flood: more than the tracker holds.
const FLOOD: usize = 20_000;

fn settings() -> AeSettings {
    AeSettings {
        // One salt per sealer: the flood costs bob one key derivation, so
        // that what is measured is the counters.
        salt_mode: SaltMode::PerSession,
        ..AeSettings::new(Password::new("flood-s3cret"))
    }
}

/// bob: a broadcast connection the server has registered, and his opener.
struct Bob {
    broadcasts: BroadcastChannel,
    opener: AeadOpener,
}

impl Bob {
    fn listen(server: &Server) -> Result<Self> {
        let broadcasts = BroadcastChannel::connect(&server.endpoint())?;
        server.wait_for_subscriber(broadcasts.local_addr()?)?;
        Ok(Self {
            broadcasts,
            opener: AeadOpener::new(&settings()),
        })
    }

    /// The next broadcast, opened.
    fn next(&mut self) -> Result<Delivery> {
        let codec = self.broadcasts.codec();
        let frame = self.broadcasts.next_frame()?;
        Ok(on_recv(&mut self.opener, codec, frame))
    }

    /// The next broadcast, which must be accepted: its warnings.
    fn warnings(&mut self) -> Result<Vec<String>> {
        match self.next()? {
            Delivery::Accepted { opened, .. } => Ok(opened.warnings),
            other => anyhow::bail!("not accepted: {other:?}"),
        }
    }
}

/// A request connection that sends for any nick.
struct Sender {
    requests: RequestChannel,
}

impl Sender {
    fn connect(server: &Server) -> Result<Self> {
        Ok(Self {
            requests: RequestChannel::connect(&server.endpoint())?,
        })
    }

    fn join(&mut self, nick: &str) -> Result<()> {
        let answer = self.requests.request(&Request::Join {
            nick: Nick::new(nick)?,
            subscriber: None,
        })?;
        ensure!(answer == Response::Ok, "join {nick}: {answer:?}");
        Ok(())
    }

    fn send(&mut self, nick: &str, sealed: Sealed<'static>) -> Result<()> {
        let answer = self.requests.request(&Request::Message {
            nick: Nick::new(nick)?,
            body: MessageBody::Sealed(sealed),
        })?;
        ensure!(answer == Response::Ok, "message as {nick}: {answer:?}");
        Ok(())
    }
}

/// alice's messages 0 to 3, sealed in order; the server is to get 0 and 2
/// first (bob warns of 1 missing), then, after the flood, 1: a counter
/// going back, which bob must flag.
fn alice_before_the_flood(alice: &mut Sender, bob: &mut Bob) -> Result<Sealed<'static>> {
    let mut sealer = AeadSealer::new(&settings());
    let nick = Nick::new("alice")?;
    let mut sealed: Vec<Sealed<'static>> = (0..3)
        .map(|i| {
            let message = sealer.encrypt_message(&nick, &format!("m{i}"));
            sealer.verdict(Verdict::Accepted);
            message
        })
        .collect::<Result<_, _>>()?;
    let late = sealed.remove(1);
    alice.join("alice")?;
    for message in sealed {
        alice.send("alice", message)?;
    }
    ensure!(bob.warnings()?.is_empty());
    ensure!(bob.warnings()? == ["1 message(s) from alice missing"]);
    Ok(late)
}

/// The insider's `i`th message: AEAD's plaintext under `nick`, in a
/// session of its own, sealed with the password.
fn insider_message(sealer: &mut AeSealer, nick: &str, i: usize) -> Result<Sealed<'static>> {
    let plaintext = serde_json::json!({
        "nick": nick, "message": "flood", "room": "lobby",
        "seq": 0, "session": format!("{i:012}"),
    });
    Ok(sealer.encrypt_message(plaintext.to_string().as_bytes())?)
}

/// Sends the insider's flood, as `nick_of(i)` for message `i`, each read
/// by bob as it is relayed.
fn flood(server: &Server, bob: &mut Bob, nick_of: impl Fn(usize) -> String) -> Result<()> {
    let mut insider = Sender::connect(server)?;
    let mut sealer = AeSealer::new(&settings());
    let mut joined = None;
    for i in 0..FLOOD {
        let nick = nick_of(i);
        if joined.as_ref() != Some(&nick) {
            insider.join(&nick)?;
            joined = Some(nick.clone());
        }
        insider.send(&nick, insider_message(&mut sealer, &nick, i)?)?;
        bob.warnings()
            .with_context(|| format!("flood message {i}"))?;
    }
    Ok(())
}

/// alice's message going back, after the flood: flagged.
fn alice_after_the_flood(alice: &mut Sender, bob: &mut Bob, late: Sealed<'static>) -> Result<()> {
    alice.send("alice", late)?;
    let warnings = bob.warnings()?;
    ensure!(
        warnings == ["message from alice arrived out of order"],
        "{warnings:?}"
    );
    Ok(())
}

#[test]
fn one_nick_with_20000_sessions_keeps_64_and_alices_counters() -> Result<()> {
    let server = common::ae();
    let mut bob = Bob::listen(&server)?;
    let mut alice = Sender::connect(&server)?;
    let late = alice_before_the_flood(&mut alice, &mut bob)?;
    flood(&server, &mut bob, |_| "mallory".to_owned())?;
    let tracked = bob.opener.tracked();
    ensure!(tracked.senders == 2, "{tracked:?}");
    ensure!(
        tracked.most_sessions == MAX_SESSIONS_PER_SENDER,
        "{tracked:?}"
    );
    alice_after_the_flood(&mut alice, &mut bob, late)
}

#[test]
fn twenty_thousand_nicks_fill_the_tracker_but_never_clear_alice() -> Result<()> {
    let server = common::ae();
    let mut bob = Bob::listen(&server)?;
    let mut alice = Sender::connect(&server)?;
    let late = alice_before_the_flood(&mut alice, &mut bob)?;
    flood(&server, &mut bob, |i| format!("mallory{i}"))?;
    let tracked = bob.opener.tracked();
    ensure!(tracked.senders <= MAX_TRACKED_SENDERS, "{tracked:?}");
    ensure!(tracked.sessions == tracked.senders, "{tracked:?}");
    alice_after_the_flood(&mut alice, &mut bob, late)
}
