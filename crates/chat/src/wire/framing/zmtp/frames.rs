//! Frames after the handshake: a header of 2 or 9 bytes (flags, then a
//! size), then the body. A message is read whole into the bounded receive
//! buffer and lent out as a slice of it; a frame announcing more than
//! [`MAX_BODY`] bytes is refused from its header, before any of it is read.

use std::io::{Read, Write};

use super::command::{error_reason, split_command};
use super::{COMMAND, LONG, MAX_BODY, MAX_COMMAND, MORE, SocketType, ZmtpError};
use crate::wire::framing::FramingError;
use crate::wire::framing::buffer::RecvBuffer;

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

    /// The next message's body if it has already arrived whole: never
    /// waits for the stream (a PING on the way is still answered).
    pub fn read_buffered_message(&mut self) -> Result<Option<&[u8]>, FramingError> {
        if !self.has_complete_message() {
            return Ok(None);
        }
        self.read_message()
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
