//! The JSON wire's serialisation: one compact JSON object per frame.
//!
//! Compact JSON never contains a raw newline, which is what lets the JSON
//! wire delimit frames with `\n` ([`super::framing`]).

use serde::Serialize;

use super::frame::{Broadcast, Envelope, FrameError, Request, Response};

/// Deepest nesting of arrays and objects accepted anywhere in a request. The
/// protocol needs 3; the limit keeps frames that would exhaust another
/// parser's recursion (Python's `json` among them) off the broadcast port.
pub const MAX_NESTING: usize = 32;

const FORMAT: &str = "JSON";

/// `{"response":"ok"}`, the answer to nearly every request, written without
/// going through serde.
const OK: &[u8] = br#"{"response":"ok"}"#;

/// Reads a request: UTF-8, shallow enough, a JSON object, one of the four
/// shapes.
pub fn decode_request(body: &[u8]) -> Result<Request<'_>, FrameError> {
    let text = std::str::from_utf8(body).map_err(|e| FrameError::InvalidUtf8 {
        at: e.valid_up_to(),
    })?;
    check_nesting(text.as_bytes())?;
    Request::from_envelope(envelope(text.as_bytes())?)
}

/// Reads a response (client side).
pub fn decode_response(body: &[u8]) -> Result<Response, FrameError> {
    Response::from_envelope(envelope(body)?)
}

/// Reads a broadcast (subscriber side), in one pass: the nesting check
/// protects parsers downstream of a server, and a subscriber has none.
/// Nothing a subscriber reads recurses (the `message` field of another shape
/// is skipped without recursion), and serde checks UTF-8 as it reads.
pub fn decode_broadcast(body: &[u8]) -> Result<Broadcast<'_>, FrameError> {
    Broadcast::from_envelope(envelope(body)?)
}

/// Appends a frame's compact JSON to `out`.
pub fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Serialising our own types into a Vec cannot fail: no I/O, no
    // non-string map keys, no custom Serialize that errors.
    if let Err(e) = serde_json::to_writer(&mut *out, value) {
        log::error!("cannot serialise a frame: {e}");
    }
}

/// Appends a response's compact JSON to `out`.
pub fn encode_response(response: &Response, out: &mut Vec<u8>) {
    match response {
        Response::Ok => out.extend_from_slice(OK),
        other => encode(other, out),
    }
}

fn envelope(body: &[u8]) -> Result<Envelope<'_>, FrameError> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(FrameError::NotAnObject(FORMAT));
    }
    serde_json::from_slice(body).map_err(serde_error)
}

fn serde_error(e: serde_json::Error) -> FrameError {
    match e.classify() {
        serde_json::error::Category::Data => FrameError::BadField(e.to_string()),
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
