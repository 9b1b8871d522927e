//! The exercise's dictionaries, as types.
//!
//! The Python original passed dictionaries around and trusted their shape.
//! Here a line becomes a [`Request`] only if it is one of the four shapes of
//! the protocol, with a valid [`Nick`]; anything else becomes a [`FrameError`]
//! whose `Display` is the one-line reason sent back in a `ko` response.
//!
//! Parsing borrows from the line: a message's text and its raw `message`
//! field are slices of the connection's buffer, which lets the server relay
//! the line unchanged without copying or re-serialising it.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Longest nick, in Unicode characters.
pub const MAX_NICK_CHARS: usize = 64;

/// Deepest nesting of arrays and objects accepted anywhere in a frame. The
/// protocol needs 3; the limit keeps frames that would exhaust another
/// parser's recursion (Python's `json` among them) off the broadcast port.
pub const MAX_NESTING: usize = 32;

/// Why a line is not a valid frame. `Display` gives the one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    InvalidUtf8 { at: usize },
    TooDeep,
    NotJson(String),
    NotAnObject,
    MissingType,
    UnknownType(String),
    BadField(String),
    Nick(NickError),
    BadMessage,
    BadResponse(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUtf8 { at } => write!(f, "invalid UTF-8 at byte {at}"),
            Self::TooDeep => write!(f, "JSON nested deeper than {MAX_NESTING} levels"),
            Self::NotJson(e) => write!(f, "not JSON: {e}"),
            Self::NotAnObject => write!(f, "a request must be a JSON object"),
            Self::MissingType => write!(f, "missing field `type`"),
            Self::UnknownType(t) => write!(
                f,
                "unknown request type '{}' (expected join, leave, message or list)",
                t.escape_debug()
            ),
            Self::BadField(e) => write!(f, "bad field: {e}"),
            Self::Nick(e) => write!(f, "{e}"),
            Self::BadMessage => write!(
                f,
                "field `message` must be a text string or a {{\"salt\", \"token\"}} object"
            ),
            Self::BadResponse(e) => write!(f, "unexpected response from server: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Why a string is not a nick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NickError {
    Empty,
    TooLong { chars: usize },
    ControlCharacter,
}

impl fmt::Display for NickError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "nick must not be empty"),
            Self::TooLong { chars } => {
                write!(
                    f,
                    "nick has {chars} characters, at most {MAX_NICK_CHARS} allowed"
                )
            }
            Self::ControlCharacter => write!(f, "nick must not contain control characters"),
        }
    }
}

impl std::error::Error for NickError {}

/// A chat nick: 1 to [`MAX_NICK_CHARS`] Unicode characters, none of them a
/// control character. The only way to get one is [`Nick::new`], so a `Nick`
/// in hand is always valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nick(String);

impl Nick {
    pub fn new(nick: impl Into<String>) -> Result<Self, NickError> {
        let nick = nick.into();
        let chars = nick.chars().count();
        if chars == 0 {
            return Err(NickError::Empty);
        }
        if chars > MAX_NICK_CHARS {
            return Err(NickError::TooLong { chars });
        }
        if nick.chars().any(char::is_control) {
            return Err(NickError::ControlCharacter);
        }
        Ok(Self(nick))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Nick {
    type Err = NickError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// The `message` field `M` of a message frame (PROTOCOL.md section 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MessageBody<'a> {
    /// Plain layer: the text itself.
    Text(Cow<'a, str>),
    /// Encrypted layers: a salt and a Fernet token.
    Sealed(Sealed<'a>),
}

/// `{"salt": S, "token": T}`: what the AE and AEAD layers put in `M`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed<'a> {
    #[serde(borrow)]
    pub salt: Cow<'a, str>,
    #[serde(borrow)]
    pub token: Cow<'a, str>,
}

impl<'a> MessageBody<'a> {
    /// Reads `M` from its raw JSON: a string, or an object with string fields
    /// `salt` and `token` (further fields are allowed and ignored).
    pub fn parse(raw: &'a RawValue) -> Result<Self, FrameError> {
        let json = raw.get();
        match json.as_bytes().first() {
            Some(b'"') => serde_json::from_str(json).map(Self::Text),
            Some(b'{') => serde_json::from_str(json).map(Self::Sealed),
            _ => return Err(FrameError::BadMessage),
        }
        .map_err(|_| FrameError::BadMessage)
    }

    pub fn into_owned(self) -> MessageBody<'static> {
        match self {
            Self::Text(text) => MessageBody::Text(Cow::Owned(text.into_owned())),
            Self::Sealed(s) => MessageBody::Sealed(Sealed {
                salt: Cow::Owned(s.salt.into_owned()),
                token: Cow::Owned(s.token.into_owned()),
            }),
        }
    }
}

/// A request frame, as the server understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// `subscriber`, a project addition: the address the client's broadcast
    /// connection comes from. The server answers only once that connection
    /// is registered, so the client misses nothing accepted after its join.
    Join {
        nick: Nick,
        subscriber: Option<SocketAddr>,
    },
    Leave {
        nick: Nick,
    },
    Message {
        nick: Nick,
        body: MessageBody<'a>,
    },
    List,
}

/// The fields any request may carry; unknown fields are ignored.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    nick: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(borrow, default)]
    subscriber: Option<Cow<'a, str>>,
}

