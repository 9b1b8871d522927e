//! The scenes: each cell of the table played in this process, with the
//! library's servers, clients and attacks, and judged from the values they
//! return. Each scene shows first the command a person would run for each
//! part it plays (the server, each client with its flags, each tool), then
//! what happened.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::ValueEnum;
use unsecured_chat::app::display;
use unsecured_chat::attack::simple_bigbrother::Overheard;
use unsecured_chat::attack::simple_dos::{self, Attack as DosAttack, Report as DosReport};
use unsecured_chat::attack::simple_exploit;
use unsecured_chat::client::Delivery;
use unsecured_chat::layer::{AeSettings, Layer, Password};
use unsecured_chat::server::SimpleServer;
use unsecured_chat::server::rogue_server::{
    Attack as RogueAttack, DEFAULT_REPLAY_DELAY, FORGED_TEXT, RogueConfig, RogueServer,
};
use unsecured_chat::wire::Nick;

mod insider;

use insider::Contact;

use super::narration::{Shell, narration, quote};
use super::{Column, Observed, Outcome, PASSWORD, Row, Target};
use crate::logbook::{self, Mark};
use crate::process::Process;
use crate::scratch::Scratch;
use crate::stage::{Member, Server, Spy, layer_server};

/// What alice says in the eavesdropping scene.
const SECRET: &str = "the vault code is 4321";
/// Nicks joined by the flood.
const FLOOD_SIZE: usize = 20;
/// The nick the rogue server relabels messages with.
const MALLORY: &str = "mallory";
/// Delay of the rogue server's replays.
const REPLAY_DELAY: Duration = Duration::from_millis(500);
/// Messages sent through the dropping server.
const DROP_MESSAGES: usize = 5;
/// The sender's clock offset in the lab's TTL experiment, in seconds.
const STALE_CLOCK: i64 = -45;
/// The file the pickle's command creates, and the command.
const MARKER: &str = "pwned";
const PICKLE_COMMAND: &str = "touch pwned";
/// What the Python original did with every request: unpickle it.
const PICKLE_LOAD: &str = "import pickle,sys; pickle.load(sys.stdin.buffer)";
/// Characters of a token shown: enough to see it is one.
const TOKEN_SHOWN: usize = 16;
/// Why the pickle-reading server's cells are skipped without Python.
const NO_PYTHON: &str =
    "python3 is not on PATH, and Python's pickle.load plays the pickle-reading server";

/// Plays one cell, telling its story to `narrate`.
pub(super) fn play(row: Row, column: Column, narrate: &mut dyn FnMut(&str)) -> Observed {
    logbook::install();
    let mut scene = Scene {
        column,
        narrate,
        log: logbook::mark(),
    };
    let played = match row {
        Row::Eavesdrop => scene.eavesdrop(),
        Row::Evict => scene.evict(),
        Row::Flood => scene.flood(),
        Row::Exploit(Target::PickleReader) => scene.pickle_reader(),
        Row::Exploit(Target::Ours) => scene.exploit_ours(),
        Row::Rogue(attack) => scene.rogue(attack),
        Row::KeyPinned => scene.key_substitution(Contact::AfterPinning),
        Row::StaleToken => scene.stale_token(),
        Row::Insider(forgery) => scene.insider(forgery),
    };
    played.unwrap_or_else(|e| Observed::Failed(format!("{e:#}")))
}

/// The outcome of an attack that either did what it set out to do or not.
fn judged(succeeded: bool) -> Result<Observed> {
    Ok(if succeeded {
        Outcome::Succeeds
    } else {
        Outcome::Stopped
    }
    .into())
}

/// One cell being played: its column, the narrator, and where the servers'
/// log stood when it began.
struct Scene<'a> {
    column: Column,
    narrate: &'a mut dyn FnMut(&str),
    log: Mark,
}

