//! A malicious chat server (the lab's rogue_server.py).

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use chat::Nick;
use chat::layer::DEFAULT_TTL_SECS;
use chat::layer::{AeSettings, Identity};
use chat::server::SimpleServer;
use chat::server::rogue_server::{Attack, DEFAULT_REPLAY_DELAY, RogueConfig, RogueServer};
use clap::Parser;
use unsecured_chat::flags::{self, KeyFlags, ServerFlags};
use unsecured_chat::{self as app, Error};

/// A malicious server: it runs the chat and answers every sender ok, but
/// attacks what it relays. tamper: alter the token (or the text); impersonate:
/// relay under another nick; replay: relay each message again later; drop:
/// relay only every other message; substitute-key: put the server's own key
/// and signature in every signed message (it needs the chat's password:
/// --password-file, CHAT_PASSWORD or the prompt). AE stops tamper only; AEAD
/// and signed stop tamper, impersonate and replay, and report drops; signed
/// receivers that pinned a member's key stop substitute-key, those that had
/// not are fooled.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    server: ServerFlags,
    /// Attacks to run, comma-separated
    #[arg(
        long,
        value_parser = flags::choice::<Attack>(),
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
    /// The chat's password and key scheme, for substitute-key only
    #[command(flatten)]
    keys: KeyFlags,
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
    app::exit(flags.insider().and_then(|insider| {
        app::server::run(&flags.server, |publisher| {
            let rogue = RogueServer::new(SimpleServer::new(trust), config, publisher);
            match insider {
                Some((settings, identity)) => rogue.knowing(&settings, identity),
                None => rogue,
            }
        })
    }))
}

impl Flags {
    /// The password and a key pair of its own, if an attack needs them.
    fn insider(&self) -> Result<Option<(AeSettings, Identity)>, Error> {
        if !self.attack.contains(&Attack::SubstituteKey) {
            return Ok(None);
        }
        let settings = self.keys.settings(DEFAULT_TTL_SECS)?;
        let identity = Identity::generate().map_err(chat::layer::LayerError::from)?;
        Ok(Some((settings, identity)))
    }
}
