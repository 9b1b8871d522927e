//! The plain layer: the text travels as is, readable by anyone on the path.

use crate::layer::facts::{Facts, Make};
use crate::layer::{Open, Opened, Rejection, Seal, SealError};
use crate::wire::{MessageBody, Nick, ZmqBody};

/// The plain layer, as the library knows it.
pub(crate) const FACTS: Facts = Facts {
    title: "plain",
    zmq_body: ZmqBody::Pickle,
    counters: false,
    make: Make::Keyless {
        sealer: || Box::new(Plain),
        opener: || Box::new(Plain),
    },
};

/// The original's layer: none.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Seal for Plain {
    fn seal(&mut self, _nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        Ok(MessageBody::Text(text.to_owned().into()))
    }
}

impl Open for Plain {
    fn open(&mut self, _nick: &str, body: &MessageBody<'_>) -> Result<Opened, Rejection> {
        match body {
            MessageBody::Text(text) => Ok(Opened::text(text.as_ref())),
            MessageBody::Sealed(_) => Err(Rejection::Encrypted),
        }
    }
}
