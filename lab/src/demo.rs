//! `make demo`: the whole lab in one command. Every attack of the lab is
//! played against every layer, on free local ports, with scripted clients;
//! each scene narrates what happened, and the run ends with the
//! attack/defence table: for each cell the outcome expected, the one
//! observed, and whether they agree.
//!
//! Outcomes are judged from what the victims see (a client's stdout and
//! stderr, the server's `list`, a file that should not exist), never from
//! what the attacking tool claims about itself.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use unsecured_chat::app::display::printable;
use unsecured_chat::client::{Endpoint, RequestChannel};
use unsecured_chat::server::rogue_server::FORGED_TEXT;
use unsecured_chat::{Request, Response};

use crate::process::{Binaries, Process, ProcessError, ServerProcess};

/// Password of the demo's encrypted clients.
const PASSWORD: &str = "s3cret";
/// How long to wait for something that should happen.
const PATIENCE: Duration = Duration::from_secs(15);
/// How long to wait for a warning that a layer may legitimately not print.
const WARNING_GRACE: Duration = Duration::from_secs(2);
/// How often a message is repeated until a listener shows it is subscribed.
const WARM_UP_TRIES: usize = 20;
/// How long each warm-up message is given to show up.
const WARM_UP_WAIT: Duration = Duration::from_millis(500);
/// Delay of the rogue server's replays.
const REPLAY_DELAY: &str = "0.5";
/// The sender's clock offset in the lab's TTL experiment.
const STALE_CLOCK: &str = "-45";
/// Nicks joined by the flood.
const FLOOD_SIZE: usize = 20;
/// Messages sent through the dropping server.
const DROP_MESSAGES: usize = 5;
/// What alice says in the eavesdropping scene.
const SECRET: &str = "the vault code is 4321";

/// A column of the table: which chat the attack is played against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `simple_server` and `simple_client`: the original's trust model.
    Plain,
    /// `simple_server --guard` and `simple_client`.
    Guarded,
    /// `ae_server` and `ae_client`.
    Ae,
    /// `ae_server` and `aead_client`.
    Aead,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Self::Plain, Self::Guarded, Self::Ae, Self::Aead];

    fn server(self) -> &'static str {
        match self {
            Self::Plain | Self::Guarded => "simple_server",
            Self::Ae | Self::Aead => "ae_server",
        }
    }

    fn client(self) -> &'static str {
        match self {
            Self::Plain | Self::Guarded => "simple_client",
            Self::Ae => "ae_client",
            Self::Aead => "aead_client",
        }
    }

    fn server_flags(self) -> &'static [&'static str] {
        match self {
            Self::Guarded => &["--guard"],
            _ => &[],
        }
    }

    fn client_flags(self) -> &'static [&'static str] {
        match self {
            Self::Plain | Self::Guarded => &[],
            Self::Ae | Self::Aead => &["--password", PASSWORD],
        }
    }

    fn encrypted(self) -> bool {
        matches!(self, Self::Ae | Self::Aead)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "plain",
            Self::Guarded => "plain --guard",
            Self::Ae => "AE",
            Self::Aead => "AEAD",
        })
    }
}

/// A row of the table: one of the lab's attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    Eavesdrop,
    Evict,
    Flood,
    Exploit,
    Tamper,
    Impersonate,
    Replay,
    Drop,
    StaleToken,
}

impl Attack {
    pub const ALL: [Attack; 9] = [
        Self::Eavesdrop,
        Self::Evict,
        Self::Flood,
        Self::Exploit,
        Self::Tamper,
        Self::Impersonate,
        Self::Replay,
        Self::Drop,
        Self::StaleToken,
    ];

