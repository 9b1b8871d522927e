//! What the app adds to each layer: the one `match` on `Layer` in the app.
//! A layer's client binary, how its client is made from the flags (the
//! signed layer reads its own files), and the commands it adds to the
//! client's own.

use chat::{Layer, Named};

use crate::Error;
use crate::layer_client::{ClientArgs, LayerClient, NoCommands};
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
