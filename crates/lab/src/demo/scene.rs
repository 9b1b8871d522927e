//! The scenes: each cell of the table played in this process, with the
//! library's servers, clients and attacks, and judged from the values they
//! return. Each scene shows first the command a person would run for each
//! part it plays (the server, each client with its flags, each tool), then
//! what happened.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::Result;
use chat::Named;
use chat::attack::simple_bigbrother::Overheard;
use chat::attack::simple_dos::{self, Attack as DosAttack, Report as DosReport};
use chat::attack::simple_exploit;
use chat::client::{Delivery, RequestChannel};
use chat::layer::{AeSettings, Layer, Password, Room};
use chat::server::SimpleServer;
use chat::server::rogue_server::{
    Attack as RogueAttack, DEFAULT_REPLAY_DELAY, FORGED_TEXT, RogueConfig, RogueServer,
};
use chat::wire::{Nick, Request, Response, Wire};
use unsecured_chat::PASSWORD_ENV;
use unsecured_chat::display;

mod insider;

use insider::{Contact, Forgery};

use super::narration::{Binaries, Shell, narration, quote};
use super::{Column, Observed, Outcome, PASSWORD, Row};
use crate::logbook::{self, Mark};
use crate::prerequisite::{PYTHON3, python3_on_path};
use crate::process::Process;
use crate::scratch::Scratch;
use crate::stage::{Member, Server, Spy, big_brother, layer_server};

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

/// The two chats of the room-replay scene, and the second one's ports in
/// the commands it prints (the first one uses the defaults).
const ROOM_A: &str = "alpha";
const ROOM_B: &str = "beta";
const SECOND_PORTS: [&str; 4] = ["--port", "7666", "--broadcast-port", "7667"];

