//! Whether a page is open: the page's event streams are counted, and once
//! a page has been open, a watcher ends the client when none has been for
//! [`CLOSE_GRACE`](super::CLOSE_GRACE), as closing the original's page left
//! the chat. A reload closes its stream and opens another well within it.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::{CLOSE_GRACE, SendInput};
use crate::input::Input;

/// The page's open event streams.
pub(super) struct Streams {
    count: Mutex<Count>,
    changed: Condvar,
}

#[derive(Default)]
struct Count {
    open: usize,
    /// Whether a page has ever been open: before, the client waits for one.
    opened_once: bool,
    /// The client is ending: the watcher has nothing left to do.
    done: bool,
}

/// An open stream; counted until dropped.
pub(super) struct Open<'a>(&'a Streams);

impl Streams {
    /// Counts streams, and starts the watcher that hands `send` the end of
    /// input once the last page has stayed closed for the grace period.
    pub(super) fn watch(send: Arc<SendInput>) -> io::Result<Arc<Self>> {
        let streams = Arc::new(Self {
            count: Mutex::default(),
            changed: Condvar::new(),
        });
        let watched = Arc::clone(&streams);
        thread::Builder::new()
            .name("page-watch".into())
            .spawn(move || {
                if watched.wait_until_abandoned(CLOSE_GRACE) {
                    log::info!("the page was closed: leaving the chat");
                    send(Input::End);
                }
            })?;
        Ok(streams)
    }

    pub(super) fn opened(&self) -> Open<'_> {
        let mut count = self.lock();
        count.open += 1;
        count.opened_once = true;
        drop(count);
        self.changed.notify_all();
        Open(self)
    }

    /// Waits until a page has been open and then none has been for
    /// `grace`: true; false if the client ends first.
    fn wait_until_abandoned(&self, grace: Duration) -> bool {
        let mut count = self.lock();
        loop {
            count = self.wait(count, |c| !c.done && (!c.opened_once || c.open > 0));
            if count.done {
                return false;
            }
            let closed_at = Instant::now();
            count = self.wait_for(count, grace, |c| !c.done && c.open == 0);
            if count.done {
                return false;
            }
            if count.open == 0 && closed_at.elapsed() >= grace {
                return true;
            }
        }
    }

    /// The client is ending: waits up to `timeout` for the streams to send
    /// their last lines and close, and stops the watcher.
    pub(super) fn wait_closed(&self, timeout: Duration) {
        let count = self.lock();
        let mut count = self.wait_for(count, timeout, |c| c.open > 0);
        count.done = true;
        drop(count);
        self.changed.notify_all();
    }

    fn wait<'a>(
        &self,
        count: MutexGuard<'a, Count>,
        cond: impl FnMut(&mut Count) -> bool,
    ) -> MutexGuard<'a, Count> {
        self.changed
            .wait_while(count, cond)
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn wait_for<'a>(
        &self,
        count: MutexGuard<'a, Count>,
        timeout: Duration,
        cond: impl FnMut(&mut Count) -> bool,
    ) -> MutexGuard<'a, Count> {
        self.changed
            .wait_timeout_while(count, timeout, cond)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    fn lock(&self) -> MutexGuard<'_, Count> {
        // Every update under this lock completes or changes nothing.
        self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.lock().open -= 1;
        self.0.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn watched(grace: Duration) -> (Arc<Streams>, mpsc::Receiver<bool>) {
        let streams = Arc::new(Streams {
            count: Mutex::default(),
            changed: Condvar::new(),
        });
        let (told, verdict) = mpsc::channel();
        let watched = Arc::clone(&streams);
        thread::spawn(move || told.send(watched.wait_until_abandoned(grace)));
        (streams, verdict)
    }

    #[test]
    fn a_page_closed_for_the_grace_period_is_abandoned() {
        let (streams, verdict) = watched(Duration::from_millis(50));
        drop(streams.opened());
        assert_eq!(verdict.recv(), Ok(true));
    }

    #[test]
    fn a_page_reopened_in_time_is_not_abandoned_and_an_ending_client_stops_the_watch() {
        let (streams, verdict) = watched(Duration::from_secs(3600));
        let first = streams.opened();
        drop(first);
        let _reloaded = streams.opened();
        streams.wait_closed(Duration::ZERO);
        assert_eq!(verdict.recv(), Ok(false));
    }

    #[test]
    fn no_page_yet_is_no_page_closed() {
        let (streams, verdict) = watched(Duration::ZERO);
        assert!(verdict.recv_timeout(Duration::from_millis(100)).is_err());
        streams.wait_closed(Duration::ZERO);
        assert_eq!(verdict.recv(), Ok(false));
    }
}
