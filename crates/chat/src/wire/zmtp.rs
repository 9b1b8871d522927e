//! ZMTP 3, ZeroMQ's wire protocol (RFC 23 and 37), as far as the original's
//! four sockets need it: the greeting with the NULL security mechanism, the
//! READY command naming the socket type, short and long frames, REQ/REP's
//! empty delimiter frame, PUB/SUB subscriptions (ZMTP 3.0's subscription
//! messages and 3.1's SUBSCRIBE and CANCEL commands), and PING answered with
//! PONG. That is all libzmq speaks to a peer with default options, so
//! pyzmq's sockets meet ours as they are.
//!
//! Why not libzmq itself (the `zmq` crate): docs/ARCHITECTURE.md has the
//! measurements. In short, the server keeps its thread per connection, its
//! byte ring and its limits on either wire, where libzmq's PUB socket would
//! drop messages silently at its high-water mark.
//!
//! Everything a peer sends is bounded before it is believed: the greeting is
//! 64 bytes, a command at most [`MAX_COMMAND`], a frame at most
//! [`MAX_BODY`], and a frame announcing 2^63 bytes is refused from its
//! 9-byte header. Errors are `io::Error`s of kind `InvalidData` wrapping a
//! [`ZmtpError`], so they travel as the framing errors of the JSON wire do.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::framing::{FramingError, MAX_LINE, RecvBuffer};

/// Largest frame body accepted: the JSON wire's line limit.
pub const MAX_BODY: usize = MAX_LINE;

/// Largest command accepted (READY with its properties, SUBSCRIBE...).
pub const MAX_COMMAND: usize = 8 * 1024;

/// How long a peer may take to complete the greeting and READY exchange.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;

/// Our greeting: ZMTP 3.1, mechanism NULL, not as server.
const GREETING_LEN: usize = 64;
const VERSION_MINOR: u8 = 1;
const MECHANISM: &[u8] = b"NULL";

/// The socket types of the original's two pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketType {
    Req,
    Rep,
    Pub,
    Sub,
}

impl SocketType {
    pub fn name(self) -> &'static str {
        match self {
            Self::Req => "REQ",
            Self::Rep => "REP",
            Self::Pub => "PUB",
            Self::Sub => "SUB",
        }
    }

    /// The peer types libzmq lets this type talk to.
    fn accepts(self, peer: &[u8]) -> bool {
        let allowed: &[&[u8]] = match self {
            Self::Req => &[b"REP", b"ROUTER"],
            Self::Rep => &[b"REQ", b"DEALER"],
            Self::Pub => &[b"SUB", b"XSUB"],
            Self::Sub => &[b"PUB", b"XPUB"],
        };
        allowed.contains(&peer)
    }

    /// Whether messages carry REQ/REP's envelope (an empty delimiter frame).
    pub fn has_envelope(self) -> bool {
        matches!(self, Self::Req | Self::Rep)
    }
}

