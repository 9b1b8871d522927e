//! Where the terminal client's lines go.
//!
//! Two kinds of screen. When stdin or stdout is not a terminal (a script, a
//! test, a pipe), lines go where PROTOCOL.md section 4 says: one line per
//! broadcast on stdout, everything else on stderr, no colour, nothing else.
//! When a person is at the keyboard, the line editor is on: every line is
//! queued for it ([`EditorQueue`]), and it prints each above the line being
//! typed and redraws that line intact below it, in colour unless `NO_COLOR`
//! is set. With `--web`, the screen is a page: every line goes to the
//! page's log, marked with what it is ([`LineKind`]), and nothing to the
//! terminal.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use unicode_width::UnicodeWidthChar;

use crate::display;
use crate::web::page::{LineKind, PageLog};
use chat::client::Delivery;

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

/// Whether a person's screen is in colour: unless `NO_COLOR` is set.
pub fn colour() -> bool {
    std::env::var_os(NO_COLOR).is_none_or(|v| v.is_empty())
}

/// The client's output.
pub struct Screen {
    editor: Option<Arc<EditorQueue>>,
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
    pub fn editor(queue: Arc<EditorQueue>, me: &str) -> Self {
        Self {
            editor: Some(queue),
            page: None,
            colour: colour(),
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
            Some(queue) => {
                for row in rows(line, screen_width()) {
                    queue.push(Queued {
                        painted: self.painted(row, paint),
                        plain: row.to_owned(),
                        stream,
                    });
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

/// Columns of a terminal that does not say.
const DEFAULT_WIDTH: usize = 80;

/// The terminal's width in columns.
fn screen_width() -> usize {
    crossterm::terminal::size().map_or(DEFAULT_WIDTH, |(columns, _)| usize::from(columns).max(1))
}

/// `line` cut into rows of at most `width` columns. The editor's printer
/// counts one row per line it prints, to know where its prompt went: a
/// line that the terminal wrapped would throw that count off, and the
/// prompt would be drawn over its last row (reedline 0.49; later versions
/// measure instead, but need a newer Rust).
fn rows(line: &str, width: usize) -> Vec<&str> {
    let mut rows = Vec::new();
    let (mut start, mut columns) = (0, 0);
    for (at, c) in line.char_indices() {
        let wide = c.width().unwrap_or(0);
        if columns + wide > width && at > start {
            rows.push(&line[start..at]);
            (start, columns) = (at, 0);
        }
        columns += wide;
    }
    rows.push(&line[start..]);
    rows
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// Lines the editor has yet to show, at most: past that, whoever shows a
/// line waits for room (a flood of broadcasts slows the reader, as a slow
/// terminal would, instead of growing the client's memory).
const MAX_QUEUED: usize = 4096;

/// The lines waiting for the line editor, which prints them above the line
/// being typed when it next looks (it does so while it waits for a key,
/// every few milliseconds). Whoever shows a line only queues it, and waits
/// only if [`MAX_QUEUED`] lines are waiting. Once the editor has stopped,
/// lines go straight to their stream.
#[derive(Default)]
pub struct EditorQueue {
    state: Mutex<QueueState>,
    /// Signalled when lines leave the queue, or the editor stops.
    room: Condvar,
}

#[derive(Default)]
struct QueueState {
    lines: VecDeque<Queued>,
    /// The client is leaving: the editor stops once it has shown the queue.
    leaving: bool,
    /// The editor has stopped: nothing will show the queue any more.
    stopped: bool,
}

/// A line for the editor, and what to write if it has stopped.
struct Queued {
    painted: String,
    plain: String,
    stream: Stream,
}

impl EditorQueue {
    fn state(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, line: Queued) {
        let mut state = self.state();
        while state.lines.len() >= MAX_QUEUED && !state.stopped {
            state = self
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.stopped {
            write_line(line.stream, &line.plain);
        } else {
            state.lines.push_back(line);
        }
    }

    /// The editor's turn: offers it the queued lines, in order, until it
    /// takes no more (`offer` gives a line back). Whether the editor should
    /// stop now: the client is leaving (what is queued then goes straight
    /// out once the editor has stopped, however much keeps coming).
    pub fn hand_over(&self, mut offer: impl FnMut(String) -> Result<(), String>) -> bool {
        let mut state = self.state();
        if state.leaving {
            return true;
        }
        while let Some(line) = state.lines.pop_front() {
            if let Err(painted) = offer(line.painted) {
                let plain = line.plain;
                let stream = line.stream;
                state.lines.push_front(Queued {
                    painted,
                    plain,
                    stream,
                });
                break;
            }
        }
        self.room.notify_all();
        false
    }

    /// The client is leaving: the editor stops at its next turn.
    pub fn leave(&self) {
        self.state().leaving = true;
    }

    /// The editor has stopped: what is queued, and every line after it,
    /// goes straight to its stream.
    pub fn stop(&self) {
        let mut state = self.state();
        state.stopped = true;
        for line in state.lines.drain(..) {
            write_line(line.stream, &line.plain);
        }
        self.room.notify_all();
    }
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

    /// One turn of an editor with room for `room` lines: what it showed,
    /// and whether it was told to stop.
    fn turn(queue: &EditorQueue, mut room: usize) -> (Vec<String>, bool) {
        let mut shown = Vec::new();
        let stop = queue.hand_over(|line| {
            if room == 0 {
                return Err(line);
            }
            room -= 1;
            shown.push(line);
            Ok(())
        });
        (shown, stop)
    }

    #[test]
    fn the_editor_takes_queued_lines_in_order_and_stops_when_the_client_leaves() {
        let queue = EditorQueue::default();
        for line in ["one", "two", "three", "four"] {
            queue.push(Queued {
                painted: line.to_owned(),
                plain: line.to_owned(),
                stream: Stream::Err,
            });
        }
        assert_eq!(turn(&queue, 2), (vec!["one".into(), "two".into()], false));
        assert_eq!(turn(&queue, 1), (vec!["three".into()], false));
        queue.leave();
        assert_eq!(
            turn(&queue, 2),
            (vec![], true),
            "four goes out once stopped"
        );
        queue.stop();
        assert!(queue.state().lines.is_empty());
    }

    #[test]
    fn a_line_wider_than_the_screen_is_cut_into_rows_by_columns() {
        assert_eq!(rows("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(rows("abc", 3), ["abc"]);
        assert_eq!(rows("", 3), [""]);
        assert_eq!(rows("日本語", 4), ["日本", "語"]);
    }

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
