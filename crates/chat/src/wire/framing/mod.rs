//! How frames are delimited on a stream, one file per way of doing it:
//! `lines` for the JSON wire (one frame per line), [`zmtp`] for the Python
//! original's ZeroMQ wire. What a frame's bytes mean is not asked here
//! (that is `body`'s business), nor which bodies a framing carries (the
//! codec's).
//!
//! Both framings read through the same bounded receive buffer and fail with
//! the same [`FramingError`], and [`Framing`] names them, so a connection
//! reads and writes frames without knowing which framing delimits them. A
//! new framing is one file here, and the arms of [`Framing`] and [`Frames`].

use std::io::{self, Read, Write};

mod buffer;
pub mod lines;
pub mod zmtp;

pub use lines::{MAX_LINE, line_parts, push_line_with};

use lines::LineReader;
use zmtp::{MessageReader, SocketType};

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

/// How one connection delimits its frames, both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One frame per line (the JSON wire).
    Lines,
    /// One ZMTP frame per message, as a socket of this type exchanges them:
    /// after the empty delimiter frame for REQ and REP, alone for PUB and SUB.
    Zmtp(SocketType),
}

impl Framing {
    /// Appends one frame, made by `encode`, to `out`.
    pub fn push_frame_with(self, out: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
        match self {
            Self::Lines => lines::push_line_with(out, encode),
            Self::Zmtp(me) => {
                if me.has_envelope() {
                    zmtp::push_delimiter(out);
                }
                zmtp::push_frame_with(out, 0, encode);
            }
        }
    }

    /// A reader of the frames that `inner` carries in this framing.
    pub fn reader<R: Read + Write>(self, inner: R) -> Frames<R> {
        match self {
            Self::Lines => Frames::Lines(LineReader::new(inner)),
            Self::Zmtp(me) => Frames::Zmtp(MessageReader::new(inner, me)),
        }
    }
}

/// The frames of one stream, bounded in size, whichever framing delimits
/// them. (ZMTP's reader writes too: it answers PING with PONG.)
pub enum Frames<R> {
    Lines(LineReader<R>),
    Zmtp(MessageReader<R>),
}

impl<R: Read + Write> Frames<R> {
    /// The next frame; `Ok(None)` on a clean end of stream.
    pub fn read_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        match self {
            Self::Lines(lines) => lines.read_line(),
            Self::Zmtp(messages) => messages.read_message(),
        }
    }

    /// The next frame that is not blank: blank lines carry no frame (on
    /// the ZeroMQ wire every frame counts).
    pub fn read_nonblank_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        match self {
            Self::Lines(lines) => lines.read_nonblank_line(),
            Self::Zmtp(messages) => messages.read_message(),
        }
    }

    /// The next frame that is not blank, if it has already arrived whole:
    /// never waits for the stream.
    pub fn read_buffered_nonblank_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        match self {
            Self::Lines(lines) => lines.read_buffered_nonblank_line(),
            Self::Zmtp(messages) => messages.read_buffered_message(),
        }
    }

    /// Whether a whole frame is already buffered, so that the next read
    /// returns without touching the stream.
    pub fn has_buffered_frame(&mut self) -> bool {
        match self {
            Self::Lines(lines) => lines.has_complete_line(),
            Self::Zmtp(messages) => messages.has_complete_message(),
        }
    }

    /// The stream read.
    pub fn get_ref(&self) -> &R {
        match self {
            Self::Lines(lines) => lines.get_ref(),
            Self::Zmtp(messages) => messages.get_ref(),
        }
    }
}
