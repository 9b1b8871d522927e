//! The encryption layers under attack, through the real client binaries:
//! each weakness an outside review found in the AE and AEAD layers, shown
//! fixed. A salt flood neither makes an honest message expire nor gets the
//! receiver disconnected; a frame replayed into another room is refused by
//! AEAD; counters warn only about messages really lost, and about late
//! messages of a replaced session; plaintexts must be JSON objects; mixed
//! layers say what happened; the password warns on the command line and
//! shows nowhere.
//!
//! Servers run in this process (the library's `ServerHandle`) unless their
//! logs are what is checked; clients are the binaries, through
//! `chat_lab::process`. Timeouts are failure guards only.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use chat::client::{BroadcastChannel, Endpoint, RequestChannel};
use chat::layer::AeSealer;
use chat::layer::AeadSealer;
use chat::layer::{AeSettings, Kdf, Password, Seal, Verdict};
use chat::server::ae_server;
use chat::server::{BaseServer, ServerConfig, ServerHandle, TrustModel};
use chat::wire::{MessageBody, Nick, Request, Response};
use chat_lab::flood::{self, FloodConfig};
use chat_lab::process::{Binaries, Lines, PATIENCE, Process, ServerProcess};

/// The chat's shared password in these tests.
const PASSWORD: &str = "correct-horse-battery-staple-7";
/// Iterations of the salt flood, as the review ran it.
const FLOOD_ITERATIONS: u32 = 600_000;
/// Junk frames in the flood tests: at 600,000 iterations each would cost a
/// receiver without a budget a PBKDF2 run, minutes in all.
const FLOOD_JUNK: usize = 2_000;

fn binaries() -> Binaries {
    let server = PathBuf::from(env!("CARGO_BIN_EXE_ae_server"));
    Binaries::at(server.parent().expect("binaries live in a directory"))
}

/// An `ae_server` in this process, on free ports, in the original's trust
/// model (anyone may speak for a joined nick).
fn ae_server_here() -> ServerHandle {
    BaseServer::bind(&ServerConfig::local())
        .and_then(|server| server.spawn(Arc::new(ae_server(TrustModel::Open))))
        .expect("the server starts")
}

fn endpoint(server: &ServerHandle) -> Endpoint {
    Endpoint::of(server.request_addr(), server.broadcast_addr())
}

fn ports(endpoint: &Endpoint) -> Vec<String> {
    vec![
        "--port".into(),
        endpoint.port.to_string(),
        "--broadcast-port".into(),
        endpoint.broadcast_port.to_string(),
    ]
}

