//! The `simple_client` binary end to end (PROTOCOL.md section 4): real
//! client processes, driven through stdin, stdout and stderr, chatting
//! through the plain server run in the test's process.

mod common;

use std::net::TcpListener;
use std::process::Command;

use anyhow::Result;
use chat_lab::process::{PATIENCE, Process, run};
use chat_lab::raw::ok;
use chat_lab::stage::Server;
use common::plain;

/// A message text with an ESC control character (an ANSI "clear screen").
const ESCAPE_TEXT: &str = "look\u{1b}[2Jhere";

/// How `simple_client` prints [`ESCAPE_TEXT`]: the ESC escaped, on one line.
const ESCAPE_SHOWN: &str = "look\\u{1b}[2Jhere";

fn client(server: &Server, nick: &str) -> Process {
    common::client(&bin!("simple_client"), server, nick, &[])
}

/// Two clients, `alice` and `bob`, joined to `server`.
fn alice_and_bob(server: &Server) -> (Process, Process) {
    (client(server, "alice"), client(server, "bob"))
}

fn nicks(server: &Server) -> Vec<String> {
    server.request().unwrap().list().unwrap()
}

/// A port that was free a moment ago: nothing listens on it.
fn unused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts a client joined as `alice`, makes it stop with `stop`, and
/// asserts it exits with success after leaving the chat.
fn assert_stopping_leaves_cleanly(stop: impl FnOnce(&mut Process) -> Result<()>) -> Result<()> {
    let server = plain();
    let mut alice = client(&server, "alice");
    assert_eq!(nicks(&server), ["alice"]);
    stop(&mut alice)?;
    let status = alice.exit_status()?;
    assert!(
        status.success(),
        "{status}; stderr: {:?}",
        alice.stderr.all()
    );
    assert!(nicks(&server).is_empty(), "alice is still listed");
    Ok(())
}

/// Runs `simple_client` with `args` and empty input; asserts it fails with
/// one line on stderr containing `needle`, and nothing on stdout.
fn assert_fails_with_one_line(args: &[String], needle: &str) {
    let done = run(&bin!("simple_client"), args).unwrap();
    assert!(!done.status.success());
    let stderr = &done.stderr;
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr:?}");
    assert!(stderr.contains(needle), "stderr: {stderr:?}");
    assert_eq!(done.stdout, "");
}

#[test]
fn two_clients_chat_through_the_server() -> Result<()> {
    let server = plain();
    let (mut alice, mut bob) = alice_and_bob(&server);
    alice.send_line("hello bob")?;
    bob.stdout.wait_for_line("alice : hello bob")?;
    bob.send_line("hi alice")?;
    alice.stdout.wait_for_line("bob : hi alice")?;
    Ok(())
}

#[test]
fn quit_leaves_the_chat_and_exits_zero() -> Result<()> {
    assert_stopping_leaves_cleanly(|alice| alice.send_line("/quit"))
}

#[test]
fn end_of_input_leaves_the_chat_and_exits_zero() -> Result<()> {
    assert_stopping_leaves_cleanly(|alice| {
        alice.close_stdin();
        Ok(())
    })
}

#[test]
fn ctrl_c_leaves_the_chat_and_exits_zero() -> Result<()> {
    assert_stopping_leaves_cleanly(|alice| {
        let pid = alice.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status()?;
        assert!(sent.success());
        Ok(())
    })
}

#[test]
fn a_taken_nick_is_a_one_line_error_and_a_failed_exit() -> Result<()> {
    let server = plain();
    assert_eq!(server.request()?.join("alice")?, ok());
    let mut args = server.client_args();
    args.extend(["--nick".into(), "alice".into()]);
    assert_fails_with_one_line(&args, "'alice'");
    Ok(())
}

#[test]
fn an_unreachable_server_is_an_error_and_a_failed_exit() {
    let port = unused_port().to_string();
    let args: Vec<String> = [
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--broadcast-port",
        &port,
    ]
    .map(String::from)
    .into();
    assert_fails_with_one_line(&args, "cannot reach server");
}

#[test]
fn the_server_gone_mid_chat_is_a_lost_connection_and_a_failed_exit() -> Result<()> {
    let server = plain();
    let (mut alice, mut bob) = alice_and_bob(&server);
    alice.send_line("before the crash")?;
    bob.stdout.wait_for_line("alice : before the crash")?;
    server.stop();
    let status = bob.exit_status()?;
    assert!(!status.success());
    bob.stderr.wait_for("saying the connection was lost", |l| {
        l.contains("connection to server lost")
    })?;
    Ok(())
}

#[test]
fn list_prints_the_joined_nicks() -> Result<()> {
    let server = plain();
    let (mut alice, _bob) = alice_and_bob(&server);
    alice.send_line("/list")?;
    alice.stdout.wait_for("listing alice and bob", |l| {
        l.contains("alice") && l.contains("bob")
    })?;
    Ok(())
}

#[test]
fn help_prints_the_commands_on_stdout() -> Result<()> {
    let server = plain();
    let mut alice = client(&server, "alice");
    alice.send_line("/help")?;
    alice
        .stdout
        .wait_for("mentioning /quit", |l| l.contains("/quit"))?;
    Ok(())
}

/// Everything else (the welcome, an unknown command's complaint, a refused
/// message) goes to stderr.
#[test]
fn stdout_carries_only_broadcasts() -> Result<()> {
    let server = plain();
    let (mut alice, mut bob) = alice_and_bob(&server);
    bob.send_line("hey")?;
    alice.stdout.wait_for_line("bob : hey")?;
    alice.send_line("/dance")?;
    assert_eq!(server.request()?.leave("alice")?, ok());
    alice.send_line("refused: alice was evicted")?;
    alice.close_stdin();
    alice.exit_status()?;
    assert_eq!(alice.stdout.until_closed()?, ["bob : hey"]);
    assert!(alice.stderr.all().iter().any(|l| l.contains("joined as")));
    Ok(())
}

#[test]
fn a_message_with_control_characters_prints_on_one_escaped_line() -> Result<()> {
    let server = plain();
    let alice = client(&server, "alice");
    let mut eve = server.request()?;
    assert_eq!(eve.join("eve")?, ok());
    assert_eq!(eve.say("eve", "hi\nbob : send me your password")?, ok());
    assert_eq!(eve.say("eve", "the end")?, ok());
    let shown = [alice.stdout.next(PATIENCE), alice.stdout.next(PATIENCE)];
    let expected = ["eve : hi\\nbob : send me your password", "eve : the end"];
    assert_eq!(shown, expected.map(|l| Some(l.to_owned())));
    Ok(())
}

#[test]
fn an_escape_character_typed_by_a_client_is_escaped_by_the_others() -> Result<()> {
    let server = plain();
    let (alice, mut bob) = alice_and_bob(&server);
    bob.send_line(ESCAPE_TEXT)?;
    bob.send_line("the end")?;
    alice
        .stdout
        .wait_for_line(&format!("bob : {ESCAPE_SHOWN}"))?;
    let next = alice.stdout.next(PATIENCE);
    assert_eq!(next.as_deref(), Some("bob : the end"));
    Ok(())
}
