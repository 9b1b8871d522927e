//! `make grade STEP=... CMD="..."`: the Python lab's own scripts, judged
//! as the board judges the Rust steps, from what they do, on the
//! original's wire (`--wire zmq`, pickle bodies; msgpack for the AE
//! server's).
//!
//! For big brother, the denial of service and the exploit, our server runs
//! in this process on the ports the script expects (6666 and 6667 unless
//! told otherwise), and the script is its client. For the msgpack server
//! and the rogue server, the script is the server, on those ports, and our
//! clients talk to it. Either way the script is told where, in
//! `CHAT_HOST`, `CHAT_PORT` and `CHAT_BROADCAST_PORT` (a script that
//! hard-codes 6666 and 6667 is judged on those), runs through `sh -c`, in
//! a process group of its own that is ended with it, and is given the
//! deadline to show what it does.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use chat::client::{BroadcastChannel, Delivery, Endpoint, RequestChannel, random_nick};
use chat::layer::{AeSettings, Layer, Password};
use chat::server::{ServerConfig, SimpleServer, TrustModel};
use chat::wire::{Codec, MessageBody, Nick, Request, Response, Sealed, Wire, ZmqBody};

use super::judge::{Judged, Serialised, serialised};
use super::pickle_reader;
use super::vectors::AeVectors;
use crate::process::{POLL, Process};
use crate::stage::{Member, Server};
use crate::steps::Step;

/// What tells a script where the chat is, and whom to evict.
pub const HOST_ENV: &str = "CHAT_HOST";
pub const PORT_ENV: &str = "CHAT_PORT";
pub const BROADCAST_PORT_ENV: &str = "CHAT_BROADCAST_PORT";
pub const VICTIM_ENV: &str = "CHAT_VICTIM";

/// The victim the board's chat offers a denial of service.
const VICTIM: &str = "alice";
/// Nicks a flood must leave joined to count.
const GHOSTS: usize = 10;
/// How often the board looks again at what a script did.
const LOOK: Duration = Duration::from_millis(300);
/// The password of the board's AE clients (a rogue server needs none).
const PASSWORD: &str = crate::demo::PASSWORD;

/// The steps whose effect shows from outside a script.
pub const FROM_OUTSIDE: &[Step] = &[
    Step::Bigbrother,
    Step::Dos,
    Step::Exploit,
    Step::MsgpackServer,
    Step::Rogue,
];

/// A student's program for a step, and where it is to meet the chat.
#[derive(Debug, Clone)]
pub struct Script {
    pub step: Step,
    /// A shell command: `python3 simple_bigbrother.py`.
    pub command: String,
    /// The address our server listens on (the script is told 127.0.0.1
    /// for any address).
    pub host: String,
    /// The ports, 0 for free ones.
    pub port: u16,
    pub broadcast_port: u16,
    /// How long the script has to show what it does.
    pub deadline: Duration,
}

/// Judges `script`: what its step's effect shows.
pub fn judge(script: &Script) -> Result<Judged> {
    match script.step {
        Step::Bigbrother => bigbrother(script),
        Step::Dos => dos(script),
        Step::Exploit => exploit(script),
        Step::MsgpackServer => msgpack_server(script),
        Step::Rogue => rogue(script),
        other => bail!(
            "step {} ({}) does not show from outside a program: `make grade` judges the Rust one",
            other.number(),
            other.title()
        ),
    }
}

/// The script, running in a process group of its own.
struct Running {
    process: Process,
}

impl Running {
    fn start(script: &Script, envs: &[(&str, String)]) -> Result<Self> {
        let mut command = Command::new("sh");
        command.args(["-c", &script.command]).process_group(0);
        command.env("PYTHONUNBUFFERED", "1");
        command.envs(envs.iter().map(|(k, v)| (k, v)));
        Ok(Self {
            process: Process::start(command)?,
        })
    }

    /// Everything it has printed, on either stream.
    fn said(&self) -> Vec<String> {
        let mut lines = self.process.stdout.all();
        lines.extend(self.process.stderr.all());
        lines
    }

    fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// What it printed, for a verdict that is not solved.
    fn tail(&self) -> String {
        let said = self.said();
        let last: Vec<&String> = said.iter().rev().take(3).collect();
        match last.is_empty() {
            true => "it printed nothing".into(),
            false => format!("its last lines: {last:?}"),
        }
    }
}

impl Drop for Running {
    /// Ends the whole group: the shell, the script, and what it started.
    fn drop(&mut self) {
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).output();
        self.process.kill();
    }
}

/// The environment that tells a script where the chat is.
fn whereabouts(requests: SocketAddr, broadcasts: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        (HOST_ENV, Ipv4Addr::LOCALHOST.to_string()),
        (PORT_ENV, requests.port().to_string()),
        (BROADCAST_PORT_ENV, broadcasts.port().to_string()),
    ]
}

