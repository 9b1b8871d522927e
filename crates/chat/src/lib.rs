//! The chat of TP unsecured chat, as a library: a chat whose server and
//! clients are insecure on purpose, the attacks on it, and the encryption
//! layers that answer them. It renders the Python lab of the same name
//! module by module, so the two can be read side by side. It prints
//! nothing: it returns values and errors, and the command-line app (the
//! package `unsecured-chat`) prints them.
//!
//! # The layers, and the way imports run
//!
//! ```text
//!   attack   simple_bigbrother  simple_dos  simple_exploit  salt_flood  insider_forge
//!   server   base_server  broadcast  simple_server  ae_server  rogue_server
//!   client   base_client  inbox  simple_client  names
//!   layer    Seal, Open, Layer   plain  ae_client  aead_client/  signed_client/
//!            keys/ (crypto, kdf, secrets, key cache)  settings  room  clock
//!   wire     framing (JSON lines, ZMTP)  bodies (JSON, pickle, msgpack)
//!            frames  nicks  codec  connection
//! ```
//!
//! Each folder uses only the folders below it; `attack` and `server` never
//! use each other. A server listens on two TCP ports, as the original's two
//! ZeroMQ sockets: a *request* port where each client sends `join`,
//! `leave`, `message` and `list` and gets one response each (REQ/REP), and
//! a *broadcast* port that pushes every accepted message to every connected
//! reader (PUB/SUB). They carry JSON lines by default, or, with
//! `--wire zmq`, the original's own wire: ZeroMQ frames ([`wire::zmtp`],
//! written here) with pickled or msgpack'd bodies, so the lab's Python
//! clients and server meet ours.
//!
//! # What to use, beside the Python original
//!
//! | Python original | here |
//! |---|---|
//! | `base_server.py` | [`server::BaseServer`], its [`ServerHandle`] and [`server::Service`] (Python's `on_recv`) |
//! | `base_client.py` | [`client::BaseClient`], [`client::Inbox`] |
//! | `simple_server.py` | [`server::SimpleServer`] |
//! | `simple_client.py`, names_generator | [`client::SimpleClient`], [`client::random_nick`] |
//! | `simple_bigbrother.py` | [`attack::simple_bigbrother`] |
//! | `simple_dos.py` | [`attack::simple_dos`] |
//! | `simple_exploite.py` | [`attack::simple_exploit`] |
//! | `AEServer.py` | [`server::ae_server`] |
//! | `AEClient.py` | [`layer::crypto`] (`derive_key_from_password`, `encrypt_message`, `decrypt_message`), [`layer::AeSealer`], [`layer::AeOpener`] |
//! | `rogue_server.py` | [`server::rogue_server`] |
//! | `AEADClient.py` | [`layer::AeadSealer`], [`layer::AeadOpener`] |
//! | none: the lab's question 13, answered | [`layer::SignedSealer`], [`attack::insider_forge`] |
//! | the dictionaries, `pickle`/`msgpack`, ZeroMQ | [`wire`]: [`Request`], [`Response`], [`wire::Codec`], [`wire::zmtp`] |
//!
//! The public modules are the five layers above, [`named`] (enums named by
//! a word), and those that mirror one of the original's files with names of
//! their own: [`layer::crypto`], [`server::rogue_server`] and the five
//! attack scripts; and [`wire::zmtp`], a protocol of its own. Everything
//! else is private and re-exported by name.

pub mod attack;
pub mod client;
pub mod layer;
pub mod named;
pub mod server;
pub mod wire;

/// What the fuzz targets (`fuzz/`, with the feature `fuzzing`) drive beyond
/// the library's API: the readers that meet a peer's bytes first.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    pub use crate::wire::body::json::check_nesting;
    pub use crate::wire::body::pickle::check as check_pickle;
    pub use crate::wire::framing::lines::LineReader;
}

pub use client::{ClientError, Endpoint};
pub use layer::Layer;
pub use named::{Named, UnknownName};
pub use server::{ServerConfig, ServerHandle, TrustModel};
pub use wire::{Nick, Request, Response};
