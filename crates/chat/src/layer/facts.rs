//! The layers by name, and what the library knows of each: the one `match`
//! on [`Layer`] in the library. Each layer states its facts in its own file
//! (a `FACTS` constant beside its sealer and opener); this file only
//! gathers them, so a new layer is one file and one arm here.

use std::fmt;

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

/// What the library knows of a layer, stated in the layer's own file.
pub(crate) struct Facts {
    /// How people write its name (`AEAD`).
    pub title: &'static str,
    /// How its clients serialise requests on the ZeroMQ wire: the
    /// original's plain client pickles, the lab's AE server expects msgpack.
    pub zmq_body: ZmqBody,
    /// Whether its messages carry per-sender counters, which receivers
    /// check (and an insider may try to poison).
    pub counters: bool,
    /// How its sealer and opener are made.
    pub make: Make,
}

/// How a layer's sealer and opener are made: with no key at all, or from
/// the settings every member of an encrypted chat shares.
pub(crate) enum Make {
    Keyless {
        sealer: fn() -> Box<dyn Seal>,
        opener: fn() -> Box<dyn Open>,
    },
    Keyed {
        sealer: fn(&AeSettings) -> Result<Box<dyn Seal>, LayerError>,
        opener: fn(&AeSettings) -> Box<dyn Open>,
    },
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
