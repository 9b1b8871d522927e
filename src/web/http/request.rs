//! Reading one request from a connection: its head, parsed by `httparse`,
//! then its body, both within limits of size and time, so that what a peer
//! sends (or fails to send: a slowloris) costs a bounded amount of memory
//! and holds its thread for a bounded time.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::Status;

/// Bytes of a request's head (request line and headers) at most.
pub const MAX_HEAD: usize = 8 * 1024;

/// Headers a request may carry at most.
const MAX_HEADERS: usize = 32;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;

/// A request, as the handlers see it: names of headers in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// What follows `?` in the target, if anything.
    pub query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The value of the header `name` (lower case), if it is there once
    /// and is text; a header sent twice counts as absent, so that no check
    /// depends on which copy a reader takes.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let (_, value) = values.next()?;
        if values.next().is_some() {
            return None;
        }
        std::str::from_utf8(value).ok().map(str::trim)
    }

    /// The value of `name` in the query (`?name=value&...`), as sent.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .as_deref()?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find_map(|(n, v)| (n == name).then_some(v))
    }

    /// The value of the cookie `name`, from the `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie")?
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find_map(|(n, v)| (n == name).then_some(v))
    }
}

/// Why no request could be read: either nothing to answer (the peer left,
/// or stalled past the deadline), or an answer to give.
#[derive(Debug)]
pub enum ReadError {
    /// The connection ended, or failed, or took too long: close it.
    Gone,
    /// A request that breaks the rules: answer this status, then close.
    Refuse(Status),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        Self::Gone
    }
}

/// Reads one request from `stream`: its head within [`MAX_HEAD`] bytes, its
/// body within `max_body`, the whole within `timeout`.
pub fn read_request(
    stream: &TcpStream,
    max_body: usize,
    timeout: Duration,
) -> Result<Request, ReadError> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::with_capacity(READ_CHUNK);
    let (mut request, head_len, body_len) = loop {
        if let Some(parsed) = parse_head(&buf, max_body)? {
            break parsed;
        }
        if buf.len() >= MAX_HEAD {
            return Err(ReadError::Refuse(Status::TOO_LARGE));
        }
        read_more(stream, &mut buf, MAX_HEAD, deadline)?;
    };
    let total = head_len + body_len;
    while buf.len() < total {
        read_more(stream, &mut buf, total, deadline)?;
    }
    buf.truncate(total);
    request.body = buf.split_off(head_len);
    Ok(request)
}

/// Reads what comes, up to `limit` bytes in `buf`, before `deadline`.
fn read_more(
    mut stream: &TcpStream,
    buf: &mut Vec<u8>,
    limit: usize,
    deadline: Instant,
) -> Result<(), ReadError> {
    let left = deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or(ReadError::Gone)?;
    stream.set_read_timeout(Some(left))?;
    let mut chunk = [0u8; READ_CHUNK];
    let want = (limit - buf.len()).min(READ_CHUNK);
    match stream.read(&mut chunk[..want])? {
        0 => Err(ReadError::Gone),
        n => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

/// The head in `buf`, once it is whole: the request (body still empty),
/// the head's length and the body's.
fn parse_head(buf: &[u8], max_body: usize) -> Result<Option<(Request, usize, usize)>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ReadError::Refuse(Status::TOO_LARGE)),
        Err(_) => return Err(ReadError::Refuse(Status::BAD_REQUEST)),
    };
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Err(ReadError::Refuse(Status::BAD_REQUEST));
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (target, None),
    };
    let request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers: parsed
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
            .collect(),
        body: Vec::new(),
    };
    let body_len = body_length(&request, max_body)?;
    Ok(Some((request, head_len, body_len)))
}

/// The body's length, from `Content-Length`: none means no body; a chunked
/// body is not taken (the pages never send one).
fn body_length(request: &Request, max_body: usize) -> Result<usize, ReadError> {
    if request
        .headers
        .iter()
        .any(|(n, _)| n == "transfer-encoding")
    {
        return Err(ReadError::Refuse(Status::LENGTH_REQUIRED));
    }
    let lengths = request
        .headers
        .iter()
        .filter(|(n, _)| n == "content-length");
    if lengths.count() == 0 {
        return Ok(0);
    }
    let length = request
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or(ReadError::Refuse(Status::BAD_REQUEST))?;
    match usize::try_from(length) {
        Ok(length) if length <= max_body => Ok(length),
        _ => Err(ReadError::Refuse(Status::TOO_LARGE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(head: &str) -> Result<Option<(Request, usize, usize)>, ReadError> {
        parse_head(head.as_bytes(), 100)
    }

    #[test]
    fn a_whole_head_is_parsed_with_its_query_headers_and_cookies() {
        let head = "GET /x?token=abc&b=1 HTTP/1.1\r\nHost: h:1\r\nCookie: a=1; s_2=xyz\r\n\r\n";
        let (request, len, body) = parsed(head).unwrap().unwrap();
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/x")
        );
        assert_eq!(request.query_param("token"), Some("abc"));
        assert_eq!(request.query_param("c"), None);
        assert_eq!(request.header("host"), Some("h:1"));
        assert_eq!(request.cookie("s_2"), Some("xyz"));
        assert_eq!(request.cookie("s"), None);
        assert_eq!((len, body), (head.len(), 0));
    }

    #[test]
    fn a_partial_head_waits_for_more() {
        assert!(matches!(parsed("GET / HTTP/1.1\r\nHost: h"), Ok(None)));
    }

    #[test]
    fn garbage_is_a_bad_request_and_a_big_body_too_large() {
        let bad = parsed("\x01\x02 nonsense\r\n\r\n");
        assert!(matches!(bad, Err(ReadError::Refuse(Status::BAD_REQUEST))));
        let big = parsed("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n");
        assert!(matches!(big, Err(ReadError::Refuse(Status::TOO_LARGE))));
        let huge = parsed("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n");
        assert!(matches!(huge, Err(ReadError::Refuse(_))));
        let chunked = parsed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(matches!(
            chunked,
            Err(ReadError::Refuse(Status::LENGTH_REQUIRED))
        ));
        let (_, _, body) = parsed("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(body, 5);
    }

    #[test]
    fn a_header_sent_twice_counts_as_absent() {
        let head = "GET / HTTP/1.1\r\nHost: a:1\r\nHost: b:1\r\n\r\n";
        let (request, _, _) = parsed(head).unwrap().unwrap();
        assert_eq!(request.header("host"), None);
    }

    #[test]
    fn too_many_headers_are_too_large() {
        let mut head = "GET / HTTP/1.1\r\n".to_owned();
        for i in 0..=MAX_HEADERS {
            head.push_str(&format!("X-{i}: 1\r\n"));
        }
        head.push_str("\r\n");
        assert!(matches!(
            parsed(&head),
            Err(ReadError::Refuse(Status::TOO_LARGE))
        ));
    }
}