/// Our plain server on the original's wire, where the script expects it.
fn our_server(script: &Script) -> Result<Server> {
    let mut config = ServerConfig::local()
        .on_wire(Wire::Zmq)
        .with_zmq_body(ZmqBody::Pickle);
    config.host = script.host.clone();
    (config.port, config.broadcast_port) = (script.port, script.broadcast_port);
    Server::start_with(&config, |_| SimpleServer::new(TrustModel::Open))
}

/// Runs `check` every [`LOOK`] until it finds something, the deadline
/// passes, or (if `ends`) the script has ended and one last look is taken.
fn watch<T>(
    script: &Script,
    running: &mut Running,
    ends: bool,
    mut check: impl FnMut(&Running) -> Result<Option<T>>,
) -> Result<Option<T>> {
    let deadline = Instant::now() + script.deadline;
    loop {
        let ended = ends && !running.is_running();
        if let Some(judged) = check(running)? {
            return Ok(Some(judged));
        }
        if ended || Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(LOOK);
    }
}

/// Big brother: it prints what alice says, and never joins.
fn bigbrother(script: &Script) -> Result<Judged> {
    let server = our_server(script)?;
    let mut running = Running::start(
        script,
        &whereabouts(server.request_addr(), server.broadcast_addr()),
    )?;
    let subscribed = watch(script, &mut running, true, |_| {
        Ok((server.subscribers() > 0).then_some(()))
    })?;
    if subscribed.is_none() {
        return Ok(Judged::NotYet(format!(
            "it never connected to the broadcast port; {}",
            running.tail()
        )));
    }
    let endpoint = server.endpoint();
    let mut alice = Member::join(&endpoint, VICTIM, Layer::Plain, None)?;
    let said = format!("the vault code is {}", random_nick());
    let heard = watch(script, &mut running, true, |running| {
        alice.send(&said)?;
        Ok(running
            .said()
            .iter()
            .any(|l| l.contains(&said))
            .then_some(()))
    })?;
    if heard.is_none() {
        return Ok(Judged::NotYet(format!(
            "it never printed alice's {said:?}; {}",
            running.tail()
        )));
    }
    let joined = server.list()?;
    if joined != [VICTIM] {
        return Ok(Judged::NotYet(format!(
            "it printed alice's words, but joined: the list shows {joined:?}"
        )));
    }
    Ok(Judged::Solved(vec![format!(
        "it printed alice's {said:?}, and never joined"
    )]))
}

/// The denial of service: alice evicted, or the chat full of ghosts.
fn dos(script: &Script) -> Result<Judged> {
    let server = our_server(script)?;
    let _alice = Member::join(&server.endpoint(), VICTIM, Layer::Plain, None)?;
    let mut envs = whereabouts(server.request_addr(), server.broadcast_addr());
    envs.push((VICTIM_ENV, VICTIM.to_owned()));
    let mut running = Running::start(script, &envs)?;
    let denied = watch(script, &mut running, true, |_| {
        let joined = server.list()?;
        if !joined.iter().any(|n| n == VICTIM) {
            return Ok(Some(Judged::Solved(vec!["alice was evicted".into()])));
        }
        let ghosts = joined.len() - 1;
        Ok((ghosts >= GHOSTS).then(|| Judged::Solved(vec![format!("it joined {ghosts} nicks")])))
    })?;
    Ok(denied.unwrap_or_else(|| {
        let joined = server.list().map(|l| l.len()).unwrap_or(0);
        Judged::NotYet(format!(
            "alice is still in the chat, with {} other nicks (a flood needs {GHOSTS}); {}",
            joined.saturating_sub(1),
            running.tail()
        ))
    }))
}

/// The exploit: what our server refused, unpickled by Python, runs a
/// command.
fn exploit(script: &Script) -> Result<Judged> {
    let server = our_server(script)?;
    server.tap().keep_refused_bodies();
    let mut running = Running::start(
        script,
        &whereabouts(server.request_addr(), server.broadcast_addr()),
    )?;
    let sent = watch(script, &mut running, true, |_| {
        Ok((!server.tap().refused_bodies().is_empty()).then_some(()))
    })?;
    let bodies = server.tap().refused_bodies();
    if sent.is_none() || bodies.is_empty() {
        return Ok(Judged::NotYet(format!(
            "our server refused no body of its: it sent no pickle our reader refuses; {}",
            running.tail()
        )));
    }
    for body in &bodies {
        let read = pickle_reader::read(body)?;
        if !read.ran.is_empty() {
            return Ok(Judged::Solved(vec![format!(
                "the {} bytes it sent, unpickled by Python, ran {:?}",
                body.len(),
                read.ran
            )]));
        }
    }
    Ok(Judged::NotYet(format!(
        "the {} bodies our server refused, unpickled by Python, ran no command",
        bodies.len()
    )))
}

/// Two free ports on this machine, for a script that is a server.
fn free_ports(script: &Script) -> Result<(u16, u16)> {
    let free = |wanted: u16| -> Result<u16> {
        if wanted != 0 {
            return Ok(wanted);
        }
        Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port())
    };
    Ok((free(script.port)?, free(script.broadcast_port)?))
}

