//! The teacher's view (`--dashboard`, PROTOCOL.md section 10) over raw
//! TCP, on the real server binaries: what it shows (members, each message
//! as the server holds it, refusals and their reasons, the guard's apart,
//! a rogue server's actions), what it never shows (the words of an
//! encrypted message), who it answers (its own Host, GET only), and its
//! limits (a cap that neither a slowloris nor a crowd of readers passes,
//! pushes that count the frames they do not carry). The browser tests
//! (interop/pages.py) show the same in Chromium.

mod web;

use std::io::Write;
use std::net::TcpStream;

use chat_lab::process::{Process, ServerProcess, thread_count};
use chat_lab::raw::Conn;
use serde_json::Value;
use unsecured_chat::web::dashboard::{MAX_CONNECTIONS, MAX_PER_PUSH};
use web::{CONNECTION_THREAD, Events, raw, request, threads_named};

/// A server binary with `--dashboard` on a free port, and that port.
fn with_dashboard(binary: &std::path::Path, flags: &[&str]) -> (ServerProcess, u16) {
    let args = [&["--dashboard", "--dashboard-port", "0"], flags].concat();
    let server = ServerProcess::start(binary, &args, &[]).unwrap();
    let line = server
        .process
        .stderr
        .wait_for("naming the dashboard", |l| l.starts_with("dashboard: "))
        .unwrap();
    let port = line
        .strip_prefix("dashboard: http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"));
    (server, port)
}

fn host(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// The view's stream.
fn view(port: u16) -> Events {
    let events = Events::open(port, &host(port), &[]);
    assert_eq!(events.status, 200);
    events
}

/// Reads pushes until one of their items satisfies `wanted`; every item
/// seen, and the last snapshot.
fn items_until(events: &mut Events, wanted: impl Fn(&Value) -> bool) -> (Vec<Value>, Value) {
    let (mut seen, mut snapshot) = (Vec::new(), Value::Null);
    while let Some(event) = events.next() {
        if event.name != "update" {
            continue;
        }
        let push = event.json();
        if !push["snapshot"].is_null() {
            snapshot = push["snapshot"].clone();
        }
        let items = push["events"].as_array().cloned().unwrap_or_default();
        let found = items.iter().any(&wanted);
        seen.extend(items);
        if found {
            return (seen, snapshot);
        }
    }
    panic!("the stream ended; saw {seen:#?}");
}

/// A terminal client of `binary`, joined as `nick`.
fn member(binary: &std::path::Path, server: &ServerProcess, nick: &str) -> Process {
    let mut args = server.client_args();
    args.extend(["--nick", nick].map(String::from));
    let client = Process::spawn(binary, &args, &[("CHAT_PASSWORD", "s3cret")]).unwrap();
    client
        .stderr
        .wait_for("announcing the join", |l| l.starts_with("joined as "))
        .unwrap();
    client
}

#[test]
fn the_address_goes_to_stderr_and_stdout_keeps_its_one_line() {
    let (server, port) = with_dashboard(&exe!("simple_server"), &[]);
    assert_eq!(server.process.stdout.all().len(), 1);
    let page = request(port, "GET", "/", &host(port), &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"members\"") && page.body.contains("id=\"traffic\""));
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe"));
}

#[test]
fn a_plain_server_shows_its_members_and_the_words_of_each_message() {
    let (server, port) = with_dashboard(&exe!("simple_server"), &[]);
    let mut events = view(port);
    let mut alice = member(&exe!("simple_client"), &server, "alice");
    let hostile = "<img src=x onerror=alert(1)>";
    alice.send_line(hostile).unwrap();
    let (items, snapshot) = items_until(&mut events, |i| i["type"] == "relayed");
    let relayed = items.iter().find(|i| i["type"] == "relayed").unwrap();
    assert_eq!(
        (relayed["nick"].as_str(), relayed["text"].as_str()),
        (Some("alice"), Some(hostile))
    );
    assert!(relayed.get("salt").is_none());
    assert!(
        items
            .iter()
            .any(|i| i["type"] == "joined" && i["nick"] == "alice")
    );
    assert_eq!(snapshot["members"], serde_json::json!(["alice"]));
    assert_eq!(snapshot["totals"]["relayed"], 1);
    assert!(snapshot["connections"]["requests"].as_u64() >= Some(1));
}