    /// What the attack is about, in a sentence.
    pub fn lesson(self) -> &'static str {
        match self {
            Self::Eavesdrop => {
                "simple_bigbrother reads the broadcast port without joining: whoever reaches the server reads everything not encrypted."
            }
            Self::Evict => {
                "In the original's trust model anyone may `leave` any nick: simple_dos --evict throws a user out."
            }
            Self::Flood => "simple_dos --flood joins nicks until the server is full of ghosts.",
            Self::Exploit => {
                "The original deserialised with pickle: the same payload runs a command on the Python server. Ours parses JSON into typed frames."
            }
            Self::Tamper => "A rogue server alters what it relays.",
            Self::Impersonate => {
                "A rogue server relabels a message with another nick: Fernet does not cover the clear nick."
            }
            Self::Replay => "A rogue server relays a message again later.",
            Self::Drop => {
                "A rogue server relays only every other message: nobody can prevent it, at best detect it."
            }
            Self::StaleToken => {
                "The lab's TTL experiment: a sender whose clock is 45 s behind (or an old message replayed)."
            }
        }
    }
}

impl fmt::Display for Attack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eavesdrop => "eavesdropping",
            Self::Evict => "eviction (dos)",
            Self::Flood => "flood (dos)",
            Self::Exploit => "deserialisation exploit",
            Self::Tamper => "tamper",
            Self::Impersonate => "impersonate",
            Self::Replay => "replay",
            Self::Drop => "drop",
            Self::StaleToken => "stale token (45 s)",
        })
    }
}

/// What became of an attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The attack did what it set out to do.
    Succeeds,
    /// The layer prevented it.
    Stopped,
    /// It happened, but the victim was told.
    Detected,
    /// The attack has no meaning against this layer.
    NotApplicable,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Succeeds => "succeeds",
            Self::Stopped => "stopped",
            Self::Detected => "detected",
            Self::NotApplicable => "n/a",
        })
    }
}

/// The lab's answer for each cell.
pub fn expected(attack: Attack, layer: Layer) -> Outcome {
    use Outcome::*;
    match (attack, layer) {
        (Attack::Exploit, _) => Stopped,
        (Attack::Eavesdrop, l) if l.encrypted() => Stopped,
        (Attack::Evict | Attack::Flood, Layer::Guarded) => Stopped,
        (Attack::Tamper, l) if l.encrypted() => Stopped,
        (Attack::Impersonate | Attack::Replay | Attack::StaleToken, Layer::Aead) => Stopped,
        (Attack::Drop, Layer::Aead) => Detected,
        (Attack::StaleToken, Layer::Plain | Layer::Guarded) => NotApplicable,
        _ => Succeeds,
    }
}

/// A scene that could not be played to the end.
#[derive(Debug)]
pub struct DemoError(pub String);

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

impl From<ProcessError> for DemoError {
    fn from(e: ProcessError) -> Self {
        Self(e.0)
    }
}

/// Plays one cell, telling its story line by line to `narrate`.
pub fn play(
    attack: Attack,
    layer: Layer,
    bins: &Binaries,
    narrate: &mut dyn FnMut(&str),
) -> Result<Outcome, DemoError> {
    let mut scene = Scene {
        bins,
        layer,
        narrate,
    };
    match attack {
        Attack::Eavesdrop => scene.eavesdrop(),
        Attack::Evict => scene.evict(),
        Attack::Flood => scene.flood(),
        Attack::Exploit => scene.exploit(),
        Attack::Tamper => scene.tamper(),
        Attack::Impersonate => scene.impersonate(),
        Attack::Replay => scene.replay(),
        Attack::Drop => scene.drop_messages(),
        Attack::StaleToken => scene.stale_token(),
    }
}

/// One cell being played: the binaries, the layer, the narrator.
struct Scene<'a> {
    bins: &'a Binaries,
    layer: Layer,
    narrate: &'a mut dyn FnMut(&str),
}

