//! Where the terminal client's lines come from: stdin read line by line when
//! it is not a terminal, a line editor (prompt, history, the typed line kept
//! intact while messages arrive) when a person is at the keyboard. Either
//! runs on a thread of its own and hands each line to the main thread.

use std::io::{self, BufRead, IsTerminal};
use std::os::fd::AsFd;
use std::thread;

use nix::sys::termios::{self, SetArg, Termios};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::display;
use super::screen::Screen;

/// What the input thread hands to the main thread.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// End of input (Ctrl-D at the prompt).
    End,
    /// Ctrl-C at the prompt.
    Interrupted,
}

/// Whether a person is at the keyboard: both stdin and stdout are terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// Reads stdin line by line on a thread; `send` returning false stops it.
pub fn spawn_lines(send: impl Fn(Input) -> bool + Send + 'static) -> io::Result<()> {
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
                    if !send(Input::Line(line)) {
                        return;
                    }
                }
            }
        }
        send(Input::End);
    })?;
    Ok(())
}

/// The line editor, started: its screen, and the terminal's settings to
/// put back when the client exits.
pub struct Editor {
    pub screen: Screen,
    pub restore: TerminalRestore,
}

/// Starts the line editor on a thread, with `NICK> ` as its prompt.
pub fn spawn_editor(
    nick: &str,
    send: impl Fn(Input) -> bool + Send + 'static,
) -> Result<Editor, ReadlineError> {
    let restore = TerminalRestore::save()?;
    let mut editor = DefaultEditor::new()?;
    let screen = Screen::editor(Box::new(editor.create_external_printer()?), nick);
    let prompt = format!("{}> ", display::printable(nick));
    thread::Builder::new()
        .name("line-editor".into())
        .spawn(move || edit_lines(&mut editor, &prompt, &send))?;
    Ok(Editor { screen, restore })
}

fn edit_lines(editor: &mut DefaultEditor, prompt: &str, send: &dyn Fn(Input) -> bool) {
    loop {
        let input = match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                Input::Line(line)
            }
            Err(ReadlineError::Interrupted) => Input::Interrupted,
            Err(_) => Input::End,
        };
        let done = !matches!(input, Input::Line(_));
        if !send(input) || done {
            return;
        }
    }
}

/// The terminal's settings when the client started. The line editor puts
/// the terminal in raw mode while it waits for a line; if the client must
/// exit then (the server went away), dropping this puts the terminal back,
/// so the shell gets a usable terminal.
pub struct TerminalRestore {
    saved: Termios,
}

impl TerminalRestore {
    fn save() -> nix::Result<Self> {
        Ok(Self {
            saved: termios::tcgetattr(io::stdin().as_fd())?,
        })
    }
}

impl Drop for TerminalRestore {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &self.saved);
    }
}