/// Plays one cell on `wire`, telling its story to `narrate`.
pub(super) fn play(
    row: Row,
    column: Column,
    wire: Wire,
    narrate: &mut dyn FnMut(&str),
) -> Observed {
    logbook::install();
    let mut scene = Scene {
        column,
        wire,
        narrate,
        log: logbook::mark(),
        moved: false,
    };
    let played = match row {
        Row::Eavesdrop => scene.eavesdrop(),
        Row::Evict => scene.evict(),
        Row::Flood => scene.flood(),
        Row::PickleReader => scene.pickle_reader(),
        Row::PickleOurs => scene.exploit_ours(),
        Row::Tamper => scene.rogue(RogueAttack::Tamper),
        Row::Impersonate => scene.rogue(RogueAttack::Impersonate),
        Row::Replay => scene.rogue(RogueAttack::Replay),
        Row::Drop => scene.rogue(RogueAttack::Drop),
        Row::KeyFirstContact => scene.rogue(RogueAttack::SubstituteKey),
        Row::KeyPinned => scene.key_substitution(Contact::AfterPinning),
        Row::RoomReplay => scene.room_replay(),
        Row::StaleToken => scene.stale_token(),
        Row::ForgeNick => scene.insider(Forgery::Nick),
        Row::PoisonCounter => scene.insider(Forgery::Counter),
    };
    if scene.moved {
        scene.show(&Shell::raw(r#"cd "$OLDPWD""#).comment("back where the demo runs"));
    }
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

/// One cell being played: its column, its wire, the narrator, and where
/// the servers' log stood when it began.
struct Scene<'a> {
    column: Column,
    wire: Wire,
    narrate: &'a mut dyn FnMut(&str),
    log: Mark,
    /// Whether a command shown left the folder the demo runs in.
    moved: bool,
}

impl Scene<'_> {
    fn say(&mut self, text: impl AsRef<str>) {
        for line in narration(text.as_ref()) {
            (self.narrate)(&line);
        }
    }

    /// Shows a command as it pastes into a shell: the project's binaries
    /// named by where they are, by absolute paths once the scene has left
    /// the folder the demo runs in.
    fn show(&mut self, command: &Shell) {
        let located = command.located(Binaries::here(), self.moved);
        self.moved |= command.leaves_folder();
        for line in located.lines() {
            (self.narrate)(&line);
        }
    }

    /// Quotes up to `most` lines the servers logged during this scene.
    fn quote_log(&mut self, most: usize, pred: impl Fn(&str) -> bool) {
        for line in logbook::since(self.log, pred).into_iter().take(most) {
            self.say(format!("the server logs: {line}"));
        }
    }

    /// `program ARGS`, on the scene's wire, as a person would type it.
    fn command<S: AsRef<str>>(&self, program: &str, args: &[S]) -> Shell {
        command_on(self.wire, program, args)
    }

    /// The column's chat server.
    fn server(&mut self) -> Result<Server> {
        self.server_at(&[])
    }

    /// The column's chat server, shown listening with `ports` flags.
    fn server_at(&mut self, ports: &[&str]) -> Result<Server> {
        let Column { layer, trust } = self.column;
        let flags = [ports, self.column.server_flags()].concat();
        self.show(&self.command(layer_server(layer).binary, &flags));
        Server::of_layer_on(layer, trust, self.wire)
    }

    /// A client of the column's layer, joined as `nick`.
    fn member(&mut self, server: &Server, nick: &str) -> Result<Member> {
        self.member_with(server, nick, &Client::default())
    }

    /// A client whose clock is off by `clock_offset` seconds.
    fn member_with_clock(&mut self, server: &Server, nick: &str, offset: i64) -> Result<Member> {
        let client = Client {
            clock_offset: offset,
            ..Client::default()
        };
        self.member_with(server, nick, &client)
    }

    /// A client of the column's layer, as `client` says, joined as `nick`.
    fn member_with(&mut self, server: &Server, nick: &str, client: &Client) -> Result<Member> {
        let layer = self.column.layer;
        let settings = layer.encrypted().then(|| client.settings()).transpose()?;
        self.show(&client.command(layer, self.wire, nick));
        Member::join(&server.endpoint(), nick, layer, settings.as_ref())
    }

    fn eavesdrop(&mut self) -> Result<Observed> {
        let server = self.server()?;
        let bigbrother = self.command::<&str>("simple_bigbrother", &[]);
        self.show(&bigbrother.comment("never joins, only listens"));
        let mut bigbrother = big_brother(&server)?;
        let mut alice = self.member(&server, "alice")?;
        self.say(format!("alice types: {SECRET}"));
        alice.send(SECRET)?;
        let heard = bigbrother.overhear_next()?;
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
        self.show(&self.command("simple_dos", flags));
        let report = simple_dos::run(&server.endpoint(), attack)?;
        self.say(format!(
            "simple_dos reports: {}",
            display::dos_report(&report)
        ));
        Ok(report)
    }

    fn pickle_reader(&mut self) -> Result<Observed> {
        self.show(&Shell::into_scratch("a scratch folder"));
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
        self.show(&self.command("simple_exploit", &["--command", &command]));
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
        self.show(&self.command("rogue_server", &args));
        let trust = self.column.trust;
        let body = layer_server(self.column.layer).zmq_body;
        Server::start_on(self.wire, body, |publisher| {
            RogueServer::new(SimpleServer::new(trust), config, publisher)
        })
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

    /// alice speaks in one chat; her frame, captured there, is sent byte
    /// for byte into another chat sharing the password, where bob is.
    fn room_replay(&mut self) -> Result<Observed> {
        let text = "the meeting moves to noon";
        let first = self.server()?;
        let second = self.server_at(&SECOND_PORTS)?;
        let mut spy = Spy::listen(&first)?;
        let mut alice = self.member_with(&first, "alice", &Client::in_room(ROOM_A, &[]))?;
        let bob = self.member_with(&second, "bob", &Client::in_room(ROOM_B, &SECOND_PORTS))?;
        self.say(format!("in the first chat alice types: {text}"));
        alice.send(text)?;
        let captured = spy.capture_next()?;
        self.say(format!(
            "the attacker captures her {}-byte frame there and sends it, byte for byte,              into the second chat, as 'alice'",
            captured.len()
        ));
        replay_frame(&second, &captured)?;
        let seen = bob.next()?;
        self.say(format!("bob's client prints: {}", display::delivery(&seen)));
        judged(accepted(&seen, |nick, said| {
            nick == "alice" && said == text
        }))
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

/// How a scene's client differs from the default one.
#[derive(Debug, Default)]
struct Client {
    /// Seconds its clock is off by.
    clock_offset: i64,
    /// The chat it means its messages for (`--room`; default `lobby`).
    room: Option<&'static str>,
    /// Its server's ports, as flags, when not the defaults.
    ports: &'static [&'static str],
}

impl Client {
    fn in_room(room: &'static str, ports: &'static [&'static str]) -> Self {
        Self {
            room: Some(room),
            ports,
            ..Self::default()
        }
    }

    /// The command that starts it, in `layer` on `wire`, as `nick`.
    fn command(&self, layer: Layer, wire: Wire, nick: &str) -> Shell {
        let mut args: Vec<String> = self.ports.iter().map(|p| p.to_string()).collect();
        args.extend(["--nick".to_owned(), nick.to_owned()]);
        if self.clock_offset != 0 {
            args.extend(["--clock-offset".to_owned(), self.clock_offset.to_string()]);
        }
        if let Some(room) = self.room.filter(|_| layer.encrypted()) {
            args.extend(["--room".to_owned(), room.to_owned()]);
        }
        let command = command_on(wire, unsecured_chat::client_binary(layer), &args);
        if layer.encrypted() {
            return command.with_env(PASSWORD_ENV, PASSWORD);
        }
        command
    }

    /// Its encrypted layer's settings.
    fn settings(&self) -> Result<AeSettings> {
        let mut settings = AeSettings::new(Password::new(PASSWORD));
        settings.clock_offset = self.clock_offset;
        if let Some(room) = self.room {
            settings.room = Room::new(room)?;
        }
        Ok(settings)
    }
}

/// `program ARGS`, on `wire`, as a person would type it.
fn command_on<S: AsRef<str>>(wire: Wire, program: &str, args: &[S]) -> Shell {
    let mut words: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    if wire == Wire::Zmq {
        words.extend(["--wire", "zmq"]);
    }
    Shell::run(program, &words)
}

/// Sends a captured frame to `server`, as the member it names, whom an
/// attacker's connection joins first (in the original's trust model anyone
/// may).
fn replay_frame(server: &Server, frame: &[u8]) -> Result<()> {
    let mut requests = RequestChannel::connect(&server.endpoint())?;
    let join = Request::Join {
        nick: Nick::new("alice")?,
        subscriber: None,
    };
    match requests.request(&join)? {
        Response::Ok => {}
        other => anyhow::bail!("the attacker's join was answered {other:?}"),
    }
    let answer = requests.send(frame)?.to_vec();
    let codec = server.endpoint().codec();
    match codec.decode_response(&answer) {
        Ok(Response::Ok) => Ok(()),
        other => anyhow::bail!("the replayed frame was answered {other:?}"),
    }
}

/// The rogue server's flags for `attack` (`--attack` first), and the
/// configuration they make.
fn rogue_plan(attack: RogueAttack) -> Result<(Vec<String>, RogueConfig)> {
    let mut flags = vec!["--attack".to_owned(), attack.name().to_owned()];
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
        // Substitute-key's password goes in the environment (CHAT_PASSWORD).
        RogueAttack::Tamper | RogueAttack::Drop | RogueAttack::SubstituteKey => {}
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

/// Feeds `payload` to Python's `pickle.load`, run in `folder`.
fn unpickle(payload: &[u8], folder: &Path) -> Result<ExitStatus> {
    let mut command = Command::new(PYTHON3);
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
    use chat::wire::ClaimedNick;

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
    fn clients_show_their_password_clock_room_and_wire() {
        let late = Client {
            clock_offset: STALE_CLOCK,
            ..Client::default()
        };
        assert_eq!(
            late.command(Layer::Aead, Wire::Json, "alice").lines(),
            ["    $ CHAT_PASSWORD=s3cret aead_client --nick alice --clock-offset -45"]
        );
        assert_eq!(
            Client::default()
                .command(Layer::Plain, Wire::Zmq, "bob")
                .lines(),
            ["    $ simple_client --nick bob --wire zmq"]
        );
        let roomed = Client::in_room(ROOM_B, &[]);
        assert_eq!(
            roomed.command(Layer::Plain, Wire::Json, "bob").lines(),
            ["    $ simple_client --nick bob"],
            "a plain client has no room"
        );
    }
}