/// A client binary joined as `nick`, the password in its environment.
fn client(name: &str, endpoint: &Endpoint, nick: &str, extra: &[&str]) -> Process {
    let mut args = ports(endpoint);
    args.extend(["--nick", nick].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let password = [("CHAT_PASSWORD", PASSWORD)];
    Process::chat_client_with(&binaries().path(name), &args, &password).expect("the client joins")
}

fn joined(client: &Process) {
    client
        .stderr
        .wait_for("announcing the join", |l| l.starts_with("joined as "))
        .expect("the client joined");
}

fn next_line(lines: &Lines) -> String {
    lines.wait_next("in time").expect("a line in time")
}

fn wait_for_line(lines: &Lines, wanted: &str) {
    lines.wait_for_line(wanted).expect("the line in time");
}

/// The first `[warning]` line of a client's stderr.
fn first_warning(client: &Process) -> String {
    client
        .stderr
        .wait_for("of warning", |l| l.starts_with("[warning]"))
        .expect("a warning in time")
}

/// Every line of a stream, once the process has exited.
fn all_lines(lines: &Lines) -> Vec<String> {
    std::iter::from_fn(|| lines.next(PATIENCE)).collect()
}

fn settings() -> AeSettings {
    AeSettings::new(Password::new(PASSWORD))
}

/// A sender in this process, speaking as `nick` with a layer's sealer.
struct Sender<S: Seal> {
    requests: RequestChannel,
    nick: Nick,
    sealer: S,
}

impl<S: Seal> Sender<S> {
    /// A sender for a nick already joined (anyone may speak for it, in the
    /// original's trust model).
    fn speaking_as(endpoint: &Endpoint, nick: &str, sealer: S) -> Self {
        Self {
            requests: RequestChannel::connect(endpoint).expect("the server is there"),
            nick: Nick::new(nick).expect("a valid nick"),
            sealer,
        }
    }

    fn join(endpoint: &Endpoint, nick: &str, sealer: S) -> Self {
        let mut sender = Self::speaking_as(endpoint, nick, sealer);
        let join = Request::Join {
            nick: sender.nick.clone(),
            subscriber: None,
        };
        assert_eq!(
            sender.requests.request(&join).expect("an answer"),
            Response::Ok
        );
        sender
    }

    /// Seals and sends `text`; the server's answer goes back to the layer.
    fn say(&mut self, text: &str) -> Response {
        let body = self.sealer.seal(&self.nick, text).expect("sealed");
        self.send(body)
    }

    fn send(&mut self, body: MessageBody<'_>) -> Response {
        let message = Request::Message {
            nick: self.nick.clone(),
            body,
        };
        let answer = self.requests.request(&message).expect("an answer");
        self.sealer.verdict(Verdict::of(&answer));
        answer
    }
}

// --- 1. The salt flood ---------------------------------------------------

fn flood(kdf: Kdf, session_salt: bool) -> flood::FloodReport {
    let mut config = FloodConfig::new(kdf, FLOOD_ITERATIONS, FLOOD_JUNK).expect("a chat id");
    config.flood.session_salt = session_salt;
    config.binaries = binaries();
    flood::run(&config).expect("the flood is played")
}

/// Under the lab's scheme each junk frame would cost the receiver a PBKDF2
/// run at 600,000 iterations. The receiver derives only within its budget
/// and refuses the rest unverified; alice, whose salt it already verified,
/// is shown within her TTL, and nobody is disconnected. (Her salt is kept
/// for her session so that the test holds in an unoptimised build, where one
/// derivation takes seconds; `chat_flood` measures fresh salts too.)
#[test]
fn a_salt_flood_neither_makes_an_honest_message_expire_nor_disconnects_its_receiver() {
    let report = flood(Kdf::Lab, true);
    assert_eq!(report.junk_broadcast, FLOOD_JUNK, "{report:?}");
    assert!(report.shown, "{report:?}");
    assert!(!report.disconnected, "{report:?}");
    assert!(
        report.junk_over_budget > 0,
        "the budget refused junk: {report:?}"
    );
    assert_eq!(
        report.junk_over_budget + report.junk_unverified,
        FLOOD_JUNK,
        "{report:?}"
    );
}

/// Under the `hkdf` scheme a junk frame costs an HKDF and a MAC: every one
/// is verified (and found forged), nothing is over budget, and alice's
/// fresh salt per message is no problem.
#[test]
fn under_the_hkdf_scheme_every_junk_frame_is_checked_and_the_honest_message_shown() {
    let report = flood(Kdf::Hkdf, false);
    assert!(report.shown, "{report:?}");
    assert!(!report.disconnected, "{report:?}");
    assert_eq!(
        (report.junk_over_budget, report.junk_unverified),
        (0, FLOOD_JUNK),
        "{report:?}"
    );
}

/// The flood's counts are the receiver's verdicts, counted by kind: every
/// junk frame of a small flood is in one of them (refused over budget,
/// found forged, or dropped unread), so a reworded message cannot zero
/// them. A thousand iterations keep it quick.
#[test]
fn every_junk_frame_of_a_small_flood_is_counted_from_the_receivers_verdicts() {
    const JUNK: usize = 200;
    let mut config = FloodConfig::new(Kdf::Lab, 1_000, JUNK).expect("a chat id");
    config.flood.session_salt = true;
    config.binaries = binaries();
    let report = flood::run(&config).expect("the flood is played");
    assert_eq!(report.junk_broadcast, JUNK, "{report:?}");
    assert!(report.shown, "{report:?}");
    assert!(!report.disconnected, "{report:?}");
    assert_eq!(
        report.junk_over_budget + report.junk_unverified + report.shed,
        JUNK,
        "{report:?}"
    );
    assert!(report.junk_unverified > 0, "{report:?}");
}

// --- 2. Replay into another room ------------------------------------------

/// alice speaks in room `alpha` on one server; a listener there captures
/// her frame, and it is replayed, unchanged, on another server whose
/// members share the password and are in room `beta`. Returns the line the
/// receiver there prints.
fn replay_into_another_room(client_name: &str) -> String {
    let (alpha_server, beta_server) = (ae_server_here(), ae_server_here());
    let (alpha, beta) = (endpoint(&alpha_server), endpoint(&beta_server));
    let mut listener = BroadcastChannel::connect(&alpha).expect("the listener connects");
    let mut alice = client(client_name, &alpha, "alice", &["--room", "alpha"]);
    let bob = client(client_name, &beta, "bob", &["--room", "beta"]);
    alice
        .send_line("pay mallory 100 euros")
        .expect("alice types");
    let captured = listener.next_frame().expect("a frame").to_vec();

    let mut replayer = RequestChannel::connect(&beta).expect("the server is there");
    let join = Request::Join {
        nick: Nick::new("alice").expect("a nick"),
        subscriber: None,
    };
    assert_eq!(replayer.request(&join).expect("an answer"), Response::Ok);
    assert_eq!(
        replayer.send(&captured).expect("an answer"),
        br#"{"response":"ok"}"#
    );
    next_line(&bob.stdout)
}

#[test]
fn a_frame_replayed_into_another_room_is_accepted_by_ae() {
    assert_eq!(
        replay_into_another_room("ae_client"),
        "alice : pay mallory 100 euros"
    );
}

#[test]
fn a_frame_replayed_into_another_room_is_refused_by_aead() {
    assert_eq!(
        replay_into_another_room("aead_client"),
        "[rejected] alice: sealed for room 'alpha', this client is in 'beta'"
    );
}

// --- 3. Counters that mean what they say ---------------------------------

/// A message from `probe` that follows its first one after a gap of four:
/// a warning bob must print, known in advance, to read his stderr up to.
fn probe_gap(endpoint: &Endpoint) {
    let mut probe = Sender::join(endpoint, "probe", AeadSealer::new(&settings()));
    assert_eq!(probe.say("probe 0"), Response::Ok);
    for _ in 0..4 {
        probe
            .sealer
            .encrypt_message(&probe.nick, "never sent")
            .expect("sealed");
        probe.sealer.verdict(Verdict::Accepted);
    }
    assert_eq!(probe.say("probe 5"), Response::Ok);
}

const PROBE_WARNING: &str = "[warning] 4 message(s) from probe missing";

/// alice is evicted, so her next message is refused; she joins again and
/// speaks. Nothing was lost, so bob must not warn about alice.
#[test]
fn a_refused_message_leaves_no_missing_message_warning() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let mut alice = client("aead_client", &endpoint, "alice", &[]);
    let bob = client("aead_client", &endpoint, "bob", &[]);
    alice.send_line("one").expect("alice types");
    wait_for_line(&bob.stdout, "alice : one");

    let mut evictor = RequestChannel::connect(&endpoint).expect("the server is there");
    let leave = Request::Leave {
        nick: Nick::new("alice").expect("a nick"),
    };
    assert_eq!(evictor.request(&leave).expect("an answer"), Response::Ok);
    alice.send_line("refused").expect("alice types");
    alice
        .stderr
        .find(PATIENCE, |l| l.starts_with("message refused: "))
        .expect("alice is told her message was refused");
    alice.send_line("/join").expect("alice types");
    alice
        .stderr
        .find(PATIENCE, |l| l.starts_with("joined again"))
        .expect("rejoined");
    alice.send_line("two").expect("alice types");
    wait_for_line(&bob.stdout, "alice : two");

    probe_gap(&endpoint);
    assert_eq!(first_warning(&bob), PROBE_WARNING);
}

