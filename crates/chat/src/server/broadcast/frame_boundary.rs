//! Where what a subscriber was sent stops: last words (`last_words`) may
//! only follow a whole frame, so each subscriber keeps track of the frame
//! its last write ended in.

use crate::wire::zmtp::FrameCursor;
use crate::wire::{Codec, Wire};

/// Whether what a subscriber was sent stops between two frames, so that
/// last words can follow.
pub(super) enum FrameBoundary {
    /// JSON lines: whether the last byte sent was not a `\n` (last words
    /// then start on a line of their own).
    Lines { mid_line: bool },
    /// ZMTP frames: a frame cut short cannot be ended, so last words are
    /// written only between two frames.
    Zmtp(FrameCursor),
}

impl FrameBoundary {
    pub(super) fn new(codec: Codec) -> Self {
        match codec.wire() {
            Wire::Json => Self::Lines { mid_line: false },
            Wire::Zmq => Self::Zmtp(FrameCursor::default()),
        }
    }

    pub(super) fn advance(&mut self, sent: &[u8]) {
        match self {
            Self::Lines { mid_line } => {
                if let Some(&last) = sent.last() {
                    *mid_line = last != b'\n';
                }
            }
            Self::Zmtp(cursor) => cursor.advance(sent),
        }
    }

    /// What must be written before last words, if they can be written.
    pub(super) fn before_last_words(&self) -> Option<&'static [u8]> {
        match self {
            Self::Lines { mid_line: true } => Some(b"\n"),
            Self::Lines { mid_line: false } => Some(b""),
            Self::Zmtp(cursor) => cursor.at_boundary().then_some(&b""[..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_sent_is_a_boundary_on_both_wires() {
        for codec in [Codec::Json, Codec::Pickle, Codec::Msgpack] {
            assert_eq!(
                FrameBoundary::new(codec).before_last_words(),
                Some(&b""[..])
            );
        }
    }

    #[test]
    fn an_empty_write_leaves_the_line_state_as_it_was() {
        let mut boundary = FrameBoundary::new(Codec::Json);
        boundary.advance(b"mid");
        boundary.advance(b"");
        assert_eq!(boundary.before_last_words(), Some(&b"\n"[..]));
    }
}
