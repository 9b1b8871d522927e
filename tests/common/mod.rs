//! What the integration tests share that is theirs alone, over real TCP on
//! 127.0.0.1 and ports the system picks, never fixed ones: the in-process
//! servers of each kind ([`plain`], [`guarded`], [`ae`], [`rogue`]),
//! watched for panics in their threads; a client binary joined to one
//! ([`client`]); and the assertions on `ko` answers. The rest is the lab's,
//! so that it exists once: `chat_lab::stage` (servers and members in
//! process), `chat_lab::raw` (raw connections read with a deadline),
//! `chat_lab::process` (binaries, `PATIENCE`, `wait_until`).

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Mutex, Once};
use std::time::Duration;

use chat::server::rogue_server::{Attack, DEFAULT_REPLAY_DELAY, RogueConfig, RogueServer};
use chat::server::{ServerConfig, SimpleServer, TrustModel};
use chat::{Layer, Nick};
use chat_lab::process::Process;
use chat_lab::stage::Server;

/// Path of one of the project's binaries, built by cargo for the tests.
#[macro_export]
macro_rules! bin {
    ($name:literal) => {
        std::path::PathBuf::from(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}

/// The plain server, in the Python original's trust model.
pub fn plain() -> Server {
    started(Server::of_layer(Layer::Plain, TrustModel::Open))
}

/// The plain server with `--guard`.
pub fn guarded() -> Server {
    started(Server::of_layer(Layer::Plain, TrustModel::Guarded))
}

/// The AE server: encrypted messages only.
pub fn ae() -> Server {
    started(Server::of_layer(Layer::Ae, TrustModel::Open))
}

/// A plain server that accepts at most `max` connections, both ports together.
pub fn plain_capped(max: usize, trust: TrustModel) -> Server {
    let config = ServerConfig {
        max_connections: max,
        ..ServerConfig::local()
    };
    started(Server::start_with(&config, |_| SimpleServer::new(trust)))
}

/// A rogue server running `attacks`, relabelling as `impersonate` if
/// given, replaying after `replay_delay` (default: the binary's).
pub fn rogue(
    attacks: &[Attack],
    impersonate: Option<&str>,
    replay_delay: Option<Duration>,
) -> Server {
    let config = RogueConfig {
        attacks: attacks.iter().copied().collect::<BTreeSet<_>>(),
        impersonate: impersonate.map(|nick| Nick::new(nick).unwrap()),
        replay_delay: replay_delay.unwrap_or(DEFAULT_REPLAY_DELAY),
    };
    let chat = SimpleServer::new(TrustModel::Open);
    started(Server::start(|publisher| {
        RogueServer::new(chat, config, publisher)
    }))
}

fn started(server: anyhow::Result<Server>) -> Server {
    watch_for_server_panics();
    server.expect("cannot start a server on loopback")
}

/// Panics in the servers' threads, as `THREAD: MESSAGE`. A server thread
/// that panics takes a connection down with it, which the tests that throw
/// bad input at a server must show never happens.
static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The names the library gives its server threads.
const SERVER_THREADS: [&str; 5] = [
    "request-",
    "broadcast-",
    "accept-",
    "broadcaster",
    "replayer",
];

fn watch_for_server_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            if SERVER_THREADS.iter().any(|t| thread.starts_with(t)) {
                let mut panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
                panics.push(format!("{thread}: {info}"));
            }
            previous(info);
        }));
    });
}

/// Asserts that no server thread of this test binary has panicked.
pub fn assert_no_server_panic() {
    let panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(panics.is_empty(), "server threads panicked: {panics:#?}");
}

/// A chat client binary (`simple_client`, `ae_client`, `aead_client`)
/// joined to `server` as `nick`, with `extra` flags.
pub fn client(binary: &Path, server: &Server, nick: &str, extra: &[&str]) -> Process {
    let mut args = server.client_args();
    args.extend(["--nick", nick].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    Process::chat_client(binary, &args).unwrap()
}

/// Asserts a response is `ko` with an error containing `needle`.
pub fn assert_ko(response: &serde_json::Value, needle: &str) {
    assert_eq!(response["response"], "ko", "{response}");
    let error = response["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text: {response}"));
    assert!(error.contains(needle), "error {error:?} lacks {needle:?}");
    assert!(!error.contains('\n'));
}

/// The `error` of a `ko` answer; fails the test on any other answer.
pub fn ko_reason(answer: &serde_json::Value) -> String {
    assert_eq!(answer["response"], "ko", "{answer}");
    answer["error"]
        .as_str()
        .expect("a ko without error")
        .to_owned()
}
