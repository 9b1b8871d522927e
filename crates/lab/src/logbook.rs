//! The servers' log, kept in memory. The demo runs its servers in process,
//! where no stderr of theirs scrolls by; it quotes from here what a person
//! running the same server binary would read in its log.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Whose records are kept: the servers', at the level their binaries log.
const TARGET: &str = "chat::server";
const LEVEL: Level = Level::Info;

/// Most records kept; the oldest go first.
const CAPACITY: usize = 4096;

/// A place in the log: what was logged after it can be asked for.
#[derive(Debug, Clone, Copy)]
pub struct Mark(u64);

struct Logbook {
    records: Mutex<Records>,
}

struct Records {
    /// Each record's message, numbered in the order logged.
    kept: VecDeque<(u64, String)>,
    next: u64,
}

static LOGBOOK: Logbook = Logbook {
    records: Mutex::new(Records {
        kept: VecDeque::new(),
        next: 0,
    }),
};

/// Makes the logbook this process's logger, once; if another logger was
/// installed first, the logbook stays empty.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if log::set_logger(&LOGBOOK).is_ok() {
            log::set_max_level(LevelFilter::Info);
        }
    });
}

/// The place records logged from now on come after.
pub fn mark() -> Mark {
    Mark(LOGBOOK.lock().next)
}

/// The messages logged since `mark` that `pred` accepts, oldest first.
pub fn since(mark: Mark, pred: impl Fn(&str) -> bool) -> Vec<String> {
    let records = LOGBOOK.lock();
    records
        .kept
        .iter()
        .filter(|(n, message)| *n >= mark.0 && pred(message))
        .map(|(_, message)| message.clone())
        .collect()
}

impl Logbook {
    fn lock(&self) -> MutexGuard<'_, Records> {
        // Every update under this lock completes or changes nothing.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Log for Logbook {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= LEVEL && metadata.target().starts_with(TARGET)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        let mut records = self.lock();
        let n = records.next;
        records.next += 1;
        if records.kept.len() == CAPACITY {
            records.kept.pop_front();
        }
        records.kept.push_back((n, message));
    }

    fn flush(&self) {}
}