/// Why a peer does not speak the ZMTP we do, or broke it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZmtpError {
    #[error("not a ZMTP greeting (signature {0:02x?})")]
    BadSignature(Vec<u8>),
    #[error("ZMTP {0}.{1} is not supported (3.x only)")]
    Version(u8, u8),
    #[error("security mechanism '{0}' is not supported (NULL only)")]
    Mechanism(String),
    #[error("expected the READY command, got {0}")]
    NotReady(String),
    #[error("the peer reported an error: {0}")]
    Peer(String),
    #[error("a {me} socket cannot talk to a {peer} socket")]
    Incompatible { me: &'static str, peer: String },
    #[error("malformed command: {0}")]
    BadCommand(&'static str),
    #[error("frame of {size} bytes, over the {limit}-byte limit")]
    TooLong { size: u64, limit: usize },
    #[error("a request must be an empty delimiter frame then one body frame")]
    BadEnvelope,
}

impl ZmtpError {
    /// The ZMTP error an I/O error carries, if any.
    pub fn of(error: &io::Error) -> Option<&Self> {
        error.get_ref()?.downcast_ref()
    }
}

impl From<ZmtpError> for io::Error {
    fn from(e: ZmtpError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

impl From<ZmtpError> for FramingError {
    fn from(e: ZmtpError) -> Self {
        FramingError::Io(e.into())
    }
}

/// What the handshake learnt of the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// ZMTP minor version: 0 subscribes with messages, 1 with commands.
    pub minor: u8,
}

/// Greets the peer as a `me` socket, reads its greeting and READY, and, for
/// a SUB socket, subscribes to everything. Gives up after `timeout`; the
/// stream has no timeouts afterwards.
pub fn handshake(stream: &TcpStream, me: SocketType, timeout: Duration) -> io::Result<Peer> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let peer = exchange_greetings(stream, me)?;
    if me == SocketType::Sub {
        (&*stream).write_all(&subscribe_all(peer))?;
    }
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    Ok(peer)
}

fn exchange_greetings(mut stream: &TcpStream, me: SocketType) -> io::Result<Peer> {
    let mut ours = greeting().to_vec();
    push_command(
        &mut ours,
        b"READY",
        &[(b"Socket-Type", me.name().as_bytes())],
    );
    stream.write_all(&ours)?;
    let mut theirs = [0u8; GREETING_LEN];
    // The signature first, so a peer of another protocol is told at once.
    stream.read_exact(&mut theirs[..SIGNATURE_LEN])?;
    check_signature(&theirs)?;
    stream.read_exact(&mut theirs[SIGNATURE_LEN..])?;
    let peer = check_greeting(&theirs)?;
    let command = read_command(stream)?;
    check_ready(&command, me)?;
    Ok(peer)
}

/// What a server sends a peer it will not serve (over the connection cap):
/// its greeting, then ERROR in place of READY, as RFC 23 allows.
pub fn refusal(reason: &str) -> Vec<u8> {
    let mut out = greeting().to_vec();
    let reason = &reason.as_bytes()[..reason.len().min(255)];
    push_frame_with(&mut out, COMMAND, |out| {
        out.push(5);
        out.extend_from_slice(b"ERROR");
        out.push(reason.len() as u8);
        out.extend_from_slice(reason);
    });
    out
}

/// Our 64-byte greeting. The signature's padding is libzmq's (it reads as
/// a ZMTP 1.0 length of 1, for old peers to notice).
pub fn greeting() -> [u8; GREETING_LEN] {
    let mut greeting = [0u8; GREETING_LEN];
    greeting[0] = 0xff;
    greeting[8] = 0x01;
    greeting[9] = 0x7f;
    greeting[10] = 3;
    greeting[11] = VERSION_MINOR;
    greeting[12..12 + MECHANISM.len()].copy_from_slice(MECHANISM);
    greeting
}

const SIGNATURE_LEN: usize = 10;

fn check_signature(greeting: &[u8]) -> Result<(), ZmtpError> {
    match greeting {
        [0xff, _, _, _, _, _, _, _, _, last, ..] if last & 0x01 == 1 => Ok(()),
        _ => Err(ZmtpError::BadSignature(
            greeting[..SIGNATURE_LEN.min(greeting.len())].to_vec(),
        )),
    }
}

fn check_greeting(greeting: &[u8; GREETING_LEN]) -> Result<Peer, ZmtpError> {
    check_signature(greeting)?;
    let (major, minor) = (greeting[10], greeting[11]);
    if major < 3 {
        return Err(ZmtpError::Version(major, minor));
    }
    let mechanism = &greeting[12..32];
    let name_len = mechanism
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(mechanism.len());
    if &mechanism[..name_len] != MECHANISM {
        let shown = String::from_utf8_lossy(&mechanism[..name_len]);
        return Err(ZmtpError::Mechanism(shown.escape_debug().to_string()));
    }
    Ok(Peer { minor })
}

/// Reads one command frame during the handshake, byte-exact, so that
/// nothing of what follows is read here.
fn read_command(mut stream: &TcpStream) -> io::Result<Vec<u8>> {
    let mut head = [0u8; 9];
    stream.read_exact(&mut head[..2])?;
    if head[0] & COMMAND == 0 {
        return Err(ZmtpError::NotReady("a message frame".into()).into());
    }
    let size = if head[0] & LONG == 0 {
        u64::from(head[1])
    } else {
        stream.read_exact(&mut head[2..])?;
        u64::from_be_bytes(head[1..9].try_into().unwrap_or_default())
    };
    if size > MAX_COMMAND as u64 {
        return Err(ZmtpError::TooLong {
            size,
            limit: MAX_COMMAND,
        }
        .into());
    }
    let mut body = vec![0u8; size as usize];
    stream.read_exact(&mut body)?;
    Ok(body)
}

/// A command's name and the data after it.
fn split_command(body: &[u8]) -> Result<(&[u8], &[u8]), ZmtpError> {
    let (&len, rest) = body.split_first().ok_or(ZmtpError::BadCommand("empty"))?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(ZmtpError::BadCommand("name longer than the command"));
    }
    Ok(rest.split_at(len))
}

