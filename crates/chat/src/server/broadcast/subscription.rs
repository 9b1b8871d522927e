//! A subscriber's own thread, the slow path: idle while the broadcaster
//! keeps its subscriber fed, it takes the socket when the broadcaster hands
//! it over, catches up from the ring with blocking writes, and hands the
//! socket back once level with the ring's head. So a subscriber that stops
//! reading blocks only its own thread.
//!
//! The handback happens under the ring's lock, when the cursor equals the
//! head, so the broadcaster's next pass starts exactly where this thread
//! stopped: no byte skipped, none sent twice. If the ring overwrites bytes
//! the subscriber was never sent, it is lapped: this thread ends it, with
//! last words.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::hub::{Hub, canonical};
use super::subscriber::{Owner, Subscriber};
use super::{LAST_WORDS_WAIT, MAX_CATCH_UP, is_timeout};

/// How often a subscriber's thread blocked in `write` checks whether it has
/// been lapped.
const LAG_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How often an idle subscriber's thread checks that its peer is still
/// there, so a closed connection frees its slot even when nothing is sent.
const IDLE_PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// A registered broadcast connection, held by its own thread; dropping it
/// unregisters the connection.
pub struct Subscription {
    pub(super) hub: Arc<Hub>,
    pub(super) subscriber: Arc<Subscriber>,
    peer: Option<SocketAddr>,
    /// How long its last words may wait for room in its socket.
    pub(super) last_words_wait: Duration,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.subscriber.lock().owner = Owner::Closed;
        let _ = self.subscriber.stream.shutdown(Shutdown::Both);
        self.hub.unregister(&self.subscriber, self.peer);
    }
}

/// Why a subscriber's connection ended.
#[derive(Debug)]
pub enum Ended {
    /// The peer closed the connection.
    Closed,
    /// The subscriber fell more than [`BACKLOG_BYTES`](super::BACKLOG_BYTES)
    /// behind.
    TooSlow,
    /// The socket failed.
    Io(io::Error),
}

impl Hub {
    /// Registers a broadcast connection; it receives every line published
    /// from now on. `peer` is where it connects from, if known.
    pub fn subscribe(
        self: &Arc<Self>,
        stream: Arc<TcpStream>,
        peer: Option<SocketAddr>,
    ) -> io::Result<Subscription> {
        stream.set_nonblocking(true)?;
        let peer = peer.map(canonical);
        let cursor = {
            let ring = self.lock_ring();
            if ring.closed {
                return Err(io::Error::other("the server is stopping"));
            }
            ring.head
        };
        let subscriber = Arc::new(Subscriber::new(stream, cursor, self.codec()));
        self.register(&subscriber, peer);
        Ok(Subscription::new(Arc::clone(self), subscriber, peer))
    }
}

impl Subscription {
    /// The subscription of `subscriber`, already registered with `hub`.
    pub(super) fn new(
        hub: Arc<Hub>,
        subscriber: Arc<Subscriber>,
        peer: Option<SocketAddr>,
    ) -> Self {
        Self {
            hub,
            subscriber,
            peer,
            last_words_wait: LAST_WORDS_WAIT,
        }
    }

    /// The subscriber's own thread: idle while the broadcaster keeps it fed,
    /// catching up when handed its socket, until the connection ends.
    pub fn serve(self) -> Ended {
        loop {
            let ended = match self.wait_for_handover() {
                Owner::Closed => Some(Ended::Closed),
                Owner::OwnThread => self.catch_up().err(),
                Owner::Broadcaster => self.probe_peer().err(),
            };
            if let Some(ended) = ended {
                if let Ended::TooSlow = ended {
                    self.say_too_slow();
                }
                return ended;
            }
        }
    }

    /// Waits until the broadcaster hands over the socket, or for the idle
    /// probe interval; returns the owner then.
    fn wait_for_handover(&self) -> Owner {
        let state = self.subscriber.lock();
        let (state, _) = self
            .subscriber
            .handed_over
            .wait_timeout_while(state, IDLE_PROBE_INTERVAL, |s| {
                s.owner == Owner::Broadcaster
            })
            .unwrap_or_else(PoisonError::into_inner);
        state.owner
    }

    /// Writes from the ring, blocking, until level with its head; then hands
    /// the socket back to the broadcaster. The buffer lives only as long as
    /// the catching up.
    fn catch_up(&self) -> Result<(), Ended> {
        let stream = &self.subscriber.stream;
        stream.set_nonblocking(false).map_err(Ended::Io)?;
        stream
            .set_write_timeout(Some(LAG_CHECK_INTERVAL))
            .map_err(Ended::Io)?;
        let mut buf = Vec::with_capacity(MAX_CATCH_UP);
        loop {
            let cursor = self.subscriber.lock().cursor;
            let ring = self.hub.lock_ring();
            if cursor < ring.oldest() {
                return Err(Ended::TooSlow);
            }
            if cursor == ring.head {
                return self.hand_back();
            }
            ring.copy_since(cursor, MAX_CATCH_UP, &mut buf);
            drop(ring);
            self.write_all_unless_lapped(&buf)?;
        }
    }

