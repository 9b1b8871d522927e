//! What the terminal clients do with the lines their user types (issue 14,
//! finding 7): a line that cannot be sent (over the line limit once sealed
//! and framed) is refused locally and the session goes on; empty and blank
//! lines are not sent. Through the real servers and clients over TCP.

use anyhow::Result;
use chat::wire::MAX_LINE;
use chat_lab::process::{PATIENCE, Process, ServerProcess};

/// A server binary in a process of its own, logging at info level.
fn server(binary: &str) -> Result<ServerProcess> {
    ServerProcess::start(binary.as_ref(), &[], &[("RUST_LOG", "info")])
}

/// A chat client binary of `server`, joined as alice, with `extra` flags.
fn alice(binary: &str, server: &ServerProcess, extra: &[&str]) -> Result<Process> {
    let mut args = server.client_args();
    args.extend(
        ["--nick", "alice"]
            .iter()
            .chain(extra)
            .map(|a| a.to_string()),
    );
    Process::chat_client_with(binary.as_ref(), &args, &[("RUST_LOG", "warn")])
}

/// Waits for the client's local refusal on stderr.
fn refused_locally(client: &Process) -> String {
    client
        .stderr
        .find(PATIENCE, |l| l.starts_with("message not sent: "))
        .expect("the long line was not refused locally")
}

#[test]
fn an_over_long_paste_is_refused_locally_and_blank_lines_are_not_sent() -> Result<()> {
    let server = server(env!("CARGO_BIN_EXE_simple_server"))?;
    let mut alice = alice(env!("CARGO_BIN_EXE_simple_client"), &server, &[])?;

    alice.send_line(&"x".repeat(MAX_LINE + 5000))?;
    let refusal = refused_locally(&alice);
    assert!(
        refusal.contains(&format!("{} bytes", MAX_LINE + 5000)),
        "{refusal}"
    );
    // Fits as typed, not once framed: JSON writes each quote as two bytes.
    alice.send_line(&"\"".repeat(MAX_LINE * 3 / 4))?;
    let refusal = refused_locally(&alice);
    assert!(refusal.contains("once encoded"), "{refusal}");
    for blank in ["", "   ", "\t"] {
        alice.send_line(blank)?;
    }

    alice.send_line("still here")?;
    let first = alice.stdout.wait_next("for the first message sent")?;
    assert_eq!(
        first, "alice : still here",
        "something else was sent before"
    );
    assert!(alice.is_running());
    alice.close_stdin();
    let status = alice.wait(PATIENCE).expect("the client did not exit");
    assert!(status.success(), "{status}");
    Ok(())
}

#[test]
fn a_line_too_long_once_sealed_is_refused_locally_by_an_encrypted_client() -> Result<()> {
    let server = server(env!("CARGO_BIN_EXE_ae_server"))?;
    let flags = ["--password", "s3cret"];
    let mut alice = alice(env!("CARGO_BIN_EXE_ae_client"), &server, &flags)?;

    // Under the limit as text; a Fernet token in base64 is a third longer.
    alice.send_line(&"x".repeat(MAX_LINE * 7 / 8))?;
    let refusal = refused_locally(&alice);
    assert!(refusal.contains("once encoded"), "{refusal}");

    alice.send_line("still here")?;
    let first = alice.stdout.wait_next("for the first message sent")?;
    assert_eq!(first, "alice : still here");
    assert!(alice.is_running());
    Ok(())
}
