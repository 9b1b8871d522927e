//! The receive buffer both framings read through. A frame is cut out of
//! the buffer in place and lent to the caller as a slice, so the hot path
//! allocates nothing; and the buffer never grows past the bound its reader
//! sets, so a peer that never ends its frame cannot make us allocate until
//! the process dies.

use std::io::{self, Read};

use super::FramingError;

/// Buffer size of an idle connection; a buffer that grew for a long frame
/// shrinks back to this once drained, so a thousand idle connections stay small.
pub(super) const INITIAL_CAPACITY: usize = 8 * 1024;

/// Least free space offered to each `read` call.
pub(super) const MIN_READ: usize = 4 * 1024;

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

/// What the readers' tests need to see of the buffer's memory.
#[cfg(test)]
impl<R> RecvBuffer<R> {
    /// Bytes the buffer holds room for.
    pub fn allocated(&self) -> usize {
        self.buf.len()
    }

    /// Grows the buffer to `len` bytes at once, so that the next read can
    /// take them all.
    pub fn grow_to(&mut self, len: usize) {
        self.buf.resize(len, 0);
    }
}
