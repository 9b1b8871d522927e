//! Where the terminal client's lines go.
//!
//! Two kinds of screen. When stdin or stdout is not a terminal (a script, a
//! test, a pipe), lines go where PROTOCOL.md section 4 says: one line per
//! broadcast on stdout, everything else on stderr, no colour, nothing else.
//! When a person is at the keyboard, the line editor is on: every line is
//! printed through its printer, which puts it above the line being typed
//! and redraws that line intact below it, in colour unless `NO_COLOR` is
//! set. With `--web`, the screen is a page: every line goes to the
//! page's log, marked with what it is ([`LineKind`]), and nothing to the
//! terminal.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use crate::display;
use crate::web::page::{LineKind, PageLog};
use chat::client::Delivery;

/// The line editor's printer: prints above the line being typed.
pub type Printer = Box<dyn rustyline::ExternalPrinter + Send>;

/// The environment variable that turns colour off (no-color.org).
const NO_COLOR: &str = "NO_COLOR";

/// How a line is painted on a person's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paint {
    Plain,
    /// Someone else's message, accepted.
    Message,
    /// One's own message, back from the server.
    Own,
    /// A rejected frame, a warning: look twice.
    Alarm,
    /// A server notice, an error.
    Note,
}

impl Paint {
    fn code(self) -> Option<&'static str> {
        match self {
            Self::Plain | Self::Message => None,
            Self::Own => Some("\x1b[32m"),
            Self::Alarm => Some("\x1b[1;31m"),
            Self::Note => Some("\x1b[33m"),
        }
    }

    /// What a line painted so, for `stream`, is on a page.
    fn line_kind(self, stream: Stream) -> LineKind {
        match (self, stream) {
            (Self::Message | Self::Own, _) => LineKind::Message,
            (Self::Alarm, Stream::Out) => LineKind::Rejected,
            (Self::Alarm, Stream::Err) => LineKind::Warning,
            (Self::Plain | Self::Note, _) => LineKind::Info,
        }
    }
}

const RESET: &str = "\x1b[0m";

/// The client's output.
pub struct Screen {
    editor: Option<Mutex<Printer>>,
    /// The page's log, when the screen is a page (`--web`).
    page: Option<Arc<PageLog>>,
    colour: bool,
    /// This client's nick, to tell its own messages.
    me: String,
}

impl Screen {
    /// The contract's lines: stdout for broadcasts, stderr for the rest.
    pub fn lines() -> Self {
        Self {
            editor: None,
            page: None,
            colour: false,
            me: String::new(),
        }
    }

    /// A page's screen: every line to the page's log.
    pub fn page(log: Arc<PageLog>, me: &str) -> Self {
        Self {
            page: Some(log),
            me: me.to_owned(),
            ..Self::lines()
        }
    }

    /// A person's screen, printing through the line editor.
    pub fn editor(printer: Printer, me: &str) -> Self {
        let colour = std::env::var_os(NO_COLOR).is_none_or(|v| v.is_empty());
        Self {
            editor: Some(Mutex::new(printer)),
            page: None,
            colour,
            me: me.to_owned(),
        }
    }

    /// A broadcast, as PROTOCOL.md section 4 says: the message or rejection
    /// on stdout, a server's notice and a layer's warnings and notes (a key
    /// pinned) on stderr.
    pub fn delivery(&self, delivery: &Delivery) {
        let line = display::delivery(delivery);
        match delivery {
            Delivery::Notice(_) => self.note(&line),
            Delivery::Rejected { .. } => self.show(&line, Paint::Alarm, Stream::Out),
            Delivery::Accepted { nick, opened } => {
                let paint = if nick.as_str() == self.me {
                    Paint::Own
                } else {
                    Paint::Message
                };
                self.show(&line, paint, Stream::Out);
                for warning in &opened.warnings {
                    self.show(&display::warning(warning), Paint::Alarm, Stream::Err);
                }
                for note in &opened.notes {
                    self.note(&display::printable(note));
                }
            }
        }
    }

    /// A line of the answers to commands (`/list`, `/help`): stdout.
    pub fn out(&self, line: &str) {
        self.show(line, Paint::Plain, Stream::Out);
    }

    /// Anything else: errors, refusals, notices: stderr.
    pub fn note(&self, line: &str) {
        self.show(line, Paint::Note, Stream::Err);
    }

    fn show(&self, line: &str, paint: Paint, stream: Stream) {
        if let Some(log) = &self.page {
            log.push(paint.line_kind(stream), paint == Paint::Own, line);
            return;
        }
        match &self.editor {
            Some(printer) => {
                let painted = self.painted(line, paint);
                let mut printer = printer.lock().unwrap_or_else(PoisonError::into_inner);
                if printer.print(painted + "\n").is_err() {
                    write_line(stream, line);
                }
            }
            None => write_line(stream, line),
        }
    }

    fn painted(&self, line: &str, paint: Paint) -> String {
        match paint.code().filter(|_| self.colour) {
            Some(code) => format!("{code}{line}{RESET}"),
            None => line.to_owned(),
        }
    }
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// Writes one line to stdout. A closed stdout (a pipe whose reader left)
/// is not worth dying for: the chat goes on.
pub fn print_stdout(line: &str) {
    write_line(Stream::Out, line);
}

fn write_line(stream: Stream, line: &str) {
    let written = match stream {
        Stream::Out => {
            let mut out = io::stdout().lock();
            writeln!(out, "{line}").and_then(|()| out.flush())
        }
        Stream::Err => writeln!(io::stderr().lock(), "{line}"),
    };
    drop(written);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_only_what_needs_a_second_look() {
        assert_eq!(Paint::Message.code(), None);
        assert!(Paint::Alarm.code().is_some());
        let plain = Screen::lines();
        assert_eq!(plain.painted("x", Paint::Alarm), "x");
    }

    #[test]
    fn a_page_gets_every_line_marked_with_what_it_is() {
        use chat::layer::{Opened, Rejection};
        use chat::wire::Nick;
        let log = PageLog::new();
        let screen = Screen::page(std::sync::Arc::clone(&log), "me");
        let mut opened = Opened::text("hi");
        opened.warnings.push("2 messages missing".into());
        let me = Nick::new("me").unwrap();
        screen.delivery(&Delivery::Accepted { nick: me, opened });
        let eve = Nick::new("eve").unwrap();
        let reason = Rejection::Encrypted;
        screen.delivery(&Delivery::Rejected {
            nick: eve.into(),
            reason,
        });
        screen.out("joined (1): me");
        let lines = log.since(0, std::time::Duration::ZERO).lines;
        let shown: Vec<_> = lines.iter().map(|l| (l.kind, l.own, &*l.text)).collect();
        assert_eq!(
            shown,
            [
                (LineKind::Message, true, "me : hi"),
                (LineKind::Warning, false, "[warning] 2 messages missing"),
                (
                    LineKind::Rejected,
                    false,
                    "[rejected] eve: encrypted message (this client has no key)"
                ),
                (LineKind::Info, false, "joined (1): me"),
            ]
        );
    }
}
