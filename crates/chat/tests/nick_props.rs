//! Property tests of the nick rules and the bounded writer (issue 14):
//! which strings are nicks, that no invisible or lookalike variant of a
//! joined nick gets in, that case stays significant, and that whatever the
//! server answers, and however many requests arrive together, every answer
//! fits on a line. The request loop runs in process, through the library's
//! `ServerHandle`, over real TCP.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use chat::server::ConnectionId;
use chat::server::{BaseServer, ServerConfig, ServerHandle, SimpleServer, TrustModel};
use chat::server::{ChatRoom, RoomError};
use chat::wire::MAX_REASON_CHARS;
use chat::wire::{Codec, MAX_LINE, Nick, NickError, Response};
use chat::wire::{MAX_NICK_CHARS, Refused};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

const JSON: Codec = Codec::Json;

/// Characters that hide or reorder text: zero-width ones, bidirectional
/// controls, the word joiner, the byte order mark, the soft hyphen.
const INVISIBLE: &[char] = &[
    '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}',
    '\u{202d}', '\u{202e}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{feff}',
    '\u{ad}', '\u{61c}', '\u{2028}', '\u{2029}',
];

/// Latin letters and a Cyrillic or Greek twin of each (Unicode's
/// confusables.txt maps every one of these to the Latin letter).
const TWINS: &[(char, char)] = &[
    ('a', '\u{430}'),
    ('c', '\u{441}'),
    ('e', '\u{435}'),
    ('i', '\u{456}'),
    ('j', '\u{458}'),
    ('o', '\u{43e}'),
    ('p', '\u{440}'),
    ('s', '\u{455}'),
    ('x', '\u{445}'),
    ('y', '\u{443}'),
    ('o', '\u{3bf}'),
];

/// A character from anywhere, weighted towards the awkward ones.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        2 => prop::sample::select(INVISIBLE),
        1 => prop::sample::select(vec![' ', '\t', '\u{a0}', '\u{3000}', '\u{301}', '"', '\\']),
        3 => prop::char::range('a', 'z'),
    ]
}

/// A string that may or may not be a nick.
fn candidate() -> impl Strategy<Value = String> {
    prop::collection::vec(any_char(), 0..80).prop_map(String::from_iter)
}

/// A valid nick of lower-case Latin letters that have twins, with at
/// least one such letter.
fn latin_nick() -> impl Strategy<Value = String> {
    let letters: Vec<char> = TWINS.iter().map(|(latin, _)| *latin).collect();
    prop::collection::vec(prop::sample::select(letters), 1..=MAX_NICK_CHARS)
        .prop_map(String::from_iter)
}

/// A valid nick of any characters.
fn nick() -> impl Strategy<Value = String> {
    let ch = any_char().prop_map(|c| if Refused::of(c).is_some() { 'x' } else { c });
    prop::collection::vec(ch, 1..=MAX_NICK_CHARS).prop_filter_map("no nick", |chars| {
        let typed: Result<Nick, _> = String::from_iter(chars).trim().parse();
        typed.ok().map(|nick| nick.to_string())
    })
}

/// A valid nick of 40 to 64 characters, many of them several bytes long
/// or escaped in JSON: some five hundred make a list too long for a line.
fn big_nick() -> impl Strategy<Value = String> {
    let heavy = prop_oneof![
        prop::char::range('\u{1f300}', '\u{1f5ff}'),
        prop::sample::select(vec!['"', '\\', 'é', '世']),
        prop::char::range('a', 'z'),
    ];
    prop::collection::vec(heavy, 40..=MAX_NICK_CHARS).prop_filter_map("no nick", |chars| {
        Nick::new(String::from_iter(chars))
            .ok()
            .map(|nick| nick.to_string())
    })
}

/// 300 to 800 big nicks, distinct: a few generated ones, each taken many
/// times with a number at its end. From about 500 on, they make a list too
/// long for a line.
fn big_nicks() -> impl Strategy<Value = Vec<String>> {
    (prop::collection::vec(big_nick(), 4..12), 300usize..800).prop_map(|(pool, count)| {
        (0..count)
            .map(|i| {
                let stem: String = pool[i % pool.len()].chars().take(60).collect();
                format!("{stem}{i:03}")
            })
            .collect()
    })
}

