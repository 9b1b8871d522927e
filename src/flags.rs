//! The flags the binaries share, parsed by clap into the library's types.

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::path::PathBuf;

use chat::Named;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Arg, Args, Command};

use crate::password;
use chat::client::{Endpoint, random_nick};
use chat::layer::DEFAULT_ROOM;
use chat::layer::DEFAULT_TTL_SECS;
use chat::layer::crypto::DEFAULT_ITERATIONS;
use chat::layer::{AeSettings, Kdf, Password, Room, SaltMode};
use chat::server::{DEFAULT_BROADCAST_PORT, DEFAULT_HOST, DEFAULT_MAX_CONNECTIONS, DEFAULT_PORT};
use chat::server::{ServerConfig, TrustModel};
use chat::wire::{Nick, Wire};

/// Where the server is: the flags every client and tool takes.
#[derive(Debug, Clone, Args)]
pub struct EndpointFlags {
    /// Host name or address of the server
    #[arg(long, default_value = DEFAULT_HOST)]
    pub host: String,
    /// The server's request port
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The server's broadcast port
    #[arg(long, default_value_t = DEFAULT_BROADCAST_PORT)]
    pub broadcast_port: u16,
    /// Wire: JSON lines, or the Python original's ZeroMQ with pickle (plain)
    /// or msgpack (encrypted layers) bodies
    #[arg(long, value_parser = choice::<Wire>(), default_value = "json")]
    pub wire: Wire,
}

/// Where a server listens.
#[derive(Debug, Clone, Args)]
pub struct ListenFlags {
    /// Host name or address to listen on
    #[arg(long, default_value = DEFAULT_HOST)]
    pub host: String,
    /// Request port (0 lets the system pick a free one, printed once listening)
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Broadcast port (0 lets the system pick a free one, printed once listening)
    #[arg(long, default_value_t = DEFAULT_BROADCAST_PORT)]
    pub broadcast_port: u16,
    /// Wire: JSON lines, or the Python original's ZeroMQ with pickle (plain)
    /// or msgpack (encrypted layers) bodies
    #[arg(long, value_parser = choice::<Wire>(), default_value = "json")]
    pub wire: Wire,
}

impl EndpointFlags {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(self.host.clone(), self.port, self.broadcast_port).on_wire(self.wire)
    }
}

/// Flags every client takes.
#[derive(Debug, Clone, Args)]
pub struct ClientFlags {
    #[command(flatten)]
    pub endpoint: EndpointFlags,
    /// Nick to join as (default: a random readable name)
    #[arg(long)]
    pub nick: Option<Nick>,
    #[command(flatten)]
    pub page: crate::web::PageFlags,
}

impl ClientFlags {
    pub fn nick(&self) -> Nick {
        self.nick.clone().unwrap_or_else(random_nick)
    }
}

/// The shared secret of the encrypted layers and how keys are derived from
/// it: what every member of a chat shares, and what a rogue server that
/// knows the password needs. Their `Debug` hides the password.
#[derive(Debug, Clone, Args)]
pub struct KeyFlags {
    /// Read the shared password from the first line of FILE (`-`: of stdin).
    /// Without it: the CHAT_PASSWORD environment variable, else a prompt
    /// without echo on a terminal. The password is never logged
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Shared password on the command line: visible to every user of the
    /// machine and kept in shell history (a warning says so); prefer the others
    #[arg(long, conflicts_with = "password_file")]
    pub password: Option<Password>,
    /// PBKDF2-HMAC-SHA256 iterations; every client of the chat must use the same
    #[arg(long, default_value_t = DEFAULT_ITERATIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: u32,
    /// Key scheme, the same for every client of the chat: lab (PBKDF2 for
    /// each message's salt, as the exercise) or hkdf (PBKDF2 once per room
    /// and password, then HKDF-SHA256 for each message's salt)
    #[arg(long, value_parser = choice::<Kdf>(), default_value = "lab")]
    pub kdf: Kdf,
    /// The chat this client is in: sealed in every AEAD message, which
    /// receivers in another room refuse (and part of the key with --kdf hkdf)
    #[arg(long, default_value = DEFAULT_ROOM)]
    pub room: Room,
}

impl KeyFlags {
    /// The settings these flags describe, once the password is found;
    /// `ttl` is AEAD's.
    pub fn settings(&self, ttl: u64) -> Result<AeSettings, password::PasswordError> {
        let password = password::read(self.password.as_ref(), self.password_file.as_deref())?;
        Ok(AeSettings {
            iterations: self.iterations,
            kdf: self.kdf,
            room: self.room.clone(),
            ttl,
            ..AeSettings::new(password)
        })
    }
}

/// Flags of the encrypted clients: the shared secret, and how this client
/// seals. Their `Debug` hides the password.
#[derive(Debug, Clone, Args)]
pub struct CryptoFlags {
    #[command(flatten)]
    pub keys: KeyFlags,
    /// Keep one salt for the whole session: one key derivation per sender
    /// instead of one per message (each message still gets its own IV)
    #[arg(long)]
    pub session_salt: bool,
    /// Seal messages as if this client's clock were off by SECS (negative:
    /// behind), to replay the lab's TTL experiment
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "SECS"
    )]
    pub clock_offset: i64,
}

