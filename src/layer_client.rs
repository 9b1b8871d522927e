//! What a client binary was given (the chat to join, and an encrypted
//! layer's keys and files), and the client of a layer the app starts from
//! it: how it seals and opens, and the commands it adds to the client's
//! own.

use chat::layer::{AeSettings, Open, Seal};
use chat::{Layer, Nick};

use crate::Error;
use crate::flags::{ClientFlags, CryptoFlags, IdentityFlags};

/// What a client binary was given: the chat to join, and the keys and
/// files of an encrypted layer.
pub struct ClientArgs<'a> {
    pub layer: Layer,
    pub client: &'a ClientFlags,
    /// The nick it joins as: `--nick`, or one drawn at random, once.
    pub nick: Nick,
    /// Whether the nick was chosen (`--nick`) rather than drawn.
    pub nick_chosen: bool,
    /// The shared secret and how this client seals, with AEAD's TTL.
    pub crypto: Option<(&'a CryptoFlags, u64)>,
    /// The signed layer's files.
    pub identity: Option<&'a IdentityFlags>,
}

impl<'a> ClientArgs<'a> {
    /// A client of `layer` without keys.
    pub fn new(layer: Layer, client: &'a ClientFlags) -> Self {
        Self {
            layer,
            client,
            nick: client.nick(),
            nick_chosen: client.nick.is_some(),
            crypto: None,
            identity: None,
        }
    }

    /// With the shared secret of an encrypted layer, and its TTL.
    pub fn with_crypto(mut self, crypto: &'a CryptoFlags, ttl: u64) -> Self {
        self.crypto = Some((crypto, ttl));
        self
    }

    /// With the signed layer's files.
    pub fn with_identity(mut self, identity: &'a IdentityFlags) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The encrypted layers' settings, once the password is found.
    pub(crate) fn settings(&self) -> Result<Option<AeSettings>, Error> {
        let Some((crypto, ttl)) = self.crypto else {
            return Ok(None);
        };
        Ok(Some(crypto.settings(ttl)?))
    }
}

/// A layer's client, ready to chat: how it seals and opens, and the
/// commands it adds.
pub struct LayerClient {
    pub sealer: Box<dyn Seal>,
    pub opener: Box<dyn Open>,
    pub commands: Box<dyn Commands>,
}

/// The commands a layer adds to the client's own (`/list`, `/quit`, ...).
pub trait Commands: Send {
    /// What `/help` adds, a line per command.
    fn help(&self) -> &'static str;

    /// Runs `NAME ARGS` (`/whois`, `alice`) if NAME is one of this layer's
    /// commands: the line to show; `None` if it is not one of them.
    fn run(&self, name: &str, args: &str) -> Option<String>;
}

/// A layer with no commands of its own.
pub(crate) struct NoCommands;

impl Commands for NoCommands {
    fn help(&self) -> &'static str {
        ""
    }

    fn run(&self, _name: &str, _args: &str) -> Option<String> {
        None
    }
}
