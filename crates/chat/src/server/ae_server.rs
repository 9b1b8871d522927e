//! The AE layer's server (the lab's AEServer).
//!
//! The lab's AEServer was SimpleServer with msgpack instead of pickle: the
//! constructor's `_serial_function` and `_deserial_function` changed, and
//! nothing else. Our frames are decoded into types before the chat logic
//! sees them, whatever carries them, so what this server changes is what it
//! relays: only `{"salt", "token"}` bodies.
//! Its log shows what the lab's question 11 asks about: the server holds
//! salts and tokens, never a readable message.

use super::simple_server::{Accept, SimpleServer, TrustModel};

/// A chat server that relays encrypted messages only.
pub fn ae_server(trust: TrustModel) -> SimpleServer {
    SimpleServer::accepting(trust, Accept::SealedOnly)
}