impl CryptoFlags {
    /// The layer's settings, once the password is found; `ttl` is AEAD's.
    pub fn settings(&self, ttl: u64) -> Result<AeSettings, password::PasswordError> {
        Ok(AeSettings {
            salt_mode: if self.session_salt {
                SaltMode::PerSession
            } else {
                SaltMode::PerMessage
            },
            clock_offset: self.clock_offset,
            ..self.keys.settings(ttl)?
        })
    }
}

/// The signed layer's files: this member's key pair and the keys it has
/// pinned.
#[derive(Debug, Clone, Default, Args)]
pub struct IdentityFlags {
    /// Your key pair, created on first use (mode 0600, PKCS#8 PEM)
    /// [default: unsecured-chat/identity under $XDG_DATA_HOME, else
    /// ~/.local/share]
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// The keys you have pinned, one per nick, first seen first kept
    /// [default: known_members, in the identity file's folder]
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,
}

/// Where the signed layer's files go when no flag says.
pub const DATA_FOLDER: &str = "unsecured-chat";
const IDENTITY_FILE: &str = "identity";
const KNOWN_FILE: &str = "known_members";

/// Neither flag nor environment says where the signed layer's files go.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no folder for your identity: set XDG_DATA_HOME or HOME, or pass --identity FILE")]
pub struct NoDataFolder;

impl IdentityFlags {
    pub fn identity_path(&self) -> Result<PathBuf, NoDataFolder> {
        match &self.identity {
            Some(path) => Ok(path.clone()),
            None => default_identity(),
        }
    }

    pub fn known_path(&self) -> Result<PathBuf, NoDataFolder> {
        match &self.known {
            Some(path) => Ok(path.clone()),
            None => Ok(self.identity_path()?.with_file_name(KNOWN_FILE)),
        }
    }
}

/// Where a member's identity file is when no flag says.
pub fn default_identity() -> Result<PathBuf, NoDataFolder> {
    Ok(data_folder()?.join(IDENTITY_FILE))
}

/// `$XDG_DATA_HOME/unsecured-chat`, else `$HOME/.local/share/unsecured-chat`
/// (the XDG base directory rules: a relative `XDG_DATA_HOME` is ignored).
fn data_folder() -> Result<PathBuf, NoDataFolder> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let base = match absolute("XDG_DATA_HOME") {
        Some(data) => data,
        None => absolute("HOME")
            .ok_or(NoDataFolder)?
            .join(".local")
            .join("share"),
    };
    Ok(base.join(DATA_FOLDER))
}

/// The AEAD layer's own flag.
#[derive(Debug, Clone, Args)]
pub struct TtlFlag {
    /// Seconds a message stays acceptable after it was sealed
    #[arg(long, default_value_t = DEFAULT_TTL_SECS, value_name = "SECS")]
    pub ttl: u64,
}

/// Flags every server takes.
#[derive(Debug, Clone, Args)]
pub struct ServerFlags {
    #[command(flatten)]
    pub endpoint: ListenFlags,
    /// Guarded mode: a nick belongs to the connection that joined it, is freed
    /// when it closes, and one connection holds at most 16 nicks. Without it the
    /// server keeps the Python original's trust model, so the lab's attacks work.
    #[arg(long)]
    pub guard: bool,
    /// Most connections open at once, both ports together
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    #[command(flatten)]
    pub dashboard: crate::web::DashboardFlags,
}

impl ServerFlags {
    pub fn config(&self) -> ServerConfig {
        let endpoint = &self.endpoint;
        let mut config = ServerConfig::new(
            endpoint.host.clone(),
            endpoint.port,
            endpoint.broadcast_port,
        )
        .on_wire(endpoint.wire);
        config.max_connections = usize::try_from(self.max_connections).unwrap_or(usize::MAX);
        config
    }

    pub fn trust(&self) -> TrustModel {
        if self.guard {
            TrustModel::Guarded
        } else {
            TrustModel::Open
        }
    }
}

/// The value parser of a flag whose values are a library enum's words
/// ([`Named`]): `--help` lists each word with its line, and a word that
/// names nothing is refused with the list, as clap does for its own enums.
pub fn choice<T: Named + Send + Sync>() -> Choice<T> {
    Choice(PhantomData)
}

/// See [`choice`].
#[derive(Clone)]
pub struct Choice<T>(PhantomData<T>);

impl<T: Named + Send + Sync> Choice<T> {
    fn values() -> impl Iterator<Item = PossibleValue> {
        T::ALL
            .iter()
            .map(|value| PossibleValue::new(value.name()).help(value.about()))
    }
}

impl<T: Named + Send + Sync> TypedValueParser for Choice<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let word = PossibleValuesParser::new(Self::values()).parse_ref(cmd, arg, value)?;
        chat::named::parse(&word)
            .map_err(|unknown| clap::Error::raw(ErrorKind::InvalidValue, unknown).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
    }
}
