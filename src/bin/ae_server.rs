//! The AE layer's server (the lab's AEServer.py).

use std::process::ExitCode;

use clap::Parser;
use unsecured_chat::ae_server::ae_server;
use unsecured_chat::cli::{self, ServerOptions};

/// The AE chat server: relays only encrypted messages ({"salt", "token"}),
/// and its log shows it never holds a readable one. It can still drop,
/// replay or relabel them: see rogue_server.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    server: ServerOptions,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    cli::init_logging("info");
    cli::run_server(&flags.server, |_| ae_server(flags.server.trust()))
}
