//! The salt flood against a real receiver, measured (docs/PERFORMANCE.md).

use std::io::Write;
use std::process::ExitCode;

use chat::layer::Kdf;
use chat_lab::flood::{self, FloodConfig};
use clap::Parser;
use unsecured_chat::flags::choice;

/// Floods an AEAD receiver with junk frames under fresh salts, sent by
/// someone without the password, then measures how long an honest message
/// sent right after them takes to show. Starts ae_server on free local
/// ports and the receiver, which receives as aead_client does, in this
/// process; prints one JSON line.
#[derive(Parser)]
#[command(version)]
struct Flags {
    /// Key scheme of the chat
    #[arg(long, value_parser = choice::<Kdf>(), default_value = "lab")]
    kdf: Kdf,
    /// PBKDF2 iterations
    #[arg(long, default_value_t = 600_000, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// Junk frames
    #[arg(long, default_value_t = 10_000)]
    junk: usize,
    /// Nicks the junk claims, in turn
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    nicks: u64,
    /// The receiver's TTL, in seconds
    #[arg(long, default_value_t = 30)]
    ttl: u64,
    /// The honest sender keeps one salt for its session
    #[arg(long)]
    session_salt: bool,
}

/// The flood these flags describe.
fn config(flags: &Flags) -> anyhow::Result<FloodConfig> {
    let mut config = FloodConfig::new(flags.kdf, flags.iterations, flags.junk)?;
    config.flood.nicks = usize::try_from(flags.nicks).unwrap_or(usize::MAX);
    config.flood.ttl = flags.ttl;
    config.flood.session_salt = flags.session_salt;
    Ok(config)
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    unsecured_chat::logging::init("warn");
    let outcome = config(&flags)
        .and_then(|config| flood::run(&config))
        .map(|report| {
            if let Ok(line) = serde_json::to_string(&report) {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
            }
        });
    unsecured_chat::exit(outcome)
}