/// alice's old session has a message held back (by a rogue server, say)
/// that arrives between two of her new session's: it is flagged.
#[test]
fn a_late_message_from_a_superseded_session_is_flagged() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let bob = client("aead_client", &endpoint, "bob", &[]);
    let mut old = Sender::join(&endpoint, "alice", AeadSealer::new(&settings()));
    let mut new = Sender::speaking_as(&endpoint, "alice", AeadSealer::new(&settings()));

    assert_eq!(old.say("old 0"), Response::Ok);
    let held_back = old.sealer.encrypt_message(&old.nick, "old 1, held back");
    old.sealer.verdict(Verdict::Accepted);
    let held_back = held_back.expect("sealed");
    assert_eq!(new.say("new 0"), Response::Ok);
    assert_eq!(old.send(MessageBody::Sealed(held_back)), Response::Ok);
    assert_eq!(new.say("new 1"), Response::Ok);
    for text in ["old 0", "new 0", "old 1, held back", "new 1"] {
        assert_eq!(next_line(&bob.stdout), format!("alice : {text}"));
    }
    let warning = first_warning(&bob);
    assert!(
        warning.starts_with("[warning] message from a superseded session of alice"),
        "{warning}"
    );
}

// --- Outsiders -------------------------------------------------------------

/// In the original's trust model anyone may send a message for a joined
/// nick, and the server relays it; without the password it cannot be
/// sealed, so AE and AEAD receivers refuse it.
#[test]
fn an_outsider_speaking_as_a_joined_nick_is_refused_by_ae_and_aead() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let _alice = client("aead_client", &endpoint, "alice", &[]);
    let (ae, aead) = (
        client("ae_client", &endpoint, "bob", &[]),
        client("aead_client", &endpoint, "carol", &[]),
    );
    let guess = AeSettings::new(Password::new("a guess"));
    let mut outsider = Sender::speaking_as(&endpoint, "alice", AeadSealer::new(&guess));
    assert_eq!(outsider.say("I resign"), Response::Ok);
    let refused = "[rejected] alice: cannot verify: wrong password or altered message (or another --kdf or --iterations than the sender's)";
    assert_eq!(next_line(&ae.stdout), refused);
    assert_eq!(next_line(&aead.stdout), refused);
}