impl<'a> Request<'a> {
    /// Parses one line (without its `\n`).
    pub fn parse(line: &'a [u8]) -> Result<Self, FrameError> {
        let envelope: Envelope<'a> = parse_object(line)?;
        let kind = envelope.kind.as_deref().ok_or(FrameError::MissingType)?;
        match kind {
            "join" => Ok(Self::Join {
                nick: required_nick(envelope.nick)?,
                subscriber: envelope
                    .subscriber
                    .as_deref()
                    .map(parse_address)
                    .transpose()?,
            }),
            "leave" => Ok(Self::Leave {
                nick: required_nick(envelope.nick)?,
            }),
            "message" => {
                let nick = required_nick(envelope.nick)?;
                let raw = envelope.message.ok_or_else(|| missing("message"))?;
                let body = MessageBody::parse(raw)?;
                Ok(Self::Message { nick, body })
            }
            "list" => Ok(Self::List),
            other => Err(FrameError::UnknownType(other.to_owned())),
        }
    }
}

fn required_nick(nick: Option<Cow<'_, str>>) -> Result<Nick, FrameError> {
    let nick = nick.ok_or_else(|| missing("nick"))?;
    Nick::new(nick.into_owned()).map_err(FrameError::Nick)
}

/// An `IP:PORT` address, in canonical form (an IPv4-mapped IPv6 address
/// becomes IPv4), so that both ends of a connection name it the same way.
fn parse_address(text: &str) -> Result<SocketAddr, FrameError> {
    text.parse().map(canonical).map_err(|_| {
        FrameError::BadField(format!(
            "`subscriber` must be an IP:PORT address, not '{}'",
            text.escape_debug()
        ))
    })
}

/// `addr` with an IPv4-mapped IPv6 address turned into IPv4.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn missing(field: &str) -> FrameError {
    FrameError::BadField(format!("missing field `{field}`"))
}

/// Checks a line is UTF-8, shallow enough and a JSON object, then
/// deserialises it.
fn parse_object<'a, T: Deserialize<'a>>(line: &'a [u8]) -> Result<T, FrameError> {
    let text = std::str::from_utf8(line).map_err(|e| FrameError::InvalidUtf8 {
        at: e.valid_up_to(),
    })?;
    check_nesting(text.as_bytes())?;
    if !text.trim_start().starts_with('{') {
        return Err(FrameError::NotAnObject);
    }
    serde_json::from_str(text).map_err(serde_error)
}

fn serde_error(e: serde_json::Error) -> FrameError {
    match e.classify() {
        serde_json::error::Category::Data => FrameError::BadField(e.to_string()),
        _ => FrameError::NotJson(e.to_string()),
    }
}

/// Rejects JSON nested deeper than [`MAX_NESTING`], in one pass over the
/// bytes. serde_json bounds recursion for the fields it decodes, but skips
/// unknown fields without any bound; this check covers the whole line.
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
                    return Err(FrameError::TooDeep);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A request a client sends. Serialises to the exercise's dictionaries.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OutgoingRequest<'a> {
    Join {
        nick: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        subscriber: Option<String>,
    },
    Leave {
        nick: &'a str,
    },
    Message {
        nick: &'a str,
        message: &'a MessageBody<'a>,
    },
    List,
}

