//! Line framing, the JSON wire's, shared by both ports and both ends: one
//! JSON object per line.
//!
//! The Python original let ZeroMQ delimit messages. Over plain TCP we delimit
//! them with `\n`, which compact JSON never contains. Why a hand-written
//! reader rather than `BufRead::read_line`: the standard reader grows its
//! buffer without bound, so a peer that never sends `\n` could make us
//! allocate until the process dies. [`LineReader`] refuses a line as soon as
//! it is known to exceed [`MAX_LINE`], and lends lines out as slices of its own
//! buffer, so the hot path allocates nothing.

use std::io::Read;

use super::FramingError;
use super::buffer::{MIN_READ, RecvBuffer};

/// Longest line accepted, in bytes, not counting the terminating `\n`.
pub const MAX_LINE: usize = 64 * 1024;

/// Appends one frame to `out` as a line: what `encode` writes, then the
/// `\n` that ends it. The only place a line ending is written, on either
/// side of either port.
pub fn push_line_with(out: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
    encode(out);
    out.push(LINE_END);
}

/// The pieces of `body` as one line, for writers that append pieces (the
/// broadcast ring).
pub fn line_parts(body: &[u8]) -> [&[u8]; 2] {
    [body, &[LINE_END]]
}

/// Appends `body` to `out` as one line.
#[cfg(test)]
pub fn push_line(out: &mut Vec<u8>, body: &[u8]) {
    push_line_with(out, |out| out.extend_from_slice(body));
}

/// What ends a line.
pub const LINE_END: u8 = b'\n';

