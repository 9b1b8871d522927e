//! The page's screen: a numbered log of the lines the client shows, which
//! the page's event streams read. It keeps the last [`KEPT_LINES`] lines
//! (fewer only if they would hold more than [`KEPT_BYTES`]), so that a page
//! that reconnects, or is reloaded, gets what it missed; what it can no
//! longer get is counted, and the page says how many lines it does not
//! show. Memory stays bounded whatever the chat sends.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;

/// Lines kept for pages that reconnect.
pub const KEPT_LINES: usize = 1024;

/// Bytes of text kept at most: room for a thousand lines of the longest a
/// message can be (a 64 KiB frame's), so the count above holds for every
/// line an honest chat prints.
pub const KEPT_BYTES: usize = 64 * 1024 * 1024;

/// What a line is, for the page's colours: the classes PROTOCOL.md
/// section 10 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    /// Someone's message, accepted.
    Message,
    /// A message this layer refused: `[rejected] ...`.
    Rejected,
    /// A layer's warning about a message: `[warning] ...`.
    Warning,
    /// Anything else: answers to commands, notices, errors.
    Info,
}

/// One line of the log.
#[derive(Debug, Clone)]
pub struct Line {
    pub number: u64,
    pub kind: LineKind,
    /// This client's own message, back from the server.
    pub own: bool,
    pub text: Arc<str>,
}

/// A line as the page reads it: JSON.
#[derive(Serialize)]
struct Shown<'a> {
    n: u64,
    kind: LineKind,
    own: bool,
    text: &'a str,
}

impl Line {
    /// The line as the page reads it: `{"n":..,"kind":..,"own":..,"text":..}`.
    pub fn to_json(&self) -> String {
        let shown = Shown {
            n: self.number,
            kind: self.kind,
            own: self.own,
            text: &self.text,
        };
        serde_json::to_string(&shown).unwrap_or_default()
    }
}

/// What a reader gets since its last line.
#[derive(Debug, Default)]
pub struct Since {
    /// Lines it missed that are no longer kept.
    pub not_shown: u64,
    pub lines: Vec<Line>,
    /// The client has ended: no line will follow these.
    pub ended: bool,
}

/// The numbered lines, and who waits for more.
#[derive(Default)]
pub struct PageLog {
    kept: Mutex<Kept>,
    grown: Condvar,
}

#[derive(Default)]
struct Kept {
    lines: VecDeque<Line>,
    bytes: usize,
    /// Number of the last line ever added (lines count from 1).
    last: u64,
    ended: bool,
}

impl PageLog {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Adds a line, numbered after the last.
    pub fn push(&self, kind: LineKind, own: bool, text: &str) {
        let mut kept = self.lock();
        kept.last += 1;
        let line = Line {
            number: kept.last,
            kind,
            own,
            text: Arc::from(text),
        };
        kept.bytes += line.text.len();
        kept.lines.push_back(line);
        while kept.lines.len() > KEPT_LINES || (kept.bytes > KEPT_BYTES && kept.lines.len() > 1) {
            if let Some(old) = kept.lines.pop_front() {
                kept.bytes -= old.text.len();
            }
        }
        drop(kept);
        self.grown.notify_all();
    }

    /// Says no line will follow: readers send what is left, then end.
    pub fn end(&self) {
        self.lock().ended = true;
        self.grown.notify_all();
    }

    /// The lines after line `after` (0: from the start), waiting up to
    /// `wait` for one if there is none yet.
    pub fn since(&self, after: u64, wait: Duration) -> Since {
        let kept = self.lock();
        let (kept, _) = self
            .grown
            .wait_timeout_while(kept, wait, |k| k.last <= after && !k.ended)
            .unwrap_or_else(PoisonError::into_inner);
        let first = kept.lines.front().map_or(kept.last + 1, |l| l.number);
        Since {
            not_shown: first.saturating_sub(after + 1),
            lines: kept
                .lines
                .iter()
                .filter(|l| l.number > after)
                .cloned()
                .collect(),
            ended: kept.ended,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        // Every update under this lock completes or changes nothing.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::ZERO;

    fn texts(since: &Since) -> Vec<(u64, &str)> {
        since.lines.iter().map(|l| (l.number, &*l.text)).collect()
    }

    #[test]
    fn a_reader_gets_the_lines_after_its_last_in_order() {
        let log = PageLog::new();
        log.push(LineKind::Info, false, "joined");
        log.push(LineKind::Message, true, "me : hi");
        log.push(LineKind::Rejected, false, "[rejected] eve: forged");
        let all = log.since(0, NOW);
        assert_eq!(all.not_shown, 0);
        assert_eq!(
            texts(&all),
            [(1, "joined"), (2, "me : hi"), (3, "[rejected] eve: forged")]
        );
        assert_eq!(texts(&log.since(2, NOW)), [(3, "[rejected] eve: forged")]);
        assert!(log.since(3, NOW).lines.is_empty());
    }

    #[test]
    fn past_what_is_kept_a_reader_is_told_how_many_it_missed() {
        let log = PageLog::new();
        for i in 1..=KEPT_LINES + 10 {
            log.push(LineKind::Message, false, &format!("a : {i}"));
        }
        let fresh = log.since(0, NOW);
        assert_eq!(fresh.not_shown, 10);
        assert_eq!(fresh.lines.len(), KEPT_LINES);
        assert_eq!(fresh.lines[0].number, 11);
        let behind = log.since(5, NOW);
        assert_eq!(behind.not_shown, 5);
        let current = log.since(11, NOW);
        assert_eq!((current.not_shown, current.lines[0].number), (0, 12));
    }

    #[test]
    fn the_bytes_kept_are_bounded_too() {
        let log = PageLog::new();
        let big = "x".repeat(KEPT_BYTES / 2 + 1);
        for _ in 0..3 {
            log.push(LineKind::Message, false, &big);
        }
        let since = log.since(0, NOW);
        assert_eq!(since.lines.len(), 1);
        assert_eq!(since.not_shown, 2);
    }

    #[test]
    fn a_waiting_reader_wakes_on_a_line_or_the_end() {
        let log = PageLog::new();
        let writer = Arc::clone(&log);
        let pushing = std::thread::spawn(move || {
            writer.push(LineKind::Info, false, "late");
            writer.end();
        });
        let mut after = 0;
        let mut seen = Vec::new();
        loop {
            let since = log.since(after, Duration::from_secs(30));
            seen.extend(since.lines.iter().map(|l| l.text.to_string()));
            after = since.lines.last().map_or(after, |l| l.number);
            if since.ended && log.since(after, NOW).lines.is_empty() {
                break;
            }
        }
        pushing.join().unwrap();
        assert_eq!(seen, ["late"]);
    }

    #[test]
    fn lines_serialise_as_the_page_reads_them() {
        let log = PageLog::new();
        log.push(LineKind::Warning, false, "[warning] <b>");
        let line = &log.since(0, NOW).lines[0];
        assert_eq!(
            line.to_json(),
            r#"{"n":1,"kind":"warning","own":false,"text":"[warning] <b>"}"#
        );
    }
}
