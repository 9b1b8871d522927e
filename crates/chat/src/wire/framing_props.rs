//! Property-based tests of the code that meets bytes from the network first:
//! the line reader and the frame parsers. Whatever a peer sends, and however
//! the network splits it into reads, they must not panic, must cut lines
//! exactly where a plain reference does, must refuse lines over the limit
//! exactly when they are over it, and valid frames must survive a round trip.

use std::io::{self, Read};

use crate::wire::body::MAX_NESTING;
use crate::wire::body::json::check_nesting;
use crate::wire::framing::FramingError;
use crate::wire::framing::lines::{LineReader, MAX_LINE, push_line};
use crate::wire::nick::{MAX_NICK_CHARS, Refused};
use crate::wire::{Broadcast, Codec, FrameError, MessageBody, Nick, Request, Response, Sealed};
use proptest::prelude::*;
use serde_json::{Map, Value};

const JSON: Codec = Codec::Json;

/// What reading a whole stream gives, line by line, then how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Line(Vec<u8>),
    TooLong,
    Truncated(usize),
    End,
}

/// The plain reference: split at `\n`; a line over [`MAX_LINE`] ends the
/// stream with `TooLong`, an unterminated last line with `Truncated`.
fn reference_lines(input: &[u8]) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        let end = match rest.iter().position(|&b| b == b'\n') {
            Some(len) if len <= MAX_LINE => len,
            None if rest.is_empty() => return with(out, Outcome::End),
            None if rest.len() <= MAX_LINE => return with(out, Outcome::Truncated(rest.len())),
            _ => return with(out, Outcome::TooLong),
        };
        out.push(Outcome::Line(rest[..end].to_vec()));
        rest = &rest[end + 1..];
    }
}

fn with(mut out: Vec<Outcome>, last: Outcome) -> Vec<Outcome> {
    out.push(last);
    out
}

/// One `read` call of a [`Scripted`] source.
#[derive(Debug, Clone)]
enum Step {
    /// Hand out up to this many bytes (at least one, while any are left).
    Bytes(usize),
    /// A signal interrupted the call.
    Interrupted,
    /// The socket's read timeout elapsed.
    TimedOut,
}

/// A stream that hands out `data` as `steps` say, cycling through them, the
/// way a socket splits a byte stream into reads.
struct Scripted<'a> {
    data: &'a [u8],
    steps: &'a [Step],
    turn: usize,
    delivered: usize,
}

impl Scripted<'_> {
    /// Bytes delivered since the last `\n` delivered: the partial line.
    fn partial_line(&self) -> usize {
        let delivered = &self.data[..self.delivered];
        let line_start = delivered
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        self.delivered - line_start
    }
}

impl Read for Scripted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let step = &self.steps[self.turn % self.steps.len()];
        self.turn += 1;
        let wanted = match step {
            Step::Bytes(n) => *n,
            Step::Interrupted => return Err(io::ErrorKind::Interrupted.into()),
            Step::TimedOut => return Err(io::ErrorKind::WouldBlock.into()),
        };
        let left = &self.data[self.delivered..];
        let n = wanted.max(1).min(buf.len()).min(left.len());
        buf[..n].copy_from_slice(&left[..n]);
        self.delivered += n;
        Ok(n)
    }
}

/// Reads a whole stream through a [`LineReader`], retrying after read
/// timeouts as the server does, and checking what each timeout reports.
fn reader_lines(data: &[u8], steps: &[Step]) -> Vec<Outcome> {
    let source = Scripted {
        data,
        steps,
        turn: 0,
        delivered: 0,
    };
    let mut reader = LineReader::new(source);
    let mut out = Vec::new();
    loop {
        let last = match reader.read_line() {
            Ok(Some(line)) => {
                out.push(Outcome::Line(line.to_vec()));
                continue;
            }
            Err(FramingError::TimedOut { partial }) => {
                assert_eq!(partial, reader.get_ref().partial_line());
                assert_eq!(partial, reader.buffered());
                continue;
            }
            Ok(None) => Outcome::End,
            Err(FramingError::TooLong) => Outcome::TooLong,
            Err(FramingError::Truncated { partial }) => Outcome::Truncated(partial),
            Err(FramingError::Io(e)) => panic!("unexpected I/O error {e}"),
        };
        return with(out, last);
    }
}

