//! The one envelope every frame is read into, whatever body carried it, and
//! the readers serde needs for its fields. A peer chooses the shape of every
//! field, so a field of an unexpected shape is skipped rather than
//! followed; the bodies bound how deep a frame may nest before serde reads
//! it (and serde_json itself stops at 128 levels).
//!
//! A key given twice in one map, at any depth, refuses the frame, however
//! it is spelled (`"s\u0061lt"` is `salt`): two parsers of one frame may
//! keep different values for it (Python's `json` keeps the last one,
//! others the first or refuse), so a server that relayed it would let one
//! frame say two things to two readers.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{MessageBody, Sealed};

/// Every field a frame of the protocol may carry, whichever way it travels:
/// requests (`type`, `nick`, `message`, `subscriber`), responses and notices
/// (`response`, `error`, `more`). Unknown fields are skipped, their keys
/// checked.
#[derive(Debug, Default)]
pub struct Envelope<'a> {
    pub kind: Option<Cow<'a, str>>,
    pub nick: Option<Cow<'a, str>>,
    pub message: Option<MessageField<'a>>,
    pub subscriber: Option<Cow<'a, str>>,
    pub response: Option<Status<'a>>,
    pub error: Option<Cow<'a, str>>,
    pub more: Option<usize>,
}

impl<'a> Envelope<'a> {
    /// Sets the field `key` to the string `value`, as reading a frame that
    /// gives it would: how the bodies' fast paths fill the envelope. False
    /// if the envelope does not read that field as a plain string, or has
    /// it already: such a frame is left to the full reader and its checks.
    /// The key comes as bytes: a fast path compares it with the names it
    /// knows, all ASCII, without checking that it is text first.
    pub(in crate::wire) fn set_string(&mut self, key: &[u8], value: Cow<'a, str>) -> bool {
        match key {
            b"type" => fill(&mut self.kind, value),
            b"nick" => fill(&mut self.nick, value),
            b"subscriber" => fill(&mut self.subscriber, value),
            b"error" => fill(&mut self.error, value),
            b"message" => fill(
                &mut self.message,
                MessageField(Some(MessageBody::Text(value))),
            ),
            b"response" => fill(&mut self.response, Status::Word(value)),
            _ => false,
        }
    }
}

/// Fills an empty field; false if it was given already.
fn fill<T>(field: &mut Option<T>, value: T) -> bool {
    field.is_none() && field.replace(value).is_none()
}

impl<'de: 'a, 'a> Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EnvelopeVisitor(PhantomData))
    }
}

struct EnvelopeVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for EnvelopeVisitor<'a> {
    type Value = Envelope<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of the protocol's fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut envelope = Envelope::default();
        let mut seen = Seen::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            seen.insert(&key)?;
            let field = match &key {
                Key::Text(text) => text.as_ref(),
                _ => "",
            };
            match field {
                "type" => envelope.kind = Some(map.next_value::<Text<'a>>()?.0),
                "nick" => envelope.nick = Some(map.next_value::<Text<'a>>()?.0),
                "message" => envelope.message = Some(map.next_value()?),
                "subscriber" => envelope.subscriber = Some(map.next_value::<Text<'a>>()?.0),
                "response" => envelope.response = Some(map.next_value()?),
                "error" => envelope.error = Some(map.next_value::<Text<'a>>()?.0),
                "more" => envelope.more = Some(map.next_value()?),
                _ => map.next_value::<Skipped>().map(drop)?,
            }
        }
        Ok(envelope)
    }
}

/// A map's key as any body spells it, decoded, so that one key written two
/// ways is seen twice.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key<'a> {
    Text(Cow<'a, str>),
    Bytes(Vec<u8>),
    Int(i128),
    /// A float's bits: two spellings of one float are one key.
    Float(u64),
    Bool(bool),
    Nothing,
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => {
                let shown: String = text.chars().take(SHOWN_KEY_CHARS).collect();
                write!(f, "{shown:?}")
            }
            Self::Bytes(bytes) => write!(f, "{} bytes", bytes.len()),
            Self::Int(n) => write!(f, "{n}"),
            Self::Float(bits) => write!(f, "{}", f64::from_bits(*bits)),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Nothing => f.write_str("None"),
        }
    }
}

/// Characters of a duplicate key quoted in the refusal.
const SHOWN_KEY_CHARS: usize = 32;

