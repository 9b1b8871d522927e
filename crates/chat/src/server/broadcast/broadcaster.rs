//! The broadcaster, the fast path: one thread that wakes when the ring
//! grows, copies everything new in one go, and offers it to each subscriber
//! it owns with a non-blocking `write`. Under load it takes many messages
//! per pass, so the cost is one wake-up per pass and one system call per
//! subscriber per pass, not per message.
//!
//! A pass that follows the previous one closely is part of a stream of
//! messages: the broadcaster pauses briefly first, so that more of the
//! stream goes out in the same writes (the module `broadcast` gives the
//! numbers), while a sporadic message goes out at once.

use std::io;
use std::sync::{Arc, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use super::hub::Hub;
use super::subscriber::Subscriber;
use super::{COALESCE_PAUSE, MAX_PASS, STREAM_WINDOW};

impl Hub {
    /// Starts the broadcaster thread, which runs until [`close`](Self::close).
    /// It starts from the ring's head now, not when the thread first runs.
    pub fn start_broadcaster(self: &Arc<Self>) -> io::Result<JoinHandle<()>> {
        let hub = Arc::clone(self);
        let start = self.lock_ring().head;
        thread::Builder::new()
            .name("broadcaster".into())
            .spawn(move || hub.broadcast_until_closed(start))
    }

    /// The broadcaster: until the hub closes, waits for new bytes and offers
    /// them to every subscriber it owns.
    fn broadcast_until_closed(&self, start: u64) {
        let mut sent_to = start;
        let mut pass = Vec::with_capacity(MAX_PASS);
        let mut subscribers = Vec::new();
        let mut generation = u64::MAX;
        let mut last_pass = Instant::now();
        while self.wait_for_bytes(sent_to) {
            if last_pass.elapsed() < STREAM_WINDOW {
                thread::sleep(COALESCE_PAUSE);
            }
            last_pass = Instant::now();
            let from = self.next_pass(sent_to, &mut pass);
            let to = from + pass.len() as u64;
            self.refresh(&mut subscribers, &mut generation);
            for subscriber in &subscribers {
                subscriber.offer(from, to, &pass);
            }
            sent_to = to;
        }
    }

    /// Waits until the ring holds bytes past `sent_to`; false once closed.
    fn wait_for_bytes(&self, sent_to: u64) -> bool {
        let mut ring = self.lock_ring();
        while ring.head == sent_to && !ring.closed {
            ring.broadcaster_waiting = true;
            ring = self
                .appended
                .wait(ring)
                .unwrap_or_else(PoisonError::into_inner);
            ring.broadcaster_waiting = false;
        }
        !ring.closed
    }

    /// Copies the bytes past `sent_to` into `pass`, and returns where they
    /// start (later than `sent_to` if the ring overwrote some: their
    /// subscribers will find out they are lapped).
    fn next_pass(&self, sent_to: u64, pass: &mut Vec<u8>) -> u64 {
        let ring = self.lock_ring();
        let from = sent_to.max(ring.oldest());
        ring.copy_since(from, MAX_PASS, pass);
        from
    }

    /// Updates the broadcaster's copy of the subscriber list if it changed.
    fn refresh(&self, subscribers: &mut Vec<Arc<Subscriber>>, generation: &mut u64) {
        let registry = self.lock_registry();
        if registry.generation != *generation {
            subscribers.clone_from(&registry.subscribers);
            *generation = registry.generation;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;
    use crate::server::test_sockets::{read_lines, socket_pair};
    use crate::wire::Codec;
    use crate::wire::framing::line_parts;

    #[test]
    fn subscribers_get_every_line_from_their_start_in_order() {
        let hub = Hub::new(Codec::Json);
        hub.start_broadcaster().unwrap();
        hub.publish(&line_parts(b"before")).unwrap();
        let (server_end, client) = socket_pair();
        let subscription = hub.subscribe(Arc::new(server_end), None).unwrap();
        thread::spawn(move || subscription.serve());
        for line in ["one", "two", "three"] {
            hub.publish(&line_parts(line.as_bytes())).unwrap();
        }
        let mut reader = BufReader::new(client);
        assert_eq!(read_lines(&mut reader, 3), ["one\n", "two\n", "three\n"]);
    }

    #[test]
    fn the_broadcaster_ends_when_the_hub_closes() {
        let hub = Hub::new(Codec::Json);
        let broadcaster = hub.start_broadcaster().unwrap();
        hub.publish(&line_parts(b"unheard")).unwrap();
        hub.close();
        broadcaster.join().unwrap();
    }

    #[test]
    fn it_waits_only_while_nothing_is_new_and_the_hub_is_open() {
        let hub = Hub::new(Codec::Json);
        hub.publish(&line_parts(b"new")).unwrap();
        assert!(hub.wait_for_bytes(0));
        hub.close();
        assert!(!hub.wait_for_bytes(4));
        assert!(!hub.wait_for_bytes(0));
    }

    #[test]
    fn a_pass_starts_where_the_ring_still_holds_bytes() {
        let hub = Hub::with_capacity(16, Codec::Json);
        for line in [b"aaaaaa", b"bbbbbb", b"cccccc"] {
            hub.publish(&line_parts(line)).unwrap();
        }
        let mut pass = Vec::new();
        assert_eq!(hub.next_pass(0, &mut pass), 21 - 16);
        assert_eq!(pass, b"a\nbbbbbb\ncccccc\n");
        assert_eq!(hub.next_pass(14, &mut pass), 14);
        assert_eq!(pass, b"cccccc\n");
    }

    #[test]
    fn a_pass_takes_at_most_max_pass_bytes() {
        let hub = Hub::with_capacity(2 * MAX_PASS, Codec::Json);
        hub.publish(&line_parts(&vec![b'x'; MAX_PASS + 9])).unwrap();
        let mut pass = Vec::new();
        assert_eq!(hub.next_pass(0, &mut pass), 0);
        assert_eq!(pass.len(), MAX_PASS);
    }

    #[test]
    fn the_subscriber_list_is_copied_only_when_it_changes() {
        let hub = Hub::new(Codec::Json);
        let (mut subscribers, mut generation) = (Vec::new(), u64::MAX);
        let (first, _a) = socket_pair();
        let _first = hub.subscribe(Arc::new(first), None).unwrap();
        hub.refresh(&mut subscribers, &mut generation);
        assert_eq!(subscribers.len(), 1);
        subscribers.clear();
        hub.refresh(&mut subscribers, &mut generation);
        assert!(subscribers.is_empty());
        let (second, _b) = socket_pair();
        let _second = hub.subscribe(Arc::new(second), None).unwrap();
        hub.refresh(&mut subscribers, &mut generation);
        assert_eq!(subscribers.len(), 2);
    }
}
