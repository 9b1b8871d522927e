//! The server's robustness promises (docs/ROBUSTNESS.md), shown over TCP on
//! 127.0.0.1 against the plain server run in process, or, where a test
//! measures the server's own memory or needs a thousand descriptors on each
//! side, the `simple_server` binary in a process of its own.
//!
//! No test asserts anything about speed: timeouts are failure guards, and
//! memory is measured as a bound, not a rate.

mod common;
mod robust;

use anyhow::Result;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use chat::server::TrustModel;
use chat::wire::MAX_LINE;
use chat_lab::process::{self, PATIENCE, ServerProcess, wait_until};
use chat_lab::raw::{Conn, Next, Sub, await_subscribed, drain_until_closed, is_sync, ok};
use chat_lab::stage::Server;
use common::{assert_ko, guarded, plain, plain_capped};
use robust::{
    KO_START, admitted_request, admitted_subscriber, answers_list, assert_refused_over_cap,
};

/// Messages sent past the stalled subscriber.
const MESSAGES: usize = 20_000;

/// Bytes of text in each of those messages.
const TEXT_BYTES: usize = 1024;

/// Most messages the sender may be ahead of the reading subscriber: far less
/// than the 4 MiB backlog, so the reader is never lapped however the machine
/// schedules it, while the stalled subscriber, which reads nothing, is.
const READER_WINDOW: usize = 1000;

/// The memory bound the issue sets for the stalled-subscriber run.
const MAX_RSS_GROWTH_KIB: u64 = 64 * 1024;

/// One message line of the stalled-subscriber run: a sequence number, then
/// padding up to [`TEXT_BYTES`] of text.
fn numbered_line(seq: usize) -> String {
    let padding = "x".repeat(TEXT_BYTES - 6);
    format!(r#"{{"type":"message","nick":"sender","message":"{seq:05} {padding}"}}"#)
}

/// `simple_server` in a process of its own, logging warnings only.
fn server_process() -> ServerProcess {
    ServerProcess::start(&bin!("simple_server"), &[], &[("RUST_LOG", "warn")]).unwrap()
}

/// Resident memory of a server process, in KiB.
fn rss_kib(server: &ServerProcess) -> u64 {
    process::rss_kib(server.pid()).expect("no VmRSS for the server")
}

/// The server's memory is what is measured: it runs in a process of its own.
#[test]
fn a_stalled_subscriber_is_disconnected_while_a_reader_gets_all_20000_messages() -> Result<()> {
    let server = server_process();
    // Connected first, so registered before the reader (one accept thread).
    let stalled = TcpStream::connect(server.broadcast_addr()).unwrap();
    let mut reader = Sub::connect(server.broadcast_addr())?;
    let mut sender = Conn::connect(server.request_addr())?;
    assert_eq!(sender.join("sender")?, ok());
    await_subscribed(&mut sender, "sender", &mut reader)?;
    let rss_before = rss_kib(&server);

    let received = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&received);
    let reading = thread::spawn(move || read_numbered(reader, &progress));
    send_numbered(&mut sender, &received);
    reading.join().expect("the reader failed");

    let growth = rss_kib(&server).saturating_sub(rss_before);
    assert!(
        growth < MAX_RSS_GROWTH_KIB,
        "server memory grew by {growth} KiB"
    );
    check_stalled_stream(&drain_until_closed(&stalled)?);
    assert_eq!(sender.list()?, vec!["sender"]);
    Ok(())
}

/// Sends [`MESSAGES`] numbered messages, each after the previous `ok`,
/// staying within [`READER_WINDOW`] of what the reader has received.
fn send_numbered(sender: &mut Conn, received: &AtomicUsize) {
    for seq in 0..MESSAGES {
        wait_until("the reader keeps up", || {
            Ok(seq - received.load(Ordering::Acquire) < READER_WINDOW)
        })
        .unwrap();
        assert_eq!(
            sender.request(&numbered_line(seq)).unwrap(),
            r#"{"response":"ok"}"#
        );
    }
}

/// Checks that every numbered message arrives, in order, unchanged.
fn read_numbered(mut reader: Sub, received: &AtomicUsize) {
    for seq in 0..MESSAGES {
        match reader.next(PATIENCE) {
            Next::Line(line) if line == numbered_line(seq) => {}
            other => panic!("expected message {seq}, got {:.200}", format!("{other:?}")),
        }
        received.store(seq + 1, Ordering::Release);
    }
}

