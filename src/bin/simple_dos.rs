//! Denial of service against the chat (the lab's simple_dos.py).

use std::process::ExitCode;

use chat::Nick;
use chat::attack::simple_dos::Attack;
use clap::{ArgGroup, Parser};
use unsecured_chat::{self as app, flags::EndpointFlags};

/// Denial of service: abuses the plain chat's trust model, in which the
/// server believes whatever nick a request names.
///
/// --evict NICK sends `leave` for someone else's nick. A plain server (the
/// Python original's trust model) obeys: NICK is dropped and its next message
/// is refused until it joins again.
///
/// --flood N joins N random nicks on one connection. On a plain server they
/// stay joined after this tool exits, crowding the chat and taking the names
/// others wanted.
///
/// Against a server started with --guard both fail: a nick belongs to the
/// connection that joined it, so someone else's `leave` gets ko; a connection
/// holds at most 16 nicks, and they are freed when it closes (here, when this
/// tool exits).
///
/// Prints what the server answered. Exit status 0 if the attack did what it
/// says (evict: the server answered ok; flood: all N joined), 1 otherwise.
#[derive(Parser)]
#[command(version)]
#[command(group(ArgGroup::new("attack").required(true).args(["evict", "flood"])))]
struct Flags {
    #[command(flatten)]
    endpoint: EndpointFlags,
    /// Make the server drop NICK, by sending `leave` for it
    #[arg(long, value_name = "NICK")]
    evict: Option<Nick>,
    /// Join N random nicks on one connection
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    flood: Option<u32>,
}

impl Flags {
    /// The group makes exactly one of the two flags present.
    fn attack(&self) -> Attack {
        match (&self.evict, self.flood) {
            (Some(victim), _) => Attack::Evict(victim.clone()),
            (None, count) => Attack::Flood(count.map_or(1, |n| n as usize)),
        }
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("warn");
    app::exit_status(app::tools::dos(&flags.endpoint.endpoint(), &flags.attack()))
}