    /// Gives the socket back to the broadcaster; the caller checked, holding
    /// the ring's lock, that the subscriber is level with the ring's head.
    fn hand_back(&self) -> Result<(), Ended> {
        self.subscriber
            .stream
            .set_nonblocking(true)
            .map_err(Ended::Io)?;
        let mut state = self.subscriber.lock();
        if state.owner == Owner::OwnThread {
            state.owner = Owner::Broadcaster;
        }
        Ok(())
    }

    /// Writes `buf` whole, advancing the cursor; gives up as soon as the
    /// subscriber is lapped while its socket is full.
    fn write_all_unless_lapped(&self, mut buf: &[u8]) -> Result<(), Ended> {
        while !buf.is_empty() {
            match (&*self.subscriber.stream).write(buf) {
                Ok(0) => return Err(Ended::Closed),
                Ok(n) => {
                    self.subscriber.lock().advance(&buf[..n]);
                    buf = &buf[n..];
                }
                Err(e) if is_timeout(&e) => {
                    let cursor = self.subscriber.lock().cursor;
                    if cursor < self.hub.lock_ring().oldest() {
                        return Err(Ended::TooSlow);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Ended::Io(e)),
            }
        }
        Ok(())
    }

    /// Checks, without blocking (the socket is non-blocking while the
    /// broadcaster owns it), that an idle subscriber's peer is still there.
    /// Subscribers have nothing to say: whatever they send is discarded.
    fn probe_peer(&self) -> Result<(), Ended> {
        let mut scratch = [0u8; 512];
        match (&*self.subscriber.stream).read(&mut scratch) {
            Ok(0) => Err(Ended::Closed),
            Ok(_) => Ok(()),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(Ended::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;
    use std::net::TcpStream;
    use std::thread::{self, JoinHandle};

    use super::*;
    use crate::server::test_sockets::{read_lines, socket_pair};
    use crate::wire::Codec;
    use crate::wire::framing::line_parts;

    /// A subscription served on its own thread, and the peer's end.
    fn served(hub: &Arc<Hub>) -> (JoinHandle<Ended>, TcpStream) {
        let (server_end, client) = socket_pair();
        let subscription = hub.subscribe(Arc::new(server_end), None).unwrap();
        (thread::spawn(move || subscription.serve()), client)
    }

    /// Numbered lines, each long enough that a few thousand fill a socket.
    fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
        range
            .map(|i| format!("{i:05} {}", "x".repeat(100)))
            .collect()
    }

    fn publish_all(hub: &Hub, lines: &[String]) {
        for line in lines {
            hub.publish(&line_parts(line.as_bytes())).unwrap();
        }
    }

    fn received(reader: &mut BufReader<TcpStream>, n: usize) -> Vec<String> {
        let lines = read_lines(reader, n);
        lines.into_iter().map(|l| l.trim_end().to_owned()).collect()
    }

    #[test]
    fn a_slow_reader_catches_up_through_its_own_thread_without_a_gap() {
        let hub = Hub::new(Codec::Json);
        hub.start_broadcaster().unwrap();
        let (_served, client) = served(&hub);
        // Far more than the socket buffers hold, published before any read.
        let lines = numbered(0..20_000);
        publish_all(&hub, &lines);
        let mut reader = BufReader::new(client);
        assert_eq!(received(&mut reader, lines.len()), lines);
    }

    #[test]
    fn handing_back_and_forth_never_skips_nor_repeats_a_byte() {
        let hub = Hub::new(Codec::Json);
        hub.start_broadcaster().unwrap();
        let (_served, client) = served(&hub);
        let mut reader = BufReader::new(client);
        // Bursts too large for the socket send the subscriber to its own
        // thread; reading them drains it, and it hands the socket back.
        for burst in 0..5 {
            let lines = numbered(burst * 10_000..(burst + 1) * 10_000);
            publish_all(&hub, &lines);
            assert_eq!(received(&mut reader, lines.len()), lines);
        }
    }

    #[test]
    fn a_lapped_subscriber_is_told_and_dropped_not_fed_a_gap() {
        let hub = Hub::with_capacity(64 * 1024, Codec::Json);
        hub.start_broadcaster().unwrap();
        let (served, client) = served(&hub);
        let line = vec![b'x'; 1000];
        // Enough to fill both socket buffers and lap the small ring.
        while !served.is_finished() {
            hub.publish(&line_parts(&line)).unwrap();
        }
        assert!(matches!(served.join().unwrap(), Ended::TooSlow));
        assert_eq!(hub.subscriber_count(), 0);
        drop(client);
    }

    /// How long the test's reader waits for more before it stalls again.
    const STALL_CHECK: Duration = Duration::from_millis(500);

    /// A subscriber that reads again soon after it is lapped reads every
    /// line it was sent, in order and without a gap, then the notice, then
    /// the end of the connection.
    #[test]
    fn a_lapped_subscriber_that_reads_again_gets_its_last_words() {
        let hub = Hub::with_capacity(64 * 1024, Codec::Json);
        hub.start_broadcaster().unwrap();
        let (server_end, client) = socket_pair();
        let mut subscription = hub.subscribe(Arc::new(server_end), None).unwrap();
        // Longer than any test may wait: it reads as soon as it is lapped.
        subscription.last_words_wait = Duration::from_secs(3600);
        let subscriber = Arc::clone(&subscription.subscriber);
        let served = thread::spawn(move || subscription.serve());
        let lapped = || {
            let cursor = subscriber.lock().cursor;
            cursor < hub.lock_ring().oldest()
        };
        let publish = |n: usize| {
            let line = &numbered(n..n + 1)[0];
            hub.publish(&line_parts(line.as_bytes())).unwrap();
        };
        // The first line is read, then the reader stalls until lapped.
        publish(0);
        let mut reader = BufReader::new(client);
        assert_eq!(received(&mut reader, 1), numbered(0..1));
        reader
            .get_ref()
            .set_read_timeout(Some(STALL_CHECK))
            .unwrap();
        let mut published = 1;
        let mut bytes = Vec::new();
        // A lap seen here may be no lap at all: the broadcaster may hold the
        // overwritten bytes in a pass it copied and still deliver them. So
        // the reader drains what came, and the stall starts again, until
        // the connection ends.
        loop {
            while !lapped() {
                publish(published);
                published += 1;
            }
            match reader.read_to_end(&mut bytes) {
                Ok(_) => break,
                Err(e) if is_timeout(&e) => {}
                Err(e) => panic!("{e}"),
            }
        }
        let text = String::from_utf8(bytes).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let last = lines.pop().unwrap();
        assert!(last.contains("disconnected: more than"), "{last}");
        // A line the lap cut short ends before the notice's own line.
        let whole = numbered(0..1)[0].len();
        let cut = lines.pop_if(|line| line.len() < whole);
        let expected = numbered(1..2 + lines.len());
        assert_eq!(
            lines,
            expected[..lines.len()],
            "every line before the notice, in order"
        );
        if let Some(cut) = cut {
            assert!(expected[lines.len()].starts_with(cut), "{cut}");
        }
        assert!(matches!(served.join().unwrap(), Ended::TooSlow));
    }

    #[test]
    fn a_peer_that_leaves_ends_its_idle_subscription() {
        let hub = Hub::new(Codec::Json);
        let (served, client) = served(&hub);
        drop(client);
        assert!(matches!(served.join().unwrap(), Ended::Closed));
        assert_eq!(hub.subscriber_count(), 0);
    }

    #[test]
    fn closing_the_hub_ends_every_subscription() {
        let hub = Hub::new(Codec::Json);
        let (first, _a) = served(&hub);
        let (second, _b) = served(&hub);
        hub.close();
        assert!(matches!(first.join().unwrap(), Ended::Closed));
        assert!(matches!(second.join().unwrap(), Ended::Closed));
    }

    #[test]
    fn the_socket_goes_back_to_the_broadcaster_only_from_its_own_thread() {
        let hub = Hub::new(Codec::Json);
        let (server_end, _client) = socket_pair();
        let subscription = hub.subscribe(Arc::new(server_end), None).unwrap();
        subscription.subscriber.lock().owner = Owner::OwnThread;
        subscription.catch_up().unwrap();
        assert_eq!(subscription.subscriber.lock().owner, Owner::Broadcaster);
        subscription.subscriber.lock().owner = Owner::Closed;
        subscription.hand_back().unwrap();
        assert_eq!(subscription.subscriber.lock().owner, Owner::Closed);
    }

    #[test]
    fn dropping_a_subscription_closes_its_connection() {
        let hub = Hub::new(Codec::Json);
        let (server_end, mut client) = socket_pair();
        drop(hub.subscribe(Arc::new(server_end), None).unwrap());
        assert_eq!(client.read(&mut [0u8; 16]).unwrap(), 0);
        assert_eq!(hub.subscriber_count(), 0);
    }
}