/// Starts the script as a server; returns once its request port accepts.
fn script_server(script: &Script) -> Result<(Running, Endpoint)> {
    let (port, broadcast_port) = free_ports(script)?;
    let at = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut running = Running::start(script, &whereabouts(at(port), at(broadcast_port)))?;
    let listening = watch(script, &mut running, true, |_| {
        Ok(TcpStream::connect(at(port)).is_ok().then_some(()))
    })?;
    ensure!(
        listening.is_some(),
        "it never listened on port {port}; {}",
        running.tail()
    );
    let endpoint = Endpoint::of(at(port), at(broadcast_port)).on_wire(Wire::Zmq);
    Ok((running, endpoint))
}

/// The msgpack server: it answers and relays in msgpack.
fn msgpack_server(script: &Script) -> Result<Judged> {
    let (mut running, endpoint) = script_server(script)?;
    let endpoint = endpoint.with_zmq_body(ZmqBody::Msgpack);
    let mut broadcasts = BroadcastChannel::connect(&endpoint)?;
    broadcasts.set_read_timeout(Some(LOOK))?;
    let mut requests = RequestChannel::connect(&endpoint)?;
    let nick = Nick::new(VICTIM)?;
    let join = Request::Join {
        nick: nick.clone(),
        subscriber: None,
    };
    let answer = requests
        .send(&Codec::Msgpack.request_bytes(&join))?
        .to_vec();
    match (serialised(&answer), Codec::Msgpack.decode_response(&answer)) {
        (Serialised::Msgpack, Ok(Response::Ok)) => {}
        (Serialised::Msgpack, other) => {
            return Ok(Judged::NotYet(format!(
                "it answered a msgpack join {other:?}"
            )));
        }
        (other, _) => {
            return Ok(Judged::NotYet(format!(
                "its answer to a msgpack join is {other}"
            )));
        }
    }
    let vectors = AeVectors::load()?;
    let sealed = &vectors.tokens[0];
    let message = Request::Message {
        nick,
        body: MessageBody::Sealed(Sealed {
            salt: sealed.salt.as_str().into(),
            token: sealed.token.as_str().into(),
        }),
    };
    let relayed = watch(script, &mut running, true, |_| {
        requests.request(&message)?;
        Ok(broadcasts.next_frame().ok().map(relayed_in))
    })?;
    Ok(relayed
        .unwrap_or_else(|| Judged::NotYet("it relayed no message to its broadcast port".into())))
}

/// The verdict on a frame a msgpack server relayed.
fn relayed_in(frame: &[u8]) -> Judged {
    match serialised(frame) {
        Serialised::Msgpack => Judged::Solved(vec!["it answers and relays in msgpack".into()]),
        other => Judged::NotYet(format!("what it relays is {other}")),
    }
}

/// The rogue server: what reaches bob of alice's messages through it.
fn rogue(script: &Script) -> Result<Judged> {
    let (mut running, endpoint) = script_server(script)?;
    let endpoint = endpoint.with_zmq_body(ZmqBody::Msgpack);
    let settings = AeSettings::new(Password::new(PASSWORD));
    let mut alice = Member::join(&endpoint, VICTIM, Layer::Ae, Some(&settings))?;
    let bob = Member::join(&endpoint, "bob", Layer::Ae, Some(&settings))?;
    let mut seen = Seen::default();
    let mut sent = 0;
    watch(script, &mut running, true, |_| {
        sent += 1;
        alice.send(&format!("message {sent}"))?;
        while let Some(delivery) = bob.next_within(POLL) {
            seen.note(&delivery);
        }
        Ok(None::<()>)
    })?;
    Ok(seen.judged())
}

/// What bob's AE client made of alice's messages through a rogue server.
#[derive(Debug, Default)]
struct Seen {
    tampered: usize,
    relabelled: Vec<String>,
    /// Texts seen, to tell a replay.
    texts: Vec<String>,
    replayed: usize,
}

impl Seen {
    fn note(&mut self, delivery: &Delivery) {
        match delivery {
            Delivery::Rejected { .. } => self.tampered += 1,
            Delivery::Accepted { nick, opened } => {
                if nick.as_str() != VICTIM {
                    self.relabelled.push(nick.to_string());
                }
                if self.texts.contains(&opened.text) {
                    self.replayed += 1;
                }
                self.texts.push(opened.text.clone());
            }
            Delivery::Notice(_) => {}
        }
    }

    fn judged(self) -> Judged {
        let mut attacks = Vec::new();
        if self.tampered > 0 {
            attacks.push(format!(
                "{} message(s) tampered with (rejected by bob's AE client)",
                self.tampered
            ));
        }
        if let Some(nick) = self.relabelled.first() {
            attacks.push(format!("alice's messages relayed as '{nick}'"));
        }
        if self.replayed > 0 {
            attacks.push(format!("{} message(s) replayed", self.replayed));
        }
        match attacks.is_empty() {
            true => Judged::NotYet(format!(
                "bob received {} of alice's messages, each as she sent it: no attack reached him",
                self.texts.len()
            )),
            false => Judged::Solved(attacks),
        }
    }
}
