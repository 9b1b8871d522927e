//! The JSON wire's fast path: nearly every frame on it is a flat object of
//! string fields, compact and without escapes, as our own encoders write
//! them (`{"type":"message","nick":"alice","message":"hi"}`,
//! `{"response":"ok"}`). Such a frame is read here in one pass over its
//! bytes, without serde; any other frame, valid or not, goes to serde
//! (`json::envelope`), which reads it, or refuses it with its reason.
//!
//! So the fast path only ever answers for frames whose envelope is beyond
//! doubt: valid UTF-8, exactly `{"key":"value",...}` with no white space,
//! each key one the envelope reads as a string and given once, each string
//! free of `\` and of control characters. A frame it reads, serde reads the
//! same (the tests check it on arbitrary frames); a duplicate key, an
//! unknown one, an escape, a number, a nested value, anything unusual, is
//! left to serde and to its checks.

use std::borrow::Cow;

use crate::wire::frame::Envelope;

/// The envelope of `body` if it is a flat object of distinct string fields
/// the envelope knows; `None`: let serde read it.
pub(super) fn envelope(body: &[u8]) -> Option<Envelope<'_>> {
    if has_control(body) {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut rest = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut envelope = Envelope::default();
    loop {
        let (key, after) = string(rest)?;
        let (value, after) = string(after.strip_prefix(':')?)?;
        if !envelope.set_string(key.as_bytes(), Cow::Borrowed(value)) {
            return None;
        }
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None if after.is_empty() => return Some(envelope),
            None => return None,
        }
    }
}

/// Whether `bytes` hold a control character, which a flat frame holds
/// nowhere: not between its fields (no white space), not in its strings
/// (JSON escapes them). Written without an early exit, so that it compiles
/// to a vector loop.
fn has_control(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |found, &b| found | (b < b' '))
}

/// A JSON string at the start of `text`, without escapes (the frame holds
/// no control character: [`has_control`]): its contents, and what follows
/// its closing quote.
fn string(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('"')?;
    let end = memchr::memchr2(b'"', b'\\', inner.as_bytes())?;
    if inner.as_bytes()[end] != b'"' {
        return None;
    }
    Some((&inner[..end], &inner[end + 1..]))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::frame::{MessageBody, Status};

    /// What serde makes of `body`, as text to compare.
    fn by_serde(body: &[u8]) -> Result<String, String> {
        serde_json::from_slice::<Envelope<'_>>(body)
            .map(|e| format!("{e:?}"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_the_frames_of_the_protocol() {
        let message = br#"{"type":"message","nick":"alice","message":"hi there"}"#;
        let envelope = envelope(message).unwrap();
        assert_eq!(envelope.kind.as_deref(), Some("message"));
        assert_eq!(envelope.nick.as_deref(), Some("alice"));
        let text = envelope.message.and_then(|field| field.0);
        assert!(matches!(text, Some(MessageBody::Text(t)) if t == "hi there"));
        assert!(matches!(
            super::envelope(br#"{"response":"ok"}"#).unwrap().response,
            Some(Status::Word(ref w)) if w == "ok"
        ));
    }

    #[test]
    fn leaves_every_unusual_frame_to_serde() {
        for body in [
            &br#"{"type":"join","type":"leave"}"#[..],
            br#"{"nick":"a\"b"}"#,
            br#"{"nick":"a\u0062"}"#,
            b"{\"nick\":\"a\tb\"}",
            br#"{"type":"list", "nick":"a"}"#,
            br#"{"more":3}"#,
            br#"{"message":{"salt":"s","token":"t"}}"#,
            br#"{"other":"x"}"#,
            br#"{"type":"list"} "#,
            br#"{}"#,
            br#"{"type":"list",}"#,
            b"{\"nick\":\"\xff\"}",
        ] {
            assert!(
                envelope(body).is_none(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// Pieces of frames, usual and not, for the property below.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "{",
            "}",
            "\"",
            ":",
            ",",
            " ",
            "\\",
            "\\\"",
            "\\u0061",
            "\t",
            "type",
            "nick",
            "message",
            "subscriber",
            "error",
            "response",
            "more",
            "salt",
            "token",
            "x",
            "é",
            "1",
            "[",
            "]",
            "null",
            "\"type\":\"message\"",
            "\"nick\":\"bob\"",
            "{\"a\":1}",
        ])
    }

    proptest! {
        /// Whatever the fast path reads, serde reads the same.
        #[test]
        fn what_the_fast_path_reads_serde_reads_the_same(
            pieces in prop::collection::vec(piece(), 0..24)
        ) {
            let body = pieces.concat();
            if let Some(fast) = envelope(body.as_bytes()) {
                prop_assert_eq!(Ok(format!("{fast:?}")), by_serde(body.as_bytes()));
            }
        }

        /// Flat frames of string fields, as encoders write them, are read
        /// by the fast path unless a string needed an escape, and as serde
        /// reads them.
        #[test]
        fn flat_frames_are_read_as_serde_reads_them(
            fields in prop::collection::btree_map(
                prop::sample::select(vec!["type", "nick", "message", "subscriber", "error", "response"]),
                "[ -~é🦀]{0,20}",
                1..6,
            )
        ) {
            let body = serde_json::to_string(&fields).unwrap();
            let fast = envelope(body.as_bytes()).map(|e| format!("{e:?}"));
            prop_assert_eq!(fast.is_some(), !body.contains('\\'));
            if let Some(fast) = fast {
                prop_assert_eq!(Ok(fast), by_serde(body.as_bytes()));
            }
        }
    }
}
