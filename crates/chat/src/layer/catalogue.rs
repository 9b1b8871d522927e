//! The layers by name, and the one `match` on [`Layer`] in the library: it
//! gathers each layer's facts from its own file, so a new layer is one
//! file and one arm here.

use std::fmt;

use crate::layer::facts::{Facts, Make};
use crate::layer::settings::AeSettings;
use crate::layer::{LayerError, Open, Seal};
use crate::layer::{ae_client, aead_client, plain, signed_client};
use crate::named::named_enum;
use crate::wire::ZmqBody;

named_enum! {
    /// The layers, by name: a flag value (`--layer`, `--mode`), a column of
    /// the demo.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Layer {
        Plain = "plain", "The text in clear, as the Python original",
        Ae = "ae", "A Fernet token per message, under a key derived from a password",
        Aead = "aead", "AE with the sender's nick sealed inside, a TTL, a replay guard, counters",
        Signed = "signed", "AEAD signed by each member's own key, pinned on first contact",
    }
}

impl Layer {
    fn facts(self) -> &'static Facts {
        match self {
            Self::Plain => &plain::FACTS,
            Self::Ae => &ae_client::FACTS,
            Self::Aead => &aead_client::FACTS,
            Self::Signed => &signed_client::FACTS,
        }
    }

    /// Whether messages are encrypted (and a password needed).
    pub fn encrypted(self) -> bool {
        matches!(self.facts().make, Make::Keyed { .. })
    }

    /// Whether its messages carry per-sender counters.
    pub fn keeps_counters(self) -> bool {
        self.facts().counters
    }

    /// How a client of this layer serialises its requests on the ZeroMQ
    /// wire.
    pub fn zmq_body(self) -> ZmqBody {
        self.facts().zmq_body
    }

    /// The sending half, for a client of this layer. A signed sealer made
    /// here signs with a key pair made for it and kept nowhere (the demo's,
    /// the benchmark's members); `signed_client` signs with the one in its
    /// identity file ([`SignedSealer::new`](crate::layer::SignedSealer::new)).
    pub fn sealer(self, settings: Option<&AeSettings>) -> Result<Box<dyn Seal>, LayerError> {
        match (&self.facts().make, settings) {
            (Make::Keyless { sealer, .. }, _) => Ok(sealer()),
            (Make::Keyed { sealer, .. }, Some(settings)) => sealer(settings),
            (Make::Keyed { .. }, None) => Err(LayerError::NoPassword(self)),
        }
    }

    /// The receiving half, for a client of this layer. A signed opener made
    /// here pins keys in memory, for its lifetime; `signed_client` keeps
    /// them in its known-members file
    /// ([`signed_opener`](crate::layer::signed_opener)).
    pub fn opener(self, settings: Option<&AeSettings>) -> Result<Box<dyn Open>, LayerError> {
        match (&self.facts().make, settings) {
            (Make::Keyless { opener, .. }, _) => Ok(opener()),
            (Make::Keyed { opener, .. }, Some(settings)) => Ok(opener(settings)),
            (Make::Keyed { .. }, None) => Err(LayerError::NoPassword(self)),
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.facts().title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Named;
    use crate::layer::Password;

    #[test]
    fn every_layer_makes_a_sealer_and_an_opener_and_only_plain_without_a_password() {
        let settings = AeSettings::new(Password::new("s3cret"));
        for &layer in Layer::ALL {
            assert!(layer.sealer(Some(&settings)).is_ok(), "{layer}");
            assert!(layer.opener(Some(&settings)).is_ok(), "{layer}");
            let keyless = layer.sealer(None).is_ok() && layer.opener(None).is_ok();
            assert_eq!(keyless, !layer.encrypted(), "{layer}");
        }
    }

    #[test]
    fn titles_and_bodies() {
        let titles: Vec<String> = Layer::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(titles, ["plain", "AE", "AEAD", "signed"]);
        assert_eq!(Layer::Plain.zmq_body(), ZmqBody::Pickle);
        assert_eq!(Layer::Signed.zmq_body(), ZmqBody::Msgpack);
        assert!(Layer::Aead.keeps_counters() && !Layer::Ae.keeps_counters());
    }
}
