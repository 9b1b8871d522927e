//! The flags the binaries share, parsed by clap into the library's types.

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::path::PathBuf;

use chat::Named;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Arg, Args, Command};

use crate::{Error, password};
use chat::client::{Endpoint, random_nick};
use chat::layer::DEFAULT_ROOM;
use chat::layer::DEFAULT_TTL_SECS;
use chat::layer::{AeSettings, ChatId, Kdf, KeyScheme, Password, Room, SaltMode};
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
    /// PBKDF2-HMAC-SHA256 iterations; every client of the chat must use the
    /// same [default: 100 with --kdf lab, as the exercise; 600,000 with
    /// --kdf hkdf, which pays them once per start]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: Option<u32>,
    /// Key scheme, the same for every client of the chat: lab (PBKDF2 for
    /// each message's salt, as the exercise) or hkdf (PBKDF2 once per chat,
    /// room and password, then HKDF-SHA256 for each message's salt; needs
    /// --chat-id)
    #[arg(long, value_parser = choice::<Kdf>(), default_value = "lab")]
    pub kdf: Kdf,
    /// With --kdf hkdf: the chat's random id, handed out with the password
    /// (22 characters; not secret). It salts the one PBKDF2 run, so that no
    /// guess is computed once for every chat. Run a client without it for
    /// a fresh one
    #[arg(long, value_name = "ID")]
    pub chat_id: Option<ChatId>,
    /// The chat (room) the messages are sealed for: in every AEAD message,
    /// which receivers in another room refuse (and part of the key with
    /// --kdf hkdf)
    #[arg(long, default_value = DEFAULT_ROOM)]
    pub room: Room,
}

impl KeyFlags {
    /// The settings these flags describe, once the password is found;
    /// `ttl` is AEAD's.
    pub fn settings(&self, ttl: u64) -> Result<AeSettings, Error> {
        let kdf = self.scheme()?;
        let password = password::read(self.password.as_ref(), self.password_file.as_deref())?;
        Ok(AeSettings {
            iterations: self.iterations(),
            kdf,
            room: self.room.clone(),
            ttl,
            ..AeSettings::new(password)
        })
    }

    /// The iterations given, else the scheme's default.
    pub fn iterations(&self) -> u32 {
        self.iterations
            .unwrap_or_else(|| self.kdf.default_iterations())
    }

    /// The key scheme, with the chat id `hkdf` needs.
    fn scheme(&self) -> Result<KeyScheme, NoChatId> {
        match (self.kdf, self.chat_id) {
            (Kdf::Lab, _) => Ok(KeyScheme::Lab),
            (Kdf::Hkdf, Some(chat)) => Ok(KeyScheme::Hkdf { chat }),
            (Kdf::Hkdf, None) => Err(NoChatId {
                fresh: ChatId::generate().ok(),
            }),
        }
    }
}

/// `--kdf hkdf` without `--chat-id`: the error offers a fresh id, for
/// whoever starts the chat.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "--kdf hkdf needs the chat's id (--chat-id ID), handed out with the password{}",
    .fresh.map(|id| format!("; to start a new chat, hand out this fresh one with it: --chat-id {id}")).unwrap_or_default()
)]
pub struct NoChatId {
    /// A fresh id, if the system's randomness gave one.
    pub fresh: Option<ChatId>,
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
    pub fn settings(&self, ttl: u64) -> Result<AeSettings, Error> {
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
    /// [default: one per nick, identity-NICK-HASH under
    /// $XDG_DATA_HOME/unsecured-chat, else ~/.local/share/unsecured-chat;
    /// with a random nick, a key for this session only, saved nowhere]
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// The keys you have pinned, one per nick (and lookalikes), first seen
    /// first kept [default: known_members, beside --identity FILE if given,
    /// else in the folder of the default identities: one for every nick of
    /// this account]
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,
}

/// Where the signed layer's files go when no flag says.
pub const DATA_FOLDER: &str = "unsecured-chat";
const KNOWN_FILE: &str = "known_members";

/// Neither flag nor environment says where the signed layer's files go.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no folder for your identity: set XDG_DATA_HOME or HOME, or pass --identity FILE")]
pub struct NoDataFolder;

/// Where a member's key pair comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A file, made there on first use.
    File(PathBuf),
    /// Made for this session, saved nowhere: a random nick's.
    Ephemeral,
}

impl IdentityFlags {
    /// Where `nick`'s key pair comes from: `--identity`, else its own
    /// default file, else (a nick drawn at random, which no one will see
    /// again) a key for this session only.
    pub fn identity_source(
        &self,
        nick: &Nick,
        chosen: bool,
    ) -> Result<IdentitySource, NoDataFolder> {
        match (&self.identity, chosen) {
            (Some(path), _) => Ok(IdentitySource::File(path.clone())),
            (None, true) => Ok(IdentitySource::File(default_identity(nick)?)),
            (None, false) => Ok(IdentitySource::Ephemeral),
        }
    }

    pub fn known_path(&self) -> Result<PathBuf, NoDataFolder> {
        match (&self.known, &self.identity) {
            (Some(path), _) => Ok(path.clone()),
            (None, Some(identity)) => Ok(identity.with_file_name(KNOWN_FILE)),
            (None, None) => Ok(data_folder()?.join(KNOWN_FILE)),
        }
    }
}

/// Where `nick`'s identity file is when no flag says: a file of its own in
/// the data folder.
pub fn default_identity(nick: &Nick) -> Result<PathBuf, NoDataFolder> {
    Ok(data_folder()?.join(chat::layer::file_name_for(nick)))
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        keys: KeyFlags,
    }

    fn keys(args: &[&str]) -> KeyFlags {
        let all = ["client", "--password", "s3cret"].iter().chain(args);
        Cli::try_parse_from(all).expect("flags parse").keys
    }

    /// The scheme that pays PBKDF2 once pays today's recommended count,
    /// unless told otherwise; the exercise's scheme keeps its 100.
    #[test]
    fn each_key_scheme_has_its_default_iterations() {
        assert_eq!(keys(&[]).iterations(), 100);
        assert_eq!(keys(&["--kdf", "hkdf"]).iterations(), 600_000);
        assert_eq!(
            keys(&["--kdf", "hkdf", "--iterations", "7"]).iterations(),
            7
        );
    }

    #[test]
    fn hkdf_needs_a_chat_id_and_offers_a_fresh_one() {
        let refused = keys(&["--kdf", "hkdf"]).scheme().unwrap_err();
        let fresh = refused.fresh.expect("the system has randomness");
        assert!(refused.to_string().ends_with(&format!("--chat-id {fresh}")));
        let chat = "EBESExQVFhcYGRobHB0eHw";
        let given = keys(&["--kdf", "hkdf", "--chat-id", chat])
            .scheme()
            .unwrap();
        assert_eq!(
            given,
            KeyScheme::Hkdf {
                chat: chat.parse().unwrap()
            }
        );
        let bad = Cli::try_parse_from(["client", "--chat-id", "lobby"]).unwrap_err();
        assert!(bad.to_string().contains("a chat id is 16 bytes"), "{bad}");
    }
}
