//! A running server, as tiny_http's `Server` and mini-redis's
//! `run(listener, shutdown)`: the handle says where the server listens, and
//! stops it, closing every connection and joining every thread, so tests run
//! servers in process and a binary stops cleanly on Ctrl-C (through a
//! [`Stopper`], which another thread can hold).

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::super::broadcast::Hub;
use super::Service;
use super::accept::ACCEPT_BACKOFF;
use super::connections::Connections;
use crate::server::tap::Tap;

/// A running server. Dropping it stops the server too.
pub struct ServerHandle {
    pub(super) request_addr: SocketAddr,
    pub(super) broadcast_addr: SocketAddr,
    pub(super) stop: StopSignal,
    pub(super) acceptors: Vec<JoinHandle<()>>,
    pub(super) broadcaster: Option<JoinHandle<()>>,
    pub(super) hub: Arc<Hub>,
    pub(super) connections: Arc<Connections>,
    pub(super) service: Arc<dyn Service>,
}

impl ServerHandle {
    pub fn request_addr(&self) -> SocketAddr {
        self.request_addr
    }

    pub fn broadcast_addr(&self) -> SocketAddr {
        self.broadcast_addr
    }

    /// The line servers print on stdout once both ports listen.
    pub fn listening_line(&self) -> String {
        format!(
            "listening on {} (requests) and {} (broadcast)",
            self.request_addr, self.broadcast_addr
        )
    }

    /// What the server records for the teacher's view: follow it with
    /// [`Tap::reader`].
    pub fn tap(&self) -> Tap {
        self.connections.tap.clone()
    }

    /// Something another thread (a Ctrl-C handler) can stop the server with.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Stops the server: no new connection is accepted, every open one is
    /// closed, every thread is joined.
    pub fn stop(mut self) {
        self.stop.raise();
        self.shut_down();
    }

    /// Serves until a [`Stopper`] says stop, then stops as [`stop`](Self::stop).
    pub fn wait(mut self) {
        self.stop.wait();
        self.shut_down();
    }

    /// Accepting stops first, so that no connection opens while the open
    /// ones are closed; then the broadcaster, the connections, the service.
    fn shut_down(&mut self) {
        let Some(broadcaster) = self.broadcaster.take() else {
            return;
        };
        for addr in [self.request_addr, self.broadcast_addr] {
            // An accept loop blocked in `accept` wakes on a connection.
            let _ = TcpStream::connect_timeout(&addr, ACCEPT_BACKOFF);
        }
        for acceptor in self.acceptors.drain(..) {
            let _ = acceptor.join();
        }
        self.hub.close();
        let _ = broadcaster.join();
        self.connections.close_all();
        self.service.on_stop();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.raise();
        self.shut_down();
    }
}

/// Asks a running server to stop; cheap to clone.
#[derive(Clone)]
pub struct Stopper(StopSignal);

impl Stopper {
    pub fn stop(&self) {
        self.0.raise();
    }
}

/// The flag the accept loops check, and a way to wait for it.
#[derive(Clone)]
pub(super) struct StopSignal {
    stopping: Arc<AtomicBool>,
    raised: Arc<(Mutex<bool>, Condvar)>,
}

impl StopSignal {
    /// A signal that raises `stopping`, the accept loops' flag.
    pub(super) fn new(stopping: Arc<AtomicBool>) -> Self {
        Self {
            stopping,
            raised: Arc::default(),
        }
    }

    fn raise(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let (raised, signal) = &*self.raised;
        *raised.lock().unwrap_or_else(PoisonError::into_inner) = true;
        signal.notify_all();
    }

    fn wait(&self) {
        let (raised, signal) = &*self.raised;
        let guard = raised.lock().unwrap_or_else(PoisonError::into_inner);
        let _raised = signal
            .wait_while(guard, |raised| !*raised)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::AtomicUsize;
    use std::thread;

    use super::super::{BaseServer, Reply, ServerConfig, Session};
    use super::*;
    use crate::server::test_sockets::read_lines;
    use crate::wire::Request;

    /// Answers `ok`, and counts closed connections and stops.
    #[derive(Default)]
    struct Counting {
        closes: AtomicUsize,
        stops: AtomicUsize,
    }

    impl Service for Counting {
        fn on_recv<'a>(&self, _session: &Session, _request: Request<'a>) -> Reply<'a> {
            Reply::ok()
        }

        fn on_close(&self, _session: &Session) {
            self.closes.fetch_add(1, Ordering::SeqCst);
        }

        fn on_stop(&self) {
            self.stops.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn spawn() -> (ServerHandle, Arc<Counting>) {
        let service = Arc::new(Counting::default());
        let server = BaseServer::bind(&ServerConfig::local()).unwrap();
        (server.spawn(Arc::clone(&service)).unwrap(), service)
    }

    /// A request connection that has been answered once, so it is served.
    fn served_connection(handle: &ServerHandle) -> TcpStream {
        let mut client = TcpStream::connect(handle.request_addr()).unwrap();
        client.write_all(b"{\"type\":\"list\"}\n").unwrap();
        let mut reader = BufReader::new(client.try_clone().unwrap());
        assert_eq!(read_lines(&mut reader, 1), ["{\"response\":\"ok\"}\n"]);
        client
    }

    #[test]
    fn stop_closes_every_connection_before_the_service_stops() {
        let (handle, service) = spawn();
        let mut client = served_connection(&handle);
        handle.stop();
        assert_eq!(service.closes.load(Ordering::SeqCst), 1);
        assert_eq!(service.stops.load(Ordering::SeqCst), 1);
        assert_eq!(client.read(&mut [0u8; 16]).unwrap(), 0);
    }

    #[test]
    fn stop_frees_both_ports() {
        let (handle, _service) = spawn();
        let addrs = [handle.request_addr(), handle.broadcast_addr()];
        handle.stop();
        for addr in addrs {
            TcpListener::bind(addr).unwrap();
        }
    }

    #[test]
    fn a_stopper_on_another_thread_ends_wait() {
        let (handle, service) = spawn();
        let stopper = handle.stopper();
        thread::spawn(move || stopper.stop());
        handle.wait();
        assert_eq!(service.stops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn dropping_the_handle_stops_the_server_once() {
        let (handle, service) = spawn();
        drop(handle);
        assert_eq!(service.stops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_listening_line_names_both_ports() {
        let (handle, _service) = spawn();
        let line = handle.listening_line();
        assert!(line.contains(&format!("{} (requests)", handle.request_addr())));
        assert!(line.contains(&format!("{} (broadcast)", handle.broadcast_addr())));
    }

    #[test]
    fn a_signal_raised_before_the_wait_is_not_missed() {
        let stopping = Arc::new(AtomicBool::new(false));
        let signal = StopSignal::new(Arc::clone(&stopping));
        signal.clone().raise();
        signal.wait();
        assert!(stopping.load(Ordering::SeqCst));
    }
}
