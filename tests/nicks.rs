//! Nicks that cannot impersonate (issue 14, finding 5; PROTOCOL.md section
//! 2), through the real `simple_server` and `simple_client` over TCP: a
//! nick with invisible characters, white space at an end, or the confusable
//! skeleton of a joined nick is refused, in both trust models; `alice` and
//! `Alice` stay two people.

mod hostile;

use chat_lab::process::Stderr;
use hostile::{PATIENCE, Raw, ko_reason, ok, ports, start_server};
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

#[test]
fn every_lookalike_of_a_joined_nick_is_refused_in_both_trust_models() {
    for flags in [&[][..], &["--guard"][..]] {
        let server = start_server(exe!("simple_server"), flags, Stderr::Read);
        let mut alice = Raw::connect(server.port);
        assert_eq!(alice.join("alice"), ok());
        let mut mallory = Raw::connect(server.port);
        for (lookalike, why) in LOOKALIKES {
            let reason = ko_reason(&mallory.join(lookalike));
            assert!(reason.contains(why), "{flags:?} {lookalike:?}: {reason}");
            let forged = mallory.say(lookalike, "I resign");
            assert_eq!(forged["response"], "ko", "{flags:?} {lookalike:?}");
        }
        for blank in BLANK {
            assert_eq!(mallory.join(blank)["response"], "ko", "{blank:?}");
        }
        assert_eq!(mallory.list(), json!({"response": ["alice"]}), "{flags:?}");
    }
}

#[test]
fn a_nick_in_another_normal_form_is_refused_and_a_typed_one_normalised() {
    let server = start_server(exe!("simple_server"), &[], Stderr::Read);
    let mut raw = Raw::connect(server.port);
    let decomposed = "e\u{301}lodie";
    assert!(ko_reason(&raw.join(decomposed)).contains("NFC"));
    let client = hostile::start_client(exe!("simple_client"), ports(&server), decomposed, &[]);
    assert_eq!(raw.list(), json!({"response": ["\u{e9}lodie"]}));
    drop(client);
}

#[test]
fn a_lookalike_freed_by_leave_may_join_and_a_client_refused_one_says_why() {
    let server = start_server(exe!("simple_server"), &[], Stderr::Read);
    let mut alice = Raw::connect(server.port);
    assert_eq!(alice.join("alice"), ok());
    let mut args = hostile::endpoint_args(ports(&server));
    args.extend(["--nick", "\u{430}lice"].map(String::from));
    let mut impostor =
        chat_lab::process::Process::spawn(&exe!("simple_client"), &args, &[]).unwrap();
    let status = impostor
        .wait(PATIENCE)
        .expect("the refused client did not exit");
    assert!(!status.success());
    let explained = |l: &str| l.contains("looks like 'alice', which is already joined");
    assert!(impostor.stderr.find(PATIENCE, explained).is_some());

    assert_eq!(alice.json(&json!({"type": "leave", "nick": "alice"})), ok());
    assert_eq!(
        alice.join("\u{430}lice"),
        ok(),
        "the skeleton is free again"
    );
}

/// Case is kept significant, as in the Python original, whose nicks were
/// dictionary keys: a capital letter shows on screen, so `Alice` cannot
/// pass for `alice` the way `аlice` (Cyrillic а) can. The skeleton folds
/// only what a reader cannot tell apart.
#[test]
fn alice_and_capital_alice_are_two_people() {
    let server = start_server(exe!("simple_server"), &["--guard"], Stderr::Read);
    let mut lower = hostile::start_client(exe!("simple_client"), ports(&server), "alice", &[]);
    let upper = hostile::start_client(exe!("simple_client"), ports(&server), "Alice", &[]);
    let mut raw = Raw::connect(server.port);
    assert_eq!(raw.list(), json!({"response": ["alice", "Alice"]}));
    lower.send_line("I am alice").unwrap();
    let seen = hostile::next_line(&upper.stdout, "with alice's message");
    assert_eq!(seen, "alice : I am alice");
    let reason = ko_reason(&raw.say("Alice", "forged"));
    assert!(reason.contains("belongs to another connection"), "{reason}");
}
