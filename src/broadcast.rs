//! The broadcast side of the server: Python's ZeroMQ PUB socket, rebuilt so
//! that it is fast, bounded, and never loses a line silently.
//!
//! # Design
//!
//! Every accepted message line is appended, once, to a shared byte ring of
//! [`BACKLOG_BYTES`] (the [`Hub`]). The request thread that appended it
//! answers `ok` straight away: it never writes to a subscriber.
//!
//! Each broadcast connection has its own thread (the design card's thread
//! per client). That thread keeps a cursor into the ring; each time it wakes
//! it copies *everything* written since its cursor (up to [`MAX_BATCH`]) and
//! hands it to the kernel in one `write`. Under load a subscriber thread
//! therefore makes one wake-up and one system call per batch, not per
//! message, and a line is stored once whatever the number of subscribers.
//!
//! A subscriber that stops reading blocks only its own thread, in `write`.
//! The ring keeps moving for everyone else. If the ring overwrites bytes that
//! a subscriber has not taken yet, that subscriber has lost data, so it is
//! told (a final `ko` line, if its socket takes it) and disconnected: every
//! subscriber receives every line in order, or is disconnected. The ring's
//! size bounds the server's memory whatever the number of subscribers.
//!
//! Python's PUB socket, by contrast, silently drops messages for a slow
//! subscriber once its high-water mark is reached.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::frame::{Response, canonical};

/// Bytes of broadcast history kept for subscribers that are behind: how far
/// a subscriber may lag before it is disconnected. Also the broadcast path's
/// whole memory, whatever the number of subscribers.
pub const BACKLOG_BYTES: usize = 4 * 1024 * 1024;

/// Most bytes a subscriber thread copies out of the ring per pass (one
/// `write` call).
pub const MAX_BATCH: usize = 32 * 1024;

/// How often a subscriber blocked in `write` checks whether it has been lapped.
const LAG_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How often an idle subscriber checks that its peer is still there, so a
/// closed connection frees its slot even when nothing is broadcast.
const IDLE_PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// The shared ring of broadcast bytes, and the subscribers waiting on it.
pub struct Hub {
    ring: Mutex<Ring>,
    /// Signalled when bytes are appended and someone is waiting.
    appended: Condvar,
    subscribers: AtomicUsize,
    /// Where each subscriber connects from, so a joining client can be told
    /// its own subscription is in place (see [`Hub::wait_for_subscriber`]).
    peers: Mutex<HashMap<SocketAddr, usize>>,
    peer_registered: Condvar,
}

struct Ring {
    bytes: Box<[u8]>,
    /// Total bytes ever appended: the position of the next byte.
    head: u64,
    /// Subscriber threads waiting on `appended`. The publisher skips the
    /// wake-up system call when none is.
    waiting: usize,
}

impl Ring {
    fn capacity(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Oldest position still held.
    fn oldest(&self) -> u64 {
        self.head.saturating_sub(self.capacity())
    }

    fn append(&mut self, data: &[u8]) {
        let pos = (self.head % self.capacity()) as usize;
        let first = data.len().min(self.bytes.len() - pos);
        self.bytes[pos..pos + first].copy_from_slice(&data[..first]);
        self.bytes[..data.len() - first].copy_from_slice(&data[first..]);
        self.head += data.len() as u64;
    }

    /// Appends `ring[from..]`, at most `max` bytes, to `out`; returns how many.
    fn copy_since(&self, from: u64, max: usize, out: &mut Vec<u8>) -> usize {
        let available = (self.head - from) as usize;
        let len = available.min(max);
        let pos = (from % self.capacity()) as usize;
        let first = len.min(self.bytes.len() - pos);
        out.extend_from_slice(&self.bytes[pos..pos + first]);
        out.extend_from_slice(&self.bytes[..len - first]);
        len
    }
}

/// A line that cannot be broadcast because it is longer than the whole ring.
#[derive(Debug)]
pub struct LineTooLong;

impl Hub {
    pub fn new() -> Arc<Self> {
        Self::with_capacity(BACKLOG_BYTES)
    }

    pub fn with_capacity(bytes: usize) -> Arc<Self> {
        Arc::new(Self {
            ring: Mutex::new(Ring {
                bytes: vec![0; bytes].into_boxed_slice(),
                head: 0,
                waiting: 0,
            }),
            appended: Condvar::new(),
            subscribers: AtomicUsize::new(0),
            peers: Mutex::default(),
            peer_registered: Condvar::new(),
        })
    }

