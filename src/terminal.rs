//! The terminal client shared by `simple_client`, `ae_client` and
//! `aead_client`: lines from stdin become messages, broadcasts become lines
//! on stdout, and everything else (errors, notices, the prompt's help) goes
//! to stderr, so stdout carries exactly what PROTOCOL.md section 4 says.
//!
//! Python's client was a web page (pywebio) polling the broadcast socket
//! every 0.1 s. This one is a terminal program: one thread reads stdin, the
//! broadcast reader thread prints, and the main thread owns the request
//! connection and reacts to events from both (and from Ctrl-C) in order.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::sync::mpsc::{self, Sender};
use std::thread;

use crate::base_client::{BaseClient, BroadcastChannel, ClientError};
use crate::cli::{Endpoint, fail};
use crate::frame::{Nick, Response};
use crate::simple_client::{self, Delivery, MessageError, Open, Seal, SimpleClient, printable};

const HELP: &str = "\
Type a line and press Enter to send it. Commands:
  /list   show who is in the chat
  /join   join again (after being evicted, say)
  /quit   leave the chat and exit (so do Ctrl-C and end of input)
  /help   show this help
Start a message with // to send a line beginning with /.";

/// What the main thread reacts to.
enum Event {
    Line(String),
    EndOfInput,
    Interrupted,
    Lost(ClientError),
}

/// A line typed by the user.
#[derive(Debug, PartialEq, Eq)]
enum Command<'a> {
    Say(&'a str),
    List,
    Join,
    Quit,
    Help,
    Unknown(&'a str),
}

impl<'a> Command<'a> {
    fn parse(line: &'a str) -> Self {
        if let Some(escaped) = line.strip_prefix("//") {
            return Self::Say(&line[line.len() - escaped.len() - 1..]);
        }
        match line.trim_end() {
            "/list" => Self::List,
            "/join" => Self::Join,
            "/quit" => Self::Quit,
            "/help" => Self::Help,
            other if other.starts_with('/') => Self::Unknown(other),
            _ => Self::Say(line),
        }
    }
}

/// Runs a chat session until `/quit`, end of input, Ctrl-C or a lost server.
pub fn run<S, O>(endpoint: &Endpoint, nick: Nick, sealer: S, opener: O) -> ExitCode
where
    S: Seal,
    O: Open + 'static,
{
    let base = match BaseClient::connect(&endpoint.host, endpoint.port, endpoint.broadcast_port) {
        Ok(base) => base,
        Err(e) => return fail(&e),
    };
    let mut client = SimpleClient::new(base.requests, nick, sealer);
    if let Ok(addr) = base.broadcasts.local_addr() {
        client = client.with_subscriber(addr);
    }
    if let Err(e) = join(&mut client) {
        return fail(&e);
    }
    let (events, inbox) = mpsc::channel();
    if let Err(e) = spawn_readers(base.broadcasts, opener, &events) {
        return fail(&e);
    }
    watch_interrupts(events);
    eprintln!(
        "joined as '{}' on {}:{} (type /help for commands)",
        client.nick(),
        endpoint.host,
        endpoint.port
    );
    chat(&mut client, inbox)
}

/// The broadcast reader (which prints what it opens) and the stdin reader,
/// both reporting to the main thread through `events`.
fn spawn_readers<O: Open + 'static>(
    broadcasts: BroadcastChannel,
    mut opener: O,
    events: &Sender<Event>,
) -> io::Result<()> {
    let lost = events.clone();
    broadcasts.spawn(
        move |line| show(&simple_client::on_recv(&mut opener, line)),
        move |e| {
            let _ = lost.send(Event::Lost(e));
        },
    )?;
    spawn_stdin_reader(events.clone())
}

