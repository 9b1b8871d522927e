//! Pickle, the Python original's serialisation, read without running it.
//!
//! Unpickling is not parsing: it runs a stack machine whose opcodes may
//! import any callable (`GLOBAL`, `STACK_GLOBAL`) and call it (`REDUCE`,
//! `INST`, `OBJ`, `NEWOBJ`, `BUILD`). serde-pickle calls nothing, but it was
//! made for trusted pickles: it follows nesting by recursion (a pickle nested
//! 100,000 deep overflows a thread's stack), copies a memoised value for every
//! reference to it (a few kilobytes of references can expand to gigabytes),
//! and keeps an unknown global as an opaque value instead of refusing it.
//! So every body is first checked by [`check`], one pass over its opcodes
//! that simulates the stack without building anything:
//! - only the opcodes that build plain data pass (the table in `opcode`); the others
//!   get a `ko` that names them;
//! - nesting is capped at [`MAX_NESTING`] levels;
//! - a memo reference may copy a string or a number, never a list or a dict
//!   (a shared or recursive structure), and copies add up to at most
//!   [`MAX_COPIED`] bytes;
//! - every announced length fits in the bytes that remain.
//!
//! What passes decodes, in serde-pickle and in Python's `pickle.loads`
//! alike, to dicts, lists, tuples, strings, bytes, numbers, booleans and
//! None; what a server relays is re-encoded from that data
//! ([`Codec::relayed`](crate::wire::Codec::relayed)).
//!
//! The pre-scan is `scan`, over the opcode table of `opcode`; this file
//! decodes and re-encodes what the scan lets through. Our own encoder's
//! pickles, nearly all of them on a server of ours, take the fast path of
//! `flat`.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::wire::frame::{Envelope, FrameError};

mod flat;
mod opcode;
mod scan;

pub use scan::{Kind, MAX_COPIED, check};

const FORMAT: &str = "pickle";

fn malformed(reason: String) -> FrameError {
    FrameError::Malformed {
        format: FORMAT,
        reason,
    }
}

fn refused(reason: String) -> FrameError {
    FrameError::Refused {
        format: FORMAT,
        reason,
    }
}

/// Checks `body`, then decodes what the check let through: the pickle part
/// of it, which must be a dict.
fn checked_dict(body: &[u8]) -> Result<&[u8], FrameError> {
    let checked = check(body)?;
    if checked.top != Kind::Dict {
        return Err(FrameError::NotAnObject("pickled dict"));
    }
    Ok(&body[..checked.end])
}

/// Reads any frame of the protocol: our own encoder's flat dicts on the
/// fast path (`flat`), any other pickle checked first (see [`check`]).
pub(in crate::wire) fn envelope(body: &[u8]) -> Result<Envelope<'_>, FrameError> {
    match flat_envelope(body) {
        Some(envelope) => Ok(envelope),
        None => full_envelope(body),
    }
}

/// The envelope of our own encoder's flat dict, read on the fast path;
/// `None` for any other pickle ([`full_envelope`] reads those). A frame
/// read here is one a server relays as received ([`relays_as_received`]).
pub(in crate::wire) fn flat_envelope(body: &[u8]) -> Option<Envelope<'_>> {
    flat::envelope(body)
}

/// Reads any frame of the protocol the full way: checked, then decoded.
pub(in crate::wire) fn full_envelope(body: &[u8]) -> Result<Envelope<'static>, FrameError> {
    decode(checked_dict(body)?)
}

/// Whether a server relays `body` as received: our own encoder's flat
/// dict, plain data already, and exactly what re-encoding it would write.
pub(in crate::wire) fn relays_as_received(body: &[u8]) -> bool {
    flat::is_flat(body)
}

/// serde-pickle hands out owned strings only, so what it decodes borrows
/// nothing and may live as long as wanted.
fn decode<T: Deserialize<'static>>(pickle: &[u8]) -> Result<T, FrameError> {
    serde_pickle::from_slice(pickle, serde_pickle::DeOptions::new()).map_err(serde_error)
}

fn serde_error(e: serde_pickle::Error) -> FrameError {
    match e {
        serde_pickle::Error::Syntax(serde_pickle::ErrorCode::Structure(reason)) => {
            FrameError::BadField(reason)
        }
        other => malformed(other.to_string()),
    }
}

/// Appends a frame's pickle to `out` (protocol 3, readable by every Python 3).
pub fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Our own frames are maps of strings, lists and strings: nothing that
    // pickling can fail on.
    if let Err(e) = serialize(out, |ser| value.serialize(ser).map_err(|e| e.to_string())) {
        log::error!("cannot pickle a frame: {e}");
    }
}

/// The pickle deserializer for a checked dict, to transcode from.
pub fn with_deserializer<T>(
    body: &[u8],
    use_it: impl FnOnce(&mut serde_pickle::Deserializer<Cursor<&[u8]>>) -> Result<T, String>,
) -> Result<T, FrameError> {
    let pickle = checked_dict(body)?;
    let mut de =
        serde_pickle::Deserializer::new(Cursor::new(pickle), serde_pickle::DeOptions::new());
    use_it(&mut de).map_err(malformed)
}

