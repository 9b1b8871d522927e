//! One TCP connection carrying frames, as either end sees it: mini-redis's
//! `Connection`, for blocking IO. The server's request connections and the
//! client's request and broadcast connections are all one of these, so a
//! frame is read and written in one place, whichever wire carries it: JSON
//! lines, or the original's ZeroMQ frames ([`super::zmtp`]), where a frame
//! read or queued is a message's body and the envelope is handled here.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::framing::{FramingError, LineReader, push_line_with};
use super::zmtp::{self, MessageReader, SocketType};

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
    /// A connection of the JSON wire.
    pub fn new(stream: TcpStream) -> Self {
        Self::from_shared(Arc::new(stream))
    }

    /// A connection of the JSON wire over a socket someone else may also
    /// hold (to shut it down: the server's registry of open connections).
    pub fn from_shared(stream: Arc<TcpStream>) -> Self {
        Self {
            reader: FrameReader {
                inner: Reader::Lines(LineReader::new(SharedStream(Arc::clone(&stream)))),
            },
            writer: FrameWriter::new(stream, Framing::Lines),
        }
    }

    /// A connection of the ZeroMQ wire, as a `me` socket, once the ZMTP
    /// handshake has succeeded within `timeout`.
    pub fn zmtp(stream: Arc<TcpStream>, me: SocketType, timeout: Duration) -> io::Result<Self> {
        zmtp::handshake(&stream, me, timeout)?;
        let reader = MessageReader::new(SharedStream(Arc::clone(&stream)), me);
        let framing = if me.has_envelope() {
            Framing::Enveloped
        } else {
            Framing::Frames
        };
        Ok(Self {
            reader: FrameReader {
                inner: Reader::Zmtp(reader),
            },
            writer: FrameWriter::new(stream, framing),
        })
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

enum Reader {
    Lines(LineReader<SharedStream>),
    Zmtp(MessageReader<SharedStream>),
}

/// The reading half: frames, bounded in size.
pub struct FrameReader {
    inner: Reader,
}

impl FrameReader {
    /// The next frame; `Ok(None)` on a clean end of stream.
    pub fn read_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        match &mut self.inner {
            Reader::Lines(lines) => lines.read_line(),
            Reader::Zmtp(messages) => messages.read_message(),
        }
    }

    /// The next frame that is not blank: blank lines carry no frame (on
    /// the ZeroMQ wire every frame counts).
    pub fn read_nonblank_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        match &mut self.inner {
            Reader::Lines(lines) => lines.read_nonblank_line(),
            Reader::Zmtp(messages) => messages.read_message(),
        }
    }

    /// Whether a whole frame is already buffered, so that the next read
    /// returns without touching the socket.
    pub fn has_buffered_frame(&mut self) -> bool {
        match &mut self.inner {
            Reader::Lines(lines) => lines.has_complete_line(),
            Reader::Zmtp(messages) => messages.has_complete_message(),
        }
    }

    /// The socket this half reads.
    pub fn stream(&self) -> &TcpStream {
        match &self.inner {
            Reader::Lines(lines) => &lines.get_ref().0,
            Reader::Zmtp(messages) => &messages.get_ref().0,
        }
    }
}

/// How the writing half frames what it queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// One line per frame (the JSON wire).
    Lines,
    /// One ZMTP frame after the empty delimiter (REQ and REP).
    Enveloped,
    /// One ZMTP frame (PUB, SUB).
    Frames,
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
        match self.framing {
            Framing::Lines => push_line_with(&mut self.out, encode),
            Framing::Enveloped => {
                zmtp::push_delimiter(&mut self.out);
                zmtp::push_frame_with(&mut self.out, 0, encode);
            }
            Framing::Frames => zmtp::push_frame_with(&mut self.out, 0, encode),
        }
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
