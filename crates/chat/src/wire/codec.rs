//! How frames are serialised: Python's `_serial_function` and
//! `_deserial_function`, as one value, and which wire carries them. The one
//! place that pairs a framing with the bodies it carries.
//!
//! The original's SimpleServer pickled, and its AEServer swapped in msgpack
//! by changing those two functions. Here every frame goes through a
//! [`Codec`], so the chat logic, the layers and the tools handle typed
//! frames and never know how they travel.
//!
//! The codec also names the framing: JSON travels as lines (the JSON wire),
//! pickle and msgpack as ZeroMQ frames (the original's wire, [`zmtp`]).
//! On the ZeroMQ wire a reader takes either body ([`Codec::reading`]): a
//! pickle of protocol 2 to 5 starts with `PROTO` (0x80) and its protocol,
//! which no msgpack dictionary does (0x80 is the empty map, and nothing may
//! follow it); one of protocol 0 or 1 with `(` or `}`, outside msgpack's
//! map headers. A server answers in the codec of the request, and sends its
//! broadcasts in its own.

use std::borrow::Cow;

use serde::Serialize;

use super::body::{json, msgpack, pickle};
use super::frame::{Broadcast, Envelope, FrameError, NickList, Request, Response};
use super::framing::{MAX_LINE, line_parts, push_line_with, zmtp};
use crate::named::named_enum;

named_enum! {
    /// The wire a server, client or tool speaks (`--wire`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub enum Wire {
        #[default]
        Json = "json", "JSON lines over TCP (PROTOCOL.md sections 1 and 2)",
        Zmq = "zmq", "The Python original's: ZeroMQ REQ/REP and PUB/SUB, pickle or msgpack bodies",
    }
}

/// How bodies are serialised on the ZeroMQ wire: the original's SimpleServer
/// and its clients pickle, its AEServer and the encrypted clients use msgpack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ZmqBody {
    #[default]
    Pickle,
    Msgpack,
}

impl Wire {
    /// The codec of this wire, `body` saying which one on the ZeroMQ wire.
    pub fn codec(self, body: ZmqBody) -> Codec {
        match (self, body) {
            (Self::Json, _) => Codec::Json,
            (Self::Zmq, ZmqBody::Pickle) => Codec::Pickle,
            (Self::Zmq, ZmqBody::Msgpack) => Codec::Msgpack,
        }
    }
}

impl std::fmt::Display for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Json => "json",
            Self::Zmq => "zmq",
        })
    }
}

/// A serialisation of the protocol's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// One compact JSON object per line (the JSON wire).
    Json,
    /// Python's pickle, in ZeroMQ frames (read by the `pickle` body, which runs nothing).
    Pickle,
    /// MessagePack, in ZeroMQ frames.
    Msgpack,
}

/// A pickle of protocol 2 or later starts with `PROTO` (0x80) and the
/// protocol; 0x80 alone is msgpack's empty map.
fn is_pickle_proto(body: &[u8]) -> bool {
    matches!(body, [0x80, 2..=5, ..])
}

/// Whether `body` starts like a msgpack map (fixmap, map 16, map 32).
fn is_msgpack_map(body: &[u8]) -> bool {
    matches!(body.first(), Some(0x80..=0x8f | 0xde | 0xdf))
}

/// The reason given for an empty answer: what the original's server sends
/// when its callback raised.
pub const EMPTY_ANSWER: &str = "the server answered nothing (its handler failed on this request)";

impl Codec {
    /// Which wire carries frames of this codec.
    pub fn wire(self) -> Wire {
        match self {
            Self::Json => Wire::Json,
            Self::Pickle | Self::Msgpack => Wire::Zmq,
        }
    }

