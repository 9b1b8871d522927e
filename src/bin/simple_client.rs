//! The plain chat client (Python's simple_client.py), in a terminal.

use std::process::ExitCode;

use clap::Parser;
use unsecured_chat::cli::{self, ClientOptions};
use unsecured_chat::simple_client::Plain;
use unsecured_chat::terminal;

/// The plain chat client: each line you type is sent in clear, and every
/// message the server broadcasts is printed as `NICK : TEXT`.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    client: ClientOptions,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    cli::init_logging("warn");
    terminal::run(&flags.client.endpoint, flags.client.nick(), Plain, Plain)
}
