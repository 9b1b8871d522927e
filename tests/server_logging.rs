//! Logging never stops the service (issue 14, finding 4; PROTOCOL.md
//! section 5): with the server's stderr a pipe that nobody reads, as a
//! terminal paused with Ctrl-S, the real `simple_server` goes on serving
//! joins and messages, and says how many log lines it dropped once its
//! stderr is read again.

use anyhow::Result;
use chat_lab::process::{PATIENCE, ServerProcess, Stderr};
use chat_lab::raw::{Conn, Sub, ok};
use unsecured_chat::logging::QUEUE_BYTES;

/// Bytes of text in each message: each is logged in full, at info level.
const TEXT_BYTES: usize = 16 * 1024;

/// Messages whose log lines add up to three times what the log queue holds,
/// on top of the 64 KiB a pipe holds: far more than fits.
const MESSAGES: usize = 3 * QUEUE_BYTES / TEXT_BYTES;

#[test]
fn a_stderr_nobody_reads_stops_no_one_and_the_lost_lines_are_counted() -> Result<()> {
    let binary = env!("CARGO_BIN_EXE_simple_server").as_ref();
    let mut server =
        ServerProcess::start_with(binary, &[], &[("RUST_LOG", "info")], Stderr::Paused)?;
    let mut alice = Conn::connect(server.request_addr())?;
    assert_eq!(alice.join("alice")?, ok());
    let text = "x".repeat(TEXT_BYTES);
    for i in 0..MESSAGES {
        // Each answer must come: Conn fails the test after PATIENCE.
        assert_eq!(alice.say("alice", &text)?, ok(), "message {i}");
    }

    let mut bob = Conn::connect(server.request_addr())?;
    let mut sub = Sub::connect(server.broadcast_addr())?;
    assert_eq!(bob.join_with("bob", sub.local_addr()?)?, ok());
    assert_eq!(bob.say("bob", "still served")?, ok());
    let frame = sub.next_json()?;
    assert_eq!(
        (frame["nick"].as_str(), frame["message"].as_str()),
        (Some("bob"), Some("still served"))
    );
    let list = alice.send_json(&serde_json::json!({"type": "list"}))?;
    assert_eq!(list["response"], serde_json::json!(["alice", "bob"]));

    server.process.stderr.resume();
    let report = server
        .process
        .stderr
        .find(PATIENCE, |l| l.contains("log line(s) dropped"))
        .expect("no report of the dropped log lines");
    let dropped: usize = report
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {report:?}"));
    assert!(dropped > 0 && dropped <= MESSAGES + 4, "{report}");
    Ok(())
}
