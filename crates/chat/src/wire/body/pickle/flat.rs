//! The ZeroMQ wire's fast path: the pickles our own encoder writes for the
//! protocol's frames, a dict of strings (`PROTO 3`, `EMPTY_DICT`, `MARK`,
//! a `BINUNICODE` key and value per field, `SETITEMS`, `STOP`), are read
//! here in one pass, without the pre-scan and serde-pickle. Any other
//! pickle, Python's own with their memo opcodes among them, goes the full
//! way ([`check`](super::check), then serde-pickle).
//!
//! Such a pickle holds nothing but plain data (five opcodes, none of them
//! a memo reference, a global or a call), and it is already exactly what a
//! server re-encodes it to: so a server relays it as received. A server
//! knows it from reading the request here (`Codec::decode_request_to_relay`);
//! `Codec::relayed`, given a frame alone, asks [`is_flat`]. The tests check
//! both against the full way: the same envelope, the same bytes relayed.

use std::borrow::Cow;

use crate::wire::frame::Envelope;

/// How our encoder's pickle of a non-empty dict starts: protocol 3, an
/// empty dict, a mark for its items.
const START: [u8; 4] = [0x80, 3, b'}', b'('];
/// How it ends: the items set into the dict, then the end of the pickle.
const END: [u8; 2] = [b'u', b'.'];
/// A string: the opcode, then its length in UTF-8 bytes, four bytes little
/// endian.
const BINUNICODE: u8 = b'X';

/// The envelope of `body` if it is a pickle of our own encoder's flat
/// form, each key one the envelope reads as a string and given once;
/// `None`: let the full way read it.
pub(super) fn envelope(body: &[u8]) -> Option<Envelope<'_>> {
    let mut rest = body.strip_prefix(&START)?;
    let mut envelope = Envelope::default();
    while rest != END {
        let (key, after) = string(rest)?;
        let (value, after) = string(after)?;
        let value = std::str::from_utf8(value).ok()?;
        if !envelope.set_string(key, Cow::Borrowed(value)) {
            return None;
        }
        rest = after;
    }
    Some(envelope)
}

/// Whether `body` is a pickle of the flat form [`envelope`] reads.
pub(super) fn is_flat(body: &[u8]) -> bool {
    envelope(body).is_some()
}

/// A `BINUNICODE` string at the start of `bytes`: its UTF-8 bytes, not yet
/// checked (a key is only compared with the names the envelope knows, a
/// value checked as it is kept), and what follows it.
fn string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.strip_prefix(&[BINUNICODE])?.split_first_chunk()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    rest.split_at_checked(len)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::Codec;

    /// What the full way makes of `body`, as text to compare.
    fn the_full_way(body: &[u8]) -> Result<String, String> {
        super::super::full_envelope(body)
            .map(|e| format!("{e:?}"))
            .map_err(|e| e.to_string())
    }

    fn pickled(fields: &[(&str, &str)]) -> Vec<u8> {
        let map: std::collections::BTreeMap<_, _> = fields.iter().copied().collect();
        let mut out = Vec::new();
        super::super::encode(&map, &mut out);
        out
    }

    #[test]
    fn reads_what_our_encoder_writes() {
        let body = pickled(&[("type", "message"), ("nick", "bob"), ("message", "hi")]);
        let envelope = envelope(&body).unwrap();
        assert_eq!(envelope.nick.as_deref(), Some("bob"));
        assert_eq!(Ok(format!("{envelope:?}")), the_full_way(&body));
    }

    #[test]
    fn leaves_python_s_pickles_and_anything_unusual_to_the_full_way() {
        let join_v4 = super::super::tests::JOIN_V4;
        let duplicate = b"\x80\x03}(X\x04\x00\x00\x00typeX\x01\x00\x00\x00aX\x04\x00\x00\x00typeX\x01\x00\x00\x00bu.";
        let unknown = pickled(&[("other", "x")]);
        let trailing = [pickled(&[("type", "list")]), b"junk".to_vec()].concat();
        let cut = &pickled(&[("type", "list")])[..12];
        for body in [join_v4, duplicate, &unknown, &trailing, cut, b"\x80\x03}."] {
            assert!(envelope(body).is_none(), "{body:?}");
        }
    }

    proptest! {
        /// Our encoder's flat dicts are read on the fast path, as the full
        /// way reads them, and relayed as they came, as the full way
        /// re-encodes them.
        #[test]
        fn the_fast_path_reads_and_relays_as_the_full_way(
            fields in prop::collection::btree_map(
                prop::sample::select(vec!["type", "nick", "message", "subscriber", "error", "response"]),
                "\\PC{0,20}",
                1..6,
            )
        ) {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let body = pickled(&fields);
            let fast = envelope(&body).map(|e| format!("{e:?}"));
            prop_assert!(fast.is_some());
            prop_assert_eq!(fast.ok_or_else(String::new), the_full_way(&body));
            let mut relayed = Vec::new();
            super::super::with_deserializer(&body, |de| {
                super::super::serialize(&mut relayed, |ser| {
                    serde_transcode::transcode(de, ser).map_err(|e| e.to_string())
                })
            }).unwrap();
            prop_assert_eq!(relayed, body.clone());
            let relayed_by_the_server = Codec::Pickle.relayed(&body).unwrap();
            prop_assert_eq!(relayed_by_the_server.as_ref(), &body[..]);
        }

        /// Whatever the fast path reads of a pickle altered at random, the
        /// full way reads the same.
        #[test]
        fn what_the_fast_path_reads_of_any_pickle_the_full_way_reads_the_same(
            at in 0usize..64, byte in any::<u8>(), cut in 0usize..64,
        ) {
            let mut body = pickled(&[("type", "message"), ("nick", "bob"), ("message", "hi")]);
            if let Some(b) = body.get_mut(at) {
                *b = byte;
            }
            body.truncate(body.len().saturating_sub(cut % 3));
            if let Some(fast) = envelope(&body) {
                prop_assert_eq!(Ok(format!("{fast:?}")), the_full_way(&body));
            }
        }
    }
}
