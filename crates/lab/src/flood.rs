//! `chat_flood`: the salt flood (`attack::salt_flood`) against a real
//! receiver, measured.
//!
//! An `ae_server` runs in its own process. The receiver, bob, joins it as
//! `aead_client` does and receives as it does: the library's [`Inbox`]
//! reads his broadcast connection on a thread of its own and his
//! [`Verifier`] opens every frame with the AEAD layer on another, with his
//! TTL, key scheme and budget of derivations; only the printing is left
//! out. An honest sender, alice, joins and is seen by bob once. Then an
//! attacker without the password sends JUNK well-formed frames under fresh
//! salts, spread over NICKS joined nicks, and right after them alice says
//! one line. The report says how long that line took to reach bob, or what
//! he would have printed instead (expired, refused), how he treated the
//! junk, and whether the server disconnected him. Everything is counted
//! from bob's verdicts ([`Delivery`] and [`Rejection`] values), never from
//! printed text, so rewording a message changes no count.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chat::Named;
use chat::attack::salt_flood;
use chat::client::{BaseClient, Delivery, Endpoint, Inbox, RequestChannel, SimpleClient, Verifier};
use chat::layer::{
    AeSettings, ChatId, DecryptError, Kdf, KeyScheme, Layer, Password, Rejection, SaltMode, Seal,
};
use chat::wire::{Nick, Response};
use serde::Serialize;
use unsecured_chat::display;

use crate::process::{Binaries, PATIENCE, QUIET, ServerProcess};

/// The chat's password; the attacker does not know it.
const PASSWORD: &str = "flood-s3cret";
/// The honest sender and the receiver.
const ALICE: &str = "alice";
const BOB: &str = "bob";
/// What alice says once before the flood, and once after it.
const WARM_UP_TEXT: &str = "before the flood";
const HONEST_TEXT: &str = "after the flood";
/// Beyond the TTL, how long to wait for alice's line before calling it lost.
const GRACE: Duration = Duration::from_secs(30);

/// One flood: what is measured, and where the binaries are.
#[derive(Debug, Clone)]
pub struct FloodConfig {
    pub flood: Flood,
    pub binaries: Binaries,
}

/// The chat and the flood, as the report repeats them.
#[derive(Debug, Clone, Serialize)]
pub struct Flood {
    #[serde(serialize_with = "kdf_name")]
    pub kdf: Kdf,
    /// The chat's id, for the `hkdf` scheme (fresh for each flood).
    #[serde(skip)]
    pub chat: ChatId,
    pub iterations: u32,
    /// Junk frames sent.
    pub junk: usize,
    /// Nicks the junk claims, in turn.
    pub nicks: usize,
    /// Bob's TTL, in seconds.
    pub ttl: u64,
    /// Whether alice keeps one salt for her session (else one per message).
    pub session_salt: bool,
}

impl FloodConfig {
    pub fn new(kdf: Kdf, iterations: u32, junk: usize) -> Result<Self> {
        let flood = Flood {
            kdf,
            chat: ChatId::generate()?,
            iterations,
            junk,
            nicks: 1,
            ttl: 30,
            session_salt: false,
        };
        Ok(Self {
            flood,
            binaries: Binaries::beside_current_exe(),
        })
    }

    /// The chat's settings, as `aead_client --kdf K --iterations N --ttl T`
    /// makes them (alice's salt mode aside).
    fn settings(&self) -> AeSettings {
        let mut settings = AeSettings::new(Password::new(PASSWORD));
        settings.kdf = match self.flood.kdf {
            Kdf::Lab => KeyScheme::Lab,
            Kdf::Hkdf => KeyScheme::Hkdf {
                chat: self.flood.chat,
            },
        };
        settings.iterations = self.flood.iterations;
        settings.ttl = self.flood.ttl;
        if self.flood.session_salt {
            settings.salt_mode = SaltMode::PerSession;
        }
        settings
    }
}

/// What became of one flood, as one JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct FloodReport {
    #[serde(flatten)]
    pub flood: Flood,
    /// From the first junk frame written to the server's last answer.
    pub flood_ms: f64,
    /// Junk frames the server broadcast.
    pub junk_broadcast: usize,
    /// From alice's send to bob's verdict on it.
    pub delay_ms: f64,
    /// The line bob would print for alice's message (`None`: nothing in
    /// time).
    pub honest_line: Option<String>,
    /// Whether bob accepted alice's message, her text intact.
    pub shown: bool,
    /// Junk bob refused unverified (over the budget of new salts).
    pub junk_over_budget: usize,
    /// Junk bob verified and found forged.
    pub junk_unverified: usize,
    /// Frames bob's reader dropped unread, its queue full (and said so).
    pub shed: usize,
    /// Whether bob lost his connection (disconnected by the server).
    pub disconnected: bool,
}