impl OutgoingRequest<'_> {
    /// The frame as one line, `\n` included.
    pub fn to_line(&self) -> Vec<u8> {
        encode_line(self)
    }
}

/// Serialises a value as compact JSON followed by `\n`.
pub fn encode_line<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut line = Vec::with_capacity(128);
    write_line(value, &mut line);
    line
}

/// Appends a value as compact JSON followed by `\n`.
pub fn write_line<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Serialising our own types into a Vec cannot fail: no I/O, no
    // non-string map keys, no custom Serialize that errors.
    if let Err(e) = serde_json::to_writer(&mut *out, value) {
        log::error!("cannot serialise a frame: {e}");
    }
    out.push(b'\n');
}

/// The server's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `{"response":"ok"}`
    Ok,
    /// `{"response":"ko","error":REASON}`
    Ko(String),
    /// `{"response":[N1, N2, ...]}`
    Nicks(Vec<String>),
}

const OK_LINE: &[u8] = b"{\"response\":\"ok\"}\n";

#[derive(Serialize)]
struct KoFrame<'a> {
    response: &'static str,
    error: &'a str,
}

#[derive(Serialize)]
struct NicksFrame<'a> {
    response: &'a [String],
}

#[derive(Deserialize)]
struct RawResponse {
    response: ResponseField,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ResponseField {
    Status(String),
    Nicks(Vec<String>),
}

impl Response {
    pub fn ko(reason: impl fmt::Display) -> Self {
        Self::Ko(reason.to_string())
    }

    /// Appends the response as one line, `\n` included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Ok => out.extend_from_slice(OK_LINE),
            Self::Ko(error) => write_line(
                &KoFrame {
                    response: "ko",
                    error,
                },
                out,
            ),
            Self::Nicks(nicks) => write_line(&NicksFrame { response: nicks }, out),
        }
    }

    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode(&mut out);
        out
    }

    /// Parses a response line (client side).
    pub fn parse(line: &[u8]) -> Result<Self, FrameError> {
        let raw: RawResponse =
            parse_object(line).map_err(|e| FrameError::BadResponse(e.to_string()))?;
        match raw.response {
            ResponseField::Status(s) if s == "ok" => Ok(Self::Ok),
            ResponseField::Status(s) if s == "ko" => Ok(Self::Ko(
                raw.error.unwrap_or_else(|| "no reason given".to_owned()),
            )),
            ResponseField::Status(other) => Err(FrameError::BadResponse(format!(
                "unknown status '{}'",
                other.escape_debug()
            ))),
            ResponseField::Nicks(nicks) => Ok(Self::Nicks(nicks)),
        }
    }
}

/// A line read from the broadcast port.
#[derive(Debug, Clone)]
pub enum BroadcastLine<'a> {
    /// A relayed message frame: who the frame says sent it, and `M` as sent.
    Message {
        nick: Cow<'a, str>,
        message: &'a RawValue,
    },
    /// The server's last words before it closes the connection (too slow,
    /// server full): a `{"response":"ko","error":...}` line.
    Notice(String),
}

#[derive(Deserialize)]
struct RawBroadcast<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    nick: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(default)]
    response: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<String>,
}

