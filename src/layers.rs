//! What the app adds to each layer: the one `match` on `Layer` in the app.
//! A layer's client binary, how its client is made from the flags (the
//! signed layer reads its own files), and the commands it adds to the
//! client's own.

use chat::Nick;
use chat::layer::{AeSettings, Open, Seal};
use chat::{Layer, Named};

use crate::Error;
use crate::flags::{ClientFlags, CryptoFlags, IdentityFlags};
use crate::signed;

/// What the app knows of a layer.
pub struct AppLayer {
    /// The layer's client binary.
    pub binary: &'static str,
    /// How its client is made from its binary's flags.
    start: fn(&ClientArgs) -> Result<LayerClient, Error>,
    /// The commands it adds (`/whois`), and what a client of another layer
    /// says when one of them is typed there.
    commands: &'static [&'static str],
    elsewhere: &'static str,
}

/// What the app knows of `layer`.
pub fn app_layer(layer: Layer) -> AppLayer {
    match layer {
        Layer::Plain => AppLayer::shared("simple_client"),
        Layer::Ae => AppLayer::shared("ae_client"),
        Layer::Aead => AppLayer::shared("aead_client"),
        Layer::Signed => AppLayer {
            binary: "signed_client",
            start: signed::start,
            commands: signed::COMMANDS,
            elsewhere: signed::ELSEWHERE,
        },
    }
}

/// The client binary of `layer`.
pub fn client_binary(layer: Layer) -> &'static str {
    app_layer(layer).binary
}

/// What the client of another layer says when `command` is one of this
/// layer's, if it is one of any layer's.
pub(crate) fn elsewhere(command: &str) -> Option<&'static str> {
    let owner = Layer::ALL.iter().map(|&layer| app_layer(layer));
    owner
        .filter(|app| app.commands.contains(&command))
        .map(|app| app.elsewhere)
        .next()
}

impl AppLayer {
    /// A layer whose keys (if any) all members share: its client is the
    /// library's sealer and opener, with no commands of its own.
    const fn shared(binary: &'static str) -> Self {
        Self {
            binary,
            start: shared_keys,
            commands: &[],
            elsewhere: "",
        }
    }

    /// The client of this layer, from its binary's flags.
    pub(crate) fn start(&self, args: &ClientArgs) -> Result<LayerClient, Error> {
        (self.start)(args)
    }
}

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
struct NoCommands;

impl Commands for NoCommands {
    fn help(&self) -> &'static str {
        ""
    }

    fn run(&self, _name: &str, _args: &str) -> Option<String> {
        None
    }
}

/// The client of a layer whose keys, if any, every member shares.
fn shared_keys(args: &ClientArgs) -> Result<LayerClient, Error> {
    let settings = args.settings()?;
    Ok(LayerClient {
        sealer: args.layer.sealer(settings.as_ref())?,
        opener: args.layer.opener(settings.as_ref())?,
        commands: Box::new(NoCommands),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_layer_has_its_binary_and_only_signed_has_commands() {
        let binaries: Vec<&str> = Layer::ALL.iter().map(|&l| client_binary(l)).collect();
        assert_eq!(
            binaries,
            ["simple_client", "ae_client", "aead_client", "signed_client"]
        );
        assert!(elsewhere("/whois").is_some_and(|note| note.contains("signed_client")));
        assert_eq!(elsewhere("/dance"), None);
    }
}
