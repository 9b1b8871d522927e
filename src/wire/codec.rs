//! How frames are serialised: Python's `_serial_function` and
//! `_deserial_function`, as one value.
//!
//! The original's SimpleServer pickled, and its AEServer swapped in msgpack
//! by changing those two functions. Here every frame goes through a
//! [`Codec`], so the chat logic, the layers and the tools handle typed
//! frames and never know how they travel.

use std::borrow::Cow;

use serde::Serialize;

use super::frame::{Broadcast, FrameError, Request, Response};
use super::json;

/// A serialisation of the protocol's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// One compact JSON object per frame (the JSON wire).
    Json,
}

impl Codec {
    /// Reads a request frame (server side).
    pub fn decode_request(self, body: &[u8]) -> Result<Request<'_>, FrameError> {
        match self {
            Self::Json => json::decode_request(body),
        }
    }

    /// Reads a response frame (client side).
    pub fn decode_response(self, body: &[u8]) -> Result<Response, FrameError> {
        match self {
            Self::Json => json::decode_response(body),
        }
    }

    /// Reads a broadcast frame (subscriber side).
    pub fn decode_broadcast(self, body: &[u8]) -> Result<Broadcast<'_>, FrameError> {
        match self {
            Self::Json => json::decode_broadcast(body),
        }
    }

    /// Appends a request frame to `out` (client side, and a server that
    /// broadcasts a frame of its own making).
    pub fn encode_request(self, request: &Request<'_>, out: &mut Vec<u8>) {
        self.encode(request, out);
    }

    /// Appends a response frame to `out`: never more than [`MAX_LINE`]
    /// bytes, a nick list being cut to the nicks that fit and the others
    /// counted in `more` (PROTOCOL.md section 5).
    ///
    /// [`MAX_LINE`]: super::framing::MAX_LINE
    pub fn encode_response(self, response: &Response, out: &mut Vec<u8>) {
        match self {
            Self::Json => json::encode_response(response, out),
        }
    }

    fn encode<T: Serialize + ?Sized>(self, value: &T, out: &mut Vec<u8>) {
        match self {
            Self::Json => json::encode(value, out),
        }
    }

    /// What a server relays for a request frame it received: the frame
    /// unchanged, every field its sender put in it.
    pub fn relayed(self, frame: &[u8]) -> Cow<'_, [u8]> {
        match self {
            Self::Json => Cow::Borrowed(frame),
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
                "duplicate field `nick`",
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
        assert_eq!(
            JSON.decode_broadcast(deep.as_bytes()),
            Ok(Broadcast::Message {
                nick: "a".into(),
                body: None
            }),
            "deep but well formed: skipped, the nick kept"
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
