//! The terminal client as a person meets it: `simple_client` under a real
//! pseudo-terminal, its screen read back through a terminal emulator
//! (`vt100`). A message that arrives while a line is half typed must appear
//! on a line of its own, and the half-typed line must stay intact below it.
//!
//! (When stdin or stdout is not a terminal, the client prints exactly what
//! PROTOCOL.md section 4 says: tests/clients.rs holds that contract.)

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chat::client::{BaseClient, BroadcastChannel, Endpoint, SimpleClient};
use chat::layer::Plain;
use chat::server::{BaseServer, ServerConfig, SimpleServer, TrustModel};
use chat::{Layer, Nick, Response, ServerHandle};
use chat_lab::process::{PATIENCE, POLL};
use chat_lab::stage::Server;
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const ROWS: NonZeroU16 = NonZeroU16::new(24).unwrap();
const COLS: NonZeroU16 = NonZeroU16::new(80).unwrap();

/// A plain server that says when a subscriber is registered.
fn listened_server() -> Server {
    Server::of_layer(Layer::Plain, TrustModel::Open).unwrap()
}

fn server() -> ServerHandle {
    let server = BaseServer::bind(&ServerConfig::local()).unwrap();
    server
        .spawn(Arc::new(SimpleServer::new(TrustModel::Open)))
        .unwrap()
}

fn endpoint(server: &ServerHandle) -> Endpoint {
    Endpoint::of(server.request_addr(), server.broadcast_addr())
}

/// Pause between two keystrokes: a fast typist, not a benchmark.
const KEYSTROKE: Duration = Duration::from_millis(5);

/// What a program writes to ask where the cursor is (Device Status Report).
const CURSOR_QUERY: &[u8] = b"\x1b[6n";

/// A binary running under a pseudo-terminal, and the screen it draws: a
/// terminal emulator that also answers where its cursor is, as a real one
/// does (the line editor asks).
struct Terminal {
    child: Box<dyn Child + Send + Sync>,
    keyboard: Arc<Mutex<Box<dyn Write + Send>>>,
    screen: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn MasterPty + Send>,
}

impl Terminal {
    fn spawn(binary: &str, args: &[String], envs: &[(&str, &str)]) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS.get(),
                cols: COLS.get(),
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = CommandBuilder::new(binary);
        command.args(args);
        command.env("TERM", "xterm-256color");
        command.env_remove("NO_COLOR");
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = pty.slave.spawn_command(command).unwrap();
        drop(pty.slave);
        let screen = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let keyboard = Arc::new(Mutex::new(pty.master.take_writer().unwrap()));
        let output = pty.master.try_clone_reader().unwrap();
        let (painter, answerer) = (Arc::clone(&screen), Arc::clone(&keyboard));
        thread::spawn(move || emulate(output, &painter, &answerer));
        Self {
            child,
            keyboard,
            screen,
            _master: pty.master,
        }
    }

    /// Types `keys` one at a time, as a person does: the line editor shows
    /// a burst of keys arriving in one read only at the next keystroke.
    fn type_keys(&mut self, keys: &str) {
        for key in keys.chars() {
            let mut keyboard = self.keyboard.lock().unwrap();
            keyboard.write_all(key.to_string().as_bytes()).unwrap();
            keyboard.flush().unwrap();
            drop(keyboard);
            thread::sleep(KEYSTROKE);
        }
    }

    /// Writes `bytes` in one write, as a paste (or a loaded terminal)
    /// delivers a burst of keys.
    fn write_burst(&mut self, bytes: &str) {
        let mut keyboard = self.keyboard.lock().unwrap();
        keyboard.write_all(bytes.as_bytes()).unwrap();
        keyboard.flush().unwrap();
    }

    /// The screen's rows, without trailing blanks.
    fn rows(&self) -> Vec<String> {
        let screen = self.screen.lock().unwrap();
        screen
            .screen()
            .rows(0, COLS.get())
            .map(|row| row.trim_end().to_owned())
            .collect()
    }

    /// Waits until `seen` holds for the screen's rows.
    fn wait_for(&self, what: &str, seen: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let rows = self.rows();
            if seen(&rows) {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; screen: {rows:#?}"
            );
            thread::sleep(POLL);
        }
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the client did not exit");
            thread::sleep(POLL);
        }
    }
}