fn kdf_name<S: serde::Serializer>(kdf: &Kdf, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kdf.name())
}

/// Plays one flood and reports it.
pub fn run(config: &FloodConfig) -> Result<FloodReport> {
    let server = ServerProcess::start(
        &config.binaries.path("ae_server"),
        &[],
        &[("RUST_LOG", "warn")],
    )?;
    let endpoint = Endpoint::new("127.0.0.1", server.port, server.broadcast_port);
    let bob = Bob::join(config, &endpoint)?;
    let mut alice = Alice::join(config, &endpoint)?;
    alice.say(WARM_UP_TEXT)?;
    bob.wait_for_alice(WARM_UP_TEXT)?;

    let nicks = flood_nicks(config.flood.nicks)?;
    let flood = salt_flood::flood(&endpoint, &nicks, config.flood.junk).context("flood")?;
    let sent = Instant::now();
    alice.say(HONEST_TEXT)?;
    let wait = Duration::from_secs(config.flood.ttl) + GRACE;
    let mut outcome = bob.watch(wait);
    let delay = sent.elapsed();
    bob.linger(&mut outcome);
    Ok(FloodReport {
        flood: config.flood.clone(),
        flood_ms: millis(flood.elapsed),
        junk_broadcast: flood.accepted,
        delay_ms: millis(delay),
        shown: outcome.honest.as_ref().is_some_and(shows_honest_text),
        honest_line: outcome.honest.as_ref().map(display::delivery),
        junk_over_budget: outcome.over_budget,
        junk_unverified: outcome.unverified,
        shed: outcome.shed,
        disconnected: outcome.disconnected,
    })
}

/// What bob's verifier thread hands over, in order.
enum Heard {
    Delivery(Delivery),
    /// The connection ended: nothing follows.
    Ended,
}

/// The receiver: `aead_client`'s join and receive pipeline, his verdicts
/// sent down a channel instead of printed.
struct Bob {
    heard: Receiver<Heard>,
    /// His request connection, kept open as the client keeps it.
    _client: SimpleClient<Box<dyn Seal>>,
}

impl Bob {
    fn join(config: &FloodConfig, endpoint: &Endpoint) -> Result<Self> {
        let settings = config.settings();
        let base = BaseClient::connect(endpoint).context("bob")?;
        let subscriber = base.broadcasts.local_addr().context("bob")?;
        let sealer = Layer::Aead.sealer(Some(&settings)).context("bob")?;
        let opener = Layer::Aead.opener(Some(&settings)).context("bob")?;
        let nick = Nick::new(BOB).context("bob")?;
        let mut client = SimpleClient::new(base.requests, nick, sealer).with_subscriber(subscriber);
        match client.join().context("bob")? {
            Response::Ok => {}
            other => bail!("bob's join: {other:?}"),
        }
        let (tx, heard) = mpsc::channel();
        let ended = tx.clone();
        Verifier::new(Inbox::spawn(base.broadcasts)?, opener).spawn(
            move |delivery| {
                let _ = tx.send(Heard::Delivery(delivery));
            },
            move |_| {
                let _ = ended.send(Heard::Ended);
            },
        )?;
        Ok(Self {
            heard,
            _client: client,
        })
    }

    /// Waits until bob accepts `text` from alice, within [`PATIENCE`].
    fn wait_for_alice(&self, text: &str) -> Result<()> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.heard.recv_timeout(left) {
                Ok(Heard::Delivery(Delivery::Accepted { nick, opened }))
                    if nick.as_str() == ALICE && opened.text == text =>
                {
                    return Ok(());
                }
                Ok(Heard::Delivery(_)) => {}
                Ok(Heard::Ended) => bail!("bob lost his connection before alice's {text:?}"),
                Err(_) => bail!("bob did not see alice's {text:?} within {PATIENCE:?}"),
            }
        }
    }

    /// Tallies bob's verdicts until one is on alice's message, or `within`
    /// runs out, or the connection ends.
    fn watch(&self, within: Duration) -> Outcome {
        let deadline = Instant::now() + within;
        let mut outcome = Outcome::default();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.heard.recv_timeout(left) {
                Ok(Heard::Delivery(delivery)) if from_alice(&delivery) => {
                    outcome.honest = Some(delivery);
                    break;
                }
                Ok(Heard::Delivery(delivery)) => outcome.count(&delivery),
                Ok(Heard::Ended) => {
                    outcome.disconnected = true;
                    break;
                }
                Err(_) => break,
            }
        }
        outcome
    }

    /// Whether the server says its last words to bob, or closes his
    /// connection, within [`QUIET`] after the watch.
    fn linger(&self, outcome: &mut Outcome) {
        while let Ok(heard) = self.heard.recv_timeout(QUIET) {
            match heard {
                Heard::Delivery(delivery) => outcome.count(&delivery),
                Heard::Ended => outcome.disconnected = true,
            }
        }
    }
}

