//! One TCP connection carrying frames, as either end sees it: mini-redis's
//! `Connection`, for blocking IO. The server's request connections and the
//! client's request and broadcast connections are all one of these, so a
//! frame is read and written in one place, whichever wire carries it: JSON
//! lines, or the original's ZeroMQ frames ([`zmtp`]), where a frame read or
//! queued is a message's body. How frames are delimited is the framing's
//! business ([`Framing`]); a connection adds the socket, shared, and the
//! output buffer that turns each answer into one write.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::framing::zmtp::{self, SocketType};
use super::framing::{Frames, Framing, FramingError};

/// Capacity the output buffer keeps between writes: an answer of the chat
/// (`ok`, a short `ko`) fits several times over, and a thousand idle
/// connections hold little. A buffer that grew for a large answer (a list,
/// pipelined answers) shrinks back to it.
const OUT_CAPACITY: usize = 512;

/// A connection's two halves, which can be borrowed apart: a frame just read
/// is a slice of the reader's buffer, and stays usable while answers are
/// queued on the writer.
pub struct Connection {
    pub reader: FrameReader,
    pub writer: FrameWriter,
}

impl Connection {
    /// A connection of the JSON wire.
    pub fn new(stream: TcpStream) -> Self {
        Self::from_shared(Arc::new(stream))
    }

    /// A connection of the JSON wire over a socket someone else may also
    /// hold (to shut it down: the server's registry of open connections).
    pub fn from_shared(stream: Arc<TcpStream>) -> Self {
        Self::framed(stream, Framing::Lines)
    }

    /// A connection of the ZeroMQ wire, as a `me` socket, once the ZMTP
    /// handshake has succeeded within `timeout`.
    pub fn zmtp(stream: Arc<TcpStream>, me: SocketType, timeout: Duration) -> io::Result<Self> {
        zmtp::handshake(&stream, me, timeout)?;
        Ok(Self::framed(stream, Framing::Zmtp(me)))
    }

    /// A connection whose frames `framing` delimits, both ways.
    fn framed(stream: Arc<TcpStream>, framing: Framing) -> Self {
        Self {
            reader: FrameReader {
                frames: framing.reader(SharedStream(Arc::clone(&stream))),
            },
            writer: FrameWriter::new(stream, framing),
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
    frames: Frames<SharedStream>,
}

impl FrameReader {
    /// The next frame; `Ok(None)` on a clean end of stream.
    pub fn read_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        self.frames.read_frame()
    }

    /// The next frame that is not blank: blank lines carry no frame (on
    /// the ZeroMQ wire every frame counts).
    pub fn read_nonblank_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        self.frames.read_nonblank_frame()
    }

    /// The next frame that is not blank, if it has already arrived whole:
    /// never waits for the socket.
    pub fn read_buffered_nonblank_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        self.frames.read_buffered_nonblank_frame()
    }

    /// Whether a whole frame is already buffered, so that the next read
    /// returns without touching the socket.
    pub fn has_buffered_frame(&mut self) -> bool {
        self.frames.has_buffered_frame()
    }

    /// The socket this half reads.
    pub fn stream(&self) -> &TcpStream {
        &self.frames.get_ref().0
    }
}

/// The writing half: frames are queued, then flushed in one write.
pub struct FrameWriter {
    stream: Arc<TcpStream>,
    out: Vec<u8>,
    framing: Framing,
}

impl FrameWriter {
    fn new(stream: Arc<TcpStream>, framing: Framing) -> Self {
        Self {
            stream,
            out: Vec::with_capacity(OUT_CAPACITY),
            framing,
        }
    }

    /// Queues one frame, made by `encode`.
    pub fn queue(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        self.framing.push_frame_with(&mut self.out, encode);
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

/// A socket read (and, for ZMTP's PONG, written) through a shared handle,
/// so no second file descriptor is needed for the reading half.
struct SharedStream(Arc<TcpStream>);

impl Read for SharedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for SharedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
