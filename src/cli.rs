//! Command-line pieces shared by the binaries: flags, logging, the
//! "listening on" line. Binaries stay thin: parse flags, call the library.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use crate::ae_client::{AeSettings, SaltMode};
use crate::base_server::{self, BaseServer, ServerConfig, Service};
use crate::crypto::{self, Password};
use crate::frame::Nick;
use crate::names;
use crate::simple_server::TrustModel;

/// Where the server is: the flags every server and client takes.
#[derive(Debug, Clone, Args)]
pub struct Endpoint {
    /// Host name or address of the server
    #[arg(long, default_value = base_server::DEFAULT_HOST)]
    pub host: String,
    /// Request port (0 lets a server pick a free one)
    #[arg(long, default_value_t = base_server::DEFAULT_PORT)]
    pub port: u16,
    /// Broadcast port (0 lets a server pick a free one)
    #[arg(long, default_value_t = base_server::DEFAULT_BROADCAST_PORT)]
    pub broadcast_port: u16,
}

/// Flags every client takes.
#[derive(Debug, Clone, Args)]
pub struct ClientOptions {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// Nick to join as (default: a random readable name)
    #[arg(long)]
    pub nick: Option<Nick>,
}

impl ClientOptions {
    pub fn nick(&self) -> Nick {
        self.nick.clone().unwrap_or_else(names::random_nick)
    }
}

/// Environment variable read for the password when `--password` is absent.
pub const PASSWORD_ENV: &str = "CHAT_PASSWORD";

/// Flags of the encrypted clients.
#[derive(Debug, Clone, Args)]
pub struct CryptoOptions {
    /// Shared password (else the CHAT_PASSWORD environment variable, else a
    /// prompt without echo on a terminal). Never logged.
    #[arg(long)]
    pub password: Option<String>,
    /// PBKDF2-HMAC-SHA256 iterations; every client of the chat must use the same
    #[arg(long, default_value_t = crypto::DEFAULT_ITERATIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: u32,
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

impl CryptoOptions {
    /// The layer's settings, once the password is found.
    pub fn settings(&self) -> Result<AeSettings, String> {
        Ok(AeSettings {
            password: read_password(self.password.as_deref())?,
            iterations: self.iterations,
            salt_mode: if self.session_salt {
                SaltMode::PerSession
            } else {
                SaltMode::PerMessage
            },
            clock_offset: self.clock_offset,
        })
    }
}

/// The password from the flag, else the environment, else a no-echo prompt.
fn read_password(flag: Option<&str>) -> Result<Password, String> {
    let password = match (flag, std::env::var(PASSWORD_ENV)) {
        (Some(password), _) => password.to_owned(),
        (None, Ok(password)) => password,
        (None, Err(_)) if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("password: ")
                .map_err(|e| format!("cannot read the password: {e}"))?
        }
        (None, Err(_)) => {
            return Err(format!(
                "no password: pass --password, set {PASSWORD_ENV}, or run in a terminal to be asked"
            ));
        }
    };
    if password.is_empty() {
        return Err("the password must not be empty".to_owned());
    }
    Ok(Password::new(password))
}

/// Flags every server takes.
#[derive(Debug, Clone, Args)]
pub struct ServerOptions {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// Guarded mode: a nick belongs to the connection that joined it, is freed
    /// when it closes, and one connection holds at most 16 nicks. Without it the
    /// server keeps the Python original's trust model, so the lab's attacks work.
    #[arg(long)]
    pub guard: bool,
    /// Most connections open at once, both ports together
    #[arg(long, default_value_t = base_server::DEFAULT_MAX_CONNECTIONS, value_parser = positive)]
    pub max_connections: usize,
}

impl ServerOptions {
    pub fn config(&self) -> ServerConfig {
        ServerConfig {
            host: self.endpoint.host.clone(),
            port: self.endpoint.port,
            broadcast_port: self.endpoint.broadcast_port,
            max_connections: self.max_connections,
        }
    }

    pub fn trust(&self) -> TrustModel {
        if self.guard {
            TrustModel::Guarded
        } else {
            TrustModel::Open
        }
    }
}

/// A count that must be at least 1.
pub fn positive(arg: &str) -> Result<usize, String> {
    match arg.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Logs to stderr through `env_logger`; `RUST_LOG` overrides `default_level`.
pub fn init_logging(default_level: &str) {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
        .init();
}

/// Binds both ports, prints the "listening on" line, and serves forever.
/// `make_service` receives the bound server, so a service may keep a
/// publisher for broadcasts of its own.
pub fn run_server<S, F>(options: &ServerOptions, make_service: F) -> ExitCode
where
    S: Service,
    F: FnOnce(&BaseServer) -> S,
{
    let server = match BaseServer::bind(&options.config()) {
        Ok(server) => server,
        Err(e) => return fail(&e),
    };
    let announced = server.listening_line().and_then(|line| {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()
    });
    if let Err(e) = announced {
        return fail(&e);
    }
    let service = Arc::new(make_service(&server));
    match server.serve(service) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Reports a fatal error as one line on stderr and gives the exit code.
pub fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
