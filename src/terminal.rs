//! The terminal client shared by `simple_client`, `ae_client`,
//! `aead_client` and `signed_client`: lines typed become messages,
//! broadcasts become lines on the screen.
//!
//! Python's client was a web page (pywebio) polling the broadcast socket
//! every 0.1 s. This one is a terminal program: an input thread reads lines
//! (`crate::input`: stdin, or a line editor when a person is at the
//! keyboard), the broadcast pipeline (`client::inbox`: a reader thread that
//! only reads, a verifier thread that opens) shows what arrives, and the
//! main thread owns the request connection and reacts to events from both
//! (and from Ctrl-C) in order. What is printed where is `crate::screen`'s
//! business: for scripts, exactly what PROTOCOL.md section 4 says.
//!
//! A line the client cannot send (longer than a line may be once sealed and
//! framed) is refused here and the chat goes on; blank lines are not sent.
//! A layer may add commands of its own ([`Commands`]: the signed layer's
//! `/whois NICK`, `/verify NICK FINGERPRINT` and `/fingerprint`); the
//! client of another layer says where they are.
//!
//! With `--web` the same loop serves a page instead (`crate::web::page`):
//! its screen is the page's line log, and the lines sent from the page
//! come through the same channel as typed ones.

use std::io;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};

use chat::client::{BaseClient, BroadcastChannel, ClientError, Endpoint, SimpleClient};
use chat::client::{Inbox, Verifier};
use chat::layer::{Open, Seal};
use chat::wire::{MAX_LINE, Nick, Response};

use crate::Error;
use crate::display;
use crate::editor::{self, EditorSession};
use crate::input::{self, Input};
use crate::layer_client::{ClientArgs, Commands, LayerClient};
use crate::layers::{app_layer, elsewhere};
use crate::screen::Screen;
use crate::web::page::Page;

const HELP: &str = "\
Type a line and press Enter to send it. Commands:
  /list   show who is in the chat
  /join   join again (after being evicted, say)
  /quit   leave the chat and exit (so do Ctrl-C and end of input)
  /help   show this help
Start a message with // to send a line beginning with /.";

/// What the main thread reacts to.
enum Event {
    Input(Input),
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
    /// Any other `/NAME ARGS`: maybe one of the layer's own commands.
    Other {
        name: &'a str,
        args: &'a str,
    },
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
            other if other.starts_with('/') => {
                let (name, args) = other.split_once(' ').unwrap_or((other, ""));
                Self::Other {
                    name,
                    args: args.trim(),
                }
            }
            _ => Self::Say(line),
        }
    }
}

/// Runs a chat session in the layer `args` name, with what its binary was
/// given, until `/quit`, end of input, Ctrl-C or a lost server.
pub fn run(args: &ClientArgs) -> Result<(), Error> {
    let layer = args.layer;
    let client = app_layer(layer).start(args)?;
    let endpoint = args
        .client
        .endpoint
        .endpoint()
        .with_zmq_body(layer.zmq_body());
    chat_session(&endpoint, args, client)
}

/// Runs a chat session until `/quit`, end of input, Ctrl-C or a lost
/// server.
fn chat_session(endpoint: &Endpoint, args: &ClientArgs, layer: LayerClient) -> Result<(), Error> {
    let nick = args.nick.clone();
    let LayerClient {
        sealer,
        opener,
        commands,
    } = layer;
    let base = BaseClient::connect(endpoint).map_err(|e| crate::no_server(endpoint, e))?;
    let mut client = SimpleClient::new(base.requests, nick, sealer);
    if let Ok(addr) = base.broadcasts.local_addr() {
        client = client.with_subscriber(addr);
    }
    join(&mut client)?;
    let (events, inbox) = mpsc::channel();
    // Ctrl-C leaves cleanly from the moment the join is announced.
    watch_interrupts(events.clone());
    // Said before the line editor starts: its printer may draw a line over
    // a prompt that is being drawn at the same moment.
    let joined = format!(
        "joined as '{}' on {}:{} (type /help for commands)",
        client.nick(),
        endpoint.host,
        endpoint.port
    );
    Screen::lines().note(&joined);
    // Dropped last: the line editor shows what is queued, takes its
    // prompt away and hands the terminal back; or the page stops.
    let (screen, kept) = match start_input(client.nick(), args, &events) {
        Ok(started) => started,
        Err(e) => {
            // Joined, but no screen to chat on (the page's port is taken):
            // leave, as on any other exit.
            let _ = client.leave();
            return Err(e);
        }
    };
    if kept.page.is_some() {
        screen.note(&joined);
    }
    spawn_reader(base.broadcasts, opener, &screen, &events)?;
    chat(&mut client, inbox, &screen, commands.as_ref())
}