/// Reads `\n`-terminated lines of at most [`MAX_LINE`] bytes from a stream.
pub struct LineReader<R> {
    buf: RecvBuffer<R>,
    /// The first `scanned` buffered bytes are known to hold no `\n`: a line
    /// trickling in byte by byte is scanned once, not once per read.
    scanned: usize,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            buf: RecvBuffer::new(inner, MAX_LINE + 2 * MIN_READ),
            scanned: 0,
        }
    }

    /// The next line, without its `\n`; `Ok(None)` on a clean end of stream.
    ///
    /// After an error other than a read timeout, the stream is out of step and
    /// the caller should drop the connection.
    pub fn read_line(&mut self) -> Result<Option<&[u8]>, FramingError> {
        Ok(self
            .next_line_len()?
            .map(|len| &self.buf.take(len + 1)[..len]))
    }

    /// The next line that is not blank (empty or only whitespace): blank
    /// lines carry no frame.
    pub fn read_nonblank_line(&mut self) -> Result<Option<&[u8]>, FramingError> {
        loop {
            match self.next_line_len()? {
                Some(len) if self.is_blank(len) => {
                    self.buf.take(len + 1);
                }
                other => {
                    return Ok(other.map(|len| &self.buf.take(len + 1)[..len]));
                }
            }
        }
    }

    /// The next line that is not blank, if one has already arrived whole:
    /// never reads the stream, so a reader can take everything one read
    /// brought before it waits again.
    pub fn read_buffered_nonblank_line(&mut self) -> Result<Option<&[u8]>, FramingError> {
        while let Some(len) = self.buffered_line_len()? {
            if !self.is_blank(len) {
                return Ok(Some(&self.buf.take(len + 1)[..len]));
            }
            self.buf.take(len + 1);
        }
        Ok(None)
    }

    /// Whether the first `len` pending bytes, a whole line, are blank
    /// (empty or only whitespace).
    fn is_blank(&self, len: usize) -> bool {
        self.buf.pending()[..len]
            .iter()
            .all(u8::is_ascii_whitespace)
    }

    /// The length of the next line, once it has arrived whole (its bytes
    /// and `\n` are then the first pending ones).
    fn next_line_len(&mut self) -> Result<Option<usize>, FramingError> {
        loop {
            if let Some(len) = self.buffered_line_len()? {
                return Ok(Some(len));
            }
            if self.buffered() > MAX_LINE {
                return Err(FramingError::TooLong);
            }
            if self.buf.fill_or_time_out()? == 0 {
                return match self.buffered() {
                    0 => Ok(None),
                    partial => Err(FramingError::Truncated { partial }),
                };
            }
        }
    }

    /// The length of the first buffered line, if its `\n` has arrived.
    fn buffered_line_len(&mut self) -> Result<Option<usize>, FramingError> {
        let Some(len) = self.find_newline() else {
            return Ok(None);
        };
        if len > MAX_LINE {
            return Err(FramingError::TooLong);
        }
        self.scanned = 0;
        Ok(Some(len))
    }

    /// Whether a whole line is already buffered, so that the next
    /// [`read_line`](Self::read_line) returns without touching the socket.
    pub fn has_complete_line(&mut self) -> bool {
        self.find_newline().is_some()
    }

    /// Bytes received but not yet handed out (a partial line, if any).
    pub fn buffered(&self) -> usize {
        self.buf.pending().len()
    }

    pub fn get_ref(&self) -> &R {
        self.buf.get_ref()
    }

    /// Length of the first buffered line, if its `\n` has arrived.
    fn find_newline(&mut self) -> Option<usize> {
        let pending = self.buf.pending();
        match memchr::memchr(LINE_END, &pending[self.scanned..]) {
            Some(i) => Some(self.scanned + i),
            None => {
                self.scanned = pending.len();
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::framing::buffer::INITIAL_CAPACITY;

    fn lines_of(input: &[u8]) -> Vec<Result<Vec<u8>, String>> {
        let mut reader = LineReader::new(input);
        let mut out = Vec::new();
        loop {
            match reader.read_line() {
                Ok(Some(line)) => out.push(Ok(line.to_vec())),
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn splits_lines_and_ends_cleanly() {
        let got = lines_of(b"a\n\nbc\n");
        assert_eq!(got, vec![Ok(b"a".to_vec()), Ok(vec![]), Ok(b"bc".to_vec())]);
    }

    #[test]
    fn can_skip_blank_lines() {
        let mut reader = LineReader::new(&b"\n  \r\nframe\n\n"[..]);
        assert_eq!(reader.read_nonblank_line().unwrap(), Some(&b"frame"[..]));
        assert_eq!(reader.read_nonblank_line().unwrap(), None);
    }

    #[test]
    fn buffered_lines_are_taken_without_reading_again() {
        let mut reader = LineReader::new(&b"one\n\n two\nthr"[..]);
        assert_eq!(reader.read_line().unwrap(), Some(&b"one"[..]));
        let buffered = reader.read_buffered_nonblank_line().unwrap();
        assert_eq!(buffered, Some(&b" two"[..]));
        assert_eq!(reader.read_buffered_nonblank_line().unwrap(), None);
        assert_eq!(reader.buffered(), 3);
    }

    #[test]
    fn reports_a_truncated_last_line() {
        let got = lines_of(b"a\nbc");
        assert_eq!(got[0], Ok(b"a".to_vec()));
        assert!(got[1].as_ref().unwrap_err().contains("unfinished line"));
    }

    #[test]
    fn accepts_exactly_max_line_and_refuses_one_more() {
        let mut ok = vec![b'x'; MAX_LINE];
        ok.push(b'\n');
        assert_eq!(lines_of(&ok), vec![Ok(vec![b'x'; MAX_LINE])]);

        let mut long = vec![b'x'; MAX_LINE + 1];
        long.push(b'\n');
        let got = lines_of(&long);
        assert_eq!(got.len(), 1);
        assert!(got[0].as_ref().unwrap_err().contains("longer than"));
    }

    #[test]
    fn refuses_a_long_line_whose_newline_arrives_in_the_same_read() {
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(
            b"
next\n",
        );
        let mut reader = LineReader::new(&long[..]);
        // Force everything into the buffer before the first search.
        reader.buf.grow_to(long.len() + MIN_READ);
        assert!(matches!(reader.read_line(), Err(FramingError::TooLong)));
    }

    #[test]
    fn gives_back_memory_after_a_long_line() {
        let mut input = vec![b'x'; MAX_LINE];
        input.extend_from_slice(b"\nshort\n");
        let mut reader = LineReader::new(&input[..]);
        assert_eq!(reader.read_line().unwrap().unwrap().len(), MAX_LINE);
        assert_eq!(reader.read_line().unwrap().unwrap(), b"short");
        assert!(reader.read_line().unwrap().is_none());
        assert_eq!(reader.buf.allocated(), INITIAL_CAPACITY);
    }
}
