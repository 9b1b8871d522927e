//! Line framing, shared by both ports and both ends: one JSON object per line.
//!
//! The Python original let ZeroMQ delimit messages. Over plain TCP we delimit
//! them with `\n`, which compact JSON never contains. Why a hand-written
//! reader rather than `BufRead::read_line`: the standard reader grows its
//! buffer without bound, so a peer that never sends `\n` could make us
//! allocate until the process dies. [`LineReader`] refuses a line as soon as
//! it is known to exceed [`MAX_LINE`], and lends lines out as slices of its own
//! buffer, so the hot path allocates nothing.

use std::io::{self, Read};

/// Longest line accepted, in bytes, not counting the terminating `\n`.
pub const MAX_LINE: usize = 64 * 1024;

/// Buffer size of an idle connection; a buffer that grew for a long line
/// shrinks back to this once drained, so a thousand idle connections stay small.
const INITIAL_CAPACITY: usize = 8 * 1024;

/// Least free space offered to each `read` call.
const MIN_READ: usize = 4 * 1024;

/// Why no line could be read.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// More than [`MAX_LINE`] bytes arrived without a `\n`.
    #[error("line longer than {MAX_LINE} bytes")]
    TooLong,
    /// The peer closed the connection in the middle of a line.
    #[error("connection closed after {partial} bytes of an unfinished line")]
    Truncated { partial: usize },
    /// A read timeout elapsed with `partial` bytes of a line buffered
    /// (0: the peer is merely idle between lines).
    #[error("read timed out with {partial} bytes of a line pending")]
    TimedOut { partial: usize },
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

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
                Some(len)
                    if self.buf.pending()[..len]
                        .iter()
                        .all(u8::is_ascii_whitespace) =>
                {
                    self.buf.take(len + 1);
                }
                other => {
                    return Ok(other.map(|len| &self.buf.take(len + 1)[..len]));
                }
            }
        }
    }

    /// The length of the next line, once it has arrived whole (its bytes
    /// and `\n` are then the first pending ones).
    fn next_line_len(&mut self) -> Result<Option<usize>, FramingError> {
        loop {
            if let Some(len) = self.find_newline() {
                if len > MAX_LINE {
                    return Err(FramingError::TooLong);
                }
                self.scanned = 0;
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

/// The receive buffer under a reader of frames: bytes read from a stream in
/// large reads, handed out by the frame, and never more than `max` bytes
/// held, so a peer that never ends its frame cannot make us allocate more.
pub struct RecvBuffer<R> {
    inner: R,
    buf: Vec<u8>,
    /// First byte not yet handed out.
    start: usize,
    /// One past the last byte read from `inner`.
    end: usize,
    /// Most bytes the buffer grows to.
    max: usize,
}

impl<R: Read> RecvBuffer<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            buf: vec![0; INITIAL_CAPACITY],
            start: 0,
            end: 0,
            max,
        }
    }

    /// Bytes received and not yet taken.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Takes the first `len` pending bytes (the caller checked they are there).
    pub fn take(&mut self, len: usize) -> &[u8] {
        let from = self.start;
        self.start += len;
        &self.buf[from..self.start]
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Reads once from `inner`, mapping a read timeout to
    /// [`FramingError::TimedOut`]; returns how many bytes arrived (0 at end
    /// of stream).
    pub fn fill_or_time_out(&mut self) -> Result<usize, FramingError> {
        self.fill().map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => FramingError::TimedOut {
                partial: self.pending().len(),
            },
            _ => FramingError::Io(e),
        })
    }

    /// Reads once from `inner`; returns how many bytes arrived (0 at end of stream).
    fn fill(&mut self) -> io::Result<usize> {
        self.make_room();
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Guarantees at least [`MIN_READ`] free bytes after `end`, moving the
    /// pending bytes to the front or growing the buffer as needed.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.reset();
        }
        if self.buf.len() - self.end >= MIN_READ {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < MIN_READ {
            let wanted = (self.buf.len() * 2).max(self.end + MIN_READ);
            self.buf.resize(wanted.min(self.max), 0);
        }
    }

    /// Empties the buffer, giving back memory a long frame made it take.
    fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        if self.buf.len() > INITIAL_CAPACITY {
            self.buf.truncate(INITIAL_CAPACITY);
            self.buf.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        reader.buf.buf.resize(long.len() + MIN_READ, 0);
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
        assert_eq!(reader.buf.buf.len(), INITIAL_CAPACITY);
    }
}
