//! `chat_flood`: the salt flood (`attack::salt_flood`) against a real
//! receiver, measured.
//!
//! An `ae_server` runs in its own process, and so does the receiver, bob,
//! an `aead_client`. An honest sender, alice, joins and is seen by bob once.
//! Then an attacker without the password sends JUNK well-formed frames
//! under fresh salts, spread over NICKS joined nicks, and right after them
//! alice says one line. The report says how long that line took to show
//! on bob's stdout, or what bob printed instead (expired, refused), how bob
//! treated the junk, and whether the server disconnected him.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chat::Named;
use chat::attack::salt_flood;
use chat::client::{Endpoint, RequestChannel, SimpleClient};
use chat::layer::{AeSettings, Kdf, Layer, Password, SaltMode, Seal};
use chat::wire::{Nick, Response};
use serde::Serialize;

use crate::process::{Binaries, Lines, Process, ServerProcess};

/// The chat's password; the attacker does not know it.
const PASSWORD: &str = "flood-s3cret";
/// What alice says once before the flood, and once after it.
const WARM_UP_TEXT: &str = "before the flood";
const HONEST_TEXT: &str = "after the flood";
/// How long bob may take to join and to show the warm-up line (a failure
/// guard: at 600,000 iterations an unoptimised build derives in seconds).
const PATIENCE: Duration = Duration::from_secs(60);
/// Beyond the TTL, how long to wait for alice's line before calling it lost.
const GRACE: Duration = Duration::from_secs(30);
/// How long bob's stderr is given to say his connection was lost.
const LOST_GRACE: Duration = Duration::from_millis(500);

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
    pub fn new(kdf: Kdf, iterations: u32, junk: usize) -> Self {
        let flood = Flood {
            kdf,
            iterations,
            junk,
            nicks: 1,
            ttl: 30,
            session_salt: false,
        };
        Self {
            flood,
            binaries: Binaries::beside_current_exe(),
        }
    }

    fn settings(&self) -> AeSettings {
        let mut settings = AeSettings::new(Password::new(PASSWORD));
        settings.kdf = self.flood.kdf;
        settings.iterations = self.flood.iterations;
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
    /// From alice's send to bob's line for it.
    pub delay_ms: f64,
    /// What bob printed for alice's line (`None`: nothing in time).
    pub honest_line: Option<String>,
    /// Whether that line is alice's text, shown.
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
    let mut bob = start_bob(config, &server)?;
    let mut alice = Alice::join(config, &endpoint)?;
    alice.say(WARM_UP_TEXT)?;
    find(&bob.stdout, PATIENCE, &format!("alice : {WARM_UP_TEXT}"))?;

    let nicks = flood_nicks(config.flood.nicks)?;
    let flood = salt_flood::flood(&endpoint, &nicks, config.flood.junk).context("flood")?;
    let sent = Instant::now();
    alice.say(HONEST_TEXT)?;
    let wait = Duration::from_secs(config.flood.ttl) + GRACE;
    let outcome = watch(&bob.stdout, wait);
    let delay = sent.elapsed();
    let disconnected = !bob.is_running() || lost(&bob.stderr);
    Ok(FloodReport {
        flood: config.flood.clone(),
        flood_ms: millis(flood.elapsed),
        junk_broadcast: flood.accepted,
        delay_ms: millis(delay),
        shown: outcome.honest.as_deref() == Some(&format!("alice : {HONEST_TEXT}")),
        honest_line: outcome.honest,
        junk_over_budget: outcome.over_budget,
        junk_unverified: outcome.unverified,
        shed: outcome.shed,
        disconnected,
    })
}

/// Bob, an `aead_client` of the server, joined.
fn start_bob(config: &FloodConfig, server: &ServerProcess) -> Result<Process> {
    let mut args = server.client_args();
    let ttl = config.flood.ttl.to_string();
    let iterations = config.flood.iterations.to_string();
    let kdf = config.flood.kdf.name();
    args.extend(
        [
            "--nick",
            "bob",
            "--ttl",
            &ttl,
            "--iterations",
            &iterations,
            "--kdf",
            kdf,
        ]
        .map(String::from),
    );
    let bob = Process::spawn(
        &config
            .binaries
            .path(unsecured_chat::client_binary(Layer::Aead)),
        &args,
        &[("CHAT_PASSWORD", PASSWORD)],
    )?;
    bob.stderr
        .find(PATIENCE, |l| l.starts_with("joined as "))
        .context("bob did not join")?;
    Ok(bob)
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
        let nick = Nick::new("alice").context("alice")?;
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

/// What bob printed up to and including his line for alice's message.
#[derive(Default)]
struct Outcome {
    honest: Option<String>,
    over_budget: usize,
    unverified: usize,
    shed: usize,
}

/// Reads bob's lines, tallying the junk, until one is about alice.
fn watch(stdout: &Lines, within: Duration) -> Outcome {
    let deadline = Instant::now() + within;
    let mut outcome = Outcome::default();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(line) = stdout.next(left) else { break };
        if line.starts_with("alice : ") || line.starts_with("[rejected] alice:") {
            outcome.honest = Some(line);
            break;
        }
        if line.ends_with("too many new salts, not verified") {
            outcome.over_budget += 1;
        } else if line.contains("cannot verify: wrong password or altered message") {
            outcome.unverified += 1;
        } else if line.ends_with("receiver overloaded, not verified") {
            outcome.shed += 1;
        }
    }
    outcome
}

fn find(lines: &Lines, within: Duration, wanted: &str) -> Result<String> {
    lines
        .find(within, |l| l == wanted)
        .with_context(|| format!("no line {wanted:?} in time"))
}

/// Whether the client reported its connection gone (the server's last
/// words, or the lost connection).
fn lost(stderr: &Lines) -> bool {
    stderr
        .find(LOST_GRACE, |l| {
            l.starts_with("server: ") || l.contains("connection to server lost")
        })
        .is_some()
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}
