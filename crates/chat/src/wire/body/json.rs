//! The JSON wire's serialisation: one compact JSON object per frame.
//!
//! Compact JSON never contains a raw newline, which is what lets the JSON
//! wire delimit frames with `\n` (line framing).

use serde::Serialize;

use super::{MAX_NESTING, flat_json};
use crate::wire::frame::{Envelope, FrameError, MessageBody, Reason, Request, Response};
use crate::wire::framing::MAX_LINE;

const FORMAT: &str = "JSON";

/// `{"response":"ok"}`, the answer to nearly every request, written without
/// going through serde.
const OK: &[u8] = br#"{"response":"ok"}"#;

/// Reads a request: a flat frame at once (`flat_json`), any other after
/// checking what it must be before it is read: UTF-8, and shallow enough
/// (the nesting check protects parsers downstream of a server, which a
/// subscriber has none of: it reads in one pass).
pub(in crate::wire) fn request_envelope(body: &[u8]) -> Result<Envelope<'_>, FrameError> {
    if let Some(flat) = flat_json::envelope(body) {
        return Ok(flat);
    }
    std::str::from_utf8(body).map_err(|e| FrameError::InvalidUtf8 {
        at: e.valid_up_to(),
    })?;
    check_nesting(body)?;
    full_envelope(body)
}

/// Appends a frame's compact JSON to `out`.
pub fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Serialising our own types into a Vec cannot fail: no I/O, no
    // non-string map keys, no custom Serialize that errors.
    if let Err(e) = serde_json::to_writer(&mut *out, value) {
        log::error!("cannot serialise a frame: {e}");
    }
}

