//! The plain chat server (Python's simple_server.py).

use std::process::ExitCode;

use chat::server::SimpleServer;
use clap::Parser;
use unsecured_chat::{self as app, flags::ServerFlags};

/// The plain chat server: relays every message in clear, as the lab's
/// simple_server.py. Without --guard it keeps the original's trust model, so
/// the lab's attacks work against it.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    server: ServerFlags,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("info");
    let trust = flags.server.trust();
    app::exit(app::server::run(&flags.server, |_| {
        SimpleServer::new(trust)
    }))
}