/// What a lapped subscriber may have received: handshakes, then numbered
/// messages from 0 with no gap, then at most an unfinished message and the
/// server's `ko` line (itself possibly cut short).
fn check_stalled_stream(bytes: &[u8]) {
    let mut next_seq = 0;
    let mut tail = Vec::new();
    for piece in bytes.split(|&b| b == b'\n').filter(|p| !p.is_empty()) {
        if tail.is_empty() && piece == numbered_line(next_seq).as_bytes() {
            next_seq += 1;
        } else if !(next_seq == 0 && tail.is_empty() && is_sync_line(piece)) {
            tail.push(piece);
        }
    }
    assert!(
        next_seq < MESSAGES,
        "the stalled subscriber was never lapped"
    );
    assert!(tail.len() <= 2, "{} unexpected lines", tail.len());
    let cut_message = |p: &[u8]| numbered_line(next_seq).as_bytes().starts_with(p);
    let ko_line = |p: &[u8]| p.starts_with(KO_START) || KO_START.starts_with(p);
    match tail[..] {
        [] => {}
        [last] => assert!(cut_message(last) || ko_line(last), "bad tail {last:?}"),
        [cut, ko] => assert!(cut_message(cut) && ko_line(ko), "bad tail {tail:?}"),
        _ => unreachable!(),
    }
}

fn is_sync_line(line: &[u8]) -> bool {
    serde_json::from_slice(line).is_ok_and(|frame| is_sync(&frame))
}

/// Half of the 1,000 connections of the load test.
const HALF_OF_THOUSAND: usize = 500;

/// The server runs in a process of its own, so that neither side needs
/// more than 1,000 descriptors (a common limit is 1,024 per process).
#[test]
fn one_message_reaches_500_subscribers_among_1000_open_connections() -> Result<()> {
    let server = server_process();
    let mut subs: Vec<Sub> = (0..HALF_OF_THOUSAND)
        .map(|_| Sub::connect(server.broadcast_addr()).unwrap())
        .collect();
    let mut senders: Vec<Conn> = (0..HALF_OF_THOUSAND)
        .map(|i| {
            let mut conn = Conn::connect(server.request_addr()).unwrap();
            assert_eq!(conn.join(&format!("n{i}")).unwrap(), ok());
            conn
        })
        .collect();
    // The last subscriber registered means every earlier one did.
    await_subscribed(&mut senders[0], "n0", subs.last_mut().unwrap())?;

    let last = HALF_OF_THOUSAND - 1;
    assert_eq!(senders[last].say(&format!("n{last}"), "hello, all")?, ok());
    for sub in &mut subs {
        let frame = sub.next_message()?;
        assert_eq!(
            (frame["nick"].as_str(), frame["message"].as_str()),
            (Some("n499"), Some("hello, all"))
        );
    }
    assert_eq!(senders[0].list()?.len(), HALF_OF_THOUSAND);
    Ok(())
}

#[test]
fn the_connection_over_the_cap_gets_one_ko_line_and_a_freed_slot_is_reused() -> Result<()> {
    let server = plain_capped(4, TrustModel::Open);
    let mut alice = server.request()?;
    let mut bob = server.request()?;
    assert_eq!(alice.join("alice")?, ok());
    assert_eq!(bob.join("bob")?, ok());
    let mut first = Sub::connect(server.broadcast_addr())?;
    let mut second = Sub::connect(server.broadcast_addr())?;
    for sub in [&first, &second] {
        server.wait_for_subscriber(sub.local_addr()?).unwrap();
    }

    for addr in [server.request_addr(), server.broadcast_addr()] {
        let extra = TcpStream::connect(addr).unwrap();
        assert_refused_over_cap(&drain_until_closed(&extra)?);
    }

    assert_eq!(alice.list()?, vec!["alice", "bob"]);
    assert_eq!(bob.say("bob", "still served")?, ok());
    for sub in [&mut first, &mut second] {
        assert_eq!(sub.next_message()?["message"], "still served");
    }

    drop(first);
    let newcomer = admitted_request(server.request_addr());
    assert!(answers_list(&newcomer));
    drop(bob);
    let mut late = admitted_subscriber(server.broadcast_addr(), &mut alice, "alice");
    assert_eq!(alice.say("alice", "welcome")?, ok());
    assert_eq!(late.next_message()?["message"], "welcome");
    assert_eq!(second.next_message()?["message"], "welcome");
    Ok(())
}

/// Connections of the partial-line test that close in the middle of a line.
const TRUNCATED: usize = 50;

/// Connections of the partial-line test that stall in the middle of a line.
const STALLED: usize = 10;

/// A connection's slot under the cap is held by its thread until that
/// thread ends, so counting slots counts the server's connection threads.
#[test]
fn connections_closed_or_stalled_in_the_middle_of_a_line_change_nothing() -> Result<()> {
    let server = plain_capped(2 + STALLED + TRUNCATED, TrustModel::Guarded);
    let mut owner = server.request()?;
    assert_eq!(owner.join("alice")?, ok());
    assert_eq!(owner.join("bob")?, ok());
    let mut sub = Sub::connect(server.broadcast_addr())?;
    server.wait_for_subscriber(sub.local_addr()?).unwrap();

    let mut stalled: Vec<Conn> = (0..STALLED).map(|_| half_a_list(&server)).collect();
    close_connections_mid_line(&server);
    // Every slot the truncated connections took is free again, and only
    // those: as many connections are admitted, and not one more, the
    // stalled ones still holding theirs.
    let refills: Vec<TcpStream> = (0..TRUNCATED)
        .map(|_| admitted_request(server.request_addr()))
        .collect();
    let one_more = TcpStream::connect(server.request_addr()).unwrap();
    assert_refused_over_cap(&drain_until_closed(&one_more)?);
    drop(refills);

    assert_eq!(owner.list()?, vec!["alice", "bob"]);
    assert_eq!(owner.say("bob", "still here")?, ok());
    assert_eq!(sub.next_message()?["message"], "still here");
    for conn in &mut stalled {
        finish_stalled_list(conn);
    }
    Ok(())
}

