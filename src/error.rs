//! What can stop a binary: its one error type.

use chat::client::ClientError;
use chat::wire::Nick;
use chat::{attack, layer};

use crate::{flags, password};

/// What can stop a binary: its one error type, each variant keeping its
/// cause as a `source()`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Client(#[from] ClientError),
    /// No server answers where the client looked: one line that names both
    /// ports and says how to start one, from the project (make) or from the
    /// students' archive (its binaries, no make).
    #[error(
        "cannot reach server at {host} (request port {port}, broadcast port {broadcast_port}): {cause}; is one running? `make run-server` (or `simple_server` from an archive) starts one"
    )]
    NoServer {
        host: String,
        port: u16,
        broadcast_port: u16,
        cause: String,
    },
    #[error("cannot join as '{nick}': {reason}")]
    JoinRefused { nick: Nick, reason: String },
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Layer(#[from] layer::LayerError),
    #[error(transparent)]
    NoChatId(#[from] flags::NoChatId),
    #[error(transparent)]
    NoDataFolder(#[from] flags::NoDataFolder),
    #[error(transparent)]
    Identity(#[from] layer::IdentityError),
    #[error(transparent)]
    KnownMembers(#[from] layer::KnownError),
    #[error(transparent)]
    Exploit(#[from] attack::simple_exploit::ExploitError),
    #[error(transparent)]
    Command(#[from] attack::simple_exploit::CommandTooLong),
    #[error(transparent)]
    Forge(#[from] attack::insider_forge::ForgeError),
}
