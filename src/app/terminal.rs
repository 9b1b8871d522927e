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
use std::sync::mpsc::{self, Sender};
use std::thread;

use super::display;
use super::flags::ClientFlags;
use crate::Error;
use crate::client::Delivery;
use crate::client::{BaseClient, BroadcastChannel, ClientError, Endpoint, SimpleClient, on_recv};
use crate::layer::{AeSettings, Layer, Open, Seal};
use crate::wire::{Nick, Response};

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

/// Runs a chat session in `layer`, with `settings` for the encrypted ones.
pub fn run_layer(
    layer: Layer,
    client: &ClientFlags,
    settings: Option<&AeSettings>,
) -> Result<(), Error> {
    let (sealer, opener) = (layer.sealer(settings)?, layer.opener(settings)?);
    let endpoint = client.endpoint.endpoint().with_zmq_body(layer.zmq_body());
    run(&endpoint, client.nick(), sealer, opener)
}

/// Runs a chat session until `/quit`, end of input, Ctrl-C or a lost server.
pub fn run<S, O>(endpoint: &Endpoint, nick: Nick, sealer: S, opener: O) -> Result<(), Error>
where
    S: Seal,
    O: Open + 'static,
{
    let base = BaseClient::connect(endpoint)?;
    let mut client = SimpleClient::new(base.requests, nick, sealer);
    if let Ok(addr) = base.broadcasts.local_addr() {
        client = client.with_subscriber(addr);
    }
    join(&mut client)?;
    let (events, inbox) = mpsc::channel();
    spawn_readers(base.broadcasts, opener, &events)?;
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
        move |codec, frame| show(&on_recv(&mut opener, codec, frame)),
        move |e| {
            let _ = lost.send(Event::Lost(e));
        },
    )?;
    spawn_stdin_reader(events.clone())
}

fn join<S: Seal>(client: &mut SimpleClient<S>) -> Result<(), Error> {
    match client.join()? {
        Response::Ok => Ok(()),
        Response::Ko(reason) => Err(Error::JoinRefused {
            nick: client.nick().clone(),
            reason: display::printable(&reason).into_owned(),
        }),
        Response::Nicks(_) => Err(Error::JoinRefused {
            nick: client.nick().clone(),
            reason: "the server answered with a nick list".into(),
        }),
    }
}

/// The main loop: reacts to each event in turn.
fn chat<S: Seal>(client: &mut SimpleClient<S>, inbox: mpsc::Receiver<Event>) -> Result<(), Error> {
    for event in inbox {
        let line = match event {
            Event::Line(line) => line,
            Event::EndOfInput | Event::Interrupted => return leave(client),
            Event::Lost(e) => return Err(e.into()),
        };
        match Command::parse(&line) {
            Command::Quit => return leave(client),
            Command::Say(text) => say(client, text)?,
            Command::List => list(client)?,
            Command::Join => rejoin(client)?,
            Command::Help => print_stdout(HELP),
            Command::Unknown(command) => {
                eprintln!(
                    "unknown command '{}' (type /help)",
                    display::printable(command)
                );
            }
        }
    }
    leave(client)
}

/// Sends a message; a refusal is reported and the chat goes on.
fn say<S: Seal>(client: &mut SimpleClient<S>, text: &str) -> Result<(), ClientError> {
    match client.message(text) {
        Ok(Response::Ok) => {}
        Ok(Response::Ko(reason)) => eprintln!("message refused: {}", display::printable(&reason)),
        Ok(other) => eprintln!(
            "unexpected answer to a message: {}",
            display::response(&other)
        ),
        Err(ClientError::Seal(e)) => eprintln!("message not sent: {e}"),
        Err(e) => return Err(e),
    }
    Ok(())
}

fn list<S: Seal>(client: &mut SimpleClient<S>) -> Result<(), ClientError> {
    match client.list()? {
        Response::Nicks(nicks) => print_stdout(&display::nicks(&nicks)),
        Response::Ko(reason) => eprintln!("list refused: {}", display::printable(&reason)),
        Response::Ok => eprintln!("unexpected answer to list: ok"),
    }
    Ok(())
}

fn rejoin<S: Seal>(client: &mut SimpleClient<S>) -> Result<(), ClientError> {
    match client.join()? {
        Response::Ok => eprintln!("joined again as '{}'", client.nick()),
        Response::Ko(reason) => eprintln!("cannot join: {}", display::printable(&reason)),
        Response::Nicks(_) => eprintln!("unexpected answer to join"),
    }
    Ok(())
}

/// Leaves the chat, as the original did on exit.
fn leave<S: Seal>(client: &mut SimpleClient<S>) -> Result<(), Error> {
    match client.leave()? {
        Response::Ok => {}
        other => eprintln!("left; the server answered {}", display::response(&other)),
    }
    Ok(())
}

/// Prints a delivery: broadcasts to stdout, the server's notices to stderr,
/// a layer's warnings to stderr after the message they came with.
fn show(delivery: &Delivery) {
    let line = display::delivery(delivery);
    match delivery {
        Delivery::Notice(_) => eprintln!("{line}"),
        Delivery::Rejected { .. } => print_stdout(&line),
        Delivery::Accepted { opened, .. } => {
            print_stdout(&line);
            for warning in &opened.warnings {
                eprintln!("{}", display::warning(warning));
            }
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
