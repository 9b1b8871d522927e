//! The receive buffer both framings read through. A frame is cut out of
//! the buffer in place and lent to the caller as a slice, so the hot path
//! allocates nothing; and the buffer never grows past the bound its reader
//! sets, so a peer that never ends its frame cannot make us allocate until
//! the process dies.
//!
//! Its size follows the traffic: a connection that sends a request now and
//! then keeps a small buffer (a thousand of them are a server's whole
//! memory), one that streams gets reads twice as large each time it fills
//! one, up to [`STREAMING_CAPACITY`], and keeps them while it streams; the
//! memory goes back once the peer has been quiet for [`QUIET_READS`]
//! reads, or as soon as a frame longer than that is handled.

use std::io::{self, Read};

use super::FramingError;

/// Buffer size of a new or quiet connection: a request or an answer of the
/// chat (a 64-byte message is about 120 bytes on the wire) fits four
/// times over. Safe Rust zeroes a buffer before reading into it, so every
/// byte of it is memory the process really holds: 8 KiB here put the 1,000
/// connection run 4 MiB higher.
pub(super) const INITIAL_CAPACITY: usize = 512;

/// Least free space offered to each `read` call.
pub(super) const MIN_READ: usize = 256;

/// Most a buffer grows to because its peer streams (each read filled all it
/// was offered); only a frame longer than this makes it larger.
pub(super) const STREAMING_CAPACITY: usize = 32 * 1024;

/// Reads in a row that did not fill the buffer before a drained buffer
/// that grew for a stream shrinks back. Shrinking at the first such read
/// made a reader of a busy broadcast grow and shrink all the time (reads
/// alternately fill and not), at the cost of a reallocation and a small
/// read each time.
pub(super) const QUIET_READS: u32 = 64;

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
    /// Reads in a row that did not fill all the space they were offered;
    /// 0 right after one that did: the peer streams, it has more to send
    /// than we read at once. A new buffer counts as quiet.
    quiet_reads: u32,
}

impl<R: Read> RecvBuffer<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            buf: vec![0; INITIAL_CAPACITY],
            start: 0,
            end: 0,
            max,
            quiet_reads: 1,
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
            let offered = self.buf.len() - self.end;
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    self.quiet_reads = if n == offered {
                        0
                    } else {
                        self.quiet_reads.saturating_add(1)
                    };
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes room for the next read: at least [`MIN_READ`] free bytes after
    /// `end`, and a buffer twice as large (up to [`STREAMING_CAPACITY`]) when
    /// the last read filled it, moving the pending bytes to the front or
    /// growing the buffer as needed.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.reset();
        }
        if self.buf.len() - self.end >= MIN_READ && !self.wants_larger_reads() {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let mut len = self.buf.len();
        if self.wants_larger_reads() {
            len = (len * 2).min(STREAMING_CAPACITY);
        }
        if len - self.end < MIN_READ {
            len = (len * 2).max(self.end + MIN_READ);
        }
        let len = len.min(self.max);
        if len > self.buf.len() {
            self.buf.resize(len, 0);
        }
    }

    fn wants_larger_reads(&self) -> bool {
        self.quiet_reads == 0 && self.buf.len() < STREAMING_CAPACITY.min(self.max)
    }

    /// Empties the buffer; gives back the memory that a long frame made it
    /// take, or that a stream did once the peer is quiet.
    fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        let long_frame = self.buf.len() > STREAMING_CAPACITY;
        let quiet = self.quiet_reads >= QUIET_READS;
        if self.buf.len() > INITIAL_CAPACITY && (long_frame || quiet) {
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A peer whose sends arrive one per read, as on a socket where each
    /// send landed before the next read.
    struct Sends(VecDeque<Vec<u8>>);

    impl Read for Sends {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let Some(send) = self.0.front_mut() else {
                return Ok(0);
            };
            let n = send.len().min(out.len());
            out[..n].copy_from_slice(&send[..n]);
            send.drain(..n);
            if send.is_empty() {
                self.0.pop_front();
            }
            Ok(n)
        }
    }

    fn peer(sends: impl IntoIterator<Item = Vec<u8>>) -> RecvBuffer<Sends> {
        RecvBuffer::new(Sends(sends.into_iter().collect()), 1024 * 1024)
    }

    /// Reads once and takes everything read; the bytes read.
    fn read_all(buf: &mut RecvBuffer<Sends>) -> usize {
        let n = buf.fill_or_time_out().unwrap();
        buf.take(buf.pending().len());
        n
    }

    #[test]
    fn a_peer_that_sends_a_request_at_a_time_keeps_a_small_buffer() {
        let mut buf = peer((0..100).map(|_| vec![b'r'; 150]));
        while read_all(&mut buf) > 0 {
            assert_eq!(buf.allocated(), INITIAL_CAPACITY);
        }
    }

    #[test]
    fn a_streaming_peer_gets_larger_reads_up_to_the_streaming_capacity() {
        let mut buf = peer([vec![b's'; 1024 * 1024]]);
        let reads: Vec<usize> = (0..12).map(|_| read_all(&mut buf)).collect();
        let doublings = (STREAMING_CAPACITY / INITIAL_CAPACITY).ilog2() as usize;
        let growing: Vec<usize> = (0..=doublings).map(|i| INITIAL_CAPACITY << i).collect();
        assert_eq!(reads[..=doublings], growing);
        assert!(reads[doublings..].iter().all(|&n| n == STREAMING_CAPACITY));
        assert_eq!(buf.allocated(), STREAMING_CAPACITY);
    }

    #[test]
    fn a_stream_that_quietens_gives_its_memory_back() {
        let quiet = (0..=QUIET_READS).map(|_| vec![b'q'; 100]);
        let mut buf = peer(std::iter::once(vec![b's'; 64 * 1024]).chain(quiet));
        while buf.allocated() < STREAMING_CAPACITY {
            read_all(&mut buf);
        }
        while read_all(&mut buf) != 100 {}
        // The buffer keeps its size for a while, in case the stream resumes.
        for _ in 0..QUIET_READS / 2 {
            read_all(&mut buf);
        }
        assert_eq!(buf.allocated(), STREAMING_CAPACITY);
        while read_all(&mut buf) > 0 {}
        assert_eq!(buf.allocated(), INITIAL_CAPACITY);
    }

    #[test]
    fn a_reader_whose_reads_alternate_resizes_at_most_once_per_quiet_spell() {
        let reads = 1000;
        let sends = (0..reads).map(|i| vec![b'b'; if i % 2 == 0 { 4096 } else { 100 }]);
        let mut buf = peer(sends);
        let mut resizes = 0;
        let mut size = buf.allocated();
        while read_all(&mut buf) > 0 {
            resizes += usize::from(buf.allocated() != size);
            size = buf.allocated();
        }
        // Growing back takes a few doublings, each a resize.
        let doublings = (8192 / INITIAL_CAPACITY).ilog2() as usize;
        let spells = reads / QUIET_READS as usize + 1;
        assert!(resizes <= spells * (doublings + 1), "{resizes} resizes");
    }
}
