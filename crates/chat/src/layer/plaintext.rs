//! The sealed plaintext of the AEAD layer, and of every layer built on it:
//! the JSON object inside the token. The AE opener reads it too, to tell a
//! user that an AEAD member's message reached an AE client.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::layer::Rejection;
use crate::layer::aead_client::counters::{SessionId, Stamp};

/// Bytes JSON allows before a value: a plaintext's first other byte says
/// whether it is an object.
const JSON_WHITESPACE: &[u8] = b" \t\n\r";

/// The Fernet plaintext of the AEAD layer. Unknown fields are ignored, so a
/// layer may add its own.
#[derive(Debug, Serialize, Deserialize)]
pub struct SealedPlaintext<'a> {
    #[serde(borrow)]
    pub nick: Cow<'a, str>,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    /// The chat the sender meant the message for.
    #[serde(borrow)]
    pub room: Cow<'a, str>,
    /// The sender's counter of messages the server accepted, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The sender's session: counters restart with each session.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub session: Option<Cow<'a, str>>,
}

impl<'a> SealedPlaintext<'a> {
    /// Reads a decrypted plaintext, which must be a JSON object: serde
    /// would also read a struct from an array (`["bob","hi","lobby"]`),
    /// which the contract does not allow.
    pub fn parse(json: &'a [u8]) -> Result<Self, Rejection> {
        let first = json.iter().find(|b| !JSON_WHITESPACE.contains(b));
        if first != Some(&b'{') {
            return Err(Rejection::NotAnObject);
        }
        serde_json::from_slice(json).map_err(|e| Rejection::BadPlaintext(e.to_string()))
    }

    /// The counters, if the sender sealed them, with the token's date; a
    /// `session` that is not 12 ASCII letters or digits is refused, whether
    /// a `seq` comes with it or not.
    pub(crate) fn stamp(&self, sent_at: u64) -> Result<Option<Stamp>, Rejection> {
        let Some(session) = self.session.as_deref() else {
            return Ok(None);
        };
        let session = SessionId::parse(session).ok_or(Rejection::BadSession)?;
        Ok(self.seq.map(|seq| Stamp {
            session,
            seq,
            sent_at,
        }))
    }
}