/// Keys of one map kept in a list while they are few, as they nearly
/// always are; past that, in a set, so a map of thousands of keys costs
/// no more than a pass.
const FEW_KEYS: usize = 16;

/// The keys of one map so far.
#[derive(Default)]
struct Seen<'a> {
    few: Vec<Key<'a>>,
    many: HashSet<Key<'a>>,
}

impl<'a> Seen<'a> {
    /// Records `key`; an error if the map already had it.
    fn insert<E: de::Error>(&mut self, key: &Key<'a>) -> Result<(), E> {
        let fresh = if self.few.len() < FEW_KEYS {
            let fresh = !self.few.contains(key);
            self.few.push(clone_key(key));
            fresh
        } else {
            if self.many.is_empty() {
                self.many.extend(self.few.drain(..));
            }
            self.many.insert(clone_key(key))
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom(format_args!("duplicate key {key} in a map")))
        }
    }
}

fn clone_key<'a>(key: &Key<'a>) -> Key<'a> {
    match key {
        Key::Text(text) => Key::Text(text.clone()),
        Key::Bytes(bytes) => Key::Bytes(bytes.clone()),
        Key::Int(n) => Key::Int(*n),
        Key::Float(bits) => Key::Float(*bits),
        Key::Bool(b) => Key::Bool(*b),
        Key::Nothing => Key::Nothing,
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key that is a string, a number, bytes, a boolean or None")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key::Text(Cow::Owned(v)))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(Key::Bytes(v.to_vec()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Key::Int(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Key::Int(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Key::Float(v.to_bits()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Key::Bool(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Key::Nothing)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Key::Nothing)
    }
}

/// A value skipped, whatever its shape, the keys of every map inside it
/// checked.
struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor).map(|()| Skipped)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        skip_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        skip_seq(seq)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        Skipped::deserialize(d).map(drop)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        Skipped::deserialize(d).map(drop)
    }

    skip_scalars!();
}

/// Skips a map's values, checking its keys.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    let mut seen = Seen::default();
    while let Some(key) = map.next_key::<Key<'de>>()? {
        seen.insert(&key)?;
        map.next_value::<Skipped>()?;
    }
    Ok(())
}

/// A string field, borrowed from the frame where the format allows.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor(PhantomData)).map(Text)
    }
}

struct StrVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
    type Value = Cow<'a, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A response's `response` field: a status word, or the list of nicks.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Status<'a> {
    #[serde(borrow)]
    Word(Cow<'a, str>),
    Nicks(Vec<String>),
}

/// The `visit_*` methods of a visitor that skips every scalar (the value
/// is consumed).
macro_rules! skip_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    };
}
use skip_scalars;

/// The `visit_*` methods of a visitor whose value is an `Option`: `None`
/// for every scalar shape it does not want (the value is consumed).
macro_rules! skip_other_shapes {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// A frame's `message` field, read whatever its shape: `None` inside if it
/// is neither a string nor a map with string `salt` and `token`. Anything
/// else is skipped, the keys of its maps checked.
#[derive(Debug)]
pub struct MessageField<'a>(pub Option<MessageBody<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for MessageField<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MessageFieldVisitor(PhantomData))
            .map(MessageField)
    }
}

struct MessageFieldVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for MessageFieldVisitor<'a> {
    type Value = Option<MessageBody<'a>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message field")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(MessageBody::Text(Cow::Borrowed(v))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(MessageBody::Text(Cow::Owned(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut salt, mut token) = (None, None);
        let mut seen = Seen::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            seen.insert(&key)?;
            match &key {
                Key::Text(field) if field == "salt" => {
                    salt = map.next_value::<TextOrSkipped<'a>>()?.0;
                }
                Key::Text(field) if field == "token" => {
                    token = map.next_value::<TextOrSkipped<'a>>()?.0;
                }
                _ => map.next_value::<Skipped>().map(drop)?,
            }
        }
        Ok(salt
            .zip(token)
            .map(|(salt, token)| MessageBody::Sealed(Sealed { salt, token })))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    skip_other_shapes!();
}

/// Skips a sequence's elements, checking the keys of every map inside.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Skipped>()?.is_some() {}
    Ok(())
}

/// A string value, or `None` for a value of any other shape (skipped).
struct TextOrSkipped<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for TextOrSkipped<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(PhantomData))
            .map(TextOrSkipped)
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Option<Cow<'a, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    skip_other_shapes!();
}
