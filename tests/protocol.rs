//! PROTOCOL.md section 2 (the four requests and their responses) and the
//! server's answer to bad input, against the plain server run in process,
//! over real TCP, byte for byte.

mod common;

use anyhow::Result;
use chat_lab::raw::{Conn, Sub, ok};
use chat_lab::stage::Server;
use common::{assert_ko, assert_no_server_panic, plain};
use serde_json::{Value, json};

/// The exact line of a `{"response":"ok"}` answer.
const OK_LINE: &str = r#"{"response":"ok"}"#;

/// Longest line the server accepts, in bytes before the `\n` (64 KiB).
const MAX_LINE: usize = 64 * 1024;

/// Longest nick, in Unicode characters.
const MAX_NICK_CHARS: usize = 64;

/// Nesting far deeper than any parser's recursion allows, yet short enough
/// (two bytes a level) to fit in one line.
const DEEP_NESTING: usize = 20_000;

/// The well-behaved client's nick.
const GOOD: &str = "alice";

/// The nick the misbehaving connection joins, so that its bad message frames
/// are refused for their shape, not for an unknown nick.
const BAD: &str = "mallory";

fn message_line(nick: &str, text: &str) -> String {
    json!({"type": "message", "nick": nick, "message": text}).to_string()
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"))
}

/// A message frame from `nick` padded to exactly `len` bytes.
fn message_line_of_len(nick: &str, len: usize) -> String {
    let empty = message_line(nick, "");
    let line = message_line(nick, &"x".repeat(len - empty.len()));
    assert_eq!(line.len(), len);
    line
}

/// `depth` nested arrays.
fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nick_of_multibyte_chars(chars: usize) -> String {
    ['é', '漢', '🦀'].iter().cycle().take(chars).collect()
}

fn server_with_subscriber() -> (Server, Sub) {
    let server = plain();
    let sub = server.synced_subscriber().unwrap();
    (server, sub)
}

// ---- Section 2, row by row -------------------------------------------------

