//! Nicks that cannot impersonate (issue 14, finding 5; PROTOCOL.md section
//! 2), through the real `simple_server` and `simple_client` over TCP: a
//! nick with invisible characters, white space at an end, or the confusable
//! skeleton of a joined nick is refused, in both trust models; `alice` and
//! `Alice` stay two people.

mod common;

use anyhow::Result;
use chat_lab::process::{PATIENCE, Process, ServerProcess};
use chat_lab::raw::{Conn, ok};
use common::ko_reason;
use serde_json::json;

/// The lookalikes of `alice`, and more, each with a word its
/// refusal must contain.
const LOOKALIKES: &[(&str, &str)] = &[
    ("alice\u{200b}", "format characters"),
    ("\u{200b}alice", "format characters"),
    ("ali\u{200d}ce", "format characters"),
    ("\u{202e}ecila", "format characters"),
    ("\u{2066}alice\u{2069}", "format characters"),
    ("alice\u{feff}", "format characters"),
    ("alice\u{2028}", "separators"),
    ("alice ", "white space"),
    (" alice", "white space"),
    ("alice\u{a0}", "white space"),
    ("alic\u{435}", "already joined"),
    ("\u{430}lice", "already joined"),
    ("\u{430}l\u{456}c\u{435}", "already joined"),
    ("aIice", "already joined"),
    ("a\u{217c}ice", "already joined"),
];

/// Nicks with nothing visible in them.
const BLANK: &[&str] = &[
    "   ",
    "\u{3000}",
    "\u{200b}",
    "\u{200b}\u{200b}\u{200b}",
    "\u{2800}\u{200b}",
];

/// `simple_server FLAGS` in a process of its own, logging at info level.
fn server(flags: &[&str]) -> Result<ServerProcess> {
    ServerProcess::start(&bin!("simple_server"), flags, &[("RUST_LOG", "info")])
}

/// A `simple_client` of `server`, joined as `nick`.
fn client(server: &ServerProcess, nick: &str) -> Result<Process> {
    let mut args = server.client_args();
    args.extend(["--nick", nick].map(String::from));
    Process::chat_client_with(&bin!("simple_client"), &args, &[("RUST_LOG", "warn")])
}

/// The whole answer to `list`.
fn list(conn: &mut Conn) -> Result<serde_json::Value> {
    conn.send_json(&json!({"type": "list"}))
}

#[test]
fn every_lookalike_of_a_joined_nick_is_refused_in_both_trust_models() -> Result<()> {
    for flags in [&[][..], &["--guard"][..]] {
        let server = server(flags)?;
        let mut alice = Conn::connect(server.request_addr())?;
        assert_eq!(alice.join("alice")?, ok());
        let mut mallory = Conn::connect(server.request_addr())?;
        for (lookalike, why) in LOOKALIKES {
            let reason = ko_reason(&mallory.join(lookalike)?);
            assert!(reason.contains(why), "{flags:?} {lookalike:?}: {reason}");
            let forged = mallory.say(lookalike, "I resign")?;
            assert_eq!(forged["response"], "ko", "{flags:?} {lookalike:?}");
        }
        for blank in BLANK {
            assert_eq!(mallory.join(blank)?["response"], "ko", "{blank:?}");
        }
        assert_eq!(
            list(&mut mallory)?,
            json!({"response": ["alice"]}),
            "{flags:?}"
        );
    }
    Ok(())
}

#[test]
fn a_nick_in_another_normal_form_is_refused_and_a_typed_one_normalised() -> Result<()> {
    let server = server(&[])?;
    let mut raw = Conn::connect(server.request_addr())?;
    let decomposed = "e\u{301}lodie";
    assert!(ko_reason(&raw.join(decomposed)?).contains("NFC"));
    let client = client(&server, decomposed)?;
    assert_eq!(list(&mut raw)?, json!({"response": ["\u{e9}lodie"]}));
    drop(client);
    Ok(())
}

#[test]
fn a_lookalike_freed_by_leave_may_join_and_a_client_refused_one_says_why() -> Result<()> {
    let server = server(&[])?;
    let mut alice = Conn::connect(server.request_addr())?;
    assert_eq!(alice.join("alice")?, ok());
    let mut args = server.client_args();
    args.extend(["--nick", "\u{430}lice"].map(String::from));
    let mut impostor = Process::spawn(&bin!("simple_client"), &args, &[])?;
    let status = impostor
        .wait(PATIENCE)
        .expect("the refused client did not exit");
    assert!(!status.success());
    let explained = |l: &str| l.contains("looks like 'alice', which is already joined");
    assert!(impostor.stderr.find(PATIENCE, explained).is_some());

    assert_eq!(
        alice.send_json(&json!({"type": "leave", "nick": "alice"}))?,
        ok()
    );
    assert_eq!(
        alice.join("\u{430}lice")?,
        ok(),
        "the skeleton is free again"
    );
    Ok(())
}

/// Case is kept significant, as in the Python original, whose nicks were
/// dictionary keys: a capital letter shows on screen, so `Alice` cannot
/// pass for `alice` the way `аlice` (Cyrillic а) can. The skeleton folds
/// only what a reader cannot tell apart.
#[test]
fn alice_and_capital_alice_are_two_people() -> Result<()> {
    let server = server(&["--guard"])?;
    let mut lower = client(&server, "alice")?;
    let upper = client(&server, "Alice")?;
    let mut raw = Conn::connect(server.request_addr())?;
    assert_eq!(list(&mut raw)?, json!({"response": ["alice", "Alice"]}));
    lower.send_line("I am alice")?;
    let seen = upper.stdout.wait_next("with alice's message")?;
    assert_eq!(seen, "alice : I am alice");
    let reason = ko_reason(&raw.say("Alice", "forged")?);
    assert!(reason.contains("belongs to another connection"), "{reason}");
    Ok(())
}
