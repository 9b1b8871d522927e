//! The one envelope every frame is read into, whatever body carried it, and
//! the readers serde needs for its fields. A peer chooses the shape of every
//! field, so a field of an unexpected shape is skipped, without recursion,
//! rather than followed: a `message` nested a million levels deep costs a
//! scan, not a stack.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{MessageBody, Sealed};

/// Every field a frame of the protocol may carry, whichever way it travels:
/// requests (`type`, `nick`, `message`, `subscriber`), responses and notices
/// (`response`, `error`, `more`). Unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub nick: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub message: Option<MessageField<'a>>,
    #[serde(borrow, default)]
    pub subscriber: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub response: Option<Status<'a>>,
    #[serde(borrow, default)]
    pub error: Option<Cow<'a, str>>,
    #[serde(default)]
    pub more: Option<usize>,
}

/// A response's `response` field: a status word, or the list of nicks.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Status<'a> {
    #[serde(borrow)]
    Word(Cow<'a, str>),
    Nicks(Vec<String>),
}

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
/// else is skipped without recursion, so a field nested a million levels
/// deep costs a scan, not a stack.
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
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "salt" => salt = map.next_value::<TextOrSkipped<'a>>()?.0,
                "token" => token = map.next_value::<TextOrSkipped<'a>>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
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

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
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

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    skip_other_shapes!();
}