impl Scene<'_> {
    fn say(&mut self, text: impl AsRef<str>) {
        for line in narration(text.as_ref()) {
            (self.narrate)(&line);
        }
    }

    fn show(&mut self, command: &Shell) {
        for line in command.lines() {
            (self.narrate)(&line);
        }
    }

    /// Quotes up to `most` lines the servers logged during this scene.
    fn quote_log(&mut self, most: usize, pred: impl Fn(&str) -> bool) {
        for line in logbook::since(self.log, pred).into_iter().take(most) {
            self.say(format!("the server logs: {line}"));
        }
    }

    /// The column's chat server.
    fn server(&mut self) -> Result<Server> {
        let Column { layer, trust } = self.column;
        self.show(&Shell::run(
            layer_server(layer).binary,
            self.column.server_flags(),
        ));
        Server::of_layer(layer, trust)
    }

    /// A client of the column's layer, joined as `nick`.
    fn member(&mut self, server: &Server, nick: &str) -> Result<Member> {
        self.member_with_clock(server, nick, 0)
    }

    /// A client whose clock is off by `clock_offset` seconds.
    fn member_with_clock(&mut self, server: &Server, nick: &str, offset: i64) -> Result<Member> {
        let layer = self.column.layer;
        let settings = layer.encrypted().then(|| AeSettings {
            clock_offset: offset,
            ..AeSettings::new(Password::new(PASSWORD))
        });
        self.show(&client_command(layer, nick, offset));
        Member::join(&server.endpoint(), nick, layer, settings.as_ref())
    }

    fn eavesdrop(&mut self) -> Result<Observed> {
        let server = self.server()?;
        let bigbrother = Shell::run::<&str>("simple_bigbrother", &[]);
        self.show(&bigbrother.comment("never joins, only listens"));
        let mut spy = Spy::listen(&server)?;
        let mut alice = self.member(&server, "alice")?;
        self.say(format!("alice types: {SECRET}"));
        alice.send(SECRET)?;
        let heard = spy.overhear_next()?;
        self.say(format!("bigbrother prints: {}", bigbrother_line(&heard)));
        let needle = salt_of(&heard).unwrap_or_else(|| SECRET.to_owned());
        self.quote_log(1, |l| l.contains("sent message") && l.contains(&needle));
        judged(matches!(heard, Overheard::Message { message, .. } if message.contains(SECRET)))
    }

    fn evict(&mut self) -> Result<Observed> {
        let server = self.server()?;
        let mut alice = self.member(&server, "alice")?;
        let victim = DosAttack::Evict(alice.nick().clone());
        self.dos(&server, &["--evict", "alice"], &victim)?;
        let answer = alice.say("am I still in the chat?")?;
        let answer = display::response(&answer);
        self.say(format!(
            "alice sends a message; the server answers {answer}"
        ));
        let joined = server.list()?;
        self.say(format!("the server's list: {joined:?}"));
        judged(!joined.iter().any(|n| n == "alice"))
    }

    fn flood(&mut self) -> Result<Observed> {
        let server = self.server()?;
        let _alice = self.member(&server, "alice")?;
        let before = server.list()?.len();
        let size = FLOOD_SIZE.to_string();
        self.dos(&server, &["--flood", &size], &DosAttack::Flood(FLOOD_SIZE))?;
        let after = server.list()?.len();
        self.say(format!("nicks in the chat: {before} before, {after} after"));
        judged(after >= before + FLOOD_SIZE)
    }

    /// Runs `simple_dos FLAGS`, which is `attack`, against `server`.
    fn dos(&mut self, server: &Server, flags: &[&str], attack: &DosAttack) -> Result<DosReport> {
        self.show(&Shell::run("simple_dos", flags));
        let report = simple_dos::run(&server.endpoint(), attack)?;
        self.say(format!(
            "simple_dos reports: {}",
            display::dos_report(&report)
        ));
        Ok(report)
    }

    fn pickle_reader(&mut self) -> Result<Observed> {
        self.show(&Shell::raw(r#"cd "$(mktemp -d)""#).comment("a scratch folder"));
        let dump = Shell::run("simple_exploit", &["--dump", "--command", PICKLE_COMMAND]);
        self.show(&dump.pipe(Shell::run("python3", &["-c", PICKLE_LOAD])));
        if !python3_on_path() {
            self.say("no python3 on PATH: nothing here unpickles, the scene ends");
            return Ok(Observed::Skipped(NO_PYTHON));
        }
        let scratch = Scratch::new("chat-demo")?;
        let payload = simple_exploit::pickle_payload(PICKLE_COMMAND)?;
        let status = unpickle(&payload, scratch.path())?;
        let found = scratch.entries()?;
        self.say(format!(
            "python3's pickle.load read the {} bytes ({status}); the scratch folder now holds: {found:?}",
            payload.len()
        ));
        judged(found.iter().any(|name| name == MARKER))
    }

    fn exploit_ours(&mut self) -> Result<Observed> {
        let server = self.server()?;
        let scratch = Scratch::new("chat-demo")?;
        let marker = scratch.path().join(MARKER);
        let command = format!("touch {}", quote(&marker.to_string_lossy()));
        self.show(&Shell::run("simple_exploit", &["--command", &command]));
        let report = simple_exploit::run(&server.endpoint(), &command)?;
        let lines = display::exploit_report(&report);
        for line in [lines.first(), lines.last()].into_iter().flatten() {
            self.say(format!("simple_exploit reports: {line}"));
        }
        let ran = marker.exists();
        let serving = report.survived() && server.list().is_ok();
        self.say(format!(
            "command executed: {}; server alive and serving: {}",
            yes_no(ran),
            yes_no(serving)
        ));
        judged(ran || !serving)
    }

    fn rogue(&mut self, attack: RogueAttack) -> Result<Observed> {
        match attack {
            RogueAttack::Tamper => {
                let seen = self.through_rogue(attack, "meet me at noon")?.seen;
                judged(accepted(&seen, |_, text| text == FORGED_TEXT))
            }
            RogueAttack::Impersonate => {
                let text = "I resign";
                let seen = self.through_rogue(attack, text)?.seen;
                judged(accepted(&seen, |nick, said| {
                    nick == MALLORY && said == text
                }))
            }
            RogueAttack::Replay => self.replay(),
            RogueAttack::Drop => self.drop_messages(),
            RogueAttack::SubstituteKey => self.key_substitution(Contact::First),
        }
    }

    /// A rogue server running `attack`, in the column's trust model.
    fn rogue_server(&mut self, attack: RogueAttack) -> Result<Server> {
        let (flags, config) = rogue_plan(attack)?;
        let mut args = flags;
        args.extend(self.column.server_flags().iter().map(|f| f.to_string()));
        self.show(&Shell::run("rogue_server", &args));
        let trust = self.column.trust;
        Server::start(|publisher| RogueServer::new(SimpleServer::new(trust), config, publisher))
    }

    /// alice types `text` through a rogue server running `attack`; what
    /// bob's client makes of it first.
    fn through_rogue(&mut self, attack: RogueAttack, text: &str) -> Result<Relayed> {
        let server = self.rogue_server(attack)?;
        let mut alice = self.member(&server, "alice")?;
        let bob = self.member(&server, "bob")?;
        self.say(format!("alice types: {text}"));
        alice.send(text)?;
        let seen = bob.next()?;
        self.say(format!("bob's client prints: {}", display::delivery(&seen)));
        Ok(Relayed {
            _server: server,
            bob,
            seen,
        })
    }

    fn replay(&mut self) -> Result<Observed> {
        let relayed = self.through_rogue(RogueAttack::Replay, "transfer 100 euros to bob")?;
        let (first, second) = (&relayed.seen, relayed.bob.next()?);
        self.say(format!(
            "{} s later, bob's client prints: {}",
            REPLAY_DELAY.as_secs_f64(),
            display::delivery(&second)
        ));
        judged(accepted(first, |_, _| true) && second == *first)
    }

    fn drop_messages(&mut self) -> Result<Observed> {
        let server = self.rogue_server(RogueAttack::Drop)?;
        let mut alice = self.member(&server, "alice")?;
        let bob = self.member(&server, "bob")?;
        self.say(format!(
            "alice sends {DROP_MESSAGES} messages, m1 to m{DROP_MESSAGES}"
        ));
        for i in 1..=DROP_MESSAGES {
            alice.send(&format!("m{i}"))?;
        }
        let got = deliveries_until(&bob, &format!("m{DROP_MESSAGES}"))?;
        let shown: Vec<String> = got.iter().map(display::delivery).collect();
        self.say(format!("bob's client prints only: {}", shown.join(", ")));
        self.quote_log(usize::MAX, |l| l.contains("swallowed"));
        let warnings: Vec<String> = got.iter().flat_map(warnings).collect();
        if warnings.is_empty() {
            self.say("bob's client says nothing: the loss is silent");
            return judged(true);
        }
        for warning in warnings {
            self.say(format!(
                "bob's client warns: {}",
                display::warning(&warning)
            ));
        }
        Ok(Outcome::Detected.into())
    }

    fn stale_token(&mut self) -> Result<Observed> {
        if !self.column.layer.encrypted() {
            self.say("plain messages carry no timestamp: nothing to judge");
            return Ok(Outcome::NotApplicable.into());
        }
        let server = self.server()?;
        let mut alice = self.member_with_clock(&server, "alice", STALE_CLOCK)?;
        let bob = self.member(&server, "bob")?;
        let behind = -STALE_CLOCK;
        self.say(format!(
            "alice's clock is {behind} s behind; she types: hello"
        ));
        alice.send("hello")?;
        let seen = bob.next()?;
        self.say(format!("bob's client prints: {}", display::delivery(&seen)));
        judged(accepted(&seen, |_, _| true))
    }
}

/// What went through a rogue server: the server (kept running), bob, and
/// what bob's client made of alice's message.
struct Relayed {
    _server: Server,
    bob: Member,
    seen: Delivery,
}

/// The command that starts a client of `layer` as `nick`.
fn client_command(layer: Layer, nick: &str, clock_offset: i64) -> Shell {
    let mut args = vec!["--nick".to_owned(), nick.to_owned()];
    if layer.encrypted() {
        args.extend(["--password", PASSWORD].map(String::from));
    }
    if clock_offset != 0 {
        args.extend(["--clock-offset".to_owned(), clock_offset.to_string()]);
    }
    Shell::run(layer.client_binary(), &args)
}

/// The rogue server's flags for `attack` (`--attack` first), and the
/// configuration they make.
fn rogue_plan(attack: RogueAttack) -> Result<(Vec<String>, RogueConfig)> {
    let name = attack
        .to_possible_value()
        .context("a rogue attack without a name")?;
    let mut flags = vec!["--attack".to_owned(), name.get_name().to_owned()];
    let mut config = RogueConfig {
        attacks: BTreeSet::from([attack]),
        impersonate: None,
        replay_delay: DEFAULT_REPLAY_DELAY,
    };
    match attack {
        RogueAttack::Impersonate => {
            config.impersonate = Some(Nick::new(MALLORY)?);
            flags.extend(["--as".to_owned(), MALLORY.to_owned()]);
        }
        RogueAttack::Replay => {
            config.replay_delay = REPLAY_DELAY;
            let delay = REPLAY_DELAY.as_secs_f64().to_string();
            flags.extend(["--delay".to_owned(), delay]);
        }
        RogueAttack::SubstituteKey => {
            flags.extend(["--password", PASSWORD].map(String::from));
        }
        RogueAttack::Tamper | RogueAttack::Drop => {}
    }
    Ok((flags, config))
}

/// Whether `delivery` is a message the client accepted, and `pred` holds of
/// its nick and text.
fn accepted(delivery: &Delivery, pred: impl Fn(&str, &str) -> bool) -> bool {
    matches!(delivery, Delivery::Accepted { nick, opened } if pred(nick.as_str(), &opened.text))
}

/// What a delivery's layer warned about.
fn warnings(delivery: &Delivery) -> Vec<String> {
    match delivery {
        Delivery::Accepted { opened, .. } => opened.warnings.clone(),
        Delivery::Rejected { .. } | Delivery::Notice(_) => Vec::new(),
    }
}

/// `member`'s deliveries up to the accepted message whose text is `last`.
fn deliveries_until(member: &Member, last: &str) -> Result<Vec<Delivery>> {
    let mut got = Vec::new();
    loop {
        let delivery = member.next()?;
        let done = accepted(&delivery, |_, text| text == last);
        got.push(delivery);
        if done {
            return Ok(got);
        }
    }
}

/// Big brother's line, an encrypted message's token shortened: the lesson
/// is that there is only a token, not what it holds.
fn bigbrother_line(heard: &Overheard) -> String {
    let Overheard::Message { nick, message } = heard else {
        return display::overheard(heard);
    };
    let message = shortened_token(message).unwrap_or_else(|| message.clone());
    display::overheard(&Overheard::Message {
        nick: nick.clone(),
        message,
    })
}

fn shortened_token(message: &str) -> Option<String> {
    let mut sealed: serde_json::Value = serde_json::from_str(message).ok()?;
    let token = sealed.get_mut("token")?;
    let shown: String = token.as_str()?.chars().take(TOKEN_SHOWN).collect();
    *token = format!("{shown}...").into();
    Some(sealed.to_string())
}

/// The salt of an encrypted message big brother overheard.
fn salt_of(heard: &Overheard) -> Option<String> {
    let Overheard::Message { message, .. } = heard else {
        return None;
    };
    let sealed: serde_json::Value = serde_json::from_str(message).ok()?;
    sealed.get("salt")?.as_str().map(str::to_owned)
}

fn python3_on_path() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Feeds `payload` to Python's `pickle.load`, run in `folder`.
fn unpickle(payload: &[u8], folder: &Path) -> Result<ExitStatus> {
    let mut command = Command::new("python3");
    command.args(["-c", PICKLE_LOAD]).current_dir(folder);
    let mut python = Process::start(command)?;
    python.feed(payload)?;
    python.exit_status()
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unsecured_chat::wire::ClaimedNick;

    #[test]
    fn shows_a_sealed_message_with_its_token_shortened() {
        let heard = Overheard::Message {
            nick: ClaimedNick::check("alice"),
            message: r#"{"salt":"c2FsdA==","token":"gAAAAABm0123456789abcdef"}"#.into(),
        };
        assert_eq!(
            bigbrother_line(&heard),
            r#"alice : {"salt":"c2FsdA==","token":"gAAAAABm01234567..."}"#
        );
        assert_eq!(salt_of(&heard).as_deref(), Some("c2FsdA=="));
        let plain = Overheard::Message {
            nick: ClaimedNick::check("alice"),
            message: "hello".into(),
        };
        assert_eq!(bigbrother_line(&plain), "alice : hello");
        assert_eq!(salt_of(&plain), None);
    }

    #[test]
    fn the_rogue_servers_flags_match_its_configuration() {
        let (flags, config) = rogue_plan(RogueAttack::Replay).unwrap();
        assert_eq!(flags, ["--attack", "replay", "--delay", "0.5"]);
        assert_eq!(config.replay_delay, REPLAY_DELAY);
        let (flags, config) = rogue_plan(RogueAttack::Impersonate).unwrap();
        assert_eq!(flags, ["--attack", "impersonate", "--as", "mallory"]);
        assert_eq!(config.impersonate.unwrap().as_str(), MALLORY);
    }

    #[test]
    fn clients_show_their_password_and_clock() {
        let client = client_command(Layer::Aead, "alice", STALE_CLOCK);
        assert_eq!(
            client.lines(),
            ["    $ aead_client --nick alice --password s3cret --clock-offset -45"]
        );
        assert_eq!(
            client_command(Layer::Plain, "bob", 0).lines(),
            ["    $ simple_client --nick bob"]
        );
    }
}
