//! MessagePack, the lab's AEServer's serialisation (`msgpack.packb`,
//! strings as msgpack str), through rmp-serde.
//!
//! Msgpack carries no code, but a few bytes can announce a great deal: a map
//! header of five bytes announces 2^32 entries, and rmp-serde follows nesting
//! by recursion down to 1,024 levels, more than a 256 KiB connection thread
//! can hold. So every body is first walked by [`check`], without recursion
//! and without building anything: each container must be able to hold what
//! it announces in the bytes that remain (every entry takes at least one),
//! nesting is capped at [`MAX_NESTING`] levels, extension types (which no
//! frame of the protocol holds) are refused, and nothing may follow the
//! value (Python's `unpackb` refuses trailing bytes too).

use serde::{Deserialize, Serialize};

use super::MAX_NESTING;
use crate::wire::frame::{Envelope, FrameError};

const FORMAT: &str = "msgpack";

/// What a msgpack value is, as far as the protocol cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Array,
    Map,
}

/// One value's header: what it is, the bytes of data after the header, and
/// the entries it holds (a map's keys and values both count).
struct Header {
    kind: Kind,
    header_len: usize,
    data_len: u64,
    entries: u64,
}

impl Header {
    fn scalar(header_len: usize, data_len: u64) -> Self {
        Self {
            kind: Kind::Scalar,
            header_len,
            data_len,
            entries: 0,
        }
    }

    fn container(kind: Kind, header_len: usize, count: u64) -> Self {
        let entries = if kind == Kind::Map { count * 2 } else { count };
        Self {
            kind,
            header_len,
            data_len: 0,
            entries,
        }
    }
}

/// Reads the header of the value starting `body[0]`.
fn header(body: &[u8]) -> Result<Header, FrameError> {
    let marker = body[0];
    let size = |width: usize| -> Result<u64, FrameError> {
        let bytes = body
            .get(1..1 + width)
            .ok_or_else(|| truncated("a length", (body.len() - 1) as u64))?;
        Ok(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
    };
    Ok(match marker {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Header::scalar(1, 0),
        0x80..=0x8f => Header::container(Kind::Map, 1, u64::from(marker & 0x0f)),
        0x90..=0x9f => Header::container(Kind::Array, 1, u64::from(marker & 0x0f)),
        0xa0..=0xbf => Header::scalar(1, u64::from(marker & 0x1f)),
        0xcc | 0xd0 => Header::scalar(1, 1),
        0xcd | 0xd1 => Header::scalar(1, 2),
        0xca | 0xce | 0xd2 => Header::scalar(1, 4),
        0xcb | 0xcf | 0xd3 => Header::scalar(1, 8),
        0xc4 | 0xd9 => Header::scalar(2, size(1)?),
        0xc5 | 0xda => Header::scalar(3, size(2)?),
        0xc6 | 0xdb => Header::scalar(5, size(4)?),
        0xdc => Header::container(Kind::Array, 3, size(2)?),
        0xdd => Header::container(Kind::Array, 5, size(4)?),
        0xde => Header::container(Kind::Map, 3, size(2)?),
        0xdf => Header::container(Kind::Map, 5, size(4)?),
        0xc7..=0xc9 | 0xd4..=0xd8 => {
            return Err(refused(format!(
                "extension type (marker 0x{marker:02x}): no frame of the protocol holds one"
            )));
        }
        0xc1 => return Err(malformed("marker 0xc1 is never used".into())),
    })
}

/// Checks that `body` is one msgpack value within the limits, without
/// building it; returns what the value is.
pub fn check(body: &[u8]) -> Result<Kind, FrameError> {
    let mut pos = 0;
    let mut top = None;
    // Entries still expected by each open container, innermost last.
    let mut open: Vec<u64> = Vec::new();
    loop {
        if pos >= body.len() {
            return Err(truncated("more values", 0));
        }
        let header = header(&body[pos..])?;
        top.get_or_insert(header.kind);
        pos += header.header_len;
        let left = (body.len() - pos) as u64;
        if header.data_len > left || header.entries > left {
            let (n, what) = match header.kind {
                Kind::Scalar => (header.data_len, "bytes"),
                Kind::Array | Kind::Map => (header.entries, "entries"),
            };
            return Err(truncated(&format!("{n} {what}"), left));
        }
        pos += header.data_len as usize;
        if header.entries > 0 {
            open.push(header.entries);
            if open.len() > MAX_NESTING {
                return Err(FrameError::TooDeep {
                    format: FORMAT,
                    limit: MAX_NESTING,
                });
            }
            continue;
        }
        // A complete value: it fills one entry of each container it closes.
        while let Some(expected) = open.last_mut() {
            *expected -= 1;
            if *expected > 0 {
                break;
            }
            open.pop();
        }
        if open.is_empty() {
            break;
        }
    }
    if pos != body.len() {
        return Err(malformed(format!(
            "{} bytes after the value",
            body.len() - pos
        )));
    }
    Ok(top.unwrap_or(Kind::Scalar))
}

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

fn truncated(wanted: &str, left: u64) -> FrameError {
    malformed(format!(
        "truncated: announces {wanted}, {left} bytes remain"
    ))
}

/// Checks `body`, which must hold a map.
fn checked_map(body: &[u8]) -> Result<&[u8], FrameError> {
    if check(body)? != Kind::Map {
        return Err(FrameError::NotAnObject("msgpack map"));
    }
    Ok(body)
}

/// Reads any frame of the protocol, checked first (see [`check`]).
pub(in crate::wire) fn envelope(body: &[u8]) -> Result<Envelope<'_>, FrameError> {
    decode(checked_map(body)?)
}