fn check_ready(body: &[u8], me: SocketType) -> Result<(), ZmtpError> {
    let (name, data) = split_command(body)?;
    match name {
        b"READY" => {}
        b"ERROR" => return Err(ZmtpError::Peer(error_reason(data))),
        other => return Err(ZmtpError::NotReady(shown(other))),
    }
    let peer_type = properties(data)?
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(b"Socket-Type"))
        .map(|(_, value)| value)
        .ok_or(ZmtpError::BadCommand("READY without Socket-Type"))?;
    if !me.accepts(peer_type) {
        return Err(ZmtpError::Incompatible {
            me: me.name(),
            peer: shown(peer_type),
        });
    }
    Ok(())
}

fn error_reason(data: &[u8]) -> String {
    match data.split_first() {
        Some((&len, rest)) => shown(&rest[..usize::from(len).min(rest.len())]),
        None => String::new(),
    }
}

fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]);
    text.escape_debug().to_string()
}

/// A property of READY's metadata: its name and value.
type Property<'a> = (&'a [u8], &'a [u8]);

/// READY's metadata: names of 1-byte length, values of 4-byte length.
fn properties(mut data: &[u8]) -> Result<Vec<Property<'_>>, ZmtpError> {
    const BAD: ZmtpError = ZmtpError::BadCommand("property runs past the command");
    let mut found = Vec::new();
    while let Some((&name_len, rest)) = data.split_first() {
        let name_len = usize::from(name_len);
        let name = rest.get(..name_len).ok_or(BAD)?;
        let len_bytes = rest.get(name_len..name_len + 4).ok_or(BAD)?;
        let value_len = u32::from_be_bytes(len_bytes.try_into().map_err(|_| BAD)?) as usize;
        let value_at = name_len + 4;
        let value = rest
            .get(value_at..value_at.saturating_add(value_len))
            .ok_or(BAD)?;
        found.push((name, value));
        data = &rest[value_at + value_len..];
    }
    Ok(found)
}