impl Scene<'_> {
    /// Narrates a line, which may quote what peers sent (a log line, a
    /// client's output): escaped as every tool prints peer text.
    fn say(&mut self, line: &str) {
        (self.narrate)(&printable(line));
    }

    /// The layer's server.
    fn server(&mut self) -> Result<ServerProcess, DemoError> {
        let layer = self.layer;
        self.start_server(layer.server(), layer.server_flags())
    }

    /// A rogue server running `attack`, in the layer's trust model.
    fn rogue(&mut self, attack: &[&str]) -> Result<ServerProcess, DemoError> {
        let mut flags = vec!["--attack"];
        flags.extend_from_slice(attack);
        flags.extend_from_slice(self.layer.server_flags());
        self.start_server("rogue_server", &flags)
    }

    fn start_server(&mut self, name: &str, flags: &[&str]) -> Result<ServerProcess, DemoError> {
        let server = ServerProcess::start(&self.bins.path(name), flags, &[("RUST_LOG", "info")])?;
        self.say(&format!(
            "{}   # on port {}",
            command_line(name, flags),
            server.port
        ));
        Ok(server)
    }

    /// A client of the layer, joined as `nick`.
    fn client(
        &mut self,
        server: &ServerProcess,
        nick: &str,
        extra: &[&str],
    ) -> Result<Process, DemoError> {
        let mut args = server.client_args();
        args.extend(["--nick", nick].map(String::from));
        args.extend(
            self.layer
                .client_flags()
                .iter()
                .chain(extra)
                .map(|s| s.to_string()),
        );
        let client = Process::spawn(&self.bins.path(self.layer.client()), &args, &[])?;
        client
            .stderr
            .find(PATIENCE, |l| l.starts_with("joined as "))
            .ok_or_else(|| DemoError(format!("{} '{nick}' did not join", self.layer.client())))?;
        Ok(client)
    }

    /// Runs a tool to its end against `server`; returns its stdout lines.
    fn run_tool(
        &mut self,
        name: &str,
        server: &ServerProcess,
        flags: &[&str],
    ) -> Result<Vec<String>, DemoError> {
        self.say(&command_line(name, flags));
        let mut args = server.client_args();
        args.extend(flags.iter().map(|s| s.to_string()));
        let mut tool = Process::spawn(&self.bins.path(name), &args, &[])?;
        tool.close_stdin();
        tool.wait(PATIENCE)
            .ok_or_else(|| DemoError(format!("{name} did not finish")))?;
        Ok(std::iter::from_fn(|| tool.stdout.next(Duration::ZERO)).collect())
    }

    fn eavesdrop(&mut self) -> Result<Outcome, DemoError> {
        let server = self.server()?;
        let mut args = server.client_args();
        args.push("--host".into());
        args.push("127.0.0.1".into());
        let spy = Process::spawn(&self.bins.path("simple_bigbrother"), &args, &[])?;
        self.say("$ simple_bigbrother   # never joins, only listens");
        let mut alice = self.client(&server, "alice", &[])?;
        warm_up(&mut alice, &spy, "alice : ")?;
        self.say(&format!("alice types: {SECRET}"));
        alice.send_line(SECRET)?;
        let seen = spy
            .stdout
            .find(PATIENCE, |l| {
                l.starts_with("alice : ") && !l.contains(WARM_UP_TEXT)
            })
            .ok_or_else(|| DemoError("bigbrother saw nothing".into()))?;
        self.say(&format!("bigbrother prints: {}", shorten(&seen)));
        // The server's log line for this very message: found by its text in
        // clear, by its salt when encrypted.
        let needle = salt_in(&seen).unwrap_or(SECRET);
        let logged = |l: &str| l.contains("sent message") && l.contains(needle);
        if let Some(log) = server.process.stderr.find(PATIENCE, logged) {
            self.say(&format!("the server logs: {}", shorten(log_message(&log))));
        }
        Ok(if seen.contains(SECRET) {
            Outcome::Succeeds
        } else {
            Outcome::Stopped
        })
    }

    fn evict(&mut self) -> Result<Outcome, DemoError> {
        let server = self.server()?;
        let mut alice = self.client(&server, "alice", &[])?;
        let answer = self.run_tool("simple_dos", &server, &["--evict", "alice"])?;
        self.say(&format!("simple_dos reports: {}", answer.join(" / ")));
        alice.send_line("am I still in the chat?")?;
        if let Some(refusal) = alice.stderr.find(WARNING_GRACE, |l| l.contains("refused")) {
            self.say(&format!("alice's client says: {refusal}"));
        }
        let joined = list(&server)?;
        self.say(&format!("the server's list: {joined:?}"));
        Ok(if joined.iter().any(|n| n == "alice") {
            Outcome::Stopped
        } else {
            Outcome::Succeeds
        })
    }

    fn flood(&mut self) -> Result<Outcome, DemoError> {
        let server = self.server()?;
        let _alice = self.client(&server, "alice", &[])?;
        let before = list(&server)?.len();
        let size = FLOOD_SIZE.to_string();
        let answer = self.run_tool("simple_dos", &server, &["--flood", &size])?;
        self.say(&format!("simple_dos reports: {}", answer.join(" / ")));
        let after = list(&server)?.len();
        self.say(&format!(
            "nicks in the chat: {before} before, {after} after"
        ));
        Ok(if after >= before + FLOOD_SIZE {
            Outcome::Succeeds
        } else {
            Outcome::Stopped
        })
    }

    fn exploit(&mut self) -> Result<Outcome, DemoError> {
        let mut server = self.server()?;
        let marker = marker_path();
        let command = format!("touch {}", marker.display());
        let report = self.run_tool("simple_exploit", &server, &["--command", &command])?;
        if let Some(pickle) = report.first() {
            self.say(&format!("simple_exploit reports: {}", shorten(pickle)));
        }
        if let Some(verdict) = report.iter().find(|l| l.starts_with("legitimate client")) {
            self.say(&format!("simple_exploit reports: {}", shorten(verdict)));
        }
        let executed = marker.exists();
        let _ = std::fs::remove_file(&marker);
        let alive = server.process.is_running() && list(&server).is_ok();
        self.say(&format!(
            "command executed: {}; server alive and serving: {}",
            yes_no(executed),
            yes_no(alive)
        ));
        Ok(if executed || !alive {
            Outcome::Succeeds
        } else {
            Outcome::Stopped
        })
    }

    /// Alice speaks through a rogue server running `attack`; returns the
    /// first line bob's client prints, and both clients.
    fn through_rogue(
        &mut self,
        attack: &[&str],
        text: &str,
    ) -> Result<(String, Process, Process, ServerProcess), DemoError> {
        let server = self.rogue(attack)?;
        let mut alice = self.client(&server, "alice", &[])?;
        let bob = self.client(&server, "bob", &[])?;
        self.say(&format!("alice types: {text}"));
        alice.send_line(text)?;
        let line = bob
            .stdout
            .next(PATIENCE)
            .ok_or_else(|| DemoError("bob received nothing".into()))?;
        self.say(&format!("bob's client prints: {}", shorten(&line)));
        Ok((line, alice, bob, server))
    }

    fn tamper(&mut self) -> Result<Outcome, DemoError> {
        let text = "meet me at noon";
        let (line, ..) = self.through_rogue(&["tamper"], text)?;
        Ok(judge_forgery(
            &line,
            &format!("alice : {text}"),
            FORGED_TEXT,
        ))
    }

    fn impersonate(&mut self) -> Result<Outcome, DemoError> {
        let text = "I resign";
        let (line, ..) = self.through_rogue(&["impersonate", "--as", "mallory"], text)?;
        Ok(judge_forgery(
            &line,
            &format!("alice : {text}"),
            &format!("mallory : {text}"),
        ))
    }

    fn replay(&mut self) -> Result<Outcome, DemoError> {
        let text = "transfer 100 euros to bob";
        let (first, _alice, bob, _server) =
            self.through_rogue(&["replay", "--delay", REPLAY_DELAY], text)?;
        let second = bob
            .stdout
            .next(PATIENCE)
            .ok_or_else(|| DemoError("the replay never came".into()))?;
        self.say(&format!(
            "{REPLAY_DELAY} s later, bob's client prints: {}",
            shorten(&second)
        ));
        Ok(if !is_rejection(&first) && second == first {
            Outcome::Succeeds
        } else {
            Outcome::Stopped
        })
    }

    fn drop_messages(&mut self) -> Result<Outcome, DemoError> {
        let server = self.rogue(&["drop"])?;
        let mut alice = self.client(&server, "alice", &[])?;
        let bob = self.client(&server, "bob", &[])?;
        self.say(&format!(
            "alice sends {DROP_MESSAGES} messages, m1 to m{DROP_MESSAGES}"
        ));
        for i in 1..=DROP_MESSAGES {
            alice.send_line(&format!("m{i}"))?;
        }
        let last = format!("alice : m{DROP_MESSAGES}");
        bob.stdout
            .find(PATIENCE, |l| l == last)
            .ok_or_else(|| DemoError("bob never got the last message".into()))?;
        self.say(&format!(
            "bob's client printed m1, m3 and m{DROP_MESSAGES} only"
        ));
        match bob
            .stderr
            .find(WARNING_GRACE, |l| l.starts_with("[warning]"))
        {
            Some(warning) => {
                self.say(&format!("bob's client warns: {warning}"));
                Ok(Outcome::Detected)
            }
            None => {
                self.say("bob's client says nothing: the loss is silent");
                Ok(Outcome::Succeeds)
            }
        }
    }

    fn stale_token(&mut self) -> Result<Outcome, DemoError> {
        if !self.layer.encrypted() {
            self.say("plain messages carry no timestamp: nothing to judge");
            return Ok(Outcome::NotApplicable);
        }
        let server = self.server()?;
        let mut alice = self.client(&server, "alice", &["--clock-offset", STALE_CLOCK])?;
        let bob = self.client(&server, "bob", &[])?;
        self.say(&format!(
            "alice's clock is {} s behind; she types: hello",
            &STALE_CLOCK[1..]
        ));
        alice.send_line("hello")?;
        let line = bob
            .stdout
            .next(PATIENCE)
            .ok_or_else(|| DemoError("bob received nothing".into()))?;
        self.say(&format!("bob's client prints: {}", shorten(&line)));
        Ok(if is_rejection(&line) {
            Outcome::Stopped
        } else {
            Outcome::Succeeds
        })
    }
}