/// Writes one pickle into `out`: the protocol (3, which every Python 3
/// reads), what `write` serialises, and `STOP`. On error, `out` is left as
/// it was.
pub fn serialize(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut serde_pickle::Serializer<&mut Vec<u8>>) -> Result<(), String>,
) -> Result<(), String> {
    const PROTOCOL_3: [u8; 2] = [0x80, 3];
    let start = out.len();
    out.extend_from_slice(&PROTOCOL_3);
    let written = write(&mut serde_pickle::Serializer::new(
        &mut *out,
        serde_pickle::SerOptions::new(),
    ));
    match written {
        Ok(()) => {
            out.push(b'.');
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Request;

    /// A request read as pickle, whatever its first bytes look like.
    fn decode_request(body: &[u8]) -> Result<Request<'_>, FrameError> {
        Request::from_envelope(envelope(body)?)
    }
    use crate::wire::MessageBody;

    /// `pickle.dumps({"type": "join", "nick": "alice"}, protocol=4)`.
    pub(super) const JOIN_V4: &[u8] = b"\x80\x04\x95\"\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04type\x94\x8c\x04join\x94\x8c\x04nick\x94\x8c\x05alice\x94u.";
    /// The same, protocol 0.
    const JOIN_V0: &[u8] = b"(dp0\nVtype\np1\nVjoin\np2\nsVnick\np3\nValice\np4\ns.";

    /// `pickle.dumps` of a sealed message, protocols 0 to 5 (Python 3.11):
    /// memo references to a repeated string included.
    const SEALED_ALL_PROTOCOLS: [&[u8]; 6] = [
        b"(dp0\nVtype\np1\nVmessage\np2\nsVnick\np3\nValice\np4\nsg2\n(dp5\nVsalt\np6\nVc2FsdA==\np7\nsVtoken\np8\nVgAAA\np9\nss.",
        b"}q\x00(X\x04\x00\x00\x00typeq\x01X\x07\x00\x00\x00messageq\x02X\x04\x00\x00\x00nickq\x03X\x05\x00\x00\x00aliceq\x04h\x02}q\x05(X\x04\x00\x00\x00saltq\x06X\x08\x00\x00\x00c2FsdA==q\x07X\x05\x00\x00\x00tokenq\x08X\x04\x00\x00\x00gAAAq\x09uu.",
        b"\x80\x02}q\x00(X\x04\x00\x00\x00typeq\x01X\x07\x00\x00\x00messageq\x02X\x04\x00\x00\x00nickq\x03X\x05\x00\x00\x00aliceq\x04h\x02}q\x05(X\x04\x00\x00\x00saltq\x06X\x08\x00\x00\x00c2FsdA==q\x07X\x05\x00\x00\x00tokenq\x08X\x04\x00\x00\x00gAAAq\x09uu.",
        b"\x80\x03}q\x00(X\x04\x00\x00\x00typeq\x01X\x07\x00\x00\x00messageq\x02X\x04\x00\x00\x00nickq\x03X\x05\x00\x00\x00aliceq\x04h\x02}q\x05(X\x04\x00\x00\x00saltq\x06X\x08\x00\x00\x00c2FsdA==q\x07X\x05\x00\x00\x00tokenq\x08X\x04\x00\x00\x00gAAAq\x09uu.",
        b"\x80\x04\x95L\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04type\x94\x8c\x07message\x94\x8c\x04nick\x94\x8c\x05alice\x94h\x02}\x94(\x8c\x04salt\x94\x8c\x08c2FsdA==\x94\x8c\x05token\x94\x8c\x04gAAA\x94uu.",
        b"\x80\x05\x95L\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04type\x94\x8c\x07message\x94\x8c\x04nick\x94\x8c\x05alice\x94h\x02}\x94(\x8c\x04salt\x94\x8c\x08c2FsdA==\x94\x8c\x05token\x94\x8c\x04gAAA\x94uu.",
    ];

    #[test]
    fn reads_every_protocol_python_writes() {
        for body in SEALED_ALL_PROTOCOLS {
            let Ok(Request::Message {
                nick,
                body: MessageBody::Sealed(sealed),
            }) = decode_request(body)
            else {
                panic!("{body:?}");
            };
            assert_eq!(
                (nick.as_str(), sealed.salt.as_ref(), sealed.token.as_ref()),
                ("alice", "c2FsdA==", "gAAA")
            );
        }
    }

    #[test]
    fn reads_python_pickles_of_any_protocol() {
        for body in [JOIN_V4, JOIN_V0] {
            assert_eq!(check(body).unwrap().top, Kind::Dict);
            let request = decode_request(body).unwrap();
            assert!(matches!(request, Request::Join { nick, .. } if nick.as_str() == "alice"));
        }
    }

    #[test]
    fn refuses_a_pickle_that_is_not_a_dict() {
        assert!(matches!(
            decode_request(b"]."),
            Err(FrameError::NotAnObject(_))
        ));
    }

    #[test]
    fn transcodes_to_plain_pickle() {
        let mut out = Vec::new();
        with_deserializer(JOIN_V0, |de| {
            serialize(&mut out, |ser| {
                serde_transcode::transcode(de, ser).map_err(|e| e.to_string())
            })
        })
        .unwrap();
        assert_eq!(
            decode_request(&out).unwrap(),
            decode_request(JOIN_V4).unwrap()
        );
        assert!(check(&out).is_ok());
    }
}