fn decode<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, FrameError> {
    rmp_serde::from_slice(body).map_err(serde_error)
}

fn serde_error(e: rmp_serde::decode::Error) -> FrameError {
    match e {
        rmp_serde::decode::Error::Syntax(reason) => FrameError::BadField(reason),
        other => malformed(other.to_string()),
    }
}

/// Appends a frame's msgpack to `out`: maps with string keys, as
/// `msgpack.packb` writes a dict.
pub fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing our own frames into a Vec cannot fail.
    if let Err(e) = rmp_serde::encode::write_named(out, value) {
        log::error!("cannot encode a frame as msgpack: {e}");
    }
}

/// The msgpack deserializer for a checked map, to transcode from.
pub fn with_deserializer<T>(
    body: &[u8],
    use_it: impl FnOnce(
        &mut rmp_serde::Deserializer<rmp_serde::decode::ReadRefReader<'_, [u8]>>,
    ) -> Result<T, String>,
) -> Result<T, FrameError> {
    let body = checked_map(body)?;
    let mut de = rmp_serde::Deserializer::from_read_ref(body);
    use_it(&mut de).map_err(malformed)
}

/// A msgpack serializer writing maps (not arrays) into `out`.
pub fn serializer(
    out: &mut Vec<u8>,
) -> rmp_serde::Serializer<
    &mut Vec<u8>,
    rmp_serde::config::StructMapConfig<rmp_serde::config::DefaultConfig>,
> {
    rmp_serde::Serializer::new(out).with_struct_map()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Request, Response};

    /// A request read as msgpack, whatever its first bytes look like.
    fn decode_request(body: &[u8]) -> Result<Request<'_>, FrameError> {
        Request::from_envelope(envelope(body)?)
    }

    /// `msgpack.packb({"type": "join", "nick": "alice"})`.
    const JOIN: &[u8] = b"\x82\xa4type\xa4join\xa4nick\xa5alice";

    #[test]
    fn reads_python_msgpack() {
        assert_eq!(check(JOIN), Ok(Kind::Map));
        assert!(
            matches!(decode_request(JOIN), Ok(Request::Join { nick, .. }) if nick.as_str() == "alice")
        );
    }

    #[test]
    fn refuses_what_announces_more_than_it_holds() {
        let huge_map = b"\xdf\xff\xff\xff\xff\xa1a\xa1b";
        let err = check(huge_map).unwrap_err().to_string();
        assert!(
            err.contains("announces 8589934590 entries, 4 bytes remain"),
            "{err}"
        );
        let huge_str = b"\x81\xa1a\xdb\xff\xff\xff\xffab";
        assert!(
            check(huge_str)
                .unwrap_err()
                .to_string()
                .contains("4294967295 bytes")
        );
        assert!(check(&JOIN[..JOIN.len() - 1]).is_err());
        assert!(check(b"").is_err());
        let trailing = [JOIN, b"x"].concat();
        assert!(
            check(&trailing)
                .unwrap_err()
                .to_string()
                .contains("1 bytes after")
        );
    }

    #[test]
    fn bounds_nesting_and_refuses_extensions() {
        let deep = [vec![0x91u8; 100_000], vec![0x01]].concat();
        assert!(matches!(
            check(&deep),
            Err(FrameError::TooDeep { limit: 32, .. })
        ));
        let ok = [vec![0x91u8; 32], vec![0x01]].concat();
        assert_eq!(check(&ok), Ok(Kind::Array));
        assert!(matches!(
            check(b"\xd4\x01\x00"),
            Err(FrameError::Refused { .. })
        ));
        assert!(matches!(
            decode_request(b"\x91\x01"),
            Err(FrameError::NotAnObject(_))
        ));
    }

    #[test]
    fn encodes_maps_of_strings() {
        let mut out = Vec::new();
        encode(&Response::Ok, &mut out);
        assert_eq!(out, b"\x81\xa8response\xa2ok");
    }
}