/// What must live as long as the client: the line editor's session, which
/// stops it and hands the terminal back, or the page being served.
#[derive(Default)]
struct Kept {
    _editor: Option<EditorSession>,
    page: Option<Page>,
}

/// Starts reading input: the page with `--web`; the line editor when a
/// person is at the keyboard; stdin line by line otherwise.
fn start_input(
    nick: &Nick,
    args: &ClientArgs,
    events: &Sender<Event>,
) -> Result<(Arc<Screen>, Kept), Error> {
    let to_main = events.clone();
    let send = move |input| to_main.send(Event::Input(input)).is_ok();
    if args.client.page.web {
        let (page, screen) = Page::start(nick, args.layer, &args.client.page, Box::new(send))?;
        let kept = Kept {
            page: Some(page),
            ..Kept::default()
        };
        return Ok((Arc::new(screen), kept));
    }
    if input::interactive() {
        match editor::spawn(nick.as_str(), send.clone()) {
            Ok(editor) => {
                let kept = Kept {
                    _editor: Some(editor.session),
                    ..Kept::default()
                };
                return Ok((Arc::new(editor.screen), kept));
            }
            Err(e) => log::warn!("no line editor, reading plain lines: {e}"),
        }
    }
    input::spawn_lines(send)?;
    Ok((Arc::new(Screen::lines()), Kept::default()))
}

/// The broadcast pipeline: a reader thread that only reads and queues, and
/// a verifier thread that opens each frame and shows it; the end of the
/// connection is reported to the main thread.
fn spawn_reader<O: Open + 'static>(
    broadcasts: BroadcastChannel,
    opener: O,
    screen: &Arc<Screen>,
    events: &Sender<Event>,
) -> io::Result<()> {
    let (lost, screen) = (events.clone(), Arc::clone(screen));
    Verifier::new(Inbox::spawn(broadcasts)?, opener).spawn(
        move |delivery| screen.delivery(&delivery),
        move |e| {
            let _ = lost.send(Event::Lost(e));
        },
    )?;
    Ok(())
}

fn join<S: Seal>(client: &mut SimpleClient<S>) -> Result<(), Error> {
    let reason = match client.join()? {
        Response::Ok => return Ok(()),
        Response::Ko(reason) => display::printable(&reason).into_owned(),
        Response::Nicks { .. } => "the server answered with a nick list".to_owned(),
    };
    Err(Error::JoinRefused {
        nick: client.nick().clone(),
        reason,
    })
}

/// The main loop: reacts to each event in turn.
fn chat<S: Seal>(
    client: &mut SimpleClient<S>,
    inbox: mpsc::Receiver<Event>,
    screen: &Screen,
    commands: &dyn Commands,
) -> Result<(), Error> {
    for event in inbox {
        let line = match event {
            Event::Input(Input::Line(line)) => line,
            Event::Input(Input::TooLong(bytes)) => {
                screen.note(&format!(
                    "message not sent: {bytes} bytes, at most {MAX_LINE} fit on a line"
                ));
                continue;
            }
            Event::Input(Input::End | Input::Interrupted) => return leave(client, screen),
            Event::Lost(e) => return Err(e.into()),
        };
        match Command::parse(&line) {
            Command::Quit => return leave(client, screen),
            Command::Say(text) if text.trim().is_empty() => {}
            Command::Say(text) => say(client, text, screen)?,
            Command::List => list(client, screen)?,
            Command::Join => rejoin(client, screen)?,
            Command::Help => help(commands, screen),
            Command::Other { name, args } => layer_command(commands, name, args, screen),
        }
    }
    leave(client, screen)
}