/// Draws what the program writes, and answers its cursor queries.
fn emulate(
    mut output: Box<dyn Read + Send>,
    screen: &Mutex<vt100::Parser>,
    keyboard: &Mutex<Box<dyn Write + Send>>,
) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = output.read(&mut buf) {
        let mut screen = screen.lock().unwrap();
        screen.process(&buf[..n]);
        if buf[..n]
            .windows(CURSOR_QUERY.len())
            .any(|w| w == CURSOR_QUERY)
        {
            let (row, col) = screen.screen().cursor_position();
            let answer = format!("\x1b[{};{}R", row + 1, col + 1);
            let mut keyboard = keyboard.lock().unwrap();
            let _ = keyboard.write_all(answer.as_bytes());
            let _ = keyboard.flush();
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn client_args(endpoint: &Endpoint, nick: &str) -> Vec<String> {
    [
        "--port",
        &endpoint.port.to_string(),
        "--broadcast-port",
        &endpoint.broadcast_port.to_string(),
        "--nick",
        nick,
    ]
    .map(String::from)
    .to_vec()
}

/// Another member of the chat, in process.
fn bob(endpoint: &Endpoint) -> SimpleClient<Plain> {
    let base = BaseClient::connect(endpoint).unwrap();
    let mut bob = SimpleClient::new(base.requests, Nick::new("bob").unwrap(), Plain);
    assert_eq!(bob.join().unwrap(), Response::Ok);
    bob
}

/// `simple_client` joined as `nick`, once it shows its prompt.
fn prompted(endpoint: &Endpoint, nick: &str, envs: &[(&str, &str)]) -> Terminal {
    let client = Terminal::spawn(
        env!("CARGO_BIN_EXE_simple_client"),
        &client_args(endpoint, nick),
        envs,
    );
    let prompt = format!("{nick}>");
    client.wait_for("the prompt", |rows| last_nonblank(rows) == prompt);
    client
}

/// Another member's view of the chat: the broadcast port, read in process.
struct Listener(BroadcastChannel);

impl Listener {
    /// Connected, and registered by the server: it gets every line from now.
    fn connect(server: &Server) -> Self {
        let broadcasts = BroadcastChannel::connect(&server.endpoint()).unwrap();
        broadcasts.set_read_timeout(Some(PATIENCE)).unwrap();
        server
            .wait_for_subscriber(broadcasts.local_addr().unwrap())
            .unwrap();
        Self(broadcasts)
    }

    /// The next message broadcast, as `NICK : TEXT`.
    fn next(&mut self) -> String {
        let frame = self.0.next_frame().expect("no message broadcast in time");
        let frame: serde_json::Value = serde_json::from_slice(frame).unwrap();
        format!(
            "{} : {}",
            frame["nick"].as_str().unwrap(),
            frame["message"].as_str().unwrap()
        )
    }
}

fn last_nonblank(rows: &[String]) -> &str {
    rows.iter().rev().find(|r| !r.is_empty()).map_or("", |r| r)
}

#[test]
fn a_message_arriving_mid_line_gets_its_own_line_and_the_typed_line_stays_intact() {
    let server = server();
    let endpoint = endpoint(&server);
    let mut alice = prompted(&endpoint, "alice", &[]);
    let mut bob = bob(&endpoint);

    alice.type_keys("I am typing a long");
    alice.wait_for("the half line", |rows| {
        last_nonblank(rows) == "alice> I am typing a long"
    });
    assert_eq!(bob.message("interrupting you").unwrap(), Response::Ok);
    let rows = alice.wait_for("bob's message", |rows| {
        rows.iter().any(|r| r == "bob : interrupting you")
    });
    let at = rows
        .iter()
        .position(|r| r == "bob : interrupting you")
        .unwrap();
    assert_eq!(
        last_nonblank(&rows[at + 1..]),
        "alice> I am typing a long",
        "the typed line must follow the message, intact: {rows:#?}"
    );

    alice.type_keys(" sentence\r");
    alice.wait_for("alice's own message back", |rows| {
        rows.iter()
            .any(|r| r == "alice : I am typing a long sentence")
    });
    alice.type_keys("/quit\r");
    assert!(alice.wait_exit().success());
}

#[test]
fn a_line_that_arrives_with_its_enter_in_one_burst_is_sent_at_once() {
    let server = listened_server();
    let mut alice = prompted(&server.endpoint(), "alice", &[]);
    let mut carol = Listener::connect(&server);

    alice.write_burst("a whole line at once\r");
    assert_eq!(carol.next(), "alice : a whole line at once");
    alice.wait_for("the prompt back, empty", |rows| {
        last_nonblank(rows) == "alice>"
    });
}

#[test]
fn a_paste_of_two_lines_is_two_messages_with_or_without_bracketed_paste() {
    let server = listened_server();
    let mut alice = prompted(&server.endpoint(), "alice", &[]);
    let mut carol = Listener::connect(&server);

    alice.write_burst("first line\rsecond line\r");
    assert_eq!(carol.next(), "alice : first line");
    assert_eq!(carol.next(), "alice : second line");

    alice.write_burst("\x1b[200~third line\r\nfourth line\r\x1b[201~");
    assert_eq!(carol.next(), "alice : third line");
    assert_eq!(carol.next(), "alice : fourth line");

    // A paste's unfinished last line is left to edit, with what was typed
    // in the same burst; Enter sends it.
    alice.write_burst("\x1b[200~fifth line\rsixth\x1b[201~ line");
    assert_eq!(carol.next(), "alice : fifth line");
    alice.wait_for("the unfinished line", |rows| {
        last_nonblank(rows) == "alice> sixth line"
    });
    alice.type_keys("\r");
    assert_eq!(carol.next(), "alice : sixth line");
}

#[test]
fn quit_takes_the_prompt_away_so_the_shell_starts_on_a_clean_line() {
    let server = server();
    let endpoint = endpoint(&server);
    let mut alice = prompted(&endpoint, "alice", &[]);
    alice.type_keys("/quit\r");
    assert!(alice.wait_exit().success());
    alice.wait_for("no prompt left after /quit", |rows| {
        last_nonblank(rows) == "alice> /quit"
    });
    let screen = alice.screen.lock().unwrap();
    assert_eq!(
        screen.screen().cursor_position().1,
        0,
        "the shell's prompt would not start its own line"
    );
}

#[test]
fn a_message_wider_than_the_screen_is_shown_whole_above_the_prompt() {
    let server = server();
    let endpoint = endpoint(&server);
    let mut alice = prompted(&endpoint, "alice", &[]);
    let mut bob = bob(&endpoint);
    let long: String = (0..30).map(|i| format!("w{i:02} ")).collect();
    let long = long.trim_end();
    assert!(long.len() + "bob : ".len() > usize::from(COLS.get()));

    alice.type_keys("half");
    for text in [long, "after", "and after"] {
        assert_eq!(bob.message(text).unwrap(), Response::Ok);
    }
    let rows = alice.wait_for("bob's last message", |rows| {
        rows.iter().any(|r| r == "bob : and after")
    });
    let shown: String = rows.concat();
    assert!(
        shown.contains(&format!("bob : {long}")),
        "the long message is not whole: {rows:#?}"
    );
    assert!(
        rows[0].starts_with("joined as 'alice'"),
        "the screen was pushed up: {rows:#?}"
    );
    assert_eq!(last_nonblank(&rows), "alice> half", "{rows:#?}");
}

#[test]
fn ctrl_c_and_ctrl_d_at_the_prompt_leave_the_chat() {
    let server = server();
    let endpoint = endpoint(&server);
    let mut bob = bob(&endpoint);
    for (nick, key) in [("alice", "\x03"), ("carol", "\x04")] {
        let mut client = prompted(&endpoint, nick, &[]);
        client.type_keys(key);
        assert!(client.wait_exit().success(), "{nick}");
    }
    match bob.list().unwrap() {
        Response::Nicks { nicks, .. } => assert_eq!(nicks, ["bob"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejections_are_in_colour_unless_no_color_is_set() {
    let server = server();
    let endpoint = endpoint(&server);
    let cases = [
        ("alice", &[][..], true),
        ("carol", &[("NO_COLOR", "1")][..], false),
    ];
    for (nick, env, coloured) in cases {
        let alice = prompted(&endpoint, nick, env);
        let mut requests = chat::client::RequestChannel::connect(&endpoint).unwrap();
        requests
            .send(br#"{"type":"join","nick":"mallory"}"#)
            .unwrap();
        requests
            .send(br#"{"type":"message","nick":"mallory","message":{"salt":"x","token":"y"}}"#)
            .unwrap();
        let rows = alice.wait_for("the rejection", |rows| {
            rows.iter().any(|r| r.starts_with("[rejected] mallory:"))
        });
        let row = rows
            .iter()
            .position(|r| r.starts_with("[rejected] mallory:"))
            .unwrap();
        let screen = alice.screen.lock().unwrap();
        let cell = screen.screen().cell(row as u16, 0).unwrap().fgcolor();
        assert_eq!(
            cell != vt100::Color::Default,
            coloured,
            "colour of the [rejected] line with env {env:?}"
        );
        drop(screen);
        requests
            .send(br#"{"type":"leave","nick":"mallory"}"#)
            .unwrap();
    }
}

#[test]
fn an_empty_password_is_asked_again() {
    let server = server();
    let endpoint = endpoint(&server);
    let mut alice = Terminal::spawn(
        env!("CARGO_BIN_EXE_ae_client"),
        &client_args(&endpoint, "alice"),
        &[],
    );
    let prompts = |rows: &[String]| rows.iter().filter(|r| r.starts_with("password:")).count();
    alice.wait_for("the password prompt", |rows| prompts(rows) == 1);
    alice.type_keys("\r");
    alice.wait_for("a second prompt", |rows| {
        prompts(rows) == 2 && rows.iter().any(|r| r == "the password must not be empty")
    });
    alice.type_keys("s3cret\r");
    alice.wait_for("the join", |rows| {
        rows.iter().any(|r| r.starts_with("joined as 'alice'"))
    });
}

#[test]
fn join_when_joined_says_so_plainly() {
    let server = server();
    let endpoint = endpoint(&server);
    let mut alice = prompted(&endpoint, "alice", &[]);
    alice.type_keys("/join\r");
    alice.wait_for("the answer", |rows| {
        rows.iter()
            .any(|r| r == "you are already in the chat as 'alice'")
    });
}

#[test]
fn no_server_is_one_line_naming_both_ports_and_how_to_start_one() {
    let (port, broadcast_port) = (free_port(), free_port());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_simple_client"))
        .args(["--port", &port.to_string()])
        .args(["--broadcast-port", &broadcast_port.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for needle in [
        format!("request port {port}"),
        format!("broadcast port {broadcast_port}"),
        "make run-server".to_owned(),
        "`simple_server` from an archive".to_owned(),
    ] {
        assert!(stderr.contains(&needle), "{needle:?} not in {stderr:?}");
    }
}

/// A port nothing listens on: bound by the system, then let go.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
