//! A malicious chat server (the lab's rogue_server.py).

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use unsecured_chat::Nick;
use unsecured_chat::app::{self, flags::ServerFlags};
use unsecured_chat::server::SimpleServer;
use unsecured_chat::server::rogue_server::{
    Attack, DEFAULT_REPLAY_DELAY, RogueConfig, RogueServer,
};

/// A malicious server: it runs the chat and answers every sender ok, but
/// attacks what it relays. tamper: alter the token (or the text); impersonate:
/// relay under another nick; replay: relay each message again later; drop:
/// relay only every other message. AE stops tamper only; AEAD stops tamper,
/// impersonate and replay, and reports drops.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    server: ServerFlags,
    /// Attacks to run, comma-separated
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        required = true,
        value_name = "A[,A...]"
    )]
    attack: Vec<Attack>,
    /// Nick to relabel messages with (default: another joined nick, else admin)
    #[arg(long = "as", value_name = "NICK")]
    impersonate: Option<Nick>,
    /// Seconds before a replayed message is relayed again
    #[arg(long, default_value_t = DEFAULT_REPLAY_DELAY.as_secs_f64(), value_name = "SECS", value_parser = seconds)]
    delay: f64,
}

/// A delay in seconds, from 0 to a day.
fn seconds(arg: &str) -> Result<f64, String> {
    match arg.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=86_400.0).contains(&secs) => Ok(secs),
        Ok(_) => Err("must be between 0 and 86400 seconds".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("info");
    let config = RogueConfig {
        attacks: flags.attack.iter().copied().collect::<BTreeSet<_>>(),
        impersonate: flags.impersonate.clone(),
        replay_delay: Duration::from_secs_f64(flags.delay),
    };
    let plan: Vec<&str> = config.attacks.iter().map(|a| a.plan()).collect();
    log::warn!("rogue server: will {}", plan.join(", "));
    let trust = flags.server.trust();
    app::exit(app::server::run(&flags.server, |publisher| {
        RogueServer::new(SimpleServer::new(trust), config, publisher)
    }))
}