/// Read scripts: at least one read that delivers bytes, so every script
/// makes progress, then any mix of reads, interruptions and timeouts.
fn steps(max_read: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        6 => (1..=max_read).prop_map(Step::Bytes),
        1 => Just(Step::Interrupted),
        1 => Just(Step::TimedOut),
    ];
    ((1..=max_read), prop::collection::vec(step, 0..8)).prop_map(|(first, mut rest)| {
        rest.insert(0, Step::Bytes(first));
        rest
    })
}

/// Any bytes, with enough `\n` among them to make many short lines.
fn small_stream() -> impl Strategy<Value = Vec<u8>> {
    // One draw a byte: a fifth of them `\n`, the rest any byte at all.
    let byte = any::<u16>().prop_map(|x| if x % 5 == 0 { b'\n' } else { (x >> 8) as u8 });
    prop::collection::vec(byte, 0..1000)
}

/// A few lines whose lengths cluster around [`MAX_LINE`], the last one
/// maybe without its `\n`.
fn long_stream() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![
        0..10usize,
        (MAX_LINE - 3)..=(MAX_LINE + 3),
        0..(MAX_LINE + 5000)
    ];
    (prop::collection::vec(len, 1..4), any::<bool>()).prop_map(|(lens, terminated)| {
        let mut data = Vec::new();
        for (i, len) in lens.iter().enumerate() {
            data.extend(std::iter::repeat_n(b'a' + i as u8, *len));
            data.push(b'\n');
        }
        if !terminated {
            data.pop();
        }
        data
    })
}

/// Cases for inputs of hundreds of KiB, fewer to keep the test fast.
const LONG_CASES: u32 = 128;

proptest! {
    #[test]
    fn line_reader_cuts_any_bytes_split_anyhow_like_the_reference(
        data in small_stream(),
        steps in steps(300),
    ) {
        prop_assert_eq!(reader_lines(&data, &steps), reference_lines(&data));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(LONG_CASES))]

    #[test]
    fn line_reader_refuses_exactly_the_lines_over_the_limit(
        data in long_stream(),
        steps in steps(100_000),
    ) {
        prop_assert_eq!(reader_lines(&data, &steps), reference_lines(&data));
    }
}

/// Pieces that JSON-ish garbage is made of: the protocol's own words,
/// structure, escapes and numbers that parsers find awkward.
const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    " ",
    "\"type\"",
    "\"join\"",
    "\"leave\"",
    "\"message\"",
    "\"list\"",
    "\"nick\"",
    "\"response\"",
    "\"ok\"",
    "\"ko\"",
    "\"error\"",
    "\"salt\"",
    "\"token\"",
    "null",
    "true",
    "1e999",
    "-0",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"é\"",
    "\"a\\\"b\"",
];

fn json_ish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(JSON_TOKENS), 0..60).prop_map(|t| t.concat())
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    json_tree(4, 32)
}

/// A JSON value at most two levels deep, to put beside a deep one.
fn small_value() -> impl Strategy<Value = Value> {
    json_tree(2, 6)
}

