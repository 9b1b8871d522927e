//! The command-line app of TP unsecured chat: the binaries' flags, the
//! terminal client, printing and exit codes, over the chat library
//! ([`chat`]: wire, layers, client, server, attacks), which prints nothing.
//! The binaries in `src/bin` parse their flags with [`flags`] and call one
//! function here.
//!
//! - [`flags`]: the flags the binaries share, into the library's types;
//! - [`password`]: where the encrypted clients find the password;
//! - [`logging`]: `env_logger` on stderr, through a queue that never blocks;
//! - [`display`]: the one place peer text is turned into printed lines;
//! - [`terminal`]: the chat client's loop, [`input`] where its lines come
//!   from (stdin, or a line editor for a person), [`screen`] where its lines
//!   go;
//! - [`server`]: a server binary's life, from bind to Ctrl-C;
//! - [`tools`]: the attack tools as programs.

pub use chat;

pub mod display;
pub mod flags;
pub mod logging;
pub mod server;
pub mod terminal;
pub mod tools;

mod error;
mod input;
mod password;
mod screen;

pub use error::Error;
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
