//! The client's receive pipeline: one thread that only reads the broadcast
//! connection and queues each frame ([`Inbox`]), and beside it a thread
//! that opens them with the client's layer ([`Verifier`]).
//!
//! Why two: opening a frame may be slow (a PBKDF2 run per new salt under
//! the lab's scheme), and the server disconnects a subscriber that falls
//! more than its backlog behind. Reading apart from verifying keeps the
//! connection drained whatever the layer costs, so a flood of junk frames
//! can delay what the client shows but cannot get it disconnected.
//!
//! The queue is bounded ([`INBOX_FRAMES`], [`INBOX_BYTES`]). If the
//! verifier falls that far behind, the reader drops new frames unread
//! rather than stall, and each one dropped is reported in its place in the
//! stream as `[rejected] ?: receiver overloaded, not verified`: never a
//! silent gap. The terminal client and the benchmark both receive this way.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::base_client::{BroadcastChannel, ClientError};
use super::simple_client::{Delivery, on_recv_all};
use crate::layer::{Open, Rejection};
use crate::wire::{ClaimedNick, Codec};

/// Most frames waiting to be verified.
pub const INBOX_FRAMES: usize = 1 << 18;
/// Most bytes of frames waiting to be verified.
pub const INBOX_BYTES: usize = 32 << 20;

/// One entry of the queue, in the order the frames arrived.
enum Item {
    Frame(Vec<u8>),
    /// This many frames dropped unread in a row: the queue was full.
    Shed(u64),
}

/// How the broadcast connection stands, as the reader last saw it.
enum End {
    Open,
    /// It ended for this reason, not yet reported.
    Ended(ClientError),
    Reported,
}

struct Queue {
    items: VecDeque<Item>,
    frames: usize,
    bytes: usize,
    end: End,
    /// Whether the verifier is asleep, waiting for an item: the reader
    /// wakes it only then, so a busy verifier costs the reader no system
    /// call per frame.
    waiting: bool,
}

impl Queue {
    fn new() -> Self {
        Self {
            items: VecDeque::new(),
            frames: 0,
            bytes: 0,
            end: End::Open,
            waiting: false,
        }
    }

    /// Queues a frame, or counts it shed if the queue is full.
    fn admit(&mut self, frame: Vec<u8>) {
        if self.frames >= INBOX_FRAMES || self.bytes + frame.len() > INBOX_BYTES {
            match self.items.back_mut() {
                Some(Item::Shed(n)) => *n += 1,
                _ => self.items.push_back(Item::Shed(1)),
            }
        } else {
            self.frames += 1;
            self.bytes += frame.len();
            self.items.push_back(Item::Frame(frame));
        }
    }
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues the frames of `batch` (emptied), in order, under one lock,
    /// and wakes the verifier once if it sleeps.
    fn push_all(&self, batch: &mut Vec<Vec<u8>>) {
        if batch.is_empty() {
            return;
        }
        let mut queue = self.lock();
        for frame in batch.drain(..) {
            queue.admit(frame);
        }
        let wake = queue.waiting;
        drop(queue);
        if wake {
            self.ready.notify_one();
        }
    }

    fn end(&self, reason: ClientError) {
        self.lock().end = End::Ended(reason);
        self.ready.notify_one();
    }

