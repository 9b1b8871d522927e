//! The hub: where request threads publish, and where broadcast connections
//! register. Publishing appends to the ring and, only if the broadcaster
//! sleeps, wakes it: the request thread never writes to a subscriber, so it
//! answers `ok` straight away. The registry is kept apart from the ring, and
//! versioned, so that the broadcaster copies the list of subscribers only
//! when it changes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::BACKLOG_BYTES;
use super::ring::Ring;
use super::subscriber::{Owner, Subscriber};
use crate::wire::Codec;

/// The shared ring of broadcast bytes, and the subscribers it feeds.
pub struct Hub {
    ring: Mutex<Ring>,
    /// How the subscribers' last words are written.
    codec: Codec,
    /// Signalled when bytes are appended while the broadcaster waits.
    pub(super) appended: Condvar,
    registry: Mutex<Registry>,
    /// Where each subscriber connects from, so a joining client can be told
    /// its own subscription is in place (see [`Hub::wait_for_subscriber`]).
    peers: Mutex<HashMap<SocketAddr, usize>>,
    peer_registered: Condvar,
}

/// The subscribers, as the broadcaster sees them.
#[derive(Default)]
pub(super) struct Registry {
    pub(super) subscribers: Vec<Arc<Subscriber>>,
    /// Bumped on every change, so the broadcaster copies the list only then.
    pub(super) generation: u64,
}

/// A line that cannot be broadcast because it is longer than the whole ring.
#[derive(Debug)]
pub struct LineTooLong;

impl Hub {
    pub fn new(codec: Codec) -> Arc<Self> {
        Self::with_capacity(BACKLOG_BYTES, codec)
    }

    pub fn with_capacity(bytes: usize, codec: Codec) -> Arc<Self> {
        Arc::new(Self {
            ring: Mutex::new(Ring::new(bytes)),
            codec,
            appended: Condvar::new(),
            registry: Mutex::default(),
            peers: Mutex::default(),
            peer_registered: Condvar::new(),
        })
    }

    /// Queues one frame, given as the pieces that make it on the wire, for
    /// every subscriber connected now. Frames reach each subscriber in the
    /// order of these calls.
    pub fn publish(&self, parts: &[&[u8]]) -> Result<(), LineTooLong> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut ring = self.lock_ring();
        if !ring.fits(len) {
            return Err(LineTooLong);
        }
        ring.append_all(parts);
        let wake = ring.broadcaster_waiting;
        drop(ring);
        if wake {
            self.appended.notify_one();
        }
        Ok(())
    }

    /// Stops the broadcaster and tells every subscriber's thread to end.
    pub fn close(&self) {
        self.lock_ring().closed = true;
        self.appended.notify_all();
        for subscriber in &self.lock_registry().subscribers {
            let mut state = subscriber.lock();
            subscriber.hand_over(&mut state, Owner::Closed);
        }
    }

    /// How frames are serialised and framed on this hub's wire.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Subscribers connected now.
    pub fn subscriber_count(&self) -> usize {
        self.lock_registry().subscribers.len()
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

    pub(super) fn register(&self, subscriber: &Arc<Subscriber>, peer: Option<SocketAddr>) {
        let mut registry = self.lock_registry();
        registry.subscribers.push(Arc::clone(subscriber));
        registry.generation += 1;
        drop(registry);
        if let Some(addr) = peer {
            *self.lock_peers().entry(addr).or_default() += 1;
            self.peer_registered.notify_all();
        }
    }

    /// Forgets a subscriber whose connection ended.
    pub(super) fn unregister(&self, subscriber: &Arc<Subscriber>, peer: Option<SocketAddr>) {
        let mut registry = self.lock_registry();
        registry.subscribers.retain(|s| !Arc::ptr_eq(s, subscriber));
        registry.generation += 1;
        drop(registry);
        let Some(addr) = peer else { return };
        let mut peers = self.lock_peers();
        if let Some(count) = peers.get_mut(&addr) {
            *count -= 1;
            if *count == 0 {
                peers.remove(&addr);
            }
        }
    }

    // Every critical section below leaves its data consistent (plain copies
    // and counters, nothing that can panic halfway), so a poisoned lock is
    // still safe to use.

    pub(super) fn lock_ring(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn lock_registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_peers(&self) -> MutexGuard<'_, HashMap<SocketAddr, usize>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `addr` with an IPv4-mapped IPv6 address turned into IPv4, so that both
/// ends of a connection name it the same way.
pub(super) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr};

    use super::*;
    use crate::server::test_sockets::socket_pair;
    use crate::wire::framing::line_parts;

    #[test]
    fn knows_where_subscribers_come_from() {
        let hub = Hub::new(Codec::Json);
        let (server_end, client) = socket_pair();
        let peer = client.local_addr().unwrap();
        assert!(!hub.wait_for_subscriber(peer, Duration::ZERO));
        let subscription = hub.subscribe(Arc::new(server_end), Some(peer)).unwrap();
        assert!(hub.wait_for_subscriber(peer, Duration::ZERO));
        assert_eq!(hub.subscriber_count(), 1);
        drop(subscription);
        assert!(!hub.wait_for_subscriber(peer, Duration::ZERO));
        assert_eq!(hub.subscriber_count(), 0);
    }

    #[test]
    fn an_ipv4_mapped_peer_is_the_same_peer() {
        let hub = Hub::new(Codec::Json);
        let (server_end, client) = socket_pair();
        let peer = client.local_addr().unwrap();
        let IpAddr::V4(v4) = peer.ip() else {
            panic!("loopback is IPv4 here");
        };
        let mapped = SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), peer.port());
        let _subscription = hub.subscribe(Arc::new(server_end), Some(mapped)).unwrap();
        assert!(hub.wait_for_subscriber(peer, Duration::ZERO));
        let other = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), peer.port());
        assert!(!hub.wait_for_subscriber(other, Duration::ZERO));
    }

    #[test]
    fn a_peer_stays_known_while_any_of_its_subscriptions_lasts() {
        let hub = Hub::new(Codec::Json);
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let (first, _a) = socket_pair();
        let (second, _b) = socket_pair();
        let first = hub.subscribe(Arc::new(first), Some(peer)).unwrap();
        let second = hub.subscribe(Arc::new(second), Some(peer)).unwrap();
        drop(first);
        assert!(hub.wait_for_subscriber(peer, Duration::ZERO));
        drop(second);
        assert!(!hub.wait_for_subscriber(peer, Duration::ZERO));
    }

    #[test]
    fn refuses_a_line_longer_than_the_ring() {
        let hub = Hub::with_capacity(16, Codec::Json);
        assert!(hub.publish(&line_parts(&[b'x'; 16])).is_err());
        assert!(hub.publish(&line_parts(&[b'x'; 15])).is_ok());
    }

    #[test]
    fn a_closed_hub_takes_no_new_subscriber() {
        let hub = Hub::new(Codec::Json);
        hub.close();
        let (server_end, _client) = socket_pair();
        assert!(hub.subscribe(Arc::new(server_end), None).is_err());
        assert_eq!(hub.subscriber_count(), 0);
    }

    #[test]
    fn a_new_subscriber_starts_at_the_head() {
        let hub = Hub::new(Codec::Json);
        hub.publish(&line_parts(b"before")).unwrap();
        let (server_end, _client) = socket_pair();
        let _subscription = hub.subscribe(Arc::new(server_end), None).unwrap();
        let cursor = hub.lock_registry().subscribers[0].lock().cursor;
        assert_eq!(cursor, hub.lock_ring().head);
        assert_eq!(cursor, b"before\n".len() as u64);
    }
}