/// Appends a command frame: its name, then properties (name, value).
fn push_command(out: &mut Vec<u8>, name: &[u8], properties: &[Property<'_>]) {
    push_frame_with(out, COMMAND, |out| {
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        for (key, value) in properties {
            out.push(key.len() as u8);
            out.extend_from_slice(key);
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        }
    });
}

/// What a SUB socket sends to receive everything: an empty prefix, as a
/// SUBSCRIBE command to a ZMTP 3.1 peer, as a message to a 3.0 one.
fn subscribe_all(peer: Peer) -> Vec<u8> {
    let mut out = Vec::new();
    if peer.minor >= 1 {
        push_frame_with(&mut out, COMMAND, |out| {
            out.push(9);
            out.extend_from_slice(b"SUBSCRIBE");
        });
    } else {
        push_frame_with(&mut out, 0, |out| out.push(1));
    }
    out
}

/// A frame header for a body of `len` bytes: `(bytes, how many are used)`.
pub fn header(len: usize, flags: u8) -> ([u8; 9], usize) {
    let mut header = [0u8; 9];
    match u8::try_from(len) {
        Ok(short) => {
            header[0] = flags;
            header[1] = short;
            (header, 2)
        }
        Err(_) => {
            header[0] = flags | LONG;
            header[1..9].copy_from_slice(&(len as u64).to_be_bytes());
            (header, 9)
        }
    }
}

/// Appends one frame to `out`: a header, then what `encode` writes. The
/// header is sized once the body is known.
pub fn push_frame_with(out: &mut Vec<u8>, flags: u8, encode: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    encode(out);
    let (head, used) = header(out.len() - at - 2, flags);
    if used == 2 {
        out[at..at + 2].copy_from_slice(&head[..2]);
    } else {
        out.splice(at..at + 2, head);
    }
}

/// Appends REQ/REP's envelope, the empty delimiter frame that comes before
/// each request and answer.
pub fn push_delimiter(out: &mut Vec<u8>) {
    out.extend_from_slice(&[MORE, 0]);
}

/// A frame header read from the wire.
#[derive(Debug, Clone, Copy)]
struct FrameHeader {
    flags: u8,
    header_len: usize,
    size: usize,
}

impl FrameHeader {
    fn more(self) -> bool {
        self.flags & MORE != 0
    }

    fn is_command(self) -> bool {
        self.flags & COMMAND != 0
    }

    /// Parses the header at the start of `bytes`, if it is all there,
    /// refusing a frame over the limit as soon as its size is known.
    fn parse(bytes: &[u8]) -> Result<Option<Self>, ZmtpError> {
        let Some(&flags) = bytes.first() else {
            return Ok(None);
        };
        let header_len = if flags & LONG == 0 { 2 } else { 9 };
        let Some(size_bytes) = bytes.get(1..header_len) else {
            return Ok(None);
        };
        let size = size_bytes
            .iter()
            .fold(0u64, |n, &b| (n << 8) | u64::from(b));
        let limit = if flags & COMMAND == 0 {
            MAX_BODY
        } else {
            MAX_COMMAND
        };
        match usize::try_from(size) {
            Ok(size) if size <= limit => Ok(Some(Self {
                flags,
                header_len,
                size,
            })),
            _ => Err(ZmtpError::TooLong { size, limit }),
        }
    }
}

/// Reads messages from a ZMTP connection after the handshake: for REQ and
/// REP, the body after the empty delimiter; for SUB, each frame. Commands
/// are handled on the way (PING answered with PONG, the rest ignored).
pub struct MessageReader<R> {
    buf: RecvBuffer<R>,
    envelope: bool,
    /// The delimiter of the message being read has been taken (REQ/REP).
    in_message: bool,
}

impl<R: Read + Write> MessageReader<R> {
    pub fn new(inner: R, me: SocketType) -> Self {
        Self {
            buf: RecvBuffer::new(inner, MAX_BODY + 16 * 1024),
            envelope: me.has_envelope(),
            in_message: false,
        }
    }

    /// The next message's body; `Ok(None)` on a clean end of stream.
    pub fn read_message(&mut self) -> Result<Option<&[u8]>, FramingError> {
        loop {
            let Some(header) = self.next_frame()? else {
                return Ok(None);
            };
            if header.is_command() {
                self.on_command(header.size)?;
                continue;
            }
            if self.envelope && !self.in_message {
                if header.size != 0 || !header.more() {
                    return Err(ZmtpError::BadEnvelope.into());
                }
                self.in_message = true;
                continue;
            }
            if self.envelope && header.more() {
                return Err(ZmtpError::BadEnvelope.into());
            }
            self.in_message = false;
            return Ok(Some(self.buf.take(header.size)));
        }
    }

    /// Waits until a whole frame is buffered, takes its header and returns
    /// it: its body is then the first pending bytes.
    fn next_frame(&mut self) -> Result<Option<FrameHeader>, FramingError> {
        loop {
            let pending = self.buf.pending();
            if let Some(header) = FrameHeader::parse(pending)? {
                if pending.len() >= header.header_len + header.size {
                    self.buf.take(header.header_len);
                    return Ok(Some(header));
                }
            }
            if self.buf.fill_or_time_out()? == 0 {
                return match self.buf.pending().len() {
                    0 if !self.in_message => Ok(None),
                    partial => Err(FramingError::Truncated { partial }),
                };
            }
        }
    }

    /// PING gets a PONG with its context; other commands are ignored
    /// (subscriptions, on a socket that publishes everything).
    fn on_command(&mut self, size: usize) -> Result<(), FramingError> {
        let body = self.buf.take(size).to_vec();
        let (name, data) = split_command(&body)?;
        match name {
            b"PING" => {
                let context = data.get(2..).unwrap_or_default();
                let mut pong = Vec::new();
                push_frame_with(&mut pong, COMMAND, |out| {
                    out.push(4);
                    out.extend_from_slice(b"PONG");
                    out.extend_from_slice(&context[..context.len().min(16)]);
                });
                self.buf.get_mut().write_all(&pong)?;
            }
            b"ERROR" => return Err(ZmtpError::Peer(error_reason(data)).into()),
            _ => {}
        }
        Ok(())
    }

    /// Whether a whole message is already buffered, so that the next read
    /// returns without touching the socket.
    pub fn has_complete_message(&self) -> bool {
        let mut rest = self.buf.pending();
        while let Ok(Some(header)) = FrameHeader::parse(rest) {
            let Some(after) = rest.get(header.header_len + header.size..) else {
                return false;
            };
            if !header.is_command() && !header.more() {
                return true;
            }
            rest = after;
        }
        false
    }

    pub fn get_ref(&self) -> &R {
        self.buf.get_ref()
    }
}

/// Follows a stream of frames as it is written, to know whether it stands
/// between two frames: a broadcast subscriber's last words may only be
/// written there.
#[derive(Debug, Clone, Default)]
pub struct FrameCursor {
    header: [u8; 9],
    /// Header bytes of the current frame seen so far.
    have: usize,
    /// Body bytes of the current frame still to come.
    body_left: u64,
}

impl FrameCursor {
    /// Records that `bytes` were written.
    pub fn advance(&mut self, mut bytes: &[u8]) {
        while let Some((&first, rest)) = bytes.split_first() {
            if self.body_left > 0 {
                let skipped = self.body_left.min(bytes.len() as u64);
                self.body_left -= skipped;
                bytes = &bytes[skipped as usize..];
                continue;
            }
            self.header[self.have] = first;
            self.have += 1;
            bytes = rest;
            let header_len = if self.header[0] & LONG == 0 { 2 } else { 9 };
            if self.have == header_len {
                let size = &self.header[1..header_len];
                self.body_left = size.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
                self.have = 0;
            }
        }
    }

    pub fn at_boundary(&self) -> bool {
        self.have == 0 && self.body_left == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_short_and_long_sizes() {
        let mut out = Vec::new();
        push_frame_with(&mut out, 0, |o| o.extend_from_slice(b"hi"));
        assert_eq!(out, b"\x00\x02hi");
        let mut out = Vec::new();
        push_frame_with(&mut out, MORE, |o| o.extend_from_slice(&[7; 300]));
        assert_eq!(out[..9], [MORE | LONG, 0, 0, 0, 0, 0, 0, 1, 44]);
        assert_eq!(out.len(), 309);
    }

    #[test]
    fn refuses_a_frame_over_the_limit_from_its_header() {
        let huge = [LONG, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            FrameHeader::parse(&huge),
            Err(ZmtpError::TooLong { size, .. }) if size == 1 << 63
        ));
        assert!(FrameHeader::parse(&[LONG, 0, 0]).unwrap().is_none());
        let (head, used) = header(MAX_BODY + 1, 0);
        assert!(FrameHeader::parse(&head[..used]).is_err());
    }

    #[test]
    fn greeting_checks_signature_version_and_mechanism() {
        assert_eq!(check_greeting(&greeting()), Ok(Peer { minor: 1 }));
        let mut old = greeting();
        old[10] = 2;
        assert_eq!(check_greeting(&old), Err(ZmtpError::Version(2, 1)));
        let mut curve = greeting();
        curve[12..17].copy_from_slice(b"CURVE");
        assert!(matches!(check_greeting(&curve), Err(ZmtpError::Mechanism(m)) if m == "CURVE"));
        let mut http = greeting();
        http[..10].copy_from_slice(b"GET / HTTP");
        assert!(matches!(
            check_greeting(&http),
            Err(ZmtpError::BadSignature(_))
        ));
    }

    #[test]
    fn ready_names_a_compatible_socket_type() {
        let mut frame = Vec::new();
        push_command(
            &mut frame,
            b"READY",
            &[(b"Socket-Type", b"REQ"), (b"Identity", b"")],
        );
        let body = &frame[2..];
        assert_eq!(check_ready(body, SocketType::Rep), Ok(()));
        assert!(matches!(
            check_ready(body, SocketType::Pub),
            Err(ZmtpError::Incompatible { .. })
        ));
        assert!(check_ready(&body[..body.len() - 3], SocketType::Rep).is_err());
    }

    #[test]
    fn the_cursor_knows_frame_boundaries() {
        let mut stream = Vec::new();
        push_frame_with(&mut stream, 0, |o| o.extend_from_slice(&[1; 10]));
        push_frame_with(&mut stream, 0, |o| o.extend_from_slice(&[2; 300]));
        let mut cursor = FrameCursor::default();
        for (i, byte) in stream.iter().enumerate() {
            cursor.advance(std::slice::from_ref(byte));
            let boundary = i + 1 == 12 || i + 1 == stream.len();
            assert_eq!(cursor.at_boundary(), boundary, "after {} bytes", i + 1);
        }
    }
}