fn join<S: Seal>(client: &mut SimpleClient<S>) -> Result<(), String> {
    match client.join() {
        Ok(Response::Ok) => Ok(()),
        Ok(Response::Ko(reason)) => Err(format!("cannot join as '{}': {reason}", client.nick())),
        Ok(other) => Err(format!("unexpected answer to join: {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The main loop: reacts to each event in turn.
fn chat<S: Seal>(client: &mut SimpleClient<S>, inbox: mpsc::Receiver<Event>) -> ExitCode {
    for event in inbox {
        let line = match event {
            Event::Line(line) => line,
            Event::EndOfInput | Event::Interrupted => return leave(client),
            Event::Lost(e) => return fail(&e),
        };
        let outcome = match Command::parse(&line) {
            Command::Quit => return leave(client),
            Command::Say(text) => say(client, text),
            Command::List => list(client),
            Command::Join => rejoin(client),
            Command::Help => {
                print_stdout(HELP);
                Ok(())
            }
            Command::Unknown(command) => {
                eprintln!("unknown command '{}' (type /help)", printable(command));
                Ok(())
            }
        };
        if let Err(e) = outcome {
            return fail(&e);
        }
    }
    leave(client)
}

/// Sends a message; a refusal is reported and the chat goes on.
fn say<S: Seal>(client: &mut SimpleClient<S>, text: &str) -> Result<(), ClientError> {
    match client.message(text) {
        Ok(Response::Ok) => {}
        Ok(Response::Ko(reason)) => eprintln!("message refused: {}", printable(&reason)),
        Ok(other) => eprintln!("unexpected answer to a message: {other:?}"),
        Err(MessageError::Seal(e)) => eprintln!("message not sent: {e}"),
        Err(MessageError::Client(e)) => return Err(e),
    }
    Ok(())
}

fn list<S: Seal>(client: &mut SimpleClient<S>) -> Result<(), ClientError> {
    match client.list()? {
        Response::Nicks(nicks) => {
            let shown: Vec<String> = nicks.iter().map(|n| printable(n)).collect();
            print_stdout(&format!("joined ({}): {}", shown.len(), shown.join(", ")));
        }
        Response::Ko(reason) => eprintln!("list refused: {}", printable(&reason)),
        Response::Ok => eprintln!("unexpected answer to list: ok"),
    }
    Ok(())
}

fn rejoin<S: Seal>(client: &mut SimpleClient<S>) -> Result<(), ClientError> {
    match client.join()? {
        Response::Ok => eprintln!("joined again as '{}'", client.nick()),
        Response::Ko(reason) => eprintln!("cannot join: {}", printable(&reason)),
        Response::Nicks(_) => eprintln!("unexpected answer to join"),
    }
    Ok(())
}

/// Leaves the chat, as the original did on exit.
fn leave<S: Seal>(client: &mut SimpleClient<S>) -> ExitCode {
    match client.leave() {
        Ok(Response::Ok) => ExitCode::SUCCESS,
        Ok(other) => {
            eprintln!("left; the server answered {other:?}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// Prints a delivery: broadcasts to stdout, the server's notices to stderr,
/// a layer's warnings to stderr after the message they came with.
fn show(delivery: &Delivery) {
    if let Delivery::Notice(_) = delivery {
        eprintln!("{delivery}");
        return;
    }
    print_stdout(&delivery.to_string());
    if let Delivery::Accepted { opened, .. } = delivery {
        for warning in &opened.warnings {
            eprintln!("[warning] {}", printable(warning));
        }
    }
}

/// Writes one line to stdout. A closed stdout (a pipe whose reader left) is
/// not worth dying for: the chat goes on.
pub fn print_stdout(line: &str) {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

fn spawn_stdin_reader(events: Sender<Event>) -> io::Result<()> {
    thread::Builder::new().name("stdin".into()).spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match stdin.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).to_owned();
                    if events.send(Event::Line(line)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = events.send(Event::EndOfInput);
    })?;
    Ok(())
}

/// Ctrl-C leaves the chat cleanly instead of killing the process.
fn watch_interrupts(events: Sender<Event>) {
    let installed = ctrlc::set_handler(move || {
        let _ = events.send(Event::Interrupted);
    });
    if let Err(e) = installed {
        log::warn!("Ctrl-C will not leave the chat cleanly: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_messages() {
        assert_eq!(Command::parse("hello"), Command::Say("hello"));
        assert_eq!(Command::parse(""), Command::Say(""));
        assert_eq!(Command::parse("/list"), Command::List);
        assert_eq!(Command::parse("/quit "), Command::Quit);
        assert_eq!(Command::parse("/dance"), Command::Unknown("/dance"));
        assert_eq!(
            Command::parse("//list is a command"),
            Command::Say("/list is a command")
        );
    }
}