/// `/help`: the client's commands, then the layer's own.
fn help(commands: &dyn Commands, screen: &Screen) {
    HELP.lines()
        .chain(commands.help().lines())
        .for_each(|line| screen.out(line));
}

/// A command of the layer's own, or of another layer's, or none.
fn layer_command(commands: &dyn Commands, name: &str, args: &str, screen: &Screen) {
    let said = commands.run(name, args);
    let said = said.or_else(|| elsewhere(name).map(str::to_owned));
    screen.note(&said.unwrap_or_else(|| {
        format!(
            "unknown command '{}' (type /help)",
            display::printable(name)
        )
    }));
}

/// Sends a message; a refusal is reported and the chat goes on.
fn say<S: Seal>(
    client: &mut SimpleClient<S>,
    text: &str,
    screen: &Screen,
) -> Result<(), ClientError> {
    match client.message(text) {
        Ok(Response::Ok) => {}
        Ok(Response::Ko(reason)) => {
            screen.note(&format!("message refused: {}", display::printable(&reason)));
        }
        Ok(other) => screen.note(&format!(
            "unexpected answer to a message: {}",
            display::response(&other)
        )),
        Err(e @ (ClientError::Seal(_) | ClientError::TooLong { .. })) => {
            screen.note(&format!("message not sent: {e}"));
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

fn list<S: Seal>(client: &mut SimpleClient<S>, screen: &Screen) -> Result<(), ClientError> {
    match client.list()? {
        Response::Nicks { nicks, more } => screen.out(&display::nicks(&nicks, more)),
        Response::Ko(reason) => {
            screen.note(&format!("list refused: {}", display::printable(&reason)));
        }
        Response::Ok => screen.note("unexpected answer to list: ok"),
    }
    Ok(())
}

/// `/join`: joins again (after an eviction, say); if the server refuses
/// because the nick is in the chat already, says so plainly.
fn rejoin<S: Seal>(client: &mut SimpleClient<S>, screen: &Screen) -> Result<(), ClientError> {
    let reason = match client.join()? {
        Response::Ok => {
            screen.note(&format!("joined again as '{}'", client.nick()));
            return Ok(());
        }
        Response::Ko(reason) => reason.to_string(),
        Response::Nicks { .. } => "unexpected answer to join".to_owned(),
    };
    if is_listed(client)? {
        screen.note(&format!(
            "you are already in the chat as '{}'",
            display::printable(client.nick().as_str())
        ));
    } else {
        screen.note(&format!("cannot join: {}", display::printable(&reason)));
    }
    Ok(())
}

/// Whether the server lists this client's nick.
fn is_listed<S: Seal>(client: &mut SimpleClient<S>) -> Result<bool, ClientError> {
    let me = client.nick().as_str().to_owned();
    Ok(matches!(client.list()?, Response::Nicks { nicks, .. } if nicks.contains(&me)))
}

/// Leaves the chat, as the original did on exit.
fn leave<S: Seal>(client: &mut SimpleClient<S>, screen: &Screen) -> Result<(), Error> {
    match client.leave()? {
        Response::Ok => {}
        other => screen.note(&format!(
            "left; the server answered {}",
            display::response(&other)
        )),
    }
    Ok(())
}

/// Ctrl-C leaves the chat cleanly instead of killing the process.
fn watch_interrupts(events: Sender<Event>) {
    let installed = ctrlc::set_handler(move || {
        let _ = events.send(Event::Input(Input::Interrupted));
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
        let other = |name, args| Command::Other { name, args };
        assert_eq!(Command::parse("/dance"), other("/dance", ""));
        assert_eq!(Command::parse("/whois alice "), other("/whois", "alice"));
        assert_eq!(Command::parse("/whois"), other("/whois", ""));
        assert_eq!(Command::parse("/whoisalice"), other("/whoisalice", ""));
        assert_eq!(
            Command::parse("//list is a command"),
            Command::Say("/list is a command")
        );
    }
}
