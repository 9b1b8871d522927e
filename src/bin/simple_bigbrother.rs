//! Big brother (the lab's simple_bigbrother.py): reads every conversation.

use std::process::ExitCode;

use clap::Parser;
use unsecured_chat::{self as app, flags::EndpointFlags};

/// Big brother: reads every conversation of the chat without taking part.
///
/// It connects to the server's broadcast port only and never joins, so `list`
/// does not show it and no one can tell it is there. Each message the server
/// relays is printed as `NICK : M`, and logged with a timestamp on stderr.
///
/// The lesson: the broadcast port serves whoever connects, so the server and
/// anyone who can reach that port read everything. It works against every
/// server, with or without --guard (which protects nicks, not what they say).
/// Against the encrypted layers (ae_server, ae_client, aead_client), M is
/// only a salt and a token: that is what encryption buys.
///
/// Runs until interrupted; exits non-zero if the server goes away.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    endpoint: EndpointFlags,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("info");
    app::exit(app::tools::bigbrother(&flags.endpoint.endpoint()))
}
