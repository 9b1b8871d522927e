//! TP unsecured chat, in Rust: a chat whose server and clients are insecure
//! on purpose, the tools that attack it, and the encryption layers that
//! answer the attacks. This crate is the command-line app: the binaries'
//! flags, the terminal client, printing and exit codes. The chat itself
//! (wire, layers, client, server, attacks) is the library [`chat`], which
//! prints nothing and is re-exported here; the lab tooling (demo,
//! benchmark, the helper that runs the binaries) is the crate `chat-lab`.
//!
//! # The whole, beside the Python original
//!
//! | Python original | the app (this crate) | the library ([`chat`]) |
//! |---|---|---|
//! | `base_server.py` | [`server`] (a server binary's life, Ctrl-C) | `chat::server::BaseServer` |
//! | `base_client.py` | | `chat::client::BaseClient`, `chat::client::Inbox` |
//! | `simple_server.py` | `simple_server` | `chat::server::SimpleServer` |
//! | `simple_client.py` (a pywebio page) | [`terminal`], `input`, `editor`, `screen`, [`display`]; `simple_client` | `chat::client::SimpleClient` |
//! | `simple_bigbrother.py` | [`tools`]; `simple_bigbrother` | `chat::attack::simple_bigbrother` |
//! | `simple_dos.py` | [`tools`]; `simple_dos` | `chat::attack::simple_dos` |
//! | `simple_exploite.py` | [`tools`]; `simple_exploit` | `chat::attack::simple_exploit` |
//! | `AEServer.py` | `ae_server` | `chat::server::ae_server` |
//! | `AEClient.py` | `ae_client`; `password` | `chat::layer::crypto`, `chat::layer::AeSealer` |
//! | `rogue_server.py` | `rogue_server` | `chat::server::rogue_server` |
//! | `AEADClient.py` | `aead_client` | `chat::layer::AeadSealer` |
//! | (question 13) | `signed_client`, `signed`; `insider_forge` | `chat::layer::SignedSealer`, `chat::attack::insider_forge` |
//!
//! Binary names are `code` without a link; they live in `src/bin`, parse
//! their flags ([`flags`]) and call one function here.
//!
//! # Modules
//!
//! - [`flags`]: the flags the binaries share, into the library's types
//!   (its enums through one value parser, [`flags::choice`]);
//! - `password`: where the encrypted clients find the password;
//! - [`logging`]: `env_logger` on stderr, through a queue that never blocks;
//! - [`display`]: the one place peer text is turned into printed lines;
//! - `layers`: what the app adds to each layer (its binary, how its client
//!   starts, its commands), the one `match` on the layer here; `signed`,
//!   the signed layer's files and commands;
//! - [`terminal`]: the chat client's loop, `input` where its lines come
//!   from (stdin, or `editor`, the line editor, for a person), `screen`
//!   where its lines go;
//! - [`server`]: a server binary's life, from bind to Ctrl-C;
//! - [`tools`]: the attack tools as programs;
//! - [`web`]: pages: the client's (`--web`) and the teacher's view
//!   (`--dashboard`);
//! - [`Error`], [`exit`], [`exit_status`]: what stops a binary, and its
//!   exit status.

pub use chat;

pub mod display;
pub mod flags;
pub mod logging;
pub mod server;
pub mod terminal;
pub mod tools;
pub mod web;

mod editor;
mod error;
mod input;
mod layer_client;
mod layers;
mod password;
mod screen;
mod signed;

pub use error::Error;
pub use layer_client::{ClientArgs, Commands, LayerClient};
pub use layers::{AppLayer, app_layer, client_binary};
pub use password::{PASSWORD_ENV, PasswordError};

use std::process::ExitCode;

use chat::client::{ClientError, Endpoint};

/// The exit code for a binary's outcome: 0 on success; on an error, its
/// whole chain of causes on stderr in one line, and 1. Queued log lines are
/// written first.
pub fn exit<E: Into<anyhow::Error>>(outcome: Result<(), E>) -> ExitCode {
    logging::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// The exit code for a tool that succeeds or not: 0 if `Ok(true)`, 1 if
/// `Ok(false)` (it said why on stdout), 1 with the error on stderr.
pub fn exit_status<E: Into<anyhow::Error>>(outcome: Result<bool, E>) -> ExitCode {
    logging::flush();
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(e),
    }
}

/// What a client or tool says when it cannot connect: both ports, and how to
/// start a server; other errors pass through.
pub fn no_server(endpoint: &Endpoint, error: ClientError) -> Error {
    match error {
        ClientError::Unreachable { source, .. } => Error::NoServer {
            host: endpoint.host.clone(),
            port: endpoint.port,
            broadcast_port: endpoint.broadcast_port,
            cause: source.to_string(),
        },
        other => other.into(),
    }
}

fn fail<E: Into<anyhow::Error>>(error: E) -> ExitCode {
    eprintln!("error: {:#}", error.into());
    ExitCode::FAILURE
}
