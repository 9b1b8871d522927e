//! The security layers of the message field `M`, and the one interface they
//! share: a [`Seal`] for what a client sends, an [`Open`] for what it
//! receives.
//!
//! Python's `AEClient(SimpleClient)` overrode `message` and `on_recv`, and
//! `AEADClient(AEClient)` overrode them again. Here a layer is a pair of
//! small types plugged into the one client; [`Layer`] names them, and every
//! binary, the demo and the benchmark take their layer from it, so adding a
//! layer is one arm of this enum that the compiler then asks for wherever a
//! layer matters.
//!
//! - [`plain`]: the text as is (the original);
//! - [`crypto`]: the lab's scheme, PBKDF2 then Fernet, under the original's
//!   function names;
//! - [`ae_client`]: AE, a Fernet token per message;
//! - [`aead_client`]: AEAD, the sender's nick and room sealed with the text,
//!   a TTL, a replay guard and per-sender counters;
//! - [`signed_client`]: AEAD plus a signature by each member's own key,
//!   pinned by receivers on first contact.
//!
//! And what the encrypted layers are built of, one concept each:
//! [`secret`] (the password and keys, never printed, wiped on drop),
//! [`kdf`] (the two key schemes, `--kdf lab|hkdf`), [`key_cache`] and
//! [`budget`] (message keys by salt, and the ration of expensive ones),
//! [`room`], [`clock`] (injected time), [`replay`] (the replay guard) and
//! [`counters`] (sequence numbers per sender and session); and the signed
//! layer's own: [`identity`] (a member's key pair and its file),
//! [`member_key`] (public keys and their fingerprints), [`known_members`]
//! (the keys pinned, and their file) and [`private_file`] (files written
//! whole, owner-only).

pub(crate) mod ae_client;
pub(crate) mod aead_client;
pub(crate) mod budget;
pub(crate) mod clock;
pub(crate) mod counters;
pub mod crypto;
pub(crate) mod identity;
pub(crate) mod kdf;
pub(crate) mod key_cache;
pub(crate) mod known_members;
pub(crate) mod member_key;
pub(crate) mod plain;
pub(crate) mod private_file;
pub(crate) mod replay;
pub(crate) mod room;
pub(crate) mod secret;
pub(crate) mod signed_client;

use crate::named::named_enum;
use crate::wire::{FrameError, MessageBody, Nick, Response, ZmqBody};

pub use ae_client::{AeOpener, AeSealer, AeSettings, DEFAULT_TTL_SECS, SaltMode};
pub use aead_client::{AeadOpener, AeadSealer, SealedPlaintext};
pub use crypto::{DEFAULT_ITERATIONS, DecryptError};
pub use identity::{Identity, IdentityError, Origin};
pub use kdf::{Kdf, MessageKeys};
pub use known_members::{KnownError, KnownMembers, MAX_PINS, Pinning};
pub use member_key::{Fingerprint, KeyError, MemberKey};
pub use plain::Plain;
pub use room::{DEFAULT_ROOM, Room};
pub use secret::Password;
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
    /// together, in order: a layer may share work between them (the signed
    /// layer verifies their signatures as a batch).
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
    /// The nick has a key pinned, and this is another.
    #[error("key changed: pinned {pinned}, got {got}")]
    KeyChanged {
        pinned: Fingerprint,
        got: Fingerprint,
    },
    /// A nick never seen, when [`MAX_PINS`] are pinned.
    #[error("too many members pinned ({MAX_PINS}), no key pinned for a new nick")]
    TooManyPins,
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

named_enum! {
    /// The layers, by name: a flag value (`--mode`), a column of the demo.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Layer {
        Plain = "plain", "The text in clear, as the Python original",
        Ae = "ae", "A Fernet token per message, under a key derived from a password",
        Aead = "aead", "AE with the sender's nick sealed inside, a TTL, a replay guard, counters",
        Signed = "signed", "AEAD signed by each member's own key, pinned on first contact",
    }
}

impl Layer {
    /// Whether messages are encrypted (and a password needed).
    pub fn encrypted(self) -> bool {
        match self {
            Self::Plain => false,
            Self::Ae | Self::Aead | Self::Signed => true,
        }
    }

    /// The client binary of this layer.
    pub fn client_binary(self) -> &'static str {
        match self {
            Self::Plain => "simple_client",
            Self::Ae => "ae_client",
            Self::Aead => "aead_client",
            Self::Signed => "signed_client",
        }
    }

    /// How a client of this layer serialises its requests on the ZeroMQ
    /// wire: the original's plain client pickles, the lab's AE server
    /// expects msgpack.
    pub fn zmq_body(self) -> ZmqBody {
        match self {
            Self::Plain => ZmqBody::Pickle,
            Self::Ae | Self::Aead | Self::Signed => ZmqBody::Msgpack,
        }
    }

    /// The sending half, for a client of this layer. A signed sealer made
    /// here signs with a key pair made for it and kept nowhere (the demo's,
    /// the benchmark's members); `signed_client` signs with the one in its
    /// identity file ([`signed_client::SignedSealer::new`]).
    pub fn sealer(self, settings: Option<&AeSettings>) -> Result<Box<dyn Seal>, LayerError> {
        Ok(match (self, settings) {
            (Self::Plain, _) => Box::new(Plain),
            (Self::Ae, Some(s)) => Box::new(ae_client::AeSealer::new(s)),
            (Self::Aead, Some(s)) => Box::new(aead_client::AeadSealer::new(s)),
            (Self::Signed, Some(s)) => {
                Box::new(signed_client::SignedSealer::new(s, Identity::generate()?))
            }
            (Self::Ae | Self::Aead | Self::Signed, None) => {
                return Err(LayerError::NoPassword(self));
            }
        })
    }

    /// The receiving half, for a client of this layer. A signed opener made
    /// here pins keys in memory, for its lifetime; `signed_client` keeps
    /// them in its known-members file ([`signed_client::opener`]).
    pub fn opener(self, settings: Option<&AeSettings>) -> Result<Box<dyn Open>, LayerError> {
        Ok(match (self, settings) {
            (Self::Plain, _) => Box::new(Plain),
            (Self::Ae, Some(s)) => Box::new(ae_client::AeOpener::new(s)),
            (Self::Aead, Some(s)) => Box::new(aead_client::AeadOpener::new(s)),
            (Self::Signed, Some(s)) => {
                Box::new(signed_client::opener(s, KnownMembers::in_memory()))
            }
            (Self::Ae | Self::Aead | Self::Signed, None) => {
                return Err(LayerError::NoPassword(self));
            }
        })
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain => "plain",
            Self::Ae => "AE",
            Self::Aead => "AEAD",
            Self::Signed => "signed",
        })
    }
}