// --- 5. Plaintexts are JSON objects ---------------------------------------

#[test]
fn an_array_plaintext_is_rejected() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let bob = client("aead_client", &endpoint, "bob", &[]);
    let mut py = Sender::join(&endpoint, "py", AeSealer::new(&settings()));
    let array = py
        .sealer
        .encrypt_message(br#"["py","x","lobby"]"#)
        .expect("sealed");
    assert_eq!(py.send(MessageBody::Sealed(array)), Response::Ok);
    assert_eq!(
        next_line(&bob.stdout),
        "[rejected] py: sealed content is not a JSON object (sent by an AE client?)"
    );
}

// --- 6. Layers mixed by mistake -------------------------------------------
// (An AEAD client refusing an AE message: tests/aead_layer.rs,
// `an_ae_frame_without_a_sealed_nick_is_rejected_by_aead`.)

#[test]
fn an_ae_client_shows_an_aead_message_as_its_text_with_a_note() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let mut alice = client("aead_client", &endpoint, "alice", &[]);
    let bob = client("ae_client", &endpoint, "bob", &[]);
    alice.send_line("hello bob").expect("alice types");
    assert_eq!(next_line(&bob.stdout), "alice : hello bob");
    assert_eq!(
        first_warning(&bob),
        "[warning] sealed by an AEAD or signed client (as 'alice', for room 'lobby'); an AE client checks neither, nor the message's age, replays or signature"
    );
}

// --- The hkdf scheme ---------------------------------------------------------

