//! The security layers of the message field `M`, and the one interface they
//! share: a [`Seal`] for what a client sends, an [`Open`] for what it
//! receives.
//!
//! Python's `AEClient(SimpleClient)` overrode `message` and `on_recv`, and
//! `AEADClient(AEClient)` overrode them again. Here a layer is a pair of
//! small types plugged into the one client, and [`Layer`] names them. What
//! the library knows of each layer (its sealer and opener, its body on the
//! ZeroMQ wire, whether it keeps counters) is stated once, in the layer's
//! own file (`facts.rs` says what), and gathered by one `match`
//! (`catalogue.rs`): adding a layer is one file here and one arm of
//! [`Layer`].
//!
//! - `plain`: the text as is (the original);
//! - `ae_client`: AE, a Fernet token per message (the lab's AEClient);
//! - `aead_client/`: AEAD, the sender's nick and room sealed with the text
//!   (`plaintext`), a TTL, a replay guard and per-sender counters (the
//!   lab's AEADClient, and more);
//! - `signed_client/`: AEAD plus a signature by each member's own key,
//!   pinned by receivers on first contact: the member's key pair and its
//!   file, public keys and fingerprints, the pins and their file;
//! - `keys/`: the password and what is derived from it: [`crypto`] (the
//!   lab's scheme under the original's function names), the two key
//!   schedules of `--kdf`, a receiver's keys by salt and the budget that
//!   rations the expensive ones;
//! - what the encrypted layers share: their [`AeSettings`], the [`Room`]
//!   a message is sealed for, and injected time (`clock`).

pub(crate) mod ae_client;
pub(crate) mod aead_client;
pub(crate) mod catalogue;
pub(crate) mod clock;
pub(crate) mod facts;
pub(crate) mod keys;
pub(crate) mod plain;
pub(crate) mod plaintext;
pub(crate) mod room;
pub(crate) mod settings;
pub(crate) mod signed_client;

use crate::wire::{FrameError, MessageBody, Nick, Response};

pub use ae_client::{AeOpener, AeSealer};
pub use aead_client::counters::{
    MAX_SESSIONS_PER_SENDER, MAX_TRACKED_SENDERS, SESSION_ID_LEN, SequenceTracker, SessionId,
    Stamp, Tracked,
};
pub use aead_client::{AeadOpener, AeadSealer};
pub use catalogue::Layer;
pub use keys::crypto;
pub use keys::crypto::{DEFAULT_ITERATIONS, DecryptError};
pub use keys::kdf::{
    CHAT_ID_LEN, ChatId, ChatIdError, HKDF_DEFAULT_ITERATIONS, Kdf, KeyScheme, MessageKeys,
};
pub use keys::secret::Password;
pub use plain::Plain;
pub use plaintext::SealedPlaintext;
pub use room::{DEFAULT_ROOM, Room};
pub use settings::{AeSettings, DEFAULT_TTL_SECS, SaltMode};
pub use signed_client::identity::{Identity, IdentityError, Origin, file_name_for};
pub use signed_client::known_members::{
    KnownError, KnownMembers, MAX_PINS, Pin, Pinning, Place, Verifying, skeleton_of,
};
pub use signed_client::member_key::{Fingerprint, KeyError, MemberKey};
pub use signed_client::pin_file::MAX_RECORD_BYTES;
pub use signed_client::{Keyring, SignedSealer, opener as signed_opener};

/// The sending half of a security layer (Python's `encrypt_message` side).
pub trait Seal: Send {
    /// The `message` field for `text`, sent by `nick`.
    fn seal(&mut self, nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError>;

    /// What the server answered to the message sealed last. A layer that
    /// counts its messages commits the count only when it was
    /// [`Verdict::Accepted`]: a refused message was never broadcast, so no
    /// receiver should think it lost. Layers without state ignore it.
    fn verdict(&mut self, _verdict: Verdict) {}
}

/// The server's answer to a sealed message, as a layer cares about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `ok`: the message was broadcast.
    Accepted,
    /// Anything else: it was not.
    Refused,
}

impl Verdict {
    pub fn of(response: &Response) -> Self {
        match response {
            Response::Ok => Self::Accepted,
            Response::Ko(_) | Response::Nicks { .. } => Self::Refused,
        }
    }
}

