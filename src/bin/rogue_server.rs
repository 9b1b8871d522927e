//! A malicious chat server (the lab's rogue_server.py).

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use unsecured_chat::cli::{self, ServerOptions};
use unsecured_chat::frame::Nick;
use unsecured_chat::rogue_server::{Attack, RogueConfig, RogueServer};
use unsecured_chat::simple_server::SimpleServer;

/// A malicious server: it runs the chat and answers every sender ok, but
/// attacks what it relays. tamper: alter the token (or the text); impersonate:
/// relay under another nick; replay: relay each message again later; drop:
/// relay only every other message. AE stops tamper only; AEAD stops tamper,
/// impersonate and replay, and reports drops.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    server: ServerOptions,
    /// Attacks to run, comma-separated: tamper, impersonate, replay, drop
    #[arg(long, value_delimiter = ',', required = true, value_name = "A[,A...]")]
    attack: Vec<Attack>,
    /// Nick to relabel messages with (default: another joined nick, else admin)
    #[arg(long = "as", value_name = "NICK")]
    impersonate: Option<Nick>,
    /// Seconds before a replayed message is relayed again
    #[arg(long, default_value_t = 2.0, value_name = "SECS", value_parser = non_negative_seconds)]
    delay: f64,
}

fn non_negative_seconds(arg: &str) -> Result<f64, String> {
    match arg.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=86_400.0).contains(&secs) => Ok(secs),
        Ok(_) => Err("must be between 0 and 86400 seconds".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    cli::init_logging("info");
    let config = RogueConfig {
        attacks: flags.attack.iter().copied().collect::<BTreeSet<_>>(),
        impersonate: flags.impersonate.clone(),
        replay_delay: Duration::from_secs_f64(flags.delay),
    };
    let plan: Vec<&str> = config.attacks.iter().map(|a| a.plan()).collect();
    log::warn!("rogue server: will {}", plan.join(", "));
    cli::run_server(&flags.server, |server| {
        RogueServer::new(
            SimpleServer::new(flags.server.trust()),
            config,
            server.publisher(),
        )
    })
}