/// JSON values `depth` levels deep at most, with about `size` nodes.
fn json_tree(depth: u32, size: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(depth, size, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A request-shaped object: a known or unknown `type`, maybe a nick, maybe
/// a message, any other fields.
fn request_like() -> impl Strategy<Value = Value> {
    let kind = prop::sample::select(vec!["join", "leave", "message", "list", "dance"]);
    (
        prop::option::of(kind),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
        json_value(),
    )
        .prop_map(|(kind, nick, message, extra)| {
            let mut frame = Map::new();
            frame.insert("type".into(), kind.map_or(Value::Null, Value::from));
            frame.extend(nick.map(|n| ("nick".to_owned(), n)));
            frame.extend(message.map(|m| ("message".to_owned(), m)));
            frame.insert("extra".into(), extra);
            Value::Object(frame)
        })
}

/// Text with the characters that make escaping hard over-represented.
fn text() -> impl Strategy<Value = String> {
    let awkward =
        prop::sample::select(vec!['"', '\\', '\n', '\r', '\0', '{', '[', '\u{2028}', 'é']);
    let ch = prop_oneof![any::<char>(), awkward];
    prop::collection::vec(ch, 0..100).prop_map(String::from_iter)
}

/// An object key: a protocol field name, or short awkward text.
fn key() -> impl Strategy<Value = String> {
    let awkward = prop::sample::select(vec!['"', '\\', '{', '}', '[', ']', 'k']);
    let short = prop::collection::vec(awkward, 0..8).prop_map(String::from_iter);
    prop_oneof![
        short,
        prop::sample::select(vec!["type", "nick", "message"]).prop_map(String::from)
    ]
}

/// A valid nick: 1 to [`MAX_NICK_CHARS`] characters of no refused category,
/// NFC, no white space at either end.
fn nick() -> impl Strategy<Value = String> {
    let ch = any::<char>().prop_map(|c| if Refused::of(c).is_some() { 'x' } else { c });
    prop::collection::vec(ch, 1..=MAX_NICK_CHARS).prop_filter_map("no nick", |chars| {
        let typed: Result<Nick, _> = String::from_iter(chars).trim().parse();
        typed.ok().map(|nick| nick.to_string())
    })
}

/// Runs every parser on a line; they may refuse it, never panic.
fn parse_all(line: &[u8]) {
    let _ = JSON.decode_request(line);
    let _ = JSON.decode_broadcast(line);
    let _ = JSON.decode_response(line);
    let _ = check_nesting(line);
}

/// A frame as sent on the wire, checked to be exactly one line, without its `\n`.
fn one_line(frame: Vec<u8>) -> Vec<u8> {
    let mut line = Vec::new();
    push_line(&mut line, &frame);
    assert_eq!(line.pop(), Some(b'\n'));
    assert!(!line.contains(&b'\n'));
    line
}

fn request_line(request: &Request<'_>) -> Vec<u8> {
    one_line(JSON.request_bytes(request))
}

/// A frame for `nick`, who may not be a valid nick: what a client could send.
fn raw_request(kind: &str, nick: &str, subscriber: Option<String>) -> Vec<u8> {
    let mut frame = serde_json::json!({"type": kind, "nick": nick});
    if let Some(subscriber) = subscriber {
        frame["subscriber"] = Value::String(subscriber);
    }
    one_line(frame.to_string().into_bytes())
}

proptest! {
    #[test]
    fn parsers_never_panic_on_any_bytes(line in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&line);
    }

    #[test]
    fn parsers_never_panic_on_json_ish_text(line in json_ish()) {
        parse_all(line.as_bytes());
    }

    #[test]
    fn parsers_never_panic_on_any_request_shaped_object(frame in request_like()) {
        let line = frame.to_string();
        parse_all(line.as_bytes());
        if let Ok(Request::Join { nick, .. } | Request::Leave { nick }) = JSON.decode_request(line.as_bytes()) {
            prop_assert_eq!(frame["nick"].as_str(), Some(nick.as_str()));
        }
    }

    #[test]
    fn messages_round_trip_through_both_ports(nick in nick(), text in text()) {
        let body = MessageBody::Text(text.clone().into());
        let expected = Request::Message { nick: Nick::new(nick.clone()).unwrap(), body };
        let line = request_line(&expected);
        prop_assert_eq!(JSON.decode_request(&line), Ok(expected));
        // The server relays the line unchanged; a subscriber reads it back.
        let Ok(Broadcast::Message { nick: sender, body }) = JSON.decode_broadcast(&line) else {
            panic!("not a broadcast message");
        };
        prop_assert_eq!(sender, nick);
        prop_assert_eq!(body, Some(MessageBody::Text(text.into())));
    }

    #[test]
    fn sealed_messages_round_trip(nick in nick(), salt in text(), token in text()) {
        let body = MessageBody::Sealed(Sealed { salt: salt.into(), token: token.into() });
        let expected = Request::Message { nick: Nick::new(nick.clone()).unwrap(), body };
        let line = request_line(&expected);
        prop_assert_eq!(JSON.decode_request(&line), Ok(expected));
    }

    #[test]
    fn joins_and_leaves_accept_exactly_the_valid_nicks(
        candidate in prop_oneof![nick(), text()],
        subscriber in proptest::option::of(any::<std::net::SocketAddr>()),
    ) {
        let valid = Nick::new(candidate.clone());
        let named = subscriber.map(|a| a.to_string());
        let join = raw_request("join", &candidate, named);
        let leave = raw_request("leave", &candidate, None);
        let (joined, left) = (JSON.decode_request(&join), JSON.decode_request(&leave));
        match valid {
            Ok(nick) => {
                let subscriber = subscriber.map(|a| std::net::SocketAddr::new(a.ip().to_canonical(), a.port()));
                prop_assert_eq!(joined, Ok(Request::Join { nick: nick.clone(), subscriber }));
                prop_assert_eq!(left, Ok(Request::Leave { nick }));
            }
            Err(e) => {
                prop_assert_eq!(joined, Err(FrameError::Nick(e.clone())));
                prop_assert_eq!(left, Err(FrameError::Nick(e)));
            }
        }
    }

    #[test]
    fn responses_round_trip(response in response()) {
        let line = one_line(JSON.response_bytes(&response));
        prop_assert_eq!(JSON.decode_response(&line), Ok(response));
    }

    #[test]
    fn nesting_check_agrees_with_the_depth_of_the_structure(value in nested()) {
        let json = value.to_string();
        let depth = depth_of(&value);
        prop_assert_eq!(check_nesting(json.as_bytes()).is_ok(), depth <= MAX_NESTING);
        // Inside a request, the request's own braces count as one level.
        let list = format!(r#"{{"type":"list","x":{json}}}"#);
        let parsed = JSON.decode_request(list.as_bytes());
        if depth < MAX_NESTING {
            prop_assert_eq!(parsed, Ok(Request::List));
        } else {
            prop_assert_eq!(parsed, Err(FrameError::TooDeep { format: "JSON", limit: MAX_NESTING }));
        }
    }
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        Just(Response::Ok),
        text().prop_map(Response::ko),
        prop::collection::vec(text(), 0..8).prop_map(Response::nicks),
    ]
}

/// Deepest nesting of arrays and objects in a value: the reference.
fn depth_of(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth_of).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(depth_of).max().unwrap_or(0),
        _ => 0,
    }
}

/// Most levels of the generated spines: past [`MAX_NESTING`] on purpose.
const MAX_SPINE: usize = MAX_NESTING + 8;

/// A spine of arrays and objects up to [`MAX_SPINE`] deep, with small
/// values beside it at every level and keys full of brackets and quotes.
fn nested() -> impl Strategy<Value = Value> {
    let level = (any::<bool>(), any::<bool>(), key(), small_value());
    (json_value(), prop::collection::vec(level, 0..=MAX_SPINE)).prop_map(|(core, levels)| {
        levels
            .into_iter()
            .fold(core, |inner, (array, before, key, beside)| {
                if array {
                    let items = if before {
                        vec![beside, inner]
                    } else {
                        vec![inner, beside]
                    };
                    Value::Array(items)
                } else {
                    let mut fields = Map::new();
                    fields.insert(format!("beside {key}"), beside);
                    fields.insert(key, inner);
                    Value::Object(fields)
                }
            })
    })
}
