//! What the terminal clients do with the lines their user types (issue 14,
//! finding 7): a line that cannot be sent (over the line limit once sealed
//! and framed) is refused locally and the session goes on; empty and blank
//! lines are not sent. Through the real servers and clients over TCP.

mod hostile;

use chat::wire::MAX_LINE;
use chat_lab::process::{Process, Stderr};
use hostile::{PATIENCE, next_line, ports, start_client, start_server};

/// Waits for the client's local refusal on stderr.
fn refused_locally(client: &Process) -> String {
    client
        .stderr
        .find(PATIENCE, |l| l.starts_with("message not sent: "))
        .expect("the long line was not refused locally")
}

#[test]
fn an_over_long_paste_is_refused_locally_and_blank_lines_are_not_sent() {
    let server = start_server(exe!("simple_server"), &[], Stderr::Read);
    let mut alice = start_client(exe!("simple_client"), ports(&server), "alice", &[]);

    alice.send_line(&"x".repeat(MAX_LINE + 5000)).unwrap();
    let refusal = refused_locally(&alice);
    assert!(
        refusal.contains(&format!("{} bytes", MAX_LINE + 5000)),
        "{refusal}"
    );
    // Fits as typed, not once framed: JSON writes each quote as two bytes.
    alice.send_line(&"\"".repeat(MAX_LINE * 3 / 4)).unwrap();
    let refusal = refused_locally(&alice);
    assert!(refusal.contains("once encoded"), "{refusal}");
    for blank in ["", "   ", "\t"] {
        alice.send_line(blank).unwrap();
    }

    alice.send_line("still here").unwrap();
    let first = next_line(&alice.stdout, "for the first message sent");
    assert_eq!(
        first, "alice : still here",
        "something else was sent before"
    );
    assert!(alice.is_running());
    alice.close_stdin();
    let status = alice.wait(PATIENCE).expect("the client did not exit");
    assert!(status.success(), "{status}");
}

#[test]
fn a_line_too_long_once_sealed_is_refused_locally_by_an_encrypted_client() {
    let server = start_server(exe!("ae_server"), &[], Stderr::Read);
    let flags = ["--password", "s3cret"];
    let mut alice = start_client(exe!("ae_client"), ports(&server), "alice", &flags);

    // Under the limit as text; a Fernet token in base64 is a third longer.
    alice.send_line(&"x".repeat(MAX_LINE * 7 / 8)).unwrap();
    let refusal = refused_locally(&alice);
    assert!(refusal.contains("once encoded"), "{refusal}");

    alice.send_line("still here").unwrap();
    let first = next_line(&alice.stdout, "for the first message sent");
    assert_eq!(first, "alice : still here");
    assert!(alice.is_running());
}