    /// Waits while the queue is empty and the connection open, at most
    /// `timeout` (`None`: as long as it takes).
    fn wait<'q>(
        &self,
        mut queue: MutexGuard<'q, Queue>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'q, Queue> {
        let empty = |q: &mut Queue| q.items.is_empty() && matches!(q.end, End::Open);
        if !empty(&mut queue) {
            return queue;
        }
        queue.waiting = true;
        let mut queue = match timeout {
            None => self
                .ready
                .wait_while(queue, empty)
                .unwrap_or_else(PoisonError::into_inner),
            Some(t) => {
                self.ready
                    .wait_timeout_while(queue, t, empty)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
        queue.waiting = false;
        queue
    }
}

/// What the reader thread handed over.
pub enum Inbound {
    /// A broadcast frame, as read.
    Frame(Vec<u8>),
    /// A frame dropped unread because the queue was full.
    Shed,
    /// The connection ended: nothing follows.
    Ended(ClientError),
}

/// The consuming side of the queue that a reader thread fills.
pub struct Inbox {
    shared: Arc<Shared>,
    codec: Codec,
}

impl Inbox {
    /// Starts the reader thread on `channel`. It stops when the connection
    /// ends, or at the next frame once this inbox is dropped.
    pub fn spawn(mut channel: BroadcastChannel) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::new()),
            ready: Condvar::new(),
        });
        let filled = Arc::clone(&shared);
        let codec = channel.codec();
        thread::Builder::new()
            .name("broadcast-reader".into())
            .spawn(move || read_all(&mut channel, &filled))?;
        Ok(Self { shared, codec })
    }

    /// How the queued frames are serialised.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The next item, waiting at most `timeout` (`None`: as long as it
    /// takes); `None` if nothing came, and at once after `Inbound::Ended`.
    pub fn next(&self, timeout: Option<Duration>) -> Option<Inbound> {
        let mut queue = self.shared.wait(self.shared.lock(), timeout);
        take(&mut queue)
    }

    /// As [`next`](Self::next), then whatever else is queued already, up
    /// to `most` items in all, in order: empty if nothing came in time.
    pub fn next_burst(&self, timeout: Option<Duration>, most: usize) -> Vec<Inbound> {
        let mut queue = self.shared.wait(self.shared.lock(), timeout);
        std::iter::from_fn(|| take(&mut queue)).take(most).collect()
    }
}

/// Most frames the reader thread queues at once.
const MAX_BATCH: usize = 1024;

/// The reader thread's loop: read, queue, until the connection ends. What
/// one read brought is queued under one lock, with at most one wake-up of
/// the verifier: not one per frame.
fn read_all(channel: &mut BroadcastChannel, shared: &Arc<Shared>) {
    let mut batch = Vec::new();
    loop {
        let ended = read_batch(channel, &mut batch).err();
        shared.push_all(&mut batch);
        if let Some(reason) = ended {
            return shared.end(reason);
        }
        if Arc::strong_count(shared) == 1 {
            return;
        }
    }
}

/// Waits for the next frame, then takes every frame the same read already
/// brought, up to [`MAX_BATCH`].
fn read_batch(channel: &mut BroadcastChannel, batch: &mut Vec<Vec<u8>>) -> Result<(), ClientError> {
    batch.push(channel.next_frame()?.to_vec());
    while batch.len() < MAX_BATCH {
        match channel.buffered_frame()? {
            Some(frame) => batch.push(frame.to_vec()),
            None => break,
        }
    }
    Ok(())
}

/// The front of the queue, or how it ended.
fn take(queue: &mut Queue) -> Option<Inbound> {
    match queue.items.pop_front() {
        Some(Item::Frame(frame)) => {
            queue.frames -= 1;
            queue.bytes -= frame.len();
            Some(Inbound::Frame(frame))
        }
        Some(Item::Shed(n)) => {
            if n > 1 {
                queue.items.push_front(Item::Shed(n - 1));
            }
            Some(Inbound::Shed)
        }
        None => {
            if !matches!(queue.end, End::Ended(_)) {
                return None;
            }
            match std::mem::replace(&mut queue.end, End::Reported) {
                End::Ended(reason) => Some(Inbound::Ended(reason)),
                End::Open | End::Reported => None,
            }
        }
    }
}

/// What the verifier has for its caller.
pub enum Received {
    Delivery(Delivery),
    /// The broadcast connection ended: nothing follows.
    Ended(ClientError),
}

/// Opens what an [`Inbox`] holds with a layer's [`Open`]: Python's
/// `on_recv` for every frame, on the thread that calls it.
///
/// Frames that queued up while it was busy are opened as one burst, at
/// most `BURST` at a time ([`on_recv_all`]): a layer may share work
/// between them (none does now: the signed layer verifies each signature
/// on its own, by one rule).
pub struct Verifier<O> {
    inbox: Inbox,
    opener: O,
    /// What the last burst gave, not yet handed out.
    ready: VecDeque<Received>,
}