/// Text repeated until a listener shows it is subscribed.
const WARM_UP_TEXT: &str = "(warming up)";

/// Repeats a harmless message until `listener` prints it: the listener is
/// then surely subscribed.
fn warm_up(sender: &mut Process, listener: &Process, prefix: &str) -> Result<(), DemoError> {
    for _ in 0..WARM_UP_TRIES {
        sender.send_line(WARM_UP_TEXT)?;
        if listener
            .stdout
            .find(WARM_UP_WAIT, |l| l.starts_with(prefix))
            .is_some()
        {
            return Ok(());
        }
    }
    Err(DemoError("the listener never showed up".into()))
}

/// Judges what bob saw: the honest line means the attack failed, a
/// rejection that it was stopped, `forged` that it succeeded.
fn judge_forgery(line: &str, honest: &str, forged: &str) -> Outcome {
    if is_rejection(line) || line == honest {
        Outcome::Stopped
    } else if line.contains(forged) {
        Outcome::Succeeds
    } else {
        Outcome::Stopped
    }
}

fn is_rejection(line: &str) -> bool {
    line.starts_with("[rejected]")
}

/// The joined nicks, asked on a fresh request connection.
fn list(server: &ServerProcess) -> Result<Vec<String>, DemoError> {
    let endpoint = Endpoint::new("127.0.0.1", server.port, server.broadcast_port);
    let mut requests =
        RequestChannel::connect(&endpoint).map_err(|e| DemoError(format!("list: {e}")))?;
    match requests.request(&Request::List) {
        Ok(Response::Nicks { nicks, .. }) => Ok(nicks),
        Ok(other) => Err(DemoError(format!("list answered {other:?}"))),
        Err(e) => Err(DemoError(format!("list: {e}"))),
    }
}

