//! The plain chat client (Python's simple_client.py), in a terminal.

use std::process::ExitCode;

use chat::Layer;
use clap::Parser;
use unsecured_chat::{self as app, ClientArgs, flags::ClientFlags};

/// The plain chat client: each line you type is sent in clear, and every
/// message the server broadcasts is printed as `NICK : TEXT`.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    client: ClientFlags,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("warn");
    app::exit(app::terminal::run(&ClientArgs::new(
        Layer::Plain,
        &flags.client,
    )))
}
