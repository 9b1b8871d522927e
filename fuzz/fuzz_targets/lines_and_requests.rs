//! Fuzzes what the server does with bytes from the network: the line reader
//! (fed in reads of varying sizes), then every frame parser on each line,
//! the nick rules, the bounded writer (a `ko` for every refused line, a list
//! answer of every line as a nick) and the display's escaping. Any panic, or
//! a result that breaks a contract, is a finding.

#![no_main]

mod chunked;

use chunked::Chunked;
use libfuzzer_sys::fuzz_target;
use chat::fuzzing::{LineReader, check_nesting};
use chat::wire::{Codec, MAX_LINE, MAX_NICK_CHARS, MAX_REASON_CHARS, Nick, Refused, Response};
use unsecured_chat::display::printable;

fuzz_target!(|input: &[u8]| {
    let Some((sizes, data)) = Chunked::split(input) else {
        return;
    };
    let mut reader = LineReader::new(Chunked {
        data,
        sizes,
        turn: 0,
    });
    let mut texts = Vec::new();
    while let Ok(Some(line)) = reader.read_line() {
        assert!(line.len() <= MAX_LINE && !line.contains(&b'\n'));
        if let Err(refused) = Codec::Json.decode_request(line) {
            check_ko(&Response::ko(refused));
        }
        let _ = Codec::Json.decode_broadcast(line);
        let _ = Codec::Json.decode_response(line);
        let _ = check_nesting(line);
        let text = String::from_utf8_lossy(line).into_owned();
        check_nick(&text);
        check_printable(&text);
        texts.push(text);
    }
    check_list(texts);
});

/// A `ko` holds at most 200 characters, and fits on a line.
fn check_ko(ko: &Response) {
    let Response::Ko(reason) = ko else {
        unreachable!()
    };
    assert!(reason.chars().count() <= MAX_REASON_CHARS);
    assert!(Codec::Json.response_bytes(ko).len() <= MAX_LINE);
}

/// A nick holds nothing refused, no space at its ends, and is NFC.
fn check_nick(text: &str) {
    let Ok(nick) = Nick::new(text) else {
        return;
    };
    assert!((1..=MAX_NICK_CHARS).contains(&text.chars().count()));
    assert!(text.chars().all(|c| Refused::of(c).is_none()));
    assert_eq!(text.trim(), text);
    assert_eq!(text.parse::<Nick>().as_ref(), Ok(&nick), "not NFC");
    let _ = nick.skeleton();
}

/// What the display prints holds nothing a terminal would act on.
fn check_printable(text: &str) {
    let acts = |c: char| Refused::of(c).is_some_and(Refused::acts_on_terminal);
    assert!(!printable(text).chars().any(acts));
}

/// A list answer of any texts fits on a line and counts what it leaves out.
fn check_list(texts: Vec<String>) {
    let answer = Response::nicks(texts.clone());
    let line = Codec::Json.response_bytes(&answer);
    assert!(line.len() <= MAX_LINE);
    let Ok(Response::Nicks { nicks, more }) = Codec::Json.decode_response(&line) else {
        panic!("a list answer that does not read back");
    };
    assert_eq!(nicks[..], texts[..nicks.len()]);
    assert_eq!(nicks.len() + more, texts.len());
}
