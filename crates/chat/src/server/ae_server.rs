//! The AE layer's server (the lab's AEServer).
//!
//! The lab's AEServer was SimpleServer with msgpack instead of pickle: the
//! constructor's `_serial_function` and `_deserial_function` changed, and
//! nothing else. Here that choice is [`ae_zmq_body`], which the `ae_server`
//! binary and the lab's staged servers configure on the ZeroMQ wire (our
//! servers read either body, and answer in the request's; what they
//! broadcast is in their own). Our frames are decoded into types before the
//! chat logic sees them, whatever carries them, so what this server changes
//! besides is what it relays: only `{"salt", "token"}` bodies.
//! Its log shows what the lab's question 11 asks about: the server holds
//! salts and tokens, never a readable message.

use super::simple_server::{Accept, SimpleServer, TrustModel};
use crate::wire::ZmqBody;

/// A chat server that relays encrypted messages only.
pub fn ae_server(trust: TrustModel) -> SimpleServer {
    SimpleServer::accepting(trust, Accept::SealedOnly)
}

/// How the AE server serialises its frames on the ZeroMQ wire (the lab's
/// question 10: the serialiser a pickle-reading server swaps for one that
/// runs nothing).
pub fn ae_zmq_body() -> ZmqBody {
    // BEGIN SOLUTION (step 4: the AE server's serialisation, in place of the plain server's pickle)
    ZmqBody::Msgpack
    // END SOLUTION
}
