//! Logs go to stderr through `env_logger`; stdout is reserved for what
//! PROTOCOL.md says a binary prints.
//!
//! Logging never stops the service (PROTOCOL.md section 5). env_logger would
//! write each record to stderr from the thread that logs it, so a stderr
//! nobody reads (a full pipe, a terminal paused with Ctrl-S) would block
//! every request that logs, on every connection. Here env_logger formats
//! the record as usual, and hands the line to a [`LogQueue`] of bounded size
//! that one writer thread drains to stderr. When the queue is full the line
//! is dropped and counted; once stderr takes lines again and the queue is
//! empty, the writer reports how many were lost.

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use env_logger::WriteStyle;

/// Bytes of formatted log lines held for stderr; past them lines are dropped.
pub const QUEUE_BYTES: usize = 1024 * 1024;

/// Longest wait, when a binary ends, for the queued lines to reach stderr:
/// a stderr nobody reads must not keep the process from exiting.
const EXIT_FLUSH: Duration = Duration::from_secs(2);

/// The queue of the running process, for [`flush`].
static QUEUE: OnceLock<Arc<LogQueue>> = OnceLock::new();

/// Logs to stderr through a [`LogQueue`]; `RUST_LOG` overrides
/// `default_level`, `RUST_LOG_STYLE` the colours (on when stderr is a
/// terminal, as env_logger does by itself).
pub fn init(default_level: &str) {
    let queue = Arc::new(LogQueue::default());
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level));
    builder.target(env_logger::Target::Pipe(Box::new(QueueWriter(Arc::clone(
        &queue,
    )))));
    if std::env::var_os("RUST_LOG_STYLE").is_none() && io::stderr().is_terminal() {
        builder.write_style(WriteStyle::Always);
    }
    if builder.try_init().is_err() || spawn_writer(&queue).is_err() {
        return;
    }
    let _ = QUEUE.set(queue);
}

/// Waits, a little, for every queued line to reach stderr: binaries call it
/// before they exit (`app::exit` does).
pub fn flush() {
    if let Some(queue) = QUEUE.get() {
        queue.wait_drained(EXIT_FLUSH);
    }
}

fn spawn_writer(queue: &Arc<LogQueue>) -> io::Result<()> {
    let queue = Arc::clone(queue);
    thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || queue.drain_into(&mut io::stderr()))
        .map(drop)
}

/// Formatted log lines waiting for stderr, at most [`QUEUE_BYTES`] of them,
/// and how many did not fit.
#[derive(Default)]
pub struct LogQueue {
    state: Mutex<State>,
    /// Signalled when a line is queued.
    queued: Condvar,
    /// Signalled when the writer has written all it took.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
    dropped: u64,
    /// The writer holds lines it has not finished writing.
    writing: bool,
}

impl LogQueue {
    /// Queues one line, or counts it dropped if it does not fit: never waits
    /// for stderr.
    pub fn push(&self, line: &[u8]) {
        let mut state = self.lock();
        if state.bytes + line.len() > QUEUE_BYTES {
            state.dropped += 1;
            return;
        }
        state.bytes += line.len();
        state.lines.push_back(line.to_vec());
        self.queued.notify_one();
    }

    /// The writer thread's loop: writes queued lines to `out` as they come,
    /// then, once the queue is empty, reports the lines dropped meanwhile.
    pub fn drain_into(&self, out: &mut impl Write) {
        loop {
            let (lines, dropped) = self.take();
            for line in &lines {
                let _ = out.write_all(line);
            }
            if dropped > 0 {
                let _ = writeln!(out, "{}", dropped_report(dropped));
            }
            let _ = out.flush();
            self.lock().writing = false;
            self.drained.notify_all();
        }
    }

    /// Everything queued, once there is something; the dropped count too
    /// if nothing else is left.
    fn take(&self) -> (VecDeque<Vec<u8>>, u64) {
        let state = self.lock();
        let mut state = self
            .queued
            .wait_while(state, |s| s.lines.is_empty() && s.dropped == 0)
            .unwrap_or_else(PoisonError::into_inner);
        let lines = std::mem::take(&mut state.lines);
        state.bytes = 0;
        state.writing = true;
        let dropped = if lines.is_empty() {
            std::mem::take(&mut state.dropped)
        } else {
            0
        };
        (lines, dropped)
    }

    /// Waits until every queued line is written, or `timeout` passes.
    fn wait_drained(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while state.writing || !state.lines.is_empty() || state.dropped > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .drained
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under this lock completes or changes nothing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The line that says how many log lines were lost.
pub fn dropped_report(dropped: u64) -> String {
    format!("[log] {dropped} log line(s) dropped: stderr was not being read")
}

/// What env_logger writes each formatted record to.
struct QueueWriter(Arc<LogQueue>);

impl Write for QueueWriter {
    fn write(&mut self, record: &[u8]) -> io::Result<usize> {
        self.0.push(record);
        Ok(record.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the gate is open, and what went through it.
    type Passed = Mutex<(bool, Vec<u8>)>;

    /// An output that takes nothing until it is opened, as a pipe nobody
    /// reads.
    #[derive(Clone, Default)]
    struct Gate(Arc<(Passed, Condvar)>);

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (state, opened) = &*self.0;
            let mut state = opened
                .wait_while(state.lock().unwrap(), |(open, _)| !*open)
                .unwrap();
            state.1.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Gate {
        fn open(&self) {
            self.0.0.lock().unwrap().0 = true;
            self.0.1.notify_all();
        }
        fn text(&self) -> String {
            String::from_utf8(self.0.0.lock().unwrap().1.clone()).unwrap()
        }
    }

    #[test]
    fn a_blocked_output_never_blocks_push_and_the_loss_is_reported() {
        let queue = Arc::new(LogQueue::default());
        let gate = Gate::default();
        let (writer_queue, mut out) = (Arc::clone(&queue), gate.clone());
        thread::spawn(move || writer_queue.drain_into(&mut out));
        let line = vec![b'x'; 1023];
        let lines = 3 * QUEUE_BYTES / 1024;
        for _ in 0..lines {
            queue.push(&[line.as_slice(), b"\n"].concat());
        }
        gate.open();
        queue.wait_drained(Duration::from_secs(20));
        let text = gate.text();
        let written = text.lines().filter(|l| l.starts_with('x')).count();
        let dropped = (lines - written) as u64;
        assert!(dropped > 0, "nothing was dropped");
        assert!(
            text.ends_with(&format!("{}\n", dropped_report(dropped))),
            "{text:.200}"
        );
    }
}