/// A file path no other run uses, for the exploit's command to create.
fn marker_path() -> PathBuf {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("unsecured-chat-demo-{}-{n}", std::process::id()))
}

/// `$ name flags`, as a student would type it.
fn command_line(name: &str, flags: &[&str]) -> String {
    std::iter::once(name)
        .chain(flags.iter().copied())
        .fold("$".to_owned(), |line, word| line + " " + word)
}

/// The salt of an encrypted message as bigbrother prints it, if any.
fn salt_in(line: &str) -> Option<&str> {
    let after = line.split_once(r#""salt":""#)?.1;
    after.split_once('"').map(|(salt, _)| salt)
}

/// A log line without env_logger's `[time LEVEL target]` prefix.
fn log_message(line: &str) -> &str {
    line.split_once("] ").map_or(line, |(_, message)| message)
}

/// A long line cut to fit the narration.
fn shorten(line: &str) -> String {
    const WIDTH: usize = 110;
    match line.char_indices().nth(WIDTH) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// One cell of the table, played.
#[derive(Debug)]
pub struct Cell {
    pub attack: Attack,
    pub layer: Layer,
    pub expected: Outcome,
    pub observed: Result<Outcome, String>,
}

impl Cell {
    pub fn agrees(&self) -> bool {
        self.observed.as_ref().is_ok_and(|o| *o == self.expected)
    }
}

/// The attack/defence table, one row per cell.
pub fn table(cells: &[Cell]) -> String {
    let mut out = format!(
        "{:<26} {:<14} {:<10} {:<10} {}\n",
        "attack", "layer", "expected", "observed", "agree"
    );
    for cell in cells {
        let observed = match &cell.observed {
            Ok(outcome) => outcome.to_string(),
            Err(e) => format!("error: {e}"),
        };
        let mark = if cell.agrees() { "yes" } else { "NO" };
        out.push_str(&format!(
            "{:<26} {:<14} {:<10} {:<10} {mark}\n",
            cell.attack.to_string(),
            cell.layer.to_string(),
            cell.expected.to_string(),
            observed
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_narration_escapes_what_peers_sent() {
        let bins = Binaries::at("/nonexistent");
        let mut said = Vec::new();
        let mut narrate = |line: &str| said.push(line.to_owned());
        let mut scene = Scene {
            bins: &bins,
            layer: Layer::Plain,
            narrate: &mut narrate,
        };
        scene.say("bob's client prints: eve : a\u{202e}b\u{2028}c");
        assert_eq!(said, ["bob's client prints: eve : a\\u{202e}b\\u{2028}c"]);
    }

    #[test]
    fn only_aead_stops_the_rogue_server_and_only_the_guard_stops_the_dos() {
        assert_eq!(expected(Attack::Impersonate, Layer::Ae), Outcome::Succeeds);
        assert_eq!(expected(Attack::Impersonate, Layer::Aead), Outcome::Stopped);
        assert_eq!(expected(Attack::Evict, Layer::Aead), Outcome::Succeeds);
        assert_eq!(expected(Attack::Evict, Layer::Guarded), Outcome::Stopped);
        assert_eq!(expected(Attack::Drop, Layer::Aead), Outcome::Detected);
        assert_eq!(expected(Attack::Exploit, Layer::Plain), Outcome::Stopped);
        assert_eq!(
            expected(Attack::StaleToken, Layer::Plain),
            Outcome::NotApplicable
        );
    }

    #[test]
    fn finds_the_salt_bigbrother_printed() {
        assert_eq!(
            salt_in(r#"alice : {"salt":"c2FsdA==","token":"gAAA"}"#),
            Some("c2FsdA==")
        );
        assert_eq!(salt_in("alice : hello"), None);
        assert_eq!(command_line("simple_server", &[]), "$ simple_server");
        assert_eq!(
            command_line("simple_dos", &["--evict", "alice"]),
            "$ simple_dos --evict alice"
        );
    }

    #[test]
    fn judges_what_bob_saw() {
        let honest = "alice : hi";
        assert_eq!(
            judge_forgery(honest, honest, "mallory : hi"),
            Outcome::Stopped
        );
        assert_eq!(
            judge_forgery("mallory : hi", honest, "mallory : hi"),
            Outcome::Succeeds
        );
        assert_eq!(
            judge_forgery(
                "[rejected] mallory: sender mismatch",
                honest,
                "mallory : hi"
            ),
            Outcome::Stopped
        );
    }
}