    /// Queues one line (given without its `\n`) for every subscriber
    /// connected now. Lines reach each subscriber in the order of these calls.
    pub fn publish(&self, line: &[u8]) -> Result<(), LineTooLong> {
        let mut ring = self.lock();
        if line.len() >= ring.bytes.len() {
            return Err(LineTooLong);
        }
        ring.append(line);
        ring.append(b"\n");
        let wake = ring.waiting > 0;
        drop(ring);
        if wake {
            self.appended.notify_all();
        }
        Ok(())
    }

    /// A subscription that starts with the next line published; `peer` is
    /// where the subscriber connects from, if known.
    pub fn subscribe(self: &Arc<Self>, peer: Option<SocketAddr>) -> Subscription {
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        let cursor = self.lock().head;
        let peer = peer.map(canonical);
        if let Some(addr) = peer {
            *self.lock_peers().entry(addr).or_default() += 1;
            self.peer_registered.notify_all();
        }
        Subscription {
            hub: Arc::clone(self),
            cursor,
            peer,
        }
    }

    /// Waits up to `timeout` for a subscriber connecting from `peer`.
    ///
    /// A client's broadcast connection is established in the kernel before
    /// the server accepts it, so a client that joins right after connecting
    /// could miss the first messages (ZeroMQ's "slow joiner"). A join that
    /// names its subscriber is answered only once this returns.
    pub fn wait_for_subscriber(&self, peer: SocketAddr, timeout: Duration) -> bool {
        let peer = canonical(peer);
        let deadline = Instant::now() + timeout;
        let mut peers = self.lock_peers();
        while !peers.contains_key(&peer) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            peers = self
                .peer_registered
                .wait_timeout(peers, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    fn lock_peers(&self) -> MutexGuard<'_, HashMap<SocketAddr, usize>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribers connected now.
    pub fn subscriber_count(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // The ring is consistent between any two statements that hold the
        // lock (no code under it can panic halfway), so a poisoned lock is
        // still safe to use.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What [`Subscription::next_batch`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    /// New bytes were copied into the caller's buffer.
    Ready,
    /// Nothing was published for a while.
    Idle,
    /// Bytes this subscriber had not taken were overwritten: it cannot
    /// receive every line any more.
    Lapped,
}

/// One subscriber's position in the hub.
pub struct Subscription {
    hub: Arc<Hub>,
    cursor: u64,
    peer: Option<SocketAddr>,
}

impl Subscription {
    /// Waits up to `idle` for bytes after this subscription's cursor, and
    /// copies up to [`MAX_BATCH`] of them into `out` (cleared first).
    pub fn next_batch(&mut self, out: &mut Vec<u8>, idle: Duration) -> Batch {
        out.clear();
        let mut ring = self.hub.lock();
        let mut waited = false;
        loop {
            if self.cursor < ring.oldest() {
                return Batch::Lapped;
            }
            if self.cursor < ring.head {
                self.cursor += ring.copy_since(self.cursor, MAX_BATCH, out) as u64;
                return Batch::Ready;
            }
            if waited {
                return Batch::Idle;
            }
            ring.waiting += 1;
            let (guard, timeout) = self
                .hub
                .appended
                .wait_timeout(ring, idle)
                .unwrap_or_else(PoisonError::into_inner);
            ring = guard;
            ring.waiting -= 1;
            waited = timeout.timed_out();
        }
    }

    /// Whether bytes this subscriber has not taken yet were overwritten.
    pub fn is_lapped(&self) -> bool {
        self.cursor < self.hub.lock().oldest()
    }

    /// Bytes published but not yet taken by this subscriber.
    pub fn lag(&self) -> u64 {
        self.hub.lock().head - self.cursor
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.subscribers.fetch_sub(1, Ordering::Relaxed);
        let Some(peer) = self.peer else { return };
        let mut peers = self.hub.lock_peers();
        if let Some(count) = peers.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                peers.remove(&peer);
            }
        }
    }
}

/// Why a subscriber's connection ended.
#[derive(Debug)]
pub enum Ended {
    /// The peer closed the connection.
    Closed,
    /// The subscriber fell more than [`BACKLOG_BYTES`] behind.
    TooSlow,
    /// The socket failed.
    Io(io::Error),
}

/// Serves one broadcast connection until it ends: the subscriber thread.
pub fn serve_subscriber(mut stream: TcpStream, mut subscription: Subscription) -> Ended {
    if let Err(e) = stream.set_write_timeout(Some(LAG_CHECK_INTERVAL)) {
        return Ended::Io(e);
    }
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let ended = match subscription.next_batch(&mut batch, IDLE_PROBE_INTERVAL) {
            Batch::Ready => write_batch(&mut stream, &batch, &subscription).err(),
            Batch::Idle => probe_peer(&mut stream).err(),
            Batch::Lapped => Some(Ended::TooSlow),
        };
        if let Some(ended) = ended {
            if let Ended::TooSlow = ended {
                say_too_slow(&mut stream);
            }
            return ended;
        }
    }
}

/// Writes a whole batch, giving up as soon as the subscriber is lapped while
/// its socket is full.
fn write_batch(stream: &mut TcpStream, mut batch: &[u8], sub: &Subscription) -> Result<(), Ended> {
    while !batch.is_empty() {
        match stream.write(batch) {
            Ok(0) => return Err(Ended::Closed),
            Ok(n) => batch = &batch[n..],
            Err(e) if is_timeout(&e) => {
                if sub.is_lapped() {
                    return Err(Ended::TooSlow);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Ended::Io(e)),
        }
    }
    Ok(())
}

/// Checks, without blocking, that an idle subscriber's peer is still there.
/// Subscribers have nothing to say: whatever they send is discarded.
fn probe_peer(stream: &mut TcpStream) -> Result<(), Ended> {
    let mut scratch = [0u8; 512];
    stream.set_nonblocking(true).map_err(Ended::Io)?;
    let probe = stream.read(&mut scratch);
    stream.set_nonblocking(false).map_err(Ended::Io)?;
    match probe {
        Ok(0) => Err(Ended::Closed),
        Ok(_) => Ok(()),
        Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => Ok(()),
        Err(e) => Err(Ended::Io(e)),
    }
}

/// Tells a lapped subscriber why it is being dropped, if its socket has room.
/// The line starts with `\n` because the last batch may have ended mid-line.
fn say_too_slow(stream: &mut TcpStream) {
    let reason = format!(
        "disconnected: more than {} MiB of broadcasts behind",
        BACKLOG_BYTES / (1024 * 1024)
    );
    let mut line = vec![b'\n'];
    Response::Ko(reason).encode(&mut line);
    if stream.set_nonblocking(true).is_ok() {
        let _ = stream.write(&line);
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: Duration = Duration::from_millis(1);

    #[test]
    fn subscribers_get_every_line_from_their_start_in_order() {
        let hub = Hub::with_capacity(64);
        hub.publish(b"before").unwrap();
        let mut sub = hub.subscribe(None);
        hub.publish(b"one").unwrap();
        hub.publish(b"two").unwrap();
        let mut out = Vec::new();
        assert_eq!(sub.next_batch(&mut out, NO_WAIT), Batch::Ready);
        assert_eq!(out, b"one\ntwo\n");
        assert_eq!(sub.next_batch(&mut out, NO_WAIT), Batch::Idle);
        assert!(out.is_empty());
    }

    #[test]
    fn wraps_around_the_ring() {
        let hub = Hub::with_capacity(16);
        let mut sub = hub.subscribe(None);
        let mut out = Vec::new();
        for line in [&b"0123456789"[..], b"abcdefghij", b"KLMNO"] {
            hub.publish(line).unwrap();
            assert_eq!(sub.next_batch(&mut out, NO_WAIT), Batch::Ready);
            assert_eq!(&out[..out.len() - 1], line);
        }
    }

    #[test]
    fn a_lapped_subscriber_is_told_not_fed_a_gap() {
        let hub = Hub::with_capacity(16);
        let mut slow = hub.subscribe(None);
        hub.publish(b"0123456789").unwrap();
        hub.publish(b"abcdefghij").unwrap();
        assert!(slow.is_lapped());
        assert_eq!(slow.next_batch(&mut Vec::new(), NO_WAIT), Batch::Lapped);
        assert!(hub.publish(&[b'x'; 16]).is_err());
    }

    #[test]
    fn counts_subscribers() {
        let hub = Hub::new();
        let a = hub.subscribe(None);
        let b = hub.subscribe(None);
        assert_eq!(hub.subscriber_count(), 2);
        drop((a, b));
        assert_eq!(hub.subscriber_count(), 0);
    }

    #[test]
    fn knows_where_subscribers_come_from() {
        let hub = Hub::new();
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert!(!hub.wait_for_subscriber(addr, NO_WAIT));
        let sub = hub.subscribe(Some("[::ffff:127.0.0.1]:4000".parse().unwrap()));
        assert!(hub.wait_for_subscriber(addr, NO_WAIT));
        drop(sub);
        assert!(!hub.wait_for_subscriber(addr, NO_WAIT));
    }
}