    /// The pieces that make `body` one frame on this codec's wire: the body
    /// then `\n` for a line, a ZMTP frame header (written into `header`)
    /// then the body for ZeroMQ. For writers that append pieces (the
    /// broadcast ring).
    pub fn frame_parts<'a>(self, body: &'a [u8], header: &'a mut [u8; 9]) -> [&'a [u8]; 2] {
        match self.wire() {
            Wire::Json => line_parts(body),
            Wire::Zmq => {
                let (head, used) = zmtp::header(body.len(), 0);
                *header = head;
                [&header[..used], body]
            }
        }
    }

    /// Appends one frame made by `encode` to `out`, framed for this
    /// codec's wire (a broadcast notice, say).
    pub fn push_frame_with(self, out: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
        match self.wire() {
            Wire::Json => push_line_with(out, encode),
            Wire::Zmq => zmtp::push_frame_with(out, 0, encode),
        }
    }

    /// The codec a body received on this codec's wire is written in: JSON
    /// on the JSON wire; on the ZeroMQ wire, pickle or msgpack, whichever
    /// the body starts like (pickle if neither: its reader says why not).
    pub fn reading(self, body: &[u8]) -> Self {
        match self {
            Self::Json => Self::Json,
            Self::Pickle | Self::Msgpack if is_pickle_proto(body) => Self::Pickle,
            Self::Pickle | Self::Msgpack if is_msgpack_map(body) => Self::Msgpack,
            Self::Pickle | Self::Msgpack => Self::Pickle,
        }
    }

    /// Reads a request frame (server side).
    pub fn decode_request(self, body: &[u8]) -> Result<Request<'_>, FrameError> {
        self.decode_request_to_relay(body)
            .map(|(request, _)| request)
    }

    /// Reads a request frame as a server of this codec does: the request,
    /// and how the frame would be relayed, learnt on the way (whether a
    /// pickle was our encoder's flat dict), so that the relay
    /// ([`relayed_as`](Self::relayed_as)) need not read it again.
    pub(crate) fn decode_request_to_relay(
        self,
        body: &[u8],
    ) -> Result<(Request<'_>, Relaying), FrameError> {
        let (envelope, relaying) = match self.reading(body) {
            Self::Json => (json::request_envelope(body)?, Relaying::AsReceived),
            Self::Pickle => match pickle::flat_envelope(body) {
                Some(flat) if self == Self::Pickle => (flat, Relaying::AsReceived),
                Some(flat) => (flat, Relaying::Reencoded),
                None => (pickle::full_envelope(body)?, Relaying::Reencoded),
            },
            Self::Msgpack => (msgpack::envelope(body)?, Relaying::Reencoded),
        };
        Ok((Request::from_envelope(envelope)?, relaying))
    }

    /// Reads a response frame (client side). On the ZeroMQ wire an empty
    /// body is the original's answer when its handler raised: a `ko`.
    pub fn decode_response(self, body: &[u8]) -> Result<Response, FrameError> {
        if self.wire() == Wire::Zmq && body.is_empty() {
            return Ok(Response::ko(EMPTY_ANSWER));
        }
        Response::from_envelope(self.envelope(body)?)
    }

    /// Reads a broadcast frame (subscriber side).
    pub fn decode_broadcast(self, body: &[u8]) -> Result<Broadcast<'_>, FrameError> {
        Broadcast::from_envelope(self.envelope(body)?)
    }

    /// Reads any frame of the protocol into the one [`Envelope`], in the
    /// serialisation it arrived in.
    fn envelope(self, body: &[u8]) -> Result<Envelope<'_>, FrameError> {
        match self.reading(body) {
            Self::Json => json::envelope(body),
            Self::Pickle => pickle::envelope(body),
            Self::Msgpack => msgpack::envelope(body),
        }
    }

    /// Appends a request frame to `out` (client side, and a server that
    /// broadcasts a frame of its own making).
    pub fn encode_request(self, request: &Request<'_>, out: &mut Vec<u8>) {
        match self {
            Self::Json => json::encode_request(request, out),
            Self::Pickle | Self::Msgpack => self.encode(request, out),
        }
    }

    /// Appends a response frame to `out`: never more than [`MAX_LINE`]
    /// bytes, a nick list being cut to the nicks that fit and the others
    /// counted in `more` (PROTOCOL.md section 5).
    pub fn encode_response(self, response: &Response, out: &mut Vec<u8>) {
        match (self, response) {
            (Self::Json, _) => json::encode_response(response, out),
            (Self::Pickle | Self::Msgpack, Response::Nicks { nicks, more }) => {
                self.encode_nicks_within(nicks, *more, out);
            }
            (Self::Pickle | Self::Msgpack, _) => self.encode(response, out),
        }
    }

    /// A `list` answer that fits a frame of [`MAX_LINE`] bytes: the nicks
    /// that fit, in order, the others counted in `more`. (JSON cuts in one
    /// pass, nick by nick; here each try is encoded whole, and the next keeps
    /// fewer nicks in proportion to the overshoot: two or three tries.)
    fn encode_nicks_within(self, nicks: &[String], more: usize, out: &mut Vec<u8>) {
        let start = out.len();
        let mut keep = nicks.len();
        loop {
            out.truncate(start);
            let left_out = more.saturating_add(nicks.len() - keep);
            self.encode(
                &NickList {
                    nicks: &nicks[..keep],
                    more: left_out,
                },
                out,
            );
            let len = out.len() - start;
            if len <= MAX_LINE || keep == 0 {
                return;
            }
            keep = (keep * MAX_LINE / len).min(keep - 1);
        }
    }

    fn encode<T: Serialize + ?Sized>(self, value: &T, out: &mut Vec<u8>) {
        match self {
            Self::Json => json::encode(value, out),
            Self::Pickle => pickle::encode(value, out),
            Self::Msgpack => msgpack::encode(value, out),
        }
    }

    /// What a server of this codec relays for a request frame it accepted:
    /// on the JSON wire the frame unchanged; on the ZeroMQ wire the data it
    /// decodes to, every field its sender put in it, encoded afresh in this
    /// codec, so that a Python subscriber unpickles plain data only. A
    /// pickle that is already our encoder's flat dict of strings goes as
    /// received: re-encoding it would write the same bytes.
    pub fn relayed<'f>(self, frame: &'f [u8]) -> Result<Cow<'f, [u8]>, FrameError> {
        let relaying = match self {
            Self::Json => Relaying::AsReceived,
            Self::Pickle if self.reading(frame) == self && pickle::relays_as_received(frame) => {
                Relaying::AsReceived
            }
            Self::Pickle | Self::Msgpack => Relaying::Reencoded,
        };
        self.relayed_as(frame, relaying)
    }

    /// [`relayed`](Self::relayed), the frame's relaying already known from
    /// reading it ([`decode_request_to_relay`](Self::decode_request_to_relay)).
    pub(crate) fn relayed_as<'f>(
        self,
        frame: &'f [u8],
        relaying: Relaying,
    ) -> Result<Cow<'f, [u8]>, FrameError> {
        if relaying == Relaying::AsReceived {
            return Ok(Cow::Borrowed(frame));
        }
        let mut out = Vec::with_capacity(frame.len() + 16);
        match self.reading(frame) {
            Self::Pickle => {
                pickle::with_deserializer(frame, |de| self.transcode_from(de, &mut out))
            }
            _ => msgpack::with_deserializer(frame, |de| self.transcode_from(de, &mut out)),
        }?;
        Ok(Cow::Owned(out))
    }

    /// Writes what `de` reads into `out`, in this codec (pickle or msgpack).
    fn transcode_from<'de, D: serde::Deserializer<'de>>(
        self,
        de: D,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match self {
            Self::Msgpack => {
                serde_transcode::transcode(de, &mut msgpack::serializer(out)).map_err(innermost)
            }
            _ => pickle::serialize(out, |ser| {
                serde_transcode::transcode(de, ser).map_err(innermost)
            }),
        }
    }

    /// A request frame as bytes.
    pub fn request_bytes(self, request: &Request<'_>) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.encode_request(request, &mut out);
        out
    }

    /// A response frame as bytes.
    pub fn response_bytes(self, response: &Response) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode_response(response, &mut out);
        out
    }
}