/// Most frames opened as one burst.
pub const BURST: usize = 64;

impl<O: Open> Verifier<O> {
    pub fn new(inbox: Inbox, opener: O) -> Self {
        Self {
            inbox,
            opener,
            ready: VecDeque::new(),
        }
    }

    /// The next delivery, waiting at most `timeout` (`None`: as long as it
    /// takes); `None` if nothing came in time.
    pub fn next(&mut self, timeout: Option<Duration>) -> Option<Received> {
        if self.ready.is_empty() {
            self.open_burst(timeout);
        }
        self.ready.pop_front()
    }

    /// Opens the next burst; frames dropped unread and the end of the
    /// connection keep their places among its deliveries.
    fn open_burst(&mut self, timeout: Option<Duration>) {
        let mut frames = Vec::new();
        for item in self.inbox.next_burst(timeout, BURST) {
            let received = match item {
                Inbound::Frame(frame) => {
                    frames.push(frame);
                    continue;
                }
                Inbound::Shed => Received::Delivery(Delivery::Rejected {
                    nick: ClaimedNick::Missing,
                    reason: Rejection::Overloaded,
                }),
                Inbound::Ended(reason) => Received::Ended(reason),
            };
            self.open_frames(&mut frames);
            self.ready.push_back(received);
        }
        self.open_frames(&mut frames);
    }

    fn open_frames(&mut self, frames: &mut Vec<Vec<u8>>) {
        if frames.is_empty() {
            return;
        }
        let deliveries = on_recv_all(&mut self.opener, self.inbox.codec(), frames);
        self.ready
            .extend(deliveries.into_iter().map(Received::Delivery));
        frames.clear();
    }
}

impl<O: Open + 'static> Verifier<O> {
    /// Python's `update(on_recv)`, on a thread of its own: `on_delivery`
    /// for every frame in order, then `on_end` once the connection ends.
    pub fn spawn<F, E>(mut self, mut on_delivery: F, on_end: E) -> io::Result<JoinHandle<()>>
    where
        F: FnMut(Delivery) + Send + 'static,
        E: FnOnce(ClientError) + Send + 'static,
    {
        thread::Builder::new()
            .name("verifier".into())
            .spawn(move || {
                loop {
                    match self.next(None) {
                        Some(Received::Delivery(delivery)) => on_delivery(delivery),
                        Some(Received::Ended(reason)) => return on_end(reason),
                        None => return,
                    }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shed_frames_are_reported_in_their_place_and_the_end_once() {
        let mut q = Queue::new();
        q.items.push_back(Item::Frame(b"a".to_vec()));
        q.items.push_back(Item::Shed(2));
        q.items.push_back(Item::Frame(b"b".to_vec()));
        (q.frames, q.bytes) = (2, 2);
        q.end = End::Ended(ClientError::Closed);
        let kinds: Vec<&str> = std::iter::from_fn(|| take(&mut q))
            .map(|item| match item {
                Inbound::Frame(_) => "frame",
                Inbound::Shed => "shed",
                Inbound::Ended(_) => "ended",
            })
            .collect();
        assert_eq!(kinds, ["frame", "shed", "shed", "frame", "ended"]);
        assert_eq!((q.frames, q.bytes), (0, 0));
        assert!(take(&mut q).is_none());
    }

    #[test]
    fn a_full_queue_sheds_and_never_blocks_the_reader() {
        let shared = Shared {
            queue: Mutex::new(Queue::new()),
            ready: Condvar::new(),
        };
        let big = vec![b'x'; INBOX_BYTES / 2];
        shared.push_all(&mut vec![big; 5]);
        let q = shared.lock();
        assert_eq!(q.frames, 2);
        assert!(matches!(q.items.back(), Some(Item::Shed(3))));
    }
}
