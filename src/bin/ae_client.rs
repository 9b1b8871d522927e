//! The AE layer's client (the lab's AEClient.py), in a terminal.

use std::process::ExitCode;

use chat::Layer;
use chat::layer::DEFAULT_TTL_SECS;
use clap::Parser;
use unsecured_chat::flags::{ClientFlags, CryptoFlags};
use unsecured_chat::{self as app, ClientArgs};

/// The AE chat client: messages travel as Fernet tokens under a key derived
/// from the shared password (PBKDF2-HMAC-SHA256, a fresh salt per message).
/// A message it cannot verify prints as `[rejected] NICK: REASON`.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    client: ClientFlags,
    #[command(flatten)]
    crypto: CryptoFlags,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("warn");
    let args =
        ClientArgs::new(Layer::Ae, &flags.client).with_crypto(&flags.crypto, DEFAULT_TTL_SECS);
    app::exit(app::terminal::run(&args))
}