impl<'a> BroadcastLine<'a> {
    /// Parses a broadcast line. The nick is not validated: on this side of
    /// the server it is only a claim, and a rogue server may put anything in.
    ///
    /// One pass over the line, unlike requests: the nesting check protects
    /// parsers downstream of the server, and a client has none. Nothing a
    /// client reads can recurse (its fields are strings, and `message` is
    /// kept raw, skipped without recursion), and serde checks UTF-8 as it
    /// reads.
    pub fn parse(line: &'a [u8]) -> Result<Self, FrameError> {
        if line.trim_ascii_start().first() != Some(&b'{') {
            return Err(FrameError::NotAnObject);
        }
        let raw: RawBroadcast<'a> = serde_json::from_slice(line).map_err(serde_error)?;
        if raw.response.as_deref() == Some("ko") {
            let reason = raw.error.unwrap_or_else(|| "no reason given".to_owned());
            return Ok(Self::Notice(reason));
        }
        match raw.kind.as_deref() {
            Some("message") => Ok(Self::Message {
                nick: raw.nick.ok_or_else(|| missing("nick"))?,
                message: raw.message.ok_or_else(|| missing("message"))?,
            }),
            Some(other) => Err(FrameError::UnknownType(other.to_owned())),
            None => Err(FrameError::MissingType),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Request<'_>, String> {
        Request::parse(line.as_bytes()).map_err(|e| e.to_string())
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
    fn parses_a_sealed_message() {
        let req = parse(
            r#"{"type":"message","nick":"bob","message":{"salt":"c2FsdA==","token":"gAAA"}}"#,
        );
        let Ok(Request::Message {
            body: MessageBody::Sealed(s),
            ..
        }) = req
        else {
            panic!("{req:?}");
        };
        assert_eq!((s.salt.as_ref(), s.token.as_ref()), ("c2FsdA==", "gAAA"));
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
        assert!(parse(&format!(r#"{{"type":"join","nick":"{}"}}"#, "é".repeat(64))).is_ok());
    }

    #[test]
    fn refuses_invalid_utf8_and_deep_nesting() {
        let err = Request::parse(b"{\"type\":\"join\",\"nick\":\"\xff\"}").unwrap_err();
        assert_eq!(err, FrameError::InvalidUtf8 { at: 23 });

        let deep = format!(
            r#"{{"type":"list","x":{}{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert_eq!(
            Request::parse(deep.as_bytes()).unwrap_err(),
            FrameError::TooDeep
        );
        let brackets_in_strings = format!(r#"{{"type":"list","x":"{}\"{}"}}"#, "[".repeat(40), "{");
        assert!(Request::parse(brackets_in_strings.as_bytes()).is_ok());
    }

    #[test]
    fn responses_round_trip() {
        for response in [
            Response::Ok,
            Response::ko("nick 'bob' is already joined"),
            Response::Nicks(vec!["a".into(), "b \"c\"".into()]),
            Response::Nicks(vec![]),
        ] {
            let line = response.to_line();
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(Response::parse(&line[..line.len() - 1]), Ok(response));
        }
        assert_eq!(Response::Ok.to_line(), b"{\"response\":\"ok\"}\n");
    }

    #[test]
    fn outgoing_requests_are_the_exercise_dictionaries() {
        let body = MessageBody::Text("hi".into());
        let line = OutgoingRequest::Message {
            nick: "bob",
            message: &body,
        }
        .to_line();
        assert_eq!(
            line,
            b"{\"type\":\"message\",\"nick\":\"bob\",\"message\":\"hi\"}\n"
        );
        assert_eq!(OutgoingRequest::List.to_line(), b"{\"type\":\"list\"}\n");
    }

    #[test]
    fn hostile_broadcast_lines_are_refused_without_harm() {
        let deep = format!(
            r#"{{"type":"message","nick":"a","message":{}1{}}}"#,
            "[".repeat(60_000),
            "]".repeat(60_000)
        );
        let parsed = BroadcastLine::parse(deep.as_bytes());
        assert!(
            matches!(parsed, Ok(BroadcastLine::Message { .. })),
            "deep but well formed: kept raw"
        );
        let bad_utf8 = b"{\"type\":\"message\",\"nick\":\"\xff\",\"message\":\"x\"}";
        assert!(BroadcastLine::parse(bad_utf8).is_err());
        let bad_utf8_in_message = b"{\"type\":\"message\",\"nick\":\"a\",\"message\":\"\xff\"}";
        assert!(BroadcastLine::parse(bad_utf8_in_message).is_err());
        assert!(matches!(
            BroadcastLine::parse(b"[1]"),
            Err(FrameError::NotAnObject)
        ));
        assert!(matches!(
            BroadcastLine::parse(b"{\"type\":"),
            Err(FrameError::NotJson(_))
        ));
    }

    #[test]
    fn reads_broadcast_lines_and_notices() {
        let line = br#"{"type":"message","nick":"bob","message":{"salt":"s","token":"t"},"x":1}"#;
        let BroadcastLine::Message { nick, message } = BroadcastLine::parse(line).unwrap() else {
            panic!();
        };
        assert_eq!(nick, "bob");
        assert_eq!(message.get(), r#"{"salt":"s","token":"t"}"#);
        let notice = br#"{"response":"ko","error":"too slow"}"#;
        assert!(matches!(
            BroadcastLine::parse(notice),
            Ok(BroadcastLine::Notice(reason)) if reason == "too slow"
        ));
    }
}
