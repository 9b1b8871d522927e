//! The AE layer's client (the lab's AEClient.py), in a terminal.

use std::process::ExitCode;

use clap::Parser;
use unsecured_chat::ae_client::{AeOpener, AeSealer};
use unsecured_chat::cli::{self, ClientOptions, CryptoOptions};
use unsecured_chat::terminal;

/// The AE chat client: messages travel as Fernet tokens under a key derived
/// from the shared password (PBKDF2-HMAC-SHA256, a fresh salt per message).
/// A message it cannot verify prints as `[rejected] NICK: REASON`.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    client: ClientOptions,
    #[command(flatten)]
    crypto: CryptoOptions,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    cli::init_logging("warn");
    let settings = match flags.crypto.settings() {
        Ok(settings) => settings,
        Err(e) => return cli::fail(&e),
    };
    let opener = AeOpener::new(&settings);
    terminal::run(
        &flags.client.endpoint,
        flags.client.nick(),
        AeSealer::new(settings),
        opener,
    )
}
