//! A member who knows the password speaks as another (issue 13).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chat::attack::insider_forge::{DEFAULT_MESSAGE, Forgery, Insider};
use chat::layer::DEFAULT_TTL_SECS;
use chat::layer::{Identity, LayerError};
use chat::{Layer, Nick};
use clap::Parser;
use unsecured_chat as app;
use unsecured_chat::Error;
use unsecured_chat::flags::{self, CryptoFlags, EndpointFlags};

/// An insider's forgery: a member who knows the chat's password sends,
/// through a server in the original's trust model, a message claiming to
/// come from another member (--as), made the best way its layer allows.
///
/// plain and AE: the victim's nick on the frame. AEAD: the victim's nick
/// sealed in the token with the shared password, as the victim's own client
/// seals it: AEAD receivers accept it. signed: the same, signed with this
/// insider's own key, the only one it has (made for this run, or read from
/// --identity): receivers that pinned the victim's key reject it.
///
/// --poison-counter (AEAD, signed) first waits for a message from the
/// victim, opens it with the password to read the victim's session, and
/// forges a message of that session numbered 2^63: AEAD receivers then flag
/// every genuine message of the victim as late.
///
/// Prints what it sent and what the server answered. Exit status 0 if the
/// server relayed the forgery, 1 otherwise.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    endpoint: EndpointFlags,
    /// The layer of the chat
    #[arg(long, value_parser = flags::choice::<Layer>())]
    layer: Layer,
    /// The member to speak as
    #[arg(long = "as", value_name = "NICK")]
    victim: Nick,
    /// What the victim is made to say
    #[arg(long, default_value = DEFAULT_MESSAGE, value_name = "TEXT")]
    message: String,
    /// Carry the victim's session, read from one of its messages, and a
    /// counter of 2^63
    #[arg(long)]
    poison_counter: bool,
    /// Seconds to wait for a message from the victim (--poison-counter)
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    wait: u64,
    /// The insider's own key pair, for the signed layer (made on first use)
    /// [default: a key of its own, made for this run and saved nowhere]
    #[arg(long, value_name = "FILE")]
    identity: Option<PathBuf>,
    #[command(flatten)]
    crypto: CryptoFlags,
}

impl Flags {
    /// What the insider holds: the password for an encrypted layer, and its
    /// own key pair for the signed one.
    fn insider(&self) -> Result<Insider, Error> {
        if !self.layer.encrypted() {
            return Ok(Insider::default());
        }
        let settings = self.crypto.settings(DEFAULT_TTL_SECS)?;
        let identity = match (self.layer, &self.identity) {
            (Layer::Signed, Some(path)) => Some(Identity::load_or_create(path)?.0),
            (Layer::Signed, None) => Some(Identity::generate().map_err(LayerError::from)?),
            (Layer::Plain | Layer::Ae | Layer::Aead, _) => None,
        };
        Ok(Insider {
            settings: Some(settings),
            identity,
        })
    }

    fn forgery(&self) -> Forgery {
        Forgery {
            victim: self.victim.clone(),
            text: self.message.clone(),
            poison_counter: self.poison_counter,
        }
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("warn");
    let endpoint = flags.endpoint.endpoint();
    let wait = Duration::from_secs(flags.wait);
    app::exit_status(flags.insider().and_then(|insider| {
        app::tools::insider_forge(&endpoint, flags.layer, insider, &flags.forgery(), wait)
    }))
}