/// The rules of PROTOCOL.md section 2, written out independently.
fn follows_the_rules(s: &str) -> bool {
    let chars = s.chars().count();
    let refused = |c: char| {
        matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::PrivateUse
                | GeneralCategory::Unassigned
        )
    };
    (1..=MAX_NICK_CHARS).contains(&chars)
        && !s.chars().any(refused)
        && s.trim() == s
        && s.nfc().eq(s.chars())
}

const A: ConnectionId = ConnectionId(1);
const B: ConnectionId = ConnectionId(2);

proptest! {
    #[test]
    fn a_string_is_a_nick_exactly_when_it_follows_the_rules(s in candidate()) {
        prop_assert_eq!(Nick::new(s.clone()).is_ok(), follows_the_rules(&s), "{:?}", s);
    }

    #[test]
    fn an_invisible_character_anywhere_makes_a_nick_invalid(
        nick in nick(),
        invisible in prop::sample::select(INVISIBLE),
        at in any::<prop::sample::Index>(),
    ) {
        let mut chars: Vec<char> = nick.chars().collect();
        chars.insert(at.index(chars.len() + 1), invisible);
        let refused = Nick::new(String::from_iter(chars));
        let is_refused = matches!(refused, Err(NickError::Refused { .. } | NickError::TooLong { .. }));
        prop_assert!(is_refused, "{:?}", refused);
    }

    #[test]
    fn white_space_at_either_end_makes_a_nick_invalid(nick in nick(), front in any::<bool>()) {
        let padded = if front { format!(" {nick}") } else { format!("{nick}\u{a0}") };
        prop_assert!(Nick::new(padded).is_err());
    }

    #[test]
    fn a_lookalike_of_a_joined_nick_is_refused_as_already_joined(
        latin in latin_nick(),
        swaps in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        twin_of in any::<prop::sample::Index>(),
    ) {
        let mut chars: Vec<char> = latin.chars().collect();
        for swap in &swaps {
            let at = swap.index(chars.len());
            let twins: Vec<char> = TWINS.iter().filter(|(l, _)| *l == chars[at]).map(|t| t.1).collect();
            if !twins.is_empty() {
                chars[at] = *twin_of.get(&twins);
            }
        }
        let lookalike = Nick::new(String::from_iter(chars)).unwrap();
        let room = ChatRoom::new(TrustModel::Open);
        room.join(Nick::new(latin.clone()).unwrap(), A).unwrap();
        let refused = room.join(lookalike.clone(), B).unwrap_err();
        prop_assert!(matches!(refused, RoomError::LooksLike { .. }), "{:?}", refused);
        prop_assert!(refused.to_string().contains("already joined"));
        prop_assert_eq!(room.nicks(), vec![latin]);
    }

    /// Case is significant: `alice` and `Alice` are two people (the
    /// skeleton folds what a reader cannot tell apart, not capitals).
    #[test]
    fn a_nick_in_other_capitals_is_another_person(latin in latin_nick()) {
        let mut capital = latin.clone();
        capital[..1].make_ascii_uppercase();
        let room = ChatRoom::new(TrustModel::Open);
        room.join(Nick::new(latin.clone()).unwrap(), A).unwrap();
        room.join(Nick::new(capital.clone()).unwrap(), B).unwrap();
        prop_assert_eq!(room.nicks(), vec![latin, capital]);
    }

    #[test]
    fn a_ko_reason_is_at_most_200_characters_whatever_the_request(
        kind in candidate(), field in candidate(), repeat in 1usize..2000,
    ) {
        let request = serde_json::json!({"type": kind.repeat(repeat), "subscriber": field.repeat(repeat)});
        let refusal = match JSON.decode_request(request.to_string().as_bytes()) {
            Ok(_) => return Ok(()),
            Err(e) => Response::ko(e),
        };
        let line = JSON.response_bytes(&refusal);
        let Ok(Response::Ko(reason)) = JSON.decode_response(&line) else { panic!("not a ko") };
        prop_assert!(reason.chars().count() <= MAX_REASON_CHARS);
        prop_assert!(line.len() <= 6 * MAX_REASON_CHARS + 32);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_list_answer_always_fits_on_a_line_and_counts_what_it_leaves_out(
        nicks in big_nicks(),
        more in 0usize..1_000_000,
    ) {
        let answer = Response::Nicks { nicks: nicks.clone(), more };
        let line = JSON.response_bytes(&answer);
        prop_assert!(line.len() <= MAX_LINE, "{} bytes", line.len());
        let Ok(Response::Nicks { nicks: kept, more: counted }) = JSON.decode_response(&line) else {
            panic!("not a list");
        };
        prop_assert_eq!(&kept[..], &nicks[..kept.len()]);
        prop_assert_eq!(counted, more + nicks.len() - kept.len());
    }

    #[test]
    fn a_room_lists_in_join_order_what_fits_and_counts_the_rest(
        nicks in big_nicks(),
    ) {
        let room = ChatRoom::new(TrustModel::Open);
        let joined: Vec<String> = nicks.into_iter()
            .filter(|n| room.join(Nick::new(n.clone()).unwrap(), A).is_ok())
            .collect();
        let line = JSON.response_bytes(&room.list(MAX_LINE));
        prop_assert!(line.len() <= MAX_LINE);
        let Ok(Response::Nicks { nicks: kept, more }) = JSON.decode_response(&line) else {
            panic!("not a list");
        };
        prop_assert_eq!(&kept[..], &joined[..kept.len()]);
        prop_assert_eq!(kept.len() + more, joined.len());
    }
}

/// A plain server in process, in the original's trust model.
fn server() -> ServerHandle {
    let server = BaseServer::bind(&ServerConfig::local()).unwrap();
    server
        .spawn(Arc::new(SimpleServer::new(TrustModel::Open)))
        .unwrap()
}

/// One pipelined request: a join, a list, a message of some size, or a line
/// that is no request.
fn pipelined_request() -> impl Strategy<Value = String> {
    prop_oneof![
        nick().prop_map(|n| serde_json::json!({"type": "join", "nick": n}).to_string()),
        Just(r#"{"type":"list"}"#.to_owned()),
        (0usize..20_000).prop_map(|n| {
            serde_json::json!({"type": "message", "nick": "n", "message": "m".repeat(n)})
                .to_string()
        }),
        candidate().prop_map(|s| serde_json::json!({"type": s}).to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The bounded writer: any number of requests written at once get one
    /// answer each, in order, each on a line of at most 64 KiB.
    #[test]
    fn pipelined_requests_get_one_bounded_answer_each_in_order(
        requests in prop::collection::vec(pipelined_request(), 1..300),
    ) {
        let server = server();
        let stream = TcpStream::connect(server.request_addr()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut flood = TcpStream::connect(server.request_addr()).unwrap();
        flood.write_all(b"{\"type\":\"join\",\"nick\":\"n\"}\n").unwrap();
        for i in 0..280 {
            let join = serde_json::json!({"type": "join", "nick": format!("{i:03}{}", "🦀".repeat(61))});
            flood.write_all(format!("{join}\n").as_bytes()).unwrap();
        }
        // Written from another thread: the answers are read meanwhile.
        let batch: String = requests.iter().map(|r| format!("{r}\n")).collect();
        let mut writer = stream.try_clone().unwrap();
        let writing = std::thread::spawn(move || writer.write_all(batch.as_bytes()));
        let mut answers = BufReader::new(&stream);
        for request in &requests {
            let mut line = String::new();
            answers.read_line(&mut line).unwrap();
            prop_assert!(line.ends_with('\n') && line.len() <= MAX_LINE + 1, "{} bytes", line.len());
            let answer = JSON.decode_response(line.trim_end().as_bytes()).unwrap();
            if request == r#"{"type":"list"}"# {
                prop_assert!(matches!(answer, Response::Nicks { .. }), "{:?}", answer);
            } else {
                prop_assert!(!matches!(answer, Response::Nicks { .. }), "{:?}", answer);
            }
        }
        writing.join().unwrap().unwrap();
        server.stop();
    }
}