#[test]
fn an_ae_server_shows_only_the_salt_and_token_of_each_message() {
    let (server, port) = with_dashboard(&exe!("ae_server"), &[]);
    let mut events = view(port);
    let mut alice = member(&exe!("ae_client"), &server, "alice");
    let secret = "the exam is on friday";
    alice.send_line(secret).unwrap();
    let (items, _) = items_until(&mut events, |i| i["type"] == "relayed");
    let relayed = items.iter().find(|i| i["type"] == "relayed").unwrap();
    assert!(
        relayed["salt"].is_string() && relayed["token"].as_str().unwrap().starts_with("gAAAAA")
    );
    assert!(relayed.get("text").is_none());
    let everything = serde_json::to_string(&items).unwrap();
    assert!(!everything.contains("friday"), "{everything}");
}

#[test]
fn refusals_come_with_their_reason_and_the_guard_s_are_counted_apart() {
    let (server, port) = with_dashboard(&exe!("simple_server"), &["--guard"]);
    let mut events = view(port);
    let _alice = member(&exe!("simple_client"), &server, "alice");
    let mut intruder = Conn::connect(server.request_addr()).unwrap();
    intruder.leave("alice").unwrap();
    intruder.request("not json at all").unwrap();
    let (items, mut last) = items_until(&mut events, |i| i["by"] == "request");
    let guard = items
        .iter()
        .find(|i| i["by"] == "guard")
        .expect("the guard's refusal");
    assert_eq!(guard["what"], "leave");
    assert!(
        guard["reason"]
            .as_str()
            .unwrap()
            .contains("belongs to another connection")
    );
    let counted = |s: &Value| {
        let refused = &s["totals"]["refused"];
        refused["guard"] == 1 && refused["request"] == 1 && refused["chat"] == 0
    };
    while !counted(&last) {
        let push = std::iter::from_fn(|| events.next())
            .find(|e| e.name == "update")
            .unwrap();
        let snapshot = push.json()["snapshot"].clone();
        if !snapshot.is_null() {
            last = snapshot;
        }
    }
}

#[test]
fn a_rogue_server_shows_what_it_did_to_each_message() {
    let (server, port) = with_dashboard(
        &exe!("rogue_server"),
        &["--attack", "tamper,impersonate,drop", "--as", "admin"],
    );
    let mut events = view(port);
    let mut alice = member(&exe!("simple_client"), &server, "alice");
    alice.send_line("first").unwrap();
    alice.send_line("second").unwrap();
    let (items, _) = items_until(&mut events, |i| i["action"] == "dropped");
    let actions: Vec<&str> = items.iter().filter_map(|i| i["action"].as_str()).collect();
    assert_eq!(actions, ["tampered", "impersonated", "dropped"]);
    let tampered = items.iter().find(|i| i["action"] == "tampered").unwrap();
    assert_eq!(
        tampered["now"]["text"],
        chat::server::rogue_server::FORGED_TEXT
    );
    let impersonated = items
        .iter()
        .find(|i| i["action"] == "impersonated")
        .unwrap();
    assert_eq!(
        (impersonated["nick"].as_str(), impersonated["as"].as_str()),
        (Some("alice"), Some("admin"))
    );
}

#[test]
fn only_its_own_host_and_get_are_answered_and_unknown_paths_are_404() {
    let (_server, port) = with_dashboard(&exe!("simple_server"), &[]);
    for foreign in ["evil.example", "rebound.example:{port}", ""] {
        let foreign = foreign.replace("{port}", &port.to_string());
        assert_eq!(
            request(port, "GET", "/", &foreign, &[], b"").status,
            403,
            "{foreign:?}"
        );
    }
    assert_eq!(
        request(port, "GET", "/", &format!("localhost:{port}"), &[], b"").status,
        200
    );
    for path in ["/dashboard.js", "/dashboard.css", "/favicon.svg"] {
        assert_eq!(
            request(port, "GET", path, &host(port), &[], b"").status,
            200,
            "{path}"
        );
    }
    assert_eq!(
        request(port, "GET", "/page.js", &host(port), &[], b"").status,
        404
    );
    assert_eq!(
        request(port, "GET", "/nope", &host(port), &[], b"").status,
        404
    );
    assert_eq!(
        request(port, "POST", "/events", &host(port), &[], b"x").status,
        413
    );
    assert_eq!(
        request(port, "DELETE", "/", &host(port), &[], b"").status,
        405
    );
    let big = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nX: {}\r\n\r\n",
        host(port),
        "a".repeat(20_000)
    );
    assert_eq!(raw(port, big.as_bytes()).status, 413);
}

