//! Fan-out and ordering of the broadcast port (PROTOCOL.md section 2): every
//! subscriber receives every accepted message, in the order the server
//! accepted them, whatever the number of subscribers and senders. The
//! server runs in process; its clients are raw sockets.

mod common;

use anyhow::Result;
use std::collections::HashMap;
use std::thread;

use chat_lab::raw::{Sub, ok};
use chat_lab::stage::Server;
use common::plain;
use serde_json::{Value, json};

const SUBSCRIBERS: usize = 5;
const SENDERS: usize = 4;
const MESSAGES_PER_SENDER: usize = 200;

/// The text of the message sent after all the others.
const END_MARKER: &str = "end of traffic";

fn sender_nick(sender: usize) -> String {
    format!("sender-{sender}")
}

/// Sends `MESSAGES_PER_SENDER` messages from one nick, each waiting for its
/// `ok`; returns the lines sent, in order.
fn send_all(server: &Server, sender: usize) -> thread::JoinHandle<Vec<String>> {
    let nick = sender_nick(sender);
    let mut conn = server.request().unwrap();
    assert_eq!(conn.join(&nick).unwrap(), ok());
    thread::spawn(move || {
        (0..MESSAGES_PER_SENDER)
            .map(|i| {
                let frame =
                    json!({"type": "message", "nick": nick, "message": format!("{nick} #{i}")});
                let line = frame.to_string();
                assert_eq!(conn.request(&line).unwrap(), r#"{"response":"ok"}"#);
                line
            })
            .collect()
    })
}

/// Reads `count` lines from a subscriber on a thread of its own, so that no
/// subscriber waits for another to be read.
fn read_lines(mut sub: Sub, count: usize) -> thread::JoinHandle<(Sub, Vec<String>)> {
    thread::spawn(move || {
        let lines = (0..count).map(|_| sub.next_line().unwrap()).collect();
        (sub, lines)
    })
}

fn nick_of(line: &str) -> String {
    let frame: Value = serde_json::from_str(line).unwrap();
    frame["nick"].as_str().unwrap().to_owned()
}

/// The lines of `received`, grouped by sender nick, in received order.
fn by_sender(received: &[String]) -> HashMap<String, Vec<String>> {
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for line in received {
        groups.entry(nick_of(line)).or_default().push(line.clone());
    }
    groups
}

/// Checks one subscriber's sequence: exactly every line sent, each sender's
/// lines in that sender's order.
fn assert_all_lines_in_sender_order(received: &[String], sent: &[Vec<String>]) {
    let total: usize = sent.iter().map(Vec::len).sum();
    assert_eq!(received.len(), total);
    let groups = by_sender(received);
    assert_eq!(
        groups.len(),
        sent.len(),
        "senders seen: {:?}",
        groups.keys()
    );
    for (sender, lines) in sent.iter().enumerate() {
        assert_eq!(
            groups.get(&sender_nick(sender)),
            Some(lines),
            "sender {sender}'s lines are missing, altered or out of order"
        );
    }
}

#[test]
fn every_subscriber_gets_every_line_from_concurrent_senders_in_one_order() -> Result<()> {
    let server = plain();
    let subs = server.synced_subscribers(SUBSCRIBERS)?;
    let total = SENDERS * MESSAGES_PER_SENDER;
    let readers: Vec<_> = subs.into_iter().map(|sub| read_lines(sub, total)).collect();
    let senders: Vec<_> = (0..SENDERS).map(|s| send_all(&server, s)).collect();
    let sent: Vec<Vec<String>> = senders.into_iter().map(|h| h.join().unwrap()).collect();

    let mut closer = server.request()?;
    assert_eq!(closer.join("closer")?, ok());
    assert_eq!(closer.say("closer", END_MARKER)?, ok());

    let received: Vec<(Sub, Vec<String>)> =
        readers.into_iter().map(|h| h.join().unwrap()).collect();
    let first = received[0].1.clone();
    assert_all_lines_in_sender_order(&first, &sent);
    for (mut sub, lines) in received {
        assert!(lines == first, "two subscribers saw different sequences");
        // Nothing extra (a duplicate, a refused line) before the end marker.
        assert_eq!(sub.next_json()?["message"], END_MARKER);
    }
    Ok(())
}

#[test]
fn every_subscriber_gets_the_same_bytes_as_were_sent() -> Result<()> {
    let server = plain();
    let mut subs = server.synced_subscribers(SUBSCRIBERS)?;
    let mut conn = server.request()?;
    assert_eq!(conn.join("bob")?, ok());
    let line = r#"{"type":"message","nick":"bob","message":"caf\u00e9 ☕ \"quoted\"","x":[1,2]}"#;
    assert_eq!(conn.request(line)?, r#"{"response":"ok"}"#);
    for sub in &mut subs {
        assert_eq!(sub.next_line()?, line);
    }
    Ok(())
}

#[test]
fn a_subscriber_that_disconnects_does_not_disturb_the_others() -> Result<()> {
    let server = plain();
    let mut subs = server.synced_subscribers(SUBSCRIBERS)?;
    drop(subs.remove(0));
    let mut conn = server.request()?;
    assert_eq!(conn.join("bob")?, ok());
    for i in 0..MESSAGES_PER_SENDER {
        assert_eq!(conn.say("bob", &format!("after the drop #{i}"))?, ok());
    }
    for sub in &mut subs {
        for i in 0..MESSAGES_PER_SENDER {
            assert_eq!(sub.next_json()?["message"], format!("after the drop #{i}"));
        }
    }
    Ok(())
}

/// Clients that connect their broadcast port and join at once, many times
/// over: a join that names its subscriber is answered only once the server
/// has registered that connection, so the first message is never missed.
#[test]
fn a_join_naming_its_subscriber_never_misses_the_next_message() -> Result<()> {
    const ROUNDS: usize = 50;
    let server = plain();
    for round in 0..ROUNDS {
        let mut sub = server.subscribe()?;
        let mut conn = server.request()?;
        let nick = format!("joiner-{round}");
        let join =
            json!({"type": "join", "nick": nick, "subscriber": sub.local_addr()?.to_string()});
        assert_eq!(conn.send_json(&join)?, ok());
        assert_eq!(conn.say(&nick, "first words")?, ok());
        let first = sub.next_json()?;
        assert_eq!(
            (first["nick"].as_str(), first["message"].as_str()),
            (Some(&*nick), Some("first words"))
        );
    }
    Ok(())
}

/// A client behind address translation names an address the server never
/// sees: its join is still answered, after a bounded wait.
#[test]
fn a_join_naming_an_unknown_subscriber_is_still_answered() -> Result<()> {
    let server = plain();
    let mut conn = server.request()?;
    let join = json!({"type": "join", "nick": "far-away", "subscriber": "192.0.2.1:4000"});
    assert_eq!(conn.send_json(&join)?, ok());
    assert_eq!(conn.list()?, vec!["far-away"]);
    Ok(())
}
