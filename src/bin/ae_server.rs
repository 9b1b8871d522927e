//! The AE layer's server (the lab's AEServer.py).

use std::process::ExitCode;

use chat::server::{ae_server, ae_zmq_body};
use clap::Parser;
use unsecured_chat::{self as app, flags::ServerFlags};

/// The AE chat server: relays only encrypted messages ({"salt", "token"}),
/// and its log shows it never holds a readable one. It can still drop,
/// replay or relabel them: see rogue_server. On --wire zmq its broadcasts
/// are msgpack'd, as the lab's AEServer's.
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
    let config = flags.server.config().with_zmq_body(ae_zmq_body());
    app::exit(app::server::run_with(&flags.server, &config, |_| {
        ae_server(trust)
    }))
}