#[test]
fn on_every_address_it_answers_to_numbers_never_to_names() {
    let args = [
        "--dashboard",
        "--dashboard-host",
        "0.0.0.0",
        "--dashboard-port",
        "0",
    ];
    let server = ServerProcess::start(&exe!("simple_server"), &args, &[]).unwrap();
    let line = server
        .process
        .stderr
        .wait_for("naming the dashboard", |l| l.starts_with("dashboard: "))
        .unwrap();
    let port: u16 = line
        .strip_prefix("dashboard: http://0.0.0.0:")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"));
    assert_eq!(request(port, "GET", "/", &host(port), &[], b"").status, 200);
    let rebound = format!("rebound.example:{port}");
    assert_eq!(request(port, "GET", "/", &rebound, &[], b"").status, 403);
}

#[test]
fn neither_a_slowloris_nor_a_crowd_of_readers_grows_its_threads_past_the_cap() {
    let (server, port) = with_dashboard(&exe!("simple_server"), &[]);
    let pid = server.pid();
    let readers: Vec<Events> = (0..MAX_CONNECTIONS / 2).map(|_| view(port)).collect();
    let stalled: Vec<TcpStream> = (0..2 * MAX_CONNECTIONS)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.write_all(b"GET /events HTTP/1.1\r\nHo").unwrap();
            stream
        })
        .collect();
    // The accept loop takes connections in order: once this one is
    // answered, every one before it was admitted or refused.
    assert_eq!(request(port, "GET", "/", &host(port), &[], b"").status, 503);
    let serving = threads_named(pid, CONNECTION_THREAD);
    assert!(serving <= MAX_CONNECTIONS, "{serving} connection threads");
    assert!(thread_count(pid).unwrap() < 2 * MAX_CONNECTIONS);
    drop((readers, stalled));
    web::wait_until("the view serves again", || {
        request(port, "GET", "/", &host(port), &[], b"").status == 200
    });
}

#[test]
fn a_push_carries_at_most_its_share_and_counts_the_frames_it_does_not_show() {
    let (server, port) = with_dashboard(&exe!("simple_server"), &[]);
    let mut probe = view(port);
    let mut speaker = Conn::connect(server.request_addr()).unwrap();
    speaker.join("speaker").unwrap();
    let count = 3 * MAX_PER_PUSH;
    let burst: String = (0..count)
        .map(|i| format!("{{\"type\":\"message\",\"nick\":\"speaker\",\"message\":\"m{i}\"}}\n"))
        .collect();
    speaker.send_raw(burst.as_bytes()).unwrap();
    for _ in 0..count {
        speaker.read_line().unwrap();
    }
    let last = format!("m{}", count - 1);
    items_until(&mut probe, |i| i["text"] == last.as_str());
    // Everything is in the feed: a view that opens now is pushed the
    // newest items and told how many events it is not shown.
    let mut late = view(port);
    let first = std::iter::from_fn(|| late.next())
        .find(|e| e.name == "update")
        .unwrap();
    let push = first.json();
    let shown = push["events"].as_array().unwrap();
    assert_eq!(shown.len(), MAX_PER_PUSH);
    assert_eq!(shown.last().unwrap()["text"], last.as_str());
    let stands_for = |item: &Value| match item["type"].as_str() {
        Some("missed") => item["count"].as_u64().unwrap(),
        _ => 1,
    };
    let accounted: u64 =
        shown.iter().map(stands_for).sum::<u64>() + push["not_shown"].as_u64().unwrap();
    assert_eq!(
        accounted as usize,
        count + 1,
        "the join and the messages, each shown or counted"
    );
    assert!(push["not_shown"].as_u64() > Some(0));
}