#[test]
fn join_answers_ok_and_the_nick_is_listed() -> Result<()> {
    let server = plain();
    let mut conn = server.request()?;
    assert_eq!(conn.request(r#"{"type":"join","nick":"bob"}"#)?, OK_LINE);
    assert_eq!(conn.list()?, ["bob"]);
    Ok(())
}

#[test]
fn a_second_join_of_a_joined_nick_is_ko_and_names_the_nick() -> Result<()> {
    let server = plain();
    assert_eq!(server.request()?.join("bob")?, ok());
    let mut other = server.request()?;
    assert_ko(&other.join("bob")?, "'bob'");
    assert_eq!(other.list()?, ["bob"]);
    Ok(())
}

#[test]
fn leave_answers_ok_and_the_nick_is_no_longer_listed() -> Result<()> {
    let server = plain();
    let mut conn = server.request()?;
    assert_eq!(conn.join("bob")?, ok());
    assert_eq!(conn.request(r#"{"type":"leave","nick":"bob"}"#)?, OK_LINE);
    assert!(conn.list()?.is_empty());
    Ok(())
}

#[test]
fn a_second_leave_is_ko() -> Result<()> {
    let server = plain();
    let mut conn = server.request()?;
    assert_eq!(conn.join("bob")?, ok());
    assert_eq!(conn.leave("bob")?, ok());
    assert_ko(&conn.leave("bob")?, "bob");
    Ok(())
}

#[test]
fn a_message_from_a_joined_nick_is_ok_and_broadcast_as_sent() -> Result<()> {
    let (server, mut sub) = server_with_subscriber();
    let mut conn = server.request()?;
    assert_eq!(conn.join("bob")?, ok());
    let line = message_line("bob", "hello, world");
    assert_eq!(conn.request(&line)?, OK_LINE);
    assert_eq!(sub.next_line()?, line);
    Ok(())
}

/// The refused frame is not broadcast: the subscriber's next line is a
/// message accepted after it.
#[test]
fn a_message_from_an_unknown_nick_is_ko_and_not_broadcast() -> Result<()> {
    let (server, mut sub) = server_with_subscriber();
    let mut conn = server.request()?;
    assert_ko(&conn.say("ghost", "boo")?, "ghost");
    assert_eq!(conn.join("bob")?, ok());
    let later = message_line("bob", "after the ghost");
    assert_eq!(conn.request(&later)?, OK_LINE);
    assert_eq!(sub.next_line()?, later);
    Ok(())
}

#[test]
fn a_message_from_a_nick_that_left_is_ko_and_not_broadcast() -> Result<()> {
    let (server, mut sub) = server_with_subscriber();
    let mut conn = server.request()?;
    assert_eq!(conn.join("bob")?, ok());
    assert_eq!(conn.leave("bob")?, ok());
    assert_ko(&conn.say("bob", "still here?")?, "bob");
    assert_eq!(conn.join("carol")?, ok());
    let later = message_line("carol", "after bob left");
    assert_eq!(conn.request(&later)?, OK_LINE);
    assert_eq!(sub.next_line()?, later);
    Ok(())
}

#[test]
fn list_gives_the_nicks_in_join_order() -> Result<()> {
    let server = plain();
    let mut conn = server.request()?;
    assert!(conn.list()?.is_empty());
    for nick in ["zoe", "adam", "mia", "bob"] {
        assert_eq!(conn.join(nick)?, ok());
    }
    assert_eq!(conn.list()?, ["zoe", "adam", "mia", "bob"]);
    assert_eq!(conn.leave("adam")?, ok());
    assert_eq!(conn.join("adam")?, ok());
    assert_eq!(conn.list()?, ["zoe", "mia", "bob", "adam"]);
    Ok(())
}

#[test]
fn a_message_with_extra_fields_is_relayed_byte_for_byte() -> Result<()> {
    let (server, mut sub) = server_with_subscriber();
    let mut conn = server.request()?;
    assert_eq!(conn.join("bob")?, ok());
    let line = r#"{"zeta":[1,{"b":2,"a":1}], "nick" : "bob","type":"message","message":"hi","alpha":null,"n":1.50}"#;
    assert_eq!(conn.request(line)?, OK_LINE);
    assert_eq!(sub.next_line()?, line);
    Ok(())
}

// ---- Bad input -----------------------------------------------------------------

/// A server, a well-behaved client (joined, with a subscriber) and a
/// misbehaving connection. After each bad line the misbehaving connection
/// must have had one `ko` line and still be served, and the well-behaved
/// client must be served and its message be the next broadcast line.
struct BadInputBench {
    _server: Server,
    good: Conn,
    bad: Conn,
    sub: Sub,
    rounds: usize,
}

impl BadInputBench {
    fn new() -> Self {
        let (server, sub) = server_with_subscriber();
        let mut good = server.request().unwrap();
        assert_eq!(good.join(GOOD).unwrap(), ok());
        let mut bad = server.request().unwrap();
        assert_eq!(bad.join(BAD).unwrap(), ok());
        Self {
            _server: server,
            good,
            bad,
            sub,
            rounds: 0,
        }
    }

    /// Sends `line` (a `\n` is added) on the misbehaving connection and
    /// expects one `ko` line whose error contains `needle`.
    fn refuses(&mut self, line: impl AsRef<[u8]>, needle: &str) {
        self.bad.send_raw(line.as_ref()).unwrap();
        self.bad.send_raw(b"\n").unwrap();
        let response = self
            .bad
            .read_line()
            .unwrap()
            .expect("connection closed instead of ko");
        assert_ko(&parse(&response), needle);
        // A list answer next proves the connection is open and that the bad
        // line got exactly one response line.
        assert_eq!(self.bad.list().unwrap(), [GOOD, BAD]);
        self.good_is_served();
    }

    /// The well-behaved client's message is accepted and is the next
    /// broadcast: nothing the bad line caused came before it.
    fn good_is_served(&mut self) {
        self.rounds += 1;
        let line = message_line(GOOD, &format!("still served ({})", self.rounds));
        assert_eq!(self.good.request(&line).unwrap(), OK_LINE);
        assert_eq!(self.sub.next_line().unwrap(), line);
    }
}

#[test]
fn refuses_lines_that_are_not_json() {
    let mut bench = BadInputBench::new();
    bench.refuses("hello there", "JSON object");
    bench.refuses(r#"{"type":"join","nick":"#, "not JSON");
    bench.refuses("", "JSON object");
    bench.refuses(r#"["type","list"]"#, "JSON object");
}

#[test]
fn refuses_invalid_utf8() {
    let mut bench = BadInputBench::new();
    bench.refuses(
        b"{\"type\":\"join\",\"nick\":\"\xff\xfe\"}",
        "invalid UTF-8",
    );
    bench.refuses(
        b"{\"type\":\"message\",\"nick\":\"mallory\",\"message\":\"\xc3\"}",
        "invalid UTF-8",
    );
}

#[test]
fn refuses_an_unknown_or_missing_type() {
    let mut bench = BadInputBench::new();
    bench.refuses(
        r#"{"type":"dance","nick":"mallory"}"#,
        "unknown request type 'dance'",
    );
    bench.refuses(
        r#"{"nick":"mallory","message":"hi"}"#,
        "missing field `type`",
    );
}

#[test]
fn refuses_missing_fields() {
    let mut bench = BadInputBench::new();
    bench.refuses(r#"{"type":"join"}"#, "missing field `nick`");
    bench.refuses(r#"{"type":"leave"}"#, "missing field `nick`");
    bench.refuses(
        r#"{"type":"message","message":"hi"}"#,
        "missing field `nick`",
    );
    bench.refuses(
        r#"{"type":"message","nick":"mallory"}"#,
        "missing field `message`",
    );
}

/// A key given twice, however it is spelled and however deep: refused, and
/// not relayed (the next broadcast is the well-behaved client's).
#[test]
fn refuses_a_key_given_twice_at_any_depth() {
    let mut bench = BadInputBench::new();
    bench.refuses(
        r#"{"type":"message","nick":"mallory","message":{"salt":"a","token":"b","s\u0061lt":"c"}}"#,
        r#"duplicate key "salt""#,
    );
    bench.refuses(
        r#"{"type":"message","nick":"mallory","message":"hi","x":{"y":[{"z":1,"z":2}]}}"#,
        r#"duplicate key "z""#,
    );
    bench.refuses(
        r#"{"type":"message","nick":"mallory","message":"hi","message":"bye"}"#,
        r#"duplicate key "message""#,
    );
}

#[test]
fn refuses_a_nick_that_is_not_a_string() {
    let mut bench = BadInputBench::new();
    bench.refuses(r#"{"type":"join","nick":5}"#, "invalid type");
    bench.refuses(
        r#"{"type":"message","nick":7,"message":"hi"}"#,
        "invalid type",
    );
}

#[test]
fn refuses_a_message_that_is_a_number_an_array_or_null() {
    let mut bench = BadInputBench::new();
    for message in ["42", r#"["hi"]"#, "null"] {
        let line = format!(r#"{{"type":"message","nick":"mallory","message":{message}}}"#);
        bench.refuses(line, "`message`");
    }
}

#[test]
fn refuses_an_empty_nick() {
    let mut bench = BadInputBench::new();
    bench.refuses(r#"{"type":"join","nick":""}"#, "must not be empty");
}

#[test]
fn refuses_a_nick_of_65_characters() {
    let mut bench = BadInputBench::new();
    let nick = nick_of_multibyte_chars(MAX_NICK_CHARS + 1);
    let line = json!({"type": "join", "nick": nick}).to_string();
    bench.refuses(line, "65 characters");
}

#[test]
fn accepts_a_nick_of_64_multibyte_characters() -> Result<()> {
    let (server, mut sub) = server_with_subscriber();
    let mut conn = server.request()?;
    let nick = nick_of_multibyte_chars(MAX_NICK_CHARS);
    assert!(
        nick.len() > 2 * MAX_NICK_CHARS,
        "{nick} is not multi-byte enough"
    );
    assert_eq!(conn.join(&nick)?, ok());
    assert_eq!(conn.list()?, std::slice::from_ref(&nick));
    let line = message_line(&nick, "long name, short message");
    assert_eq!(conn.request(&line)?, OK_LINE);
    assert_eq!(sub.next_line()?, line);
    Ok(())
}

#[test]
fn refuses_a_nick_with_a_control_character() {
    let mut bench = BadInputBench::new();
    for nick in ["bad\u{7}bell", "new\nline", "esc\u{1b}[2J", "del\u{7f}"] {
        let line = json!({"type": "join", "nick": nick}).to_string();
        bench.refuses(line, "control characters");
    }
}

#[test]
fn refuses_deep_nesting_in_an_extra_field() {
    let mut bench = BadInputBench::new();
    let deep = nested_arrays(DEEP_NESTING);
    bench.refuses(
        format!(r#"{{"type":"list","extra":{deep}}}"#),
        "nested deeper",
    );
    let message = format!(r#"{{"type":"message","nick":"mallory","message":"hi","x":{deep}}}"#);
    bench.refuses(message, "nested deeper");
}

#[test]
fn refuses_deep_nesting_inside_the_message() {
    let mut bench = BadInputBench::new();
    let deep = nested_arrays(DEEP_NESTING);
    let line = format!(r#"{{"type":"message","nick":"mallory","message":{deep}}}"#);
    bench.refuses(line, "nested deeper");
}

#[test]
fn a_line_over_64_kib_gets_one_ko_then_the_connection_is_closed() -> Result<()> {
    let mut bench = BadInputBench::new();
    let line = message_line_of_len(BAD, MAX_LINE + 1);
    bench.bad.send_raw(format!("{line}\n").as_bytes())?;
    let response = bench
        .bad
        .read_line()?
        .expect("connection closed without a ko line");
    assert_ko(&parse(&response), "longer than");
    assert_eq!(
        bench.bad.read_line()?,
        None,
        "the connection should be closed"
    );
    bench.good_is_served();
    assert_eq!(bench.good.list()?, [GOOD, BAD]);
    Ok(())
}

#[test]
fn a_line_of_exactly_64_kib_is_accepted_and_broadcast() -> Result<()> {
    let mut bench = BadInputBench::new();
    let line = message_line_of_len(BAD, MAX_LINE);
    assert_eq!(bench.bad.request(&line)?, OK_LINE);
    assert_eq!(bench.sub.next_line()?, line);
    bench.good_is_served();
    Ok(())
}

/// Every kind of bad line, one after another on the same connection, while
/// the well-behaved client goes on being served between them.
#[test]
fn a_stream_of_bad_lines_never_stops_the_server_serving_others() {
    let mut bench = BadInputBench::new();
    let deep = nested_arrays(DEEP_NESTING);
    let bad_lines: [(&[u8], &str); 6] = [
        (b"garbage", "JSON object"),
        (b"{\"type\":\"list\",\"x\":\"\x80\"}", "invalid UTF-8"),
        (
            br#"{"type":"message","nick":"ghost","message":"boo"}"#,
            "ghost",
        ),
        (
            br#"{"type":"message","nick":"mallory","message":{}}"#,
            "`message`",
        ),
        (br#"{"type":"join","nick":"alice"}"#, "'alice'"),
        (deep.as_bytes(), "nested deeper"),
    ];
    for (line, needle) in bad_lines {
        bench.refuses(line, needle);
    }
    assert_no_server_panic();
}