/// Appends a request's compact JSON to `out`. A message in text, as a
/// client sends nearly all of them, is written without going through serde
/// when its nick and text need no escape: the bytes serde would write (the
/// tests check it), in the flat form readers take on their fast path.
pub fn encode_request(request: &Request<'_>, out: &mut Vec<u8>) {
    match request {
        Request::Message {
            nick,
            body: MessageBody::Text(text),
        } if is_verbatim(nick.as_str()) && is_verbatim(text) => {
            out.extend_from_slice(br#"{"type":"message","nick":""#);
            out.extend_from_slice(nick.as_str().as_bytes());
            out.extend_from_slice(br#"","message":""#);
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(br#""}"#);
        }
        _ => encode(request, out),
    }
}

/// Whether JSON writes `text` as it is between its quotes: no quote, no
/// backslash, no control character (what JSON escapes). One pass without
/// an early exit, so that it compiles to a vector loop.
fn is_verbatim(text: &str) -> bool {
    !text.bytes().fold(false, |escaped, b| {
        escaped | (b < b' ') | (b == b'"') | (b == b'\\')
    })
}

/// Appends a response's compact JSON to `out`: at most [`MAX_LINE`] bytes,
/// whatever the response (PROTOCOL.md section 5). `ok` is a constant, a
/// `ko` reason is at most 200 characters (6 bytes each at worst once
/// escaped), and a nick list keeps the nicks that fit.
pub fn encode_response(response: &Response, out: &mut Vec<u8>) {
    match response {
        Response::Ok => out.extend_from_slice(OK),
        Response::Nicks { nicks, more } => encode_nicks(nicks, *more, out),
        Response::Ko(_) => encode(response, out),
    }
}

/// The end of a list answer at its longest: `],"more":`, a count, `}`.
const LIST_TAIL_MAX: usize = r#"],"more":}"#.len() + 20;

/// `{"response":[N1,...],"more":M}`, keeping the nicks that fit in
/// [`MAX_LINE`] bytes in order, and counting the others in `more`, added to
/// the `more` the answer already had. One pass: each nick is written, and
/// taken back if it went over.
fn encode_nicks(nicks: &[String], more: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(br#"{"response":["#);
    let mut kept = 0;
    for nick in nicks {
        let before = out.len();
        if kept > 0 {
            out.push(b',');
        }
        encode(nick.as_str(), out);
        if out.len() - start + LIST_TAIL_MAX > MAX_LINE {
            out.truncate(before);
            break;
        }
        kept += 1;
    }
    out.push(b']');
    let more = more.saturating_add(nicks.len() - kept);
    if more > 0 {
        out.extend_from_slice(br#","more":"#);
        out.extend_from_slice(more.to_string().as_bytes());
    }
    out.push(b'}');
}

/// Reads any frame of the protocol: a JSON object. Nothing a subscriber
/// reads recurses (a `message` field of another shape is skipped without
/// recursion), and serde checks UTF-8 as it reads.
pub(in crate::wire) fn envelope(body: &[u8]) -> Result<Envelope<'_>, FrameError> {
    match flat_json::envelope(body) {
        Some(envelope) => Ok(envelope),
        None => full_envelope(body),
    }
}

/// Reads any frame of the protocol the full way, through serde.
fn full_envelope(body: &[u8]) -> Result<Envelope<'_>, FrameError> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(FrameError::NotAnObject(FORMAT));
    }
    serde_json::from_slice(body).map_err(serde_error)
}

fn serde_error(e: serde_json::Error) -> FrameError {
    match e.classify() {
        // serde quotes the value it refused: bounded like any reason.
        serde_json::error::Category::Data => FrameError::BadField(Reason::new(e).to_string()),
        _ => FrameError::Malformed {
            format: FORMAT,
            reason: e.to_string(),
        },
    }
}

/// Rejects JSON nested deeper than [`MAX_NESTING`], in one pass over the
/// bytes. serde_json bounds recursion for the fields it decodes, but skips
/// unknown fields without any bound; this check covers the whole frame.
pub fn check_nesting(json: &[u8]) -> Result<(), FrameError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(FrameError::TooDeep {
                        format: FORMAT,
                        limit: MAX_NESTING,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Codec, Request};

    fn decode_request(body: &[u8]) -> Result<Request<'_>, FrameError> {
        Codec::Json.decode_request(body)
    }

    fn decode_response(body: &[u8]) -> Result<Response, FrameError> {
        Codec::Json.decode_response(body)
    }
    use crate::wire::frame::MAX_REASON_CHARS;

    fn encoded(response: &Response) -> Vec<u8> {
        let mut out = Vec::new();
        encode_response(response, &mut out);
        out
    }

    #[test]
    fn a_list_that_would_not_fit_keeps_the_nicks_that_fit_and_counts_the_others() {
        let nicks: Vec<String> = (0..300)
            .map(|i| format!("{i:03}{}", "🦀".repeat(60)))
            .collect();
        let line = encoded(&Response::Nicks {
            nicks: nicks.clone(),
            more: 5,
        });
        assert!(line.len() <= MAX_LINE, "{} bytes", line.len());
        let Ok(Response::Nicks { nicks: kept, more }) = decode_response(&line) else {
            panic!("not a list");
        };
        assert_eq!(kept[..], nicks[..kept.len()]);
        assert_eq!(more, 5 + nicks.len() - kept.len());
        // One more nick, and room for the longest tail, would not have fit.
        let head = r#"{"response":"#.len();
        let one_more = serde_json::to_vec(&nicks[..=kept.len()]).unwrap();
        assert!(head + one_more.len() - 1 + LIST_TAIL_MAX > MAX_LINE);
    }

    proptest::proptest! {
        /// A message written directly is byte for byte what serde writes,
        /// whatever its nick and text hold.
        #[test]
        fn a_message_is_written_as_serde_writes_it(
            nick in "[a-z\\\\\"\\u{7f}é🦀-]{1,12}",
            text in "(\\PC|[\\x00-\\x1f\"\\\\\\u{7f}])*",
        ) {
            let Ok(nick) = crate::wire::Nick::claimed(nick) else {
                return Ok(());
            };
            let request = Request::Message {
                nick,
                body: MessageBody::Text(text.into()),
            };
            let mut direct = Vec::new();
            encode_request(&request, &mut direct);
            proptest::prop_assert_eq!(direct, serde_json::to_vec(&request).unwrap());
        }
    }

    #[test]
    fn a_short_list_is_the_exercise_dictionary() {
        let line = encoded(&Response::nicks(vec!["a".into(), "b\"".into()]));
        assert_eq!(line, br#"{"response":["a","b\""]}"#);
    }

    #[test]
    fn a_ko_never_echoes_a_whole_request() {
        let hostile = format!(r#"{{"type":"{}"}}"#, "\\u0001".repeat(10_000));
        let Err(refusal) = decode_request(hostile.as_bytes()) else {
            panic!("accepted");
        };
        let Response::Ko(reason) = Response::ko(&refusal) else {
            unreachable!()
        };
        assert!(reason.chars().count() <= MAX_REASON_CHARS);
        assert!(reason.starts_with("unknown request type '"), "{reason}");
        let line = encoded(&Response::Ko(reason));
        assert!(line.len() < 2 * 1024, "{} bytes", line.len());
    }
}
