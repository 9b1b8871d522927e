//! One TCP connection carrying frames, as either end sees it: mini-redis's
//! `Connection`, for blocking IO. The server's request connections and the
//! client's request and broadcast connections are all one of these, so a
//! frame is read and written in one place.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use super::framing::{FramingError, LineReader, push_line_with};

/// Capacity the output buffer keeps between writes; a buffer that grew for
/// a large answer shrinks back to it.
const OUT_CAPACITY: usize = 8 * 1024;

/// A connection's two halves, which can be borrowed apart: a frame just read
/// is a slice of the reader's buffer, and stays usable while answers are
/// queued on the writer.
pub struct Connection {
    pub reader: FrameReader,
    pub writer: FrameWriter,
}

impl Connection {
    pub fn new(stream: TcpStream) -> Self {
        Self::from_shared(Arc::new(stream))
    }

    /// A connection over a socket someone else may also hold (to shut it
    /// down: the server's registry of open connections).
    pub fn from_shared(stream: Arc<TcpStream>) -> Self {
        Self {
            reader: FrameReader {
                lines: LineReader::new(SharedStream(Arc::clone(&stream))),
            },
            writer: FrameWriter {
                stream,
                out: Vec::with_capacity(OUT_CAPACITY),
            },
        }
    }

    /// Writes one frame, made by `encode`, and reads the frame that answers
    /// it: Python's REQ `send(bytes) -> bytes`. `Ok(None)`: the peer closed
    /// the connection instead of answering.
    pub fn exchange(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Option<&[u8]>, FramingError> {
        self.writer.queue(encode);
        self.writer.flush()?;
        self.reader.read_frame()
    }

    /// The socket, shared, for whoever must be able to shut it down.
    pub fn stream(&self) -> &Arc<TcpStream> {
        &self.writer.stream
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.writer.stream.peer_addr()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.writer.stream.local_addr()
    }
}

/// The reading half: frames, bounded in size.
pub struct FrameReader {
    lines: LineReader<SharedStream>,
}

impl FrameReader {
    /// The next frame; `Ok(None)` on a clean end of stream.
    pub fn read_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        self.lines.read_line()
    }

    /// The next frame that is not blank: blank lines carry no frame.
    pub fn read_nonblank_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        self.lines.read_nonblank_line()
    }

    /// Whether a whole frame is already buffered, so that the next read
    /// returns without touching the socket.
    pub fn has_buffered_frame(&mut self) -> bool {
        self.lines.has_complete_line()
    }

    /// The socket this half reads.
    pub fn stream(&self) -> &TcpStream {
        &self.lines.get_ref().0
    }
}

/// The writing half: frames are queued, then flushed in one write.
pub struct FrameWriter {
    stream: Arc<TcpStream>,
    out: Vec<u8>,
}

impl FrameWriter {
    /// Queues one frame, made by `encode`.
    pub fn queue(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        push_line_with(&mut self.out, encode);
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        self.out.len()
    }

    /// Writes everything queued, then gives back memory a large answer took.
    pub fn flush(&mut self) -> io::Result<()> {
        let written = (&*self.stream).write_all(&self.out);
        self.out.clear();
        if self.out.capacity() > OUT_CAPACITY {
            self.out.shrink_to(OUT_CAPACITY);
        }
        written
    }

    /// The socket this half writes.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

/// A socket read through a shared handle, so no second file descriptor is
/// needed for the reading half.
struct SharedStream(Arc<TcpStream>);

impl Read for SharedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}
