//! What a server records for the teacher's view (its `Tap`): the members,
//! every message accepted as the server holds it (the words of a plain
//! chat, only a salt and a token of an encrypted one), every refusal with
//! its reason and who refused (the chat's rules, the guard, the parser),
//! the connections open, and what a rogue server did to each message.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Result;
use chat::layer::{AeSettings, Layer, Password};
use chat::server::rogue_server::{Attack, DEFAULT_REPLAY_DELAY, RogueConfig, RogueServer};
use chat::server::{Batch, Held, Reader, Refusal, RogueAction, Sighting, SimpleServer, TrustModel};
use chat::wire::Request;
use chat::{Nick, Response};
use chat_lab::process::PATIENCE;
use chat_lab::stage::{Member, Server};

/// Every event a reader gets until `done` says it has what it waits for.
fn follow(reader: &mut Reader, done: impl Fn(&[Sighting]) -> bool) -> (Vec<Sighting>, Batch) {
    let mut seen = Vec::new();
    loop {
        let batch = reader.next(PATIENCE);
        assert!(
            !batch.events.is_empty() || done(&seen),
            "nothing new within {PATIENCE:?}; so far: {seen:?}"
        );
        seen.extend(batch.events.iter().map(|e| e.sighting.clone()));
        if done(&seen) {
            return (seen, batch);
        }
    }
}

fn relayed(seen: &[Sighting]) -> Vec<(&str, &Held)> {
    seen.iter()
        .filter_map(|s| match s {
            Sighting::Relayed { nick, held } => Some((nick.as_str(), held)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_plain_server_shows_its_members_their_words_and_every_refusal() -> Result<()> {
    let server = Server::of_layer(Layer::Plain, TrustModel::Guarded)?;
    let mut dashboard = server.tap().reader();
    let mut alice = Member::join(&server.endpoint(), "alice", Layer::Plain, None)?;
    alice.say("meet me at noon")?;
    let mut mallory = chat::client::RequestChannel::connect(&server.endpoint())?;
    let evict = Request::Leave {
        nick: Nick::new("alice")?,
    };
    assert!(matches!(mallory.request(&evict)?, Response::Ko(_)));
    let bogus = mallory.send(b"{\"type\":\"dance\"}")?.to_vec();
    assert!(String::from_utf8_lossy(&bogus).contains("ko"));
    let refusals = |seen: &[Sighting]| {
        seen.iter()
            .filter(|s| matches!(s, Sighting::Refused { .. }))
            .count()
    };
    let (seen, batch) = follow(&mut dashboard, |seen| refusals(seen) == 2);
    assert_eq!(
        seen[0],
        Sighting::Joined {
            nick: "alice".into()
        }
    );
    assert_eq!(
        relayed(&seen),
        [("alice", &Held::Text("meet me at noon".into()))]
    );
    let kinds: Vec<(Refusal, &str)> = seen
        .iter()
        .filter_map(|s| match s {
            Sighting::Refused { kind, what, .. } => Some((*kind, what.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [(Refusal::Guard, "leave"), (Refusal::Request, "request")]
    );
    assert_eq!(batch.members, ["alice"]);
    assert!(
        batch.counts.requests >= 2 && batch.counts.subscribers >= 1,
        "{:?}",
        batch.counts
    );
    drop(alice);
    Ok(())
}

#[test]
fn an_encrypted_server_shows_only_a_salt_and_a_token() -> Result<()> {
    let server = Server::of_layer(Layer::Aead, TrustModel::Open)?;
    let mut dashboard = server.tap().reader();
    let settings = AeSettings::new(Password::new("s3cret"));
    let mut alice = Member::join(&server.endpoint(), "alice", Layer::Aead, Some(&settings))?;
    let secret = "the vault code is 4321";
    alice.say(secret)?;
    let (seen, _) = follow(&mut dashboard, |seen| !relayed(seen).is_empty());
    let [(nick, Held::Sealed { salt, token })] = relayed(&seen)[..] else {
        panic!("not held as a salt and a token: {seen:?}");
    };
    assert_eq!(nick, "alice");
    assert!(!salt.is_empty() && token.starts_with("gAAAAA"), "{token}");
    let shown = format!("{seen:?}");
    assert!(!shown.contains("vault"), "the plaintext shows: {shown}");
    Ok(())
}

#[test]
fn a_rogue_server_shows_what_it_did_to_each_message() -> Result<()> {
    let config = RogueConfig {
        attacks: BTreeSet::from([Attack::Tamper, Attack::Impersonate]),
        impersonate: Some(Nick::new("mallory")?),
        replay_delay: DEFAULT_REPLAY_DELAY,
    };
    let server = Server::start(|publisher| {
        RogueServer::new(SimpleServer::new(TrustModel::Open), config, publisher)
    })?;
    let mut dashboard = server.tap().reader();
    let mut alice = Member::join(&server.endpoint(), "alice", Layer::Plain, None)?;
    alice.say("pay bob 10 euros")?;
    let rogue = |seen: &[Sighting]| {
        seen.iter()
            .filter(|s| matches!(s, Sighting::Rogue { .. }))
            .count()
    };
    let (seen, _) = follow(&mut dashboard, |seen| rogue(seen) == 2);
    let actions: Vec<&RogueAction> = seen
        .iter()
        .filter_map(|s| match s {
            Sighting::Rogue { nick, action } if nick == "alice" => Some(action),
            _ => None,
        })
        .collect();
    assert!(
        matches!(actions[0], RogueAction::Tampered(Held::Text(text)) if text != "pay bob 10 euros")
    );
    assert_eq!(
        actions[1],
        &RogueAction::Impersonated {
            as_nick: "mallory".into()
        }
    );
    Ok(())
}

#[test]
fn with_no_one_following_nothing_but_the_members_is_kept() -> Result<()> {
    let server = Server::of_layer(Layer::Plain, TrustModel::Open)?;
    let mut alice = Member::join(&server.endpoint(), "alice", Layer::Plain, None)?;
    alice.say("nobody watches")?;
    let batch = server.tap().reader().next(Duration::ZERO);
    assert_eq!(
        (batch.events.len(), batch.members),
        (0, vec!["alice".to_owned()])
    );
    Ok(())
}
