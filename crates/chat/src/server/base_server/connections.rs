//! The registry of open connections, on both ports together, and the
//! `--max-connections` cap (PROTOCOL.md section 5). A connection that
//! stalls holds its thread and its slot until it closes, as the contract
//! wants; the cap bounds what that costs. Each connection is registered with
//! its socket, so that stopping the server can close them all and wait
//! until their threads have let go of them.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::ConnectionId;
use crate::server::tap::{Counted, Tap};
use crate::wire::Codec;

/// The open connections, on both ports, under the cap.
pub(super) struct Connections {
    open: Mutex<HashMap<ConnectionId, Arc<TcpStream>>>,
    emptied: Condvar,
    /// The cap: at most this many connections open at once.
    pub(super) max: usize,
    next_id: AtomicU64,
    /// How a connection over the cap is told why it is refused.
    pub(super) codec: Codec,
    /// Where the server records what it sees, connections included.
    pub(super) tap: Tap,
}

/// One open connection's place under the cap; freed on drop.
pub(super) struct Slot {
    connections: Arc<Connections>,
    pub(super) id: ConnectionId,
    /// The connection counted on its port for the teacher's view.
    pub(super) counted: Option<Counted>,
}

impl Connections {
    pub(super) fn new(max: usize, codec: Codec) -> Self {
        Self {
            open: Mutex::default(),
            emptied: Condvar::new(),
            max,
            next_id: AtomicU64::new(1),
            codec,
            tap: Tap::new(),
        }
    }

    /// A slot for `stream`, under a fresh id; `None` if the cap is reached.
    pub(super) fn try_acquire(self: &Arc<Self>, stream: &Arc<TcpStream>) -> Option<Slot> {
        let mut open = self.lock();
        if open.len() >= self.max {
            return None;
        }
        let id = ConnectionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        open.insert(id, Arc::clone(stream));
        Some(Slot {
            connections: Arc::clone(self),
            id,
            counted: None,
        })
    }

    /// Shuts every open connection down, and waits until their threads
    /// have let go of them.
    pub(super) fn close_all(&self) {
        let open = self.lock();
        for stream in open.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let _emptied = self
            .emptied
            .wait_while(open, |open| !open.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConnectionId, Arc<TcpStream>>> {
        // Every update under this lock completes or changes nothing.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Slot {
    /// The tap of the server this slot belongs to.
    pub(super) fn tap(&self) -> &Tap {
        &self.connections.tap
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.connections.lock();
        open.remove(&self.id);
        if open.is_empty() {
            self.connections.emptied.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::atomic::AtomicBool;
    use std::thread;

    use super::*;
    use crate::server::test_sockets::socket_pair;

    /// A server's end of a fresh connection, and the peer's end.
    fn connection() -> (Arc<TcpStream>, TcpStream) {
        let (server_end, client) = socket_pair();
        (Arc::new(server_end), client)
    }

    #[test]
    fn refuses_over_the_cap_and_frees_a_slot_on_drop() {
        let connections = Arc::new(Connections::new(2, Codec::Json));
        let (a, b, c) = (connection(), connection(), connection());
        let first = connections.try_acquire(&a.0).unwrap();
        let _second = connections.try_acquire(&b.0).unwrap();
        assert!(connections.try_acquire(&c.0).is_none());
        drop(first);
        assert!(connections.try_acquire(&c.0).is_some());
    }

    #[test]
    fn ids_are_never_reused() {
        let connections = Arc::new(Connections::new(1, Codec::Json));
        let (stream, _peer) = connection();
        let first = connections.try_acquire(&stream).unwrap().id;
        let second = connections.try_acquire(&stream).unwrap().id;
        assert_eq!(first, ConnectionId(1));
        assert!(second > first);
    }

    #[test]
    fn close_all_shuts_connections_and_waits_until_their_slots_are_freed() {
        let connections = Arc::new(Connections::new(4, Codec::Json));
        let (stream, _peer) = connection();
        let slot = connections.try_acquire(&stream).unwrap();
        let let_go = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&let_go);
        // A connection thread, blocked reading until the socket is shut.
        thread::spawn(move || {
            let _ = (&*stream).read(&mut [0u8; 16]);
            flag.store(true, Ordering::SeqCst);
            drop(slot);
        });
        connections.close_all();
        assert!(let_go.load(Ordering::SeqCst));
        assert!(connections.try_acquire(&connection().0).is_some());
    }

    #[test]
    fn close_all_returns_at_once_when_nothing_is_open() {
        Connections::new(1, Codec::Json).close_all();
    }
}
