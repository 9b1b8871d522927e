//! What the library knows of a layer, as each layer states it in its own
//! file (a `FACTS` constant beside its sealer and opener): its name as
//! people write it, its body on the ZeroMQ wire, whether it keeps counters,
//! and how its sealer and opener are made. The catalogue of layers gathers
//! them.

use crate::layer::settings::AeSettings;
use crate::layer::{LayerError, Open, Seal};
use crate::wire::ZmqBody;

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