/// Whether a verdict is on alice's message, accepted or not.
fn from_alice(delivery: &Delivery) -> bool {
    match delivery {
        Delivery::Accepted { nick, .. } => nick.as_str() == ALICE,
        Delivery::Rejected { nick, .. } => nick.valid().is_some_and(|n| n.as_str() == ALICE),
        Delivery::Notice(_) => false,
    }
}

/// Whether bob accepted alice's honest line, intact.
fn shows_honest_text(delivery: &Delivery) -> bool {
    matches!(delivery, Delivery::Accepted { nick, opened }
        if nick.as_str() == ALICE && opened.text == HONEST_TEXT)
}

/// The honest sender, in this process.
struct Alice {
    client: SimpleClient<Box<dyn Seal>>,
}

impl Alice {
    fn join(config: &FloodConfig, endpoint: &Endpoint) -> Result<Self> {
        let requests = RequestChannel::connect(endpoint).context("alice")?;
        let sealer = Layer::Aead
            .sealer(Some(&config.settings()))
            .context("alice")?;
        let nick = Nick::new(ALICE).context("alice")?;
        let mut client = SimpleClient::new(requests, nick, sealer);
        match client.join().context("alice")? {
            Response::Ok => Ok(Self { client }),
            other => bail!("alice's join: {other:?}"),
        }
    }

    fn say(&mut self, text: &str) -> Result<()> {
        match self.client.message(text).context("alice")? {
            Response::Ok => Ok(()),
            other => bail!("alice's message: {other:?}"),
        }
    }
}

/// The junk's nicks: `flood-0`, `flood-1`...
fn flood_nicks(count: usize) -> Result<Vec<Nick>> {
    (0..count.max(1))
        .map(|i| Nick::new(format!("flood-{i}")).context("nick"))
        .collect()
}

/// Bob's verdicts up to and including the one on alice's message.
#[derive(Debug, Default)]
struct Outcome {
    honest: Option<Delivery>,
    over_budget: usize,
    unverified: usize,
    shed: usize,
    disconnected: bool,
}

impl Outcome {
    /// Counts one verdict on something other than alice's message.
    fn count(&mut self, delivery: &Delivery) {
        match delivery {
            Delivery::Rejected { reason, .. } => match reason {
                Rejection::OverBudget => self.over_budget += 1,
                Rejection::Decrypt(DecryptError::WrongKeyOrAltered) => self.unverified += 1,
                Rejection::Overloaded => self.shed += 1,
                _ => {}
            },
            Delivery::Notice(_) => self.disconnected = true,
            Delivery::Accepted { .. } => {}
        }
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::layer::Opened;
    use chat::wire::{ClaimedNick, Reason};

    fn rejected(nick: &str, reason: Rejection) -> Delivery {
        Delivery::Rejected {
            nick: ClaimedNick::check(nick),
            reason,
        }
    }

    /// The tally reads bob's verdicts, not their wording: each kind of
    /// rejection lands in its own count, whatever its message says.
    #[test]
    fn each_verdict_is_counted_by_its_kind() {
        let mut outcome = Outcome::default();
        let forged = Rejection::Decrypt(DecryptError::WrongKeyOrAltered);
        for delivery in [
            rejected("flood-0", Rejection::OverBudget),
            rejected("flood-0", Rejection::OverBudget),
            rejected("flood-1", forged.clone()),
            rejected("flood-0", forged),
            rejected("flood-0", expired()),
            Delivery::Rejected {
                nick: ClaimedNick::Missing,
                reason: Rejection::Overloaded,
            },
        ] {
            assert!(!from_alice(&delivery));
            outcome.count(&delivery);
        }
        assert_eq!(
            (outcome.over_budget, outcome.unverified, outcome.shed),
            (2, 2, 1)
        );
        assert!(!outcome.disconnected);
        outcome.count(&Delivery::Notice(Reason::new("too far behind")));
        assert!(outcome.disconnected);
    }

    /// A verdict that is none of the three counted.
    fn expired() -> Rejection {
        Rejection::Decrypt(DecryptError::Expired { age: 40, ttl: 30 })
    }

    #[test]
    fn alices_verdict_is_told_apart_and_judged() {
        let alice = Nick::new(ALICE).unwrap();
        let shown = Delivery::Accepted {
            nick: alice.clone(),
            opened: Opened::text(HONEST_TEXT),
        };
        let refused = Delivery::Rejected {
            nick: alice.into(),
            reason: Rejection::OverBudget,
        };
        assert!(from_alice(&shown) && shows_honest_text(&shown));
        assert!(from_alice(&refused) && !shows_honest_text(&refused));
    }
}