/// The chat these tests' `hkdf` clients are in (`--chat-id`), and fewer
/// iterations than the scheme's default, which a debug build pays slowly.
const HKDF: [&str; 6] = [
    "--kdf",
    "hkdf",
    "--chat-id",
    "EBESExQVFhcYGRobHB0eHw",
    "--iterations",
    "1000",
];

#[test]
fn hkdf_clients_chat_and_lab_clients_cannot_read_them() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let mut alice = client("aead_client", &endpoint, "alice", &HKDF);
    let bob = client("aead_client", &endpoint, "bob", &HKDF);
    let carol = client("aead_client", &endpoint, "carol", &[]);
    let mut other_chat = HKDF;
    other_chat[3] = "ZmFrZS1jaGF0LWlkLTAwMQ";
    let dave = client("aead_client", &endpoint, "dave", &other_chat);
    alice.send_line("derived once").expect("alice types");
    assert_eq!(next_line(&bob.stdout), "alice : derived once");
    let refused = "[rejected] alice: cannot verify: wrong password or altered message (or another --kdf or --iterations than the sender's)";
    assert_eq!(next_line(&carol.stdout), refused);
    assert_eq!(next_line(&dave.stdout), refused, "another chat's id");
}

/// `--kdf hkdf` without the chat's id: one line that says so and offers a
/// fresh id to whoever starts the chat.
#[test]
fn an_hkdf_client_without_a_chat_id_says_so_and_offers_one() {
    let finished = chat_lab::process::run(
        &binaries().path("aead_client"),
        &[
            "--port",
            "1",
            "--broadcast-port",
            "1",
            "--kdf",
            "hkdf",
            "--password",
            "x",
        ],
    )
    .expect("the client runs");
    assert!(!finished.status.success());
    let lines: Vec<&str> = finished.stderr.lines().collect();
    let error = lines.last().copied().unwrap_or_default();
    let prefix = "error: --kdf hkdf needs the chat's id (--chat-id ID), handed out with the password; to start a new chat, hand out this fresh one with it: --chat-id ";
    assert!(error.starts_with(prefix), "{lines:?}");
    let fresh = &error[prefix.len()..];
    assert!(fresh.parse::<chat::layer::ChatId>().is_ok(), "{fresh}");
}

// --- 7. The password ----------------------------------------------------------

/// A file holding the password, removed when dropped.
struct PasswordFile(PathBuf);

impl PasswordFile {
    /// A password file only its owner may read, as the clients require.
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::write(&path, format!("{PASSWORD}\n")).expect("the file is written");
        let private = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(&path, private).expect("the file is made private");
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for PasswordFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A client given its flags only: no password in its environment.
fn bare_client(
    name: &str,
    endpoint: &Endpoint,
    nick: &str,
    flags: &[&str],
    envs: &[(&str, &str)],
) -> Process {
    let mut args = ports(endpoint);
    args.extend(["--nick", nick].map(String::from));
    args.extend(flags.iter().map(|s| s.to_string()));
    Process::spawn(&binaries().path(name), &args, envs).expect("the client starts")
}

#[test]
fn a_password_on_the_command_line_works_with_a_warning() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let alice = bare_client(
        "aead_client",
        &endpoint,
        "alice",
        &["--password", PASSWORD],
        &[],
    );
    let warning = next_line(&alice.stderr);
    assert!(
        warning.starts_with("warning: --password is visible to every user"),
        "{warning}"
    );
    assert!(!warning.contains(PASSWORD));
    joined(&alice);
}

#[test]
fn a_password_file_and_stdin_work_and_no_warning_is_given() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let file = PasswordFile::new("chat-password-file");
    let bob = bare_client(
        "aead_client",
        &endpoint,
        "bob",
        &["--password-file", file.path()],
        &[],
    );
    assert!(next_line(&bob.stderr).starts_with("joined as "));
    let mut alice = bare_client(
        "ae_client",
        &endpoint,
        "alice",
        &["--password-file", "-"],
        &[],
    );
    alice
        .send_line(PASSWORD)
        .expect("the password, first line of stdin");
    assert!(next_line(&alice.stderr).starts_with("joined as "));
    alice
        .send_line("typed after the password")
        .expect("alice types");
    assert_eq!(
        next_line(&bob.stdout),
        "[rejected] alice: sealed content is not a JSON object (sent by an AE client?)"
    );
    assert_eq!(next_line(&alice.stdout), "alice : typed after the password");
}