/// How a server relays the frame of a request it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relaying {
    /// As received: on the JSON wire, or our own encoder's flat pickle on
    /// a pickle server (re-encoding it would write the same bytes).
    AsReceived,
    /// Re-encoded from the data it decodes to, in the server's codec.
    Reencoded,
}

/// A transcoding error's reason, without the wrapping each level of
/// nesting adds.
fn innermost(error: impl std::fmt::Display) -> String {
    const WRAPPER: &str = "decoding error: ";
    let text = error.to_string();
    let mut reason = text.as_str();
    while let Some(inner) = reason.strip_prefix(WRAPPER) {
        reason = inner;
    }
    reason.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::{MessageBody, Reason, Sealed};
    use crate::wire::nick::Nick;

    const JSON: Codec = Codec::Json;

    fn parse(line: &str) -> Result<Request<'_>, String> {
        JSON.decode_request(line.as_bytes())
            .map_err(|e| e.to_string())
    }

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }

    #[test]
    fn parses_the_four_requests() {
        assert_eq!(
            parse(r#"{"type":"join","nick":"alice"}"#),
            Ok(Request::Join {
                nick: nick("alice"),
                subscriber: None
            })
        );
        assert_eq!(
            parse(r#"{"type":"join","nick":"alice","subscriber":"[::ffff:127.0.0.1]:4000"}"#),
            Ok(Request::Join {
                nick: nick("alice"),
                subscriber: Some("127.0.0.1:4000".parse().unwrap())
            })
        );
        let refused = parse(r#"{"type":"join","nick":"a","subscriber":"here"}"#);
        assert!(refused.unwrap_err().contains("IP:PORT"));
        assert_eq!(
            parse(r#"{"nick":"alice","type":"leave","extra":[1,{"a":2}]}"#),
            Ok(Request::Leave {
                nick: nick("alice")
            })
        );
        assert_eq!(
            parse(r#"{"type":"message","nick":"bob","message":"hi \"you\""}"#),
            Ok(Request::Message {
                nick: nick("bob"),
                body: MessageBody::Text("hi \"you\"".into())
            })
        );
        assert_eq!(parse(r#" {"type":"list"} "#), Ok(Request::List));
    }

    #[test]
    fn parses_a_sealed_message_and_keeps_text_borrowed() {
        let line = r#"{"type":"message","nick":"bob","message":{"salt":"c2FsdA==","x":[1],"token":"gAAA"}}"#;
        let Ok(Request::Message {
            body: MessageBody::Sealed(s),
            ..
        }) = parse(line)
        else {
            panic!("{line}");
        };
        assert_eq!((s.salt.as_ref(), s.token.as_ref()), ("c2FsdA==", "gAAA"));
        assert!(matches!(s.salt, Cow::Borrowed(_)));
    }

    #[test]
    fn explains_every_bad_input_in_one_line() {
        let cases = [
            ("nope", "a request must be a JSON object"),
            ("[1,2]", "a request must be a JSON object"),
            ("{\"type\":", "not JSON"),
            (r#"{"nick":"a"}"#, "missing field `type`"),
            (r#"{"type":"dance"}"#, "unknown request type 'dance'"),
            (r#"{"type":"join"}"#, "missing field `nick`"),
            (
                r#"{"type":"join","nick":5}"#,
                "bad field: invalid type: integer `5`",
            ),
            (r#"{"type":"join","nick":""}"#, "nick must not be empty"),
            (r#"{"type":"join","nick":"a\tb"}"#, "control characters"),
            (
                r#"{"type":"message","nick":"a"}"#,
                "missing field `message`",
            ),
            (
                r#"{"type":"message","nick":"a","message":3}"#,
                "field `message` must be",
            ),
            (
                r#"{"type":"message","nick":"a","message":{"salt":"s"}}"#,
                "field `message` must be",
            ),
            (
                r#"{"type":"join","nick":"a","nick":"b"}"#,
                r#"duplicate key "nick""#,
            ),
        ];
        for (line, expected) in cases {
            let err = parse(line).unwrap_err();
            assert!(err.contains(expected), "{line}: {err}");
            assert!(!err.contains('\n'));
        }
        let long = format!(r#"{{"type":"join","nick":"{}"}}"#, "é".repeat(65));
        assert!(parse(&long).unwrap_err().contains("65 characters"));
    }

    /// A key twice in one map, at any depth, however it is spelled: two
    /// parsers of the frame could read two different values.
    #[test]
    fn refuses_a_key_given_twice_at_any_depth_in_every_codec() {
        let json = [
            (
                r#"{"type":"message","nick":"m","message":{"salt":"a","token":"b","s\u0061lt":"c"}}"#,
                r#""salt""#,
            ),
            (r#"{"type":"list","extra":1,"extra":2}"#, r#""extra""#),
            (
                r#"{"type":"list","x":[{"k":{"a":1,"\u0061":2}}]}"#,
                r#""a""#,
            ),
            (r#"{"type":"list","\u0074ype":"list"}"#, r#""type""#),
        ];
        for (line, key) in json {
            let err = Codec::Json.decode_request(line.as_bytes()).unwrap_err();
            assert!(
                err.to_string().contains(&format!("duplicate key {key}")),
                "{line}: {err}"
            );
            assert!(
                Codec::Json.decode_broadcast(line.as_bytes()).is_err(),
                "{line}"
            );
        }
        // msgpack: {"type":"message","nick":"m","message":{"salt":"a","token":"b","salt":"c"}},
        // the second "salt" a str8 where the first is a fixstr.
        let mut msgpack = vec![0x83];
        for text in ["type", "message", "nick", "m", "message"] {
            msgpack.push(0xa0 | text.len() as u8);
            msgpack.extend_from_slice(text.as_bytes());
        }
        msgpack.push(0x83);
        for (key, value) in [("salt", "a"), ("token", "b")] {
            msgpack.push(0xa0 | key.len() as u8);
            msgpack.extend_from_slice(key.as_bytes());
            msgpack.push(0xa1);
            msgpack.extend_from_slice(value.as_bytes());
        }
        msgpack.extend_from_slice(&[0xd9, 4]);
        msgpack.extend_from_slice(b"salt\xa1c");
        let err = Codec::Msgpack.decode_request(&msgpack).unwrap_err();
        assert!(err.to_string().contains(r#"duplicate key "salt""#), "{err}");
        // pickle, protocol 4: {"type": "list", "x": 1, "x": 2}, by SETITEMS.
        let pickle = b"\x80\x04}(\x8c\x04type\x8c\x04list\x8c\x01xK\x01\x8c\x01xK\x02u.";
        let err = Codec::Pickle.decode_request(pickle).unwrap_err();
        assert!(err.to_string().contains(r#"duplicate key "x""#), "{err}");
        let once = b"\x80\x04}(\x8c\x04type\x8c\x04list\x8c\x01xK\x01u.";
        assert_eq!(Codec::Pickle.decode_request(once), Ok(Request::List));
    }

    #[test]
    fn refuses_invalid_utf8_and_deep_nesting() {
        let err = JSON
            .decode_request(b"{\"type\":\"join\",\"nick\":\"\xff\"}")
            .unwrap_err();
        assert_eq!(err, FrameError::InvalidUtf8 { at: 23 });

        let deep = format!(
            r#"{{"type":"list","x":{}{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert!(matches!(
            JSON.decode_request(deep.as_bytes()),
            Err(FrameError::TooDeep { limit: 32, .. })
        ));
        let brackets_in_strings = format!(r#"{{"type":"list","x":"{}\"{}"}}"#, "[".repeat(40), "{");
        assert!(JSON.decode_request(brackets_in_strings.as_bytes()).is_ok());
    }

    #[test]
    fn responses_round_trip() {
        for response in [
            Response::Ok,
            Response::ko("nick 'bob' is already joined"),
            Response::nicks(vec!["a".into(), "b \"c\"".into()]),
            Response::nicks(vec![]),
            Response::Nicks {
                nicks: vec!["a".into()],
                more: 7,
            },
        ] {
            let bytes = JSON.response_bytes(&response);
            assert_eq!(JSON.decode_response(&bytes), Ok(response));
        }
        assert_eq!(JSON.response_bytes(&Response::Ok), br#"{"response":"ok"}"#);
        assert_eq!(
            JSON.response_bytes(&Response::ko("no")),
            br#"{"response":"ko","error":"no"}"#
        );
    }

    #[test]
    fn requests_are_the_exercise_dictionaries() {
        let message = Request::Message {
            nick: nick("bob"),
            body: MessageBody::Text("hi".into()),
        };
        assert_eq!(
            JSON.request_bytes(&message),
            br#"{"type":"message","nick":"bob","message":"hi"}"#
        );
        assert_eq!(JSON.request_bytes(&Request::List), br#"{"type":"list"}"#);
        let join = Request::Join {
            nick: nick("bob"),
            subscriber: Some("127.0.0.1:9".parse().unwrap()),
        };
        assert_eq!(
            JSON.request_bytes(&join),
            br#"{"type":"join","nick":"bob","subscriber":"127.0.0.1:9"}"#
        );
        let sealed = Request::Message {
            nick: nick("bob"),
            body: MessageBody::Sealed(Sealed {
                salt: "s".into(),
                token: "t".into(),
            }),
        };
        let bytes = JSON.request_bytes(&sealed);
        assert_eq!(JSON.decode_request(&bytes), Ok(sealed));
    }

    #[test]
    fn hostile_broadcasts_are_refused_or_kept_harmless() {
        let deep = format!(
            r#"{{"type":"message","nick":"a","message":{}1{}}}"#,
            "[".repeat(60_000),
            "]".repeat(60_000)
        );
        // Every map inside is checked for keys given twice, so a value is
        // followed, not skipped blind: serde_json's limit of 128 levels
        // refuses this one, long before the stack runs out.
        assert!(
            matches!(
                JSON.decode_broadcast(deep.as_bytes()),
                Err(FrameError::Malformed { .. })
            ),
            "deep: refused"
        );
        let shallow = r#"{"type":"message","nick":"a","message":[[{"k":1}]]}"#;
        assert_eq!(
            JSON.decode_broadcast(shallow.as_bytes()),
            Ok(Broadcast::Message {
                nick: "a".into(),
                body: None
            }),
            "a message of another shape: skipped, the nick kept"
        );
        let bad_utf8 = b"{\"type\":\"message\",\"nick\":\"\xff\",\"message\":\"x\"}";
        assert!(JSON.decode_broadcast(bad_utf8).is_err());
        assert!(matches!(
            JSON.decode_broadcast(b"[1]"),
            Err(FrameError::NotAnObject(_))
        ));
        assert!(matches!(
            JSON.decode_broadcast(b"{\"type\":"),
            Err(FrameError::Malformed { .. })
        ));
    }

    #[test]
    fn reads_broadcasts_and_notices() {
        let line = br#"{"type":"message","nick":"bob","message":{"salt":"s","token":"t"},"x":1}"#;
        let Ok(Broadcast::Message {
            nick,
            body: Some(MessageBody::Sealed(sealed)),
        }) = JSON.decode_broadcast(line)
        else {
            panic!();
        };
        assert_eq!((nick.as_ref(), sealed.token.as_ref()), ("bob", "t"));
        let notice = br#"{"response":"ko","error":"too slow"}"#;
        assert_eq!(
            JSON.decode_broadcast(notice),
            Ok(Broadcast::Notice(Reason::new("too slow")))
        );
    }
}
