//! The AEAD layer's client (the lab's AEADClient.py, with a TTL and a
//! replay guard), in a terminal.

use std::process::ExitCode;

use clap::Parser;
use unsecured_chat::aead_client::{AeadOpener, AeadSealer, DEFAULT_TTL_SECS};
use unsecured_chat::cli::{self, ClientOptions, CryptoOptions};
use unsecured_chat::terminal;

/// The AEAD chat client: the AE layer, plus the sender's nick and a counter
/// sealed inside each token. It rejects a message relabelled with another
/// nick, older than the TTL or from the future, or already seen (a replay),
/// and reports messages missing from a sender.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    client: ClientOptions,
    #[command(flatten)]
    crypto: CryptoOptions,
    /// Seconds a message stays acceptable after it was sealed
    #[arg(long, default_value_t = DEFAULT_TTL_SECS, value_name = "SECS")]
    ttl: u64,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    cli::init_logging("warn");
    let settings = match flags.crypto.settings() {
        Ok(settings) => settings,
        Err(e) => return cli::fail(&e),
    };
    let opener = AeadOpener::new(&settings, flags.ttl);
    terminal::run(
        &flags.client.endpoint,
        flags.client.nick(),
        AeadSealer::new(settings),
        opener,
    )
}