#[test]
fn a_missing_password_file_is_one_clear_error() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let mut alice = bare_client(
        "ae_client",
        &endpoint,
        "alice",
        &["--password-file", "/nonexistent/chat-password"],
        &[],
    );
    alice.wait(PATIENCE).expect("the client exits");
    let stderr = all_lines(&alice.stderr);
    assert_eq!(
        stderr,
        [
            "error: cannot read the password file /nonexistent/chat-password: No such file or directory (os error 2)"
        ]
    );
}

/// A password file others can read stops the client before it connects:
/// one line naming the file and the fix.
#[test]
fn a_password_file_others_can_read_is_one_clear_error() {
    let server = ae_server_here();
    let endpoint = endpoint(&server);
    let file = PasswordFile::new("chat-exposed-password");
    let readable = std::fs::Permissions::from_mode(0o644);
    std::fs::set_permissions(&file.0, readable).expect("the file is opened up");
    let mut alice = bare_client(
        "aead_client",
        &endpoint,
        "alice",
        &["--password-file", file.path()],
        &[],
    );
    alice.wait(PATIENCE).expect("the client exits");
    let path = file.path();
    assert_eq!(
        all_lines(&alice.stderr),
        [format!(
            "error: the password file {path} can be read by others (mode 644): run `chmod 600 {path}`"
        )]
    );
}

/// Every way the password reaches a client, every log level, every layer's
/// rejections: the password shows in no output of any process.
#[test]
fn the_password_never_appears_in_any_output_or_log() {
    let trace = [("RUST_LOG", "trace")];
    let server = ServerProcess::start(&binaries().path("ae_server"), &[], &trace)
        .expect("the server starts");
    let endpoint = Endpoint::new("127.0.0.1", server.port, server.broadcast_port);
    let file = PasswordFile::new("chat-password-log");
    let with_env = [("RUST_LOG", "trace"), ("CHAT_PASSWORD", PASSWORD)];
    let mut clients = vec![
        bare_client(
            "aead_client",
            &endpoint,
            "alice",
            &["--password", PASSWORD],
            &trace,
        ),
        bare_client(
            "aead_client",
            &endpoint,
            "bob",
            &["--password-file", file.path()],
            &trace,
        ),
        bare_client("ae_client", &endpoint, "carol", &[], &with_env),
        bare_client(
            "aead_client",
            &endpoint,
            "eve",
            &["--password", "not-the-password"],
            &trace,
        ),
        bare_client("ae_client", &endpoint, "dave", &HKDF, &with_env),
    ];
    for client in &clients {
        joined(client);
    }
    clients[0].send_line("hello everyone").expect("alice types");
    clients[1].send_line("/list").expect("bob types");
    wait_for_line(&clients[1].stdout, "alice : hello everyone");
    wait_for_line(
        &clients[3].stdout,
        "[rejected] alice: cannot verify: wrong password or altered message (or another --kdf or --iterations than the sender's)",
    );
    let mut seen = Vec::new();
    for client in &mut clients {
        client.close_stdin();
        client.wait(PATIENCE).expect("the client leaves");
        seen.extend(all_lines(&client.stdout));
        seen.extend(all_lines(&client.stderr));
    }
    let mut server = server;
    server.process.kill();
    seen.extend(all_lines(&server.process.stdout));
    seen.extend(all_lines(&server.process.stderr));
    assert!(seen.len() > 10, "{seen:#?}");
    let leaks: Vec<&String> = seen.iter().filter(|l| l.contains(PASSWORD)).collect();
    assert!(leaks.is_empty(), "{leaks:#?}");
}