/// The receiving half of a security layer (Python's `decrypt_message` side).
/// It owns whatever the layer remembers between messages (keys, replays).
pub trait Open: Send {
    /// The text of a `message` field that a frame says `nick` sent, or why
    /// this layer refuses it.
    fn open(&mut self, nick: &str, body: &MessageBody<'_>) -> Result<Opened, Rejection>;

    /// [`open`](Self::open) for each message of a burst that arrived
    /// together, in order: a layer may share work between them (none does
    /// now: the signed layer checks each signature on its own, by one
    /// rule).
    fn open_all(&mut self, burst: &[(&str, &MessageBody<'_>)]) -> Vec<Result<Opened, Rejection>> {
        burst
            .iter()
            .map(|&(nick, body)| self.open(nick, body))
            .collect()
    }
}

impl<T: Seal + ?Sized> Seal for Box<T> {
    fn seal(&mut self, nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        (**self).seal(nick, text)
    }

    fn verdict(&mut self, verdict: Verdict) {
        (**self).verdict(verdict)
    }
}

impl<T: Open + ?Sized> Open for Box<T> {
    fn open(&mut self, nick: &str, body: &MessageBody<'_>) -> Result<Opened, Rejection> {
        (**self).open(nick, body)
    }

    fn open_all(&mut self, burst: &[(&str, &MessageBody<'_>)]) -> Vec<Result<Opened, Rejection>> {
        (**self).open_all(burst)
    }
}

/// A message a layer accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub text: String,
    /// What the layer noticed on the way (messages missing before this one).
    pub warnings: Vec<String>,
    /// What the layer learnt from this message and says once (the signed
    /// layer pinning a key on first contact).
    pub notes: Vec<String>,
}

impl Opened {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Why a layer refuses a message: the `REASON` of `[rejected] NICK: REASON`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A plain client holds no key.
    #[error("encrypted message (this client has no key)")]
    Encrypted,
    /// An encrypted layer shows no cleartext.
    #[error("not encrypted (cleartext refused)")]
    Cleartext,
    /// The `message` field has no shape of the protocol.
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// The token is sound, but sealed by someone else than the frame claims.
    #[error("sender mismatch (sealed by {sealed_by})")]
    SenderMismatch { sealed_by: String },
    /// This exact token was already accepted.
    #[error("replay of a message already accepted")]
    Replay,
    /// The replay guard is full: a token it cannot remember is refused.
    #[error("too many recent messages to check for replays, not accepted")]
    ReplayGuardFull,
    /// The sealed content is not a JSON object: most likely an AE client's
    /// text, which carries no sealed nick.
    #[error("sealed content is not a JSON object (sent by an AE client?)")]
    NotAnObject,
    #[error("sealed content is not {{nick, message, room}}: {0}")]
    BadPlaintext(String),
    /// The sealed `session` is not what a sealer draws.
    #[error("sealed session is not {SESSION_ID_LEN} ASCII letters or digits")]
    BadSession,
    /// The token is sound, but sealed for another chat.
    #[error("sealed for room '{sealed_for}', this client is in '{room}'")]
    OtherRoom { sealed_for: String, room: Room },
    /// A key for this new salt would cost a derivation over the budget.
    #[error("too many new salts, not verified")]
    OverBudget,
    /// The client fell so far behind that it dropped this frame unread.
    #[error("receiver overloaded, not verified")]
    Overloaded,
    /// The signed layer's fields are missing or malformed.
    #[error("not signed as the signed layer signs: {0}")]
    Unsigned(String),
    #[error("bad signing key: {0}")]
    BadKey(#[from] KeyError),
    /// The signature is not the named key's over the message's fields.
    #[error("bad signature")]
    BadSignature,
    /// The nick has a key pinned, and this is another; `pinned_for` names
    /// the nick it is pinned for when the message's nick only looks like it
    /// (`аlice` with a Cyrillic `а`, for `alice`).
    #[error("key changed: pinned {pinned}{}, got {got}", lookalike(.pinned_for))]
    KeyChanged {
        pinned: Fingerprint,
        got: Fingerprint,
        pinned_for: Option<String>,
    },
    /// A nick never seen, when [`MAX_PINS`] are pinned.
    #[error("too many members pinned ({MAX_PINS}), no key pinned for a new nick")]
    TooManyPins,
}

/// ` for 'alice', whom this nick looks like`, when the key changed is a
/// lookalike's.
fn lookalike(pinned_for: &Option<String>) -> String {
    pinned_for
        .as_ref()
        .map(|nick| format!(" for '{nick}', whom this nick looks like"))
        .unwrap_or_default()
}

/// Why a message could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error("cannot encode the sealed content: {0}")]
    Encode(String),
}

/// Why a layer's sealer or opener could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    /// An encrypted layer was asked for without a password.
    #[error("the {0} layer needs a password")]
    NoPassword(Layer),
    /// The signed layer's key pair could not be made.
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
}
