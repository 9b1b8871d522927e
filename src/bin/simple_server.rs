//! The plain chat server (Python's simple_server.py).

use std::process::ExitCode;

use clap::Parser;
use unsecured_chat::cli::{self, ServerOptions};
use unsecured_chat::simple_server::SimpleServer;

/// The plain chat server: relays every message in clear, as the lab's
/// simple_server.py. Without --guard it keeps the original's trust model, so
/// the lab's attacks work against it.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    server: ServerOptions,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    cli::init_logging("info");
    cli::run_server(&flags.server, |_| SimpleServer::new(flags.server.trust()))
}
