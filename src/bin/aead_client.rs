//! The AEAD layer's client (the lab's AEADClient.py, with a TTL and a
//! replay guard), in a terminal.

use std::process::ExitCode;

use chat::Layer;
use clap::Parser;
use unsecured_chat::flags::{ClientFlags, CryptoFlags, TtlFlag};
use unsecured_chat::{self as app, ClientArgs};

/// The AEAD chat client: the AE layer, plus the sender's nick and a counter
/// sealed inside each token. It rejects a message relabelled with another
/// nick, older than the TTL or from the future, or already seen (a replay),
/// and reports messages missing from a sender.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    client: ClientFlags,
    #[command(flatten)]
    crypto: CryptoFlags,
    #[command(flatten)]
    ttl: TtlFlag,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("warn");
    let args =
        ClientArgs::new(Layer::Aead, &flags.client).with_crypto(&flags.crypto, flags.ttl.ttl);
    app::exit(app::terminal::run(&args))
}
