//! `chat_demo --dashboard`: the teacher's view follows the demo's scenes,
//! each announced by its title, each scene's servers shown as they saw
//! what the scene did.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use chat_lab::process::{PATIENCE, Process};
use serde_json::Value;

/// The items of every push of a view's stream, until one satisfies `wanted`.
fn items_until(stream: TcpStream, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    for line in BufReader::new(stream).lines() {
        let line = line.expect("the view's stream broke");
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let push: Value = serde_json::from_str(data).unwrap_or(Value::Null);
        let items = push["events"].as_array().cloned().unwrap_or_default();
        let found = items.iter().any(&wanted);
        seen.extend(items);
        if found {
            return seen;
        }
    }
    panic!("the view's stream ended; saw {seen:#?}");
}

#[test]
fn the_view_announces_each_scene_and_shows_what_its_servers_saw() {
    let demo = PathBuf::from(env!("CARGO_BIN_EXE_chat_demo"));
    let args = [
        "--quiet",
        "--only",
        "tamper",
        "--layer",
        "ae",
        "--dashboard",
        "--dashboard-port",
        "0",
        // As a teacher runs it: the view pushes what the scene's servers
        // saw in its next pass, which a demo that ends at once may close
        // before (one run in three, on a loaded machine).
        "--pause",
        "1",
    ];
    let mut process = Process::spawn(&demo, args, &[]).unwrap();
    process.close_stdin();
    let line = process
        .stderr
        .wait_for("naming the view", |l| l.starts_with("dashboard: "))
        .unwrap();
    let address = line
        .strip_prefix("dashboard: http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{line:?}"));
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(stream, "GET /events HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let items = items_until(stream, |i| i["action"] == "tampered");
    let scene = items.iter().position(|i| i["type"] == "scene");
    let tampered = items.iter().position(|i| i["action"] == "tampered");
    assert!(scene < tampered, "{items:#?}");
    assert_eq!(items[scene.unwrap()]["title"], "tamper against AE");
    let relayed = items.iter().find(|i| i["type"] == "relayed").unwrap();
    assert!(relayed["token"].is_string() && relayed.get("text").is_none());
    assert!(process.exit_status().unwrap().success());
}
