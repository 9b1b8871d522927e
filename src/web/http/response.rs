//! Responses, and the headers every one of them carries: whatever a bug
//! might let into a page, the browser is told to run no script but the
//! page's own file, to load nothing from elsewhere, to guess no type, to
//! send no referrer (the page's address holds its token), to cache nothing
//! and to be framed by no one.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::net::TcpStream;

/// The Content-Security-Policy of every response: scripts, styles and
/// images only from the site's own files (no inline script or style, no
/// `eval`), connections only to itself, no form posted anywhere, no frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

/// The headers every response carries, beside its own.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
    ("Connection", "close"),
];

/// An HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    pub const OK: Self = Self(200);
    pub const NO_CONTENT: Self = Self(204);
    pub const BAD_REQUEST: Self = Self(400);
    pub const FORBIDDEN: Self = Self(403);
    pub const NOT_FOUND: Self = Self(404);
    pub const METHOD_NOT_ALLOWED: Self = Self(405);
    pub const LENGTH_REQUIRED: Self = Self(411);
    pub const TOO_LARGE: Self = Self(413);
    pub const UNAVAILABLE: Self = Self(503);

    fn reason(self) -> &'static str {
        match self.0 {
            200 => "OK",
            204 => "No Content",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            411 => "Length Required",
            413 => "Content Too Large",
            503 => "Service Unavailable",
            _ => "Unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

/// What follows a response's head.
pub enum Body {
    Bytes(Cow<'static, [u8]>),
    /// A stream the handler writes for as long as it likes (server-sent
    /// events): the connection's end is the body's end.
    Stream(Box<dyn FnOnce(&TcpStream) + Send>),
}

/// A response: its status, its own headers and its body.
pub struct Response {
    pub status: Status,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

impl Response {
    /// A response of `content_type` holding `body`.
    pub fn bytes(content_type: &str, body: impl Into<Cow<'static, [u8]>>) -> Self {
        Self {
            status: Status::OK,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: Body::Bytes(body.into()),
        }
    }

    /// A short plain-text answer: an error, say.
    pub fn text(status: Status, text: &str) -> Self {
        let mut response = Self::bytes(
            "text/plain; charset=utf-8",
            format!("{text}\n").into_bytes(),
        );
        response.status = status;
        response
    }

    /// A status alone: its reason is the body.
    pub fn status(status: Status) -> Self {
        Self::text(status, status.reason())
    }

    pub fn empty(status: Status) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Cow::Borrowed(b"")),
        }
    }

    /// An event stream that `write` feeds for as long as it likes.
    pub fn event_stream(write: impl FnOnce(&TcpStream) + Send + 'static) -> Self {
        Self {
            status: Status::OK,
            headers: vec![(
                "Content-Type",
                "text/event-stream; charset=utf-8".to_owned(),
            )],
            body: Body::Stream(Box::new(write)),
        }
    }

    /// The same with a header of its own.
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The head as it goes on the wire.
    fn head(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {}\r\n", self.status).into_bytes();
        let own = self.headers.iter().map(|(n, v)| (*n, v.as_str()));
        for (name, value) in SECURITY_HEADERS.iter().copied().chain(own) {
            head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if let Body::Bytes(bytes) = &self.body {
            head.extend_from_slice(format!("Content-Length: {}\r\n", bytes.len()).as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        head
    }

    /// The whole response as it goes on the wire; `None` for a stream.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        let head = self.head();
        match self.body {
            Body::Bytes(bytes) => Some([head.as_slice(), &bytes].concat()),
            Body::Stream(_) => None,
        }
    }

    /// Writes the response; a stream's writer then runs until it is done.
    pub fn write_to(self, mut stream: &TcpStream) -> io::Result<()> {
        let head = self.head();
        match self.body {
            Body::Bytes(bytes) => {
                stream.write_all(&[head.as_slice(), &bytes].concat())?;
                stream.flush()
            }
            Body::Stream(write) => {
                stream.write_all(&head)?;
                write(stream);
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({})", self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_head_carries_the_policy_and_its_own_headers() {
        let response = Response::bytes("text/html", &b"<p>hi</p>"[..])
            .with_header("Set-Cookie", "a=b".to_owned());
        let head = String::from_utf8(response.head()).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("Content-Security-Policy: default-src 'none'; script-src 'self';"));
        assert!(head.contains("\r\nSet-Cookie: a=b\r\n"));
        assert!(head.contains("\r\nContent-Length: 9\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
        let refused = String::from_utf8(Response::status(Status::FORBIDDEN).head()).unwrap();
        assert!(refused.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(refused.contains("X-Content-Type-Options: nosniff"));
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_nothing_from_elsewhere() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert!(!CONTENT_SECURITY_POLICY.contains("http"));
        assert!(!CONTENT_SECURITY_POLICY.contains('*'));
    }
}
