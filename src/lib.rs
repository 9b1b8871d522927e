//! TP unsecured chat, in Rust: a chat whose server and clients are insecure
//! on purpose, the tools that attack it, and the encryption layers that
//! answer the attacks. It renders the Python lab of the same name module by
//! module, so the two can be read side by side.
//!
//! # Architecture
//!
//! A server listens on two TCP ports, as the original's two ZeroMQ sockets:
//! a *request* port where each client sends `join`, `leave`, `message` and
//! `list` frames and gets one response each (REQ/REP), and a *broadcast*
//! port that only pushes every accepted message to every connected reader
//! (PUB/SUB). Frames are JSON objects, one per line ([`framing`], [`frame`]).
//!
//! The transport and the chat logic are separate, as in the original:
//! [`base_server`] owns the sockets, one thread per connection and the
//! limits, and calls a [`base_server::Service`] for each request (Python's
//! `on_recv` callback). [`simple_server`] is that service: the set of joined
//! nicks and the four callbacks. The AE server ([`ae_server`]) is the same
//! service accepting only encrypted bodies; the [`rogue_server`] wraps it and
//! attacks what it relays. Where Python subclassed, Rust composes.
//!
//! The broadcast side ([`broadcast`]) is where speed and robustness are
//! decided: each accepted line is appended once to a bounded shared ring,
//! the sender gets `ok` at once, and each subscriber's thread writes
//! everything new in one system call. A subscriber that stops reading blocks
//! only itself and is disconnected once it falls a whole ring behind: every
//! subscriber gets every line in order, or is told and dropped.
//!
//! On the client side, [`base_client`] is the transport (a request
//! connection, and a thread reading the broadcast connection), and
//! [`simple_client`] the chat client, composed with a security layer: a
//! [`simple_client::Seal`] for what it sends and a [`simple_client::Open`]
//! for what it receives. The plain layer is in [`simple_client`]; the lab's
//! scheme (PBKDF2 + Fernet) is in [`crypto`]; the AE layer in [`ae_client`];
//! the AEAD layer, with the sender's nick sealed in the token, a TTL, a
//! replay guard and per-sender counters, in [`aead_client`]. [`terminal`]
//! runs any of them as an interactive program.
//!
//! The lab's attacks on the plain chat use the same client transport, as a
//! student's scripts would: [`simple_bigbrother`] reads the broadcast port,
//! [`simple_dos`] abuses the original's trust model (which the servers'
//! `--guard` mode replaces), and [`simple_exploit`] sends the pickle payload
//! that ran code on the original, among other hostile inputs.
//!
//! # Modules and the Python original
//!
//! | module | Python original |
//! |---|---|
//! | [`base_server`], [`broadcast`] | `base_server.py` |
//! | [`base_client`] | `base_client.py` |
//! | [`simple_server`] | `simple_server.py` |
//! | [`simple_client`], [`terminal`], [`names`] | `simple_client.py`, names_generator |
//! | [`crypto`], [`ae_client`] | `AEClient.py` |
//! | [`ae_server`] | `AEServer.py` |
//! | [`aead_client`] | `AEADClient.py` |
//! | [`rogue_server`] | `rogue_server.py` |
//! | [`simple_bigbrother`] | `simple_bigbrother.py` |
//! | [`simple_dos`] | `simple_dos.py` |
//! | [`simple_exploit`] | `simple_exploite.py` |
//!
//! The binaries in `src/bin/` only parse flags ([`cli`]) and call these.

pub mod ae_client;
pub mod ae_server;
pub mod aead_client;
pub mod base_client;
pub mod base_server;
pub mod bench;
pub mod broadcast;
pub mod cli;
pub mod crypto;
pub mod demo;
pub mod frame;
pub mod framing;
pub mod names;
pub mod process;
pub mod rogue_server;
pub mod simple_bigbrother;
pub mod simple_client;
pub mod simple_dos;
pub mod simple_exploit;
pub mod simple_server;
pub mod terminal;