/// Completes a stalled `list`: however long it stalled, it is answered.
fn finish_stalled_list(conn: &mut Conn) {
    conn.send_raw(b"st\"}\n").unwrap();
    assert_eq!(
        conn.read_line().unwrap().unwrap(),
        r#"{"response":["alice","bob"]}"#
    );
}

/// Opens [`TRUNCATED`] request connections that each send part of a line
/// and close, and returns once the server has accepted them all.
fn close_connections_mid_line(server: &Server) {
    for i in 0..TRUNCATED {
        let mut conn = server.request().unwrap();
        conn.send_raw(truncated_request(i).as_bytes()).unwrap();
    }
    // Accepted after the truncated ones: once it is served, they all were.
    admitted_request(server.request_addr());
}

/// A request connection that has sent half of a `list` request.
fn half_a_list(server: &Server) -> Conn {
    let mut conn = server.request().unwrap();
    conn.send_raw(b"{\"type\":\"li").unwrap();
    conn
}

/// The `i`-th truncated request: a request that would change the server's
/// state, cut somewhere, every other one just before its `\n`.
fn truncated_request(i: usize) -> String {
    let full = match i % 3 {
        0 => format!(r#"{{"type":"join","nick":"eve{i}"}}"#),
        1 => r#"{"type":"leave","nick":"alice"}"#.to_owned(),
        _ => r#"{"type":"message","nick":"bob","message":"forged"}"#.to_owned(),
    };
    let cut = if i % 2 == 0 {
        full.len()
    } else {
        1 + i % (full.len() - 1)
    };
    full[..cut].to_owned()
}

/// How long the idle and stalled connections below wait: the server sets
/// no deadline on either, so any pause shows the same thing.
const IDLE_PAUSE: Duration = Duration::from_secs(3);

#[test]
fn idle_request_connections_keep_their_nicks_and_stalled_lines_are_finished_later() -> Result<()> {
    let open = plain();
    let guarded = guarded();
    let mut idle: Vec<Conn> = [&open, &guarded]
        .map(|server| server.request().unwrap())
        .into();
    for conn in &mut idle {
        assert_eq!(conn.join("sleepy")?, ok());
    }
    let mut staller = guarded.request()?;
    staller.send_raw(b"{\"type\":\"join\",\"nick\":\"half")?;

    thread::sleep(IDLE_PAUSE);

    for (server, conn) in [&open, &guarded].into_iter().zip(&mut idle) {
        assert_eq!(server.request()?.list()?, vec!["sleepy"]);
        assert_eq!(conn.say("sleepy", "still here")?, ok());
    }
    staller.send_raw(b"-done\"}\n")?;
    assert_eq!(staller.read_line()?.unwrap(), r#"{"response":"ok"}"#);
    assert_eq!(guarded.request()?.list()?, vec!["sleepy", "half-done"]);
    Ok(())
}

#[test]
fn oversized_and_deeply_nested_lines_hurt_only_their_sender() -> Result<()> {
    let server = plain();
    let mut alice = server.request()?;
    assert_eq!(alice.join("alice")?, ok());

    let mut nester = server.request()?;
    let deep = format!(
        r#"{{"type":"list","x":{}{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_ko(
        &serde_json::from_str(&nester.request(&deep)?).unwrap(),
        "nested deeper",
    );
    assert_eq!(nester.list()?, vec!["alice"]);

    let mut flooder = TcpStream::connect(server.request_addr()).unwrap();
    let long = format!(
        "{{\"type\":\"join\",\"nick\":\"{}\"}}\n",
        "x".repeat(MAX_LINE)
    );
    // The server may close before taking the whole line: a failed write is expected.
    let _ = flooder.write_all(long.as_bytes());
    let refusal = drain_until_closed(&flooder)?;
    let refusal: serde_json::Value = serde_json::from_slice(&refusal).unwrap();
    assert_ko(&refusal, "longer than");

    assert_eq!(alice.list()?, vec!["alice"]);
    Ok(())
}

#[test]
fn a_client_whose_server_is_killed_exits_non_zero_saying_so() {
    let server = plain();
    let mut client = common::client(&bin!("simple_client"), &server, "alice", &[]);
    server.stop();
    let status = client.exit_status().unwrap();
    assert!(!status.success(), "exit status {status}");
    client
        .stderr
        .wait_for("reporting the lost server", |l| {
            l.contains("connection to server lost")
        })
        .unwrap();
    let stderr = client.stderr.all();
    assert!(!stderr.iter().any(|l| l.contains("panicked")), "{stderr:?}");
}
