//! Accepting, on both ports: each connection gets a slot under the cap and
//! a thread of its own, or, over the cap, one `ko` and the door. A request
//! connection's thread is its life in `requests`; a broadcast connection is
//! subscribed to the hub on the accept thread (so that a join naming it is
//! answered only once it is registered), then served by its own thread.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use super::super::broadcast::{BACKLOG_BYTES, Ended, Hub, Subscription};
use super::connections::{Connections, Slot};
use super::requests::serve_request_connection;
use super::{Publisher, Service};
use crate::server::tap::Refusal;
use crate::wire::zmtp::{self, SocketType};
use crate::wire::{Response, Wire};

/// Stack of each connection thread. Parsing is bounded (serde_json stops at
/// 128 levels, frames are refused past 32), so a small stack keeps a
/// thousand connections cheap; debug builds need the larger frames.
const STACK_SIZE: usize = if cfg!(debug_assertions) {
    1024 * 1024
} else {
    256 * 1024
};

/// Pause after a failed `accept` (out of file descriptors, say), so the
/// accept loop does not spin; also how long stopping waits for the
/// connection that wakes an accept loop.
pub(super) const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The broadcast port's name in logs (and the tap's count of subscribers).
const BROADCAST: &str = "broadcast";

/// Work to run on a connection's own thread.
type ConnectionJob = Box<dyn FnOnce() + Send>;

/// Accepts connections until the server stops. `admit` runs on the accept
/// thread, so what it does (subscribing a broadcast connection) happens
/// before the next accept; the job it returns, if any, runs on a thread of
/// the connection's own. Connections over the cap get one `ko` and are closed.
fn accept_loop<F>(
    listener: &TcpListener,
    connections: &Arc<Connections>,
    stopping: &AtomicBool,
    role: &'static str,
    admit: F,
) where
    F: Fn(Arc<TcpStream>, Slot) -> Option<ConnectionJob>,
{
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match stream {
            Ok(stream) => Arc::new(stream),
            Err(e) => {
                log::warn!("{role} port: cannot accept a connection: {e}");
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        let Some(mut slot) = connections.try_acquire(&stream) else {
            refuse_over_cap(&stream, connections, role);
            continue;
        };
        slot.counted = Some(connections.tap.connection(role == BROADCAST));
        let _ = stream.set_nodelay(true);
        let name = format!("{role}-{}", slot.id.0);
        if let Some(job) = admit(stream, slot) {
            spawn_connection_thread(name, job, role);
        }
    }
}

fn spawn_connection_thread(name: String, job: ConnectionJob, role: &str) {
    let spawned = thread::Builder::new()
        .name(name)
        .stack_size(STACK_SIZE)
        .spawn(job);
    if let Err(e) = spawned {
        log::error!("{role} port: cannot start a connection thread: {e}");
    }
}

/// Tells a connection over the cap why it is refused, without ever blocking
/// the accept loop, then closes it.
fn refuse_over_cap(stream: &TcpStream, connections: &Connections, role: &str) {
    let max = connections.max;
    log::warn!("{role} port: refused a connection: {max} connections already open");
    let reason = format!("server full: {max} connections already open");
    connections.tap.refused(Refusal::Full, role, &reason);
    let codec = connections.codec;
    let out = match codec.wire() {
        Wire::Json => {
            let mut out = Vec::new();
            codec.push_frame_with(&mut out, |o| {
                codec.encode_response(&Response::ko(&reason), o)
            });
            out
        }
        // No frame may come before the handshake: ZMTP's ERROR command says it.
        Wire::Zmq => zmtp::refusal(&reason),
    };
    if stream.set_nonblocking(true).is_ok() {
        let _ = (&*stream).write(&out);
        let _ = stream.shutdown(Shutdown::Write);
        // Read what the peer already sent, so closing does not reset the
        // connection before it reads our line.
        let _ = (&*stream).read(&mut [0u8; 4096]);
    }
}

/// The broadcast port's accept loop.
pub(super) fn accept_subscribers(
    listener: &TcpListener,
    hub: &Arc<Hub>,
    connections: &Arc<Connections>,
    stopping: &AtomicBool,
) {
    accept_loop(
        listener,
        connections,
        stopping,
        BROADCAST,
        |stream, slot| {
            let address = stream.peer_addr().ok();
            let peer = address.map_or_else(|| "an unknown peer".to_owned(), |a| a.to_string());
            if hub.codec().wire() == Wire::Zmq {
                return Some(greet_then_serve(
                    Arc::clone(hub),
                    stream,
                    address,
                    slot,
                    peer,
                ));
            }
            let subscription = subscribe(hub, stream, address, &slot, &peer)?;
            Some(Box::new(move || {
                serve_subscriber(subscription, slot, &peer)
            }))
        },
    );
}

/// Registers a broadcast connection with the hub; `None` if the hub refuses.
fn subscribe(
    hub: &Arc<Hub>,
    stream: Arc<TcpStream>,
    address: Option<SocketAddr>,
    slot: &Slot,
    peer: &str,
) -> Option<Subscription> {
    hub.subscribe(stream, address)
        .inspect_err(|e| log::warn!("cannot serve subscriber {} from {peer}: {e}", slot.id))
        .ok()
}

/// A ZeroMQ subscriber's job: the handshake, which waits on the peer and so
/// never runs on the accept thread, then the subscription.
fn greet_then_serve(
    hub: Arc<Hub>,
    stream: Arc<TcpStream>,
    address: Option<SocketAddr>,
    slot: Slot,
    peer: String,
) -> ConnectionJob {
    Box::new(move || {
        if let Err(e) = zmtp::handshake(&stream, SocketType::Pub, zmtp::HANDSHAKE_TIMEOUT) {
            log::warn!(
                "subscriber {} from {peer}: ZMTP handshake failed: {e}",
                slot.id
            );
            return;
        }
        if let Some(subscription) = subscribe(&hub, stream, address, &slot, &peer) {
            serve_subscriber(subscription, slot, &peer);
        }
    })
}

/// A subscriber's own thread, until its connection ends.
fn serve_subscriber(subscription: Subscription, slot: Slot, peer: &str) {
    log::debug!("subscriber {} connected from {peer}", slot.id);
    match subscription.serve() {
        Ended::Closed => log::debug!("subscriber {} from {peer} left", slot.id),
        Ended::TooSlow => log::warn!(
            "subscriber {} from {peer} disconnected: it fell more than {} bytes behind",
            slot.id,
            BACKLOG_BYTES
        ),
        Ended::Io(e) => log::debug!("subscriber {} from {peer} lost: {e}", slot.id),
    }
}

/// The request port's accept loop.
pub(super) fn accept_requests<S: Service>(
    listener: &TcpListener,
    service: &Arc<S>,
    publisher: &Publisher,
    connections: &Arc<Connections>,
    stopping: &AtomicBool,
) {
    accept_loop(
        listener,
        connections,
        stopping,
        "request",
        |stream, slot| {
            let (service, publisher) = (Arc::clone(service), publisher.clone());
            Some(Box::new(move || {
                serve_request_connection(stream, slot, &*service, publisher);
            }))
        },
    );
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;
    use std::sync::mpsc;
    use std::thread::JoinHandle;

    use super::*;
    use crate::server::test_sockets::read_lines;
    use crate::wire::Codec;

    /// An accept loop on a port of its own, run on a thread until stopped.
    struct Loop {
        addr: SocketAddr,
        stopping: Arc<AtomicBool>,
        thread: JoinHandle<()>,
    }

    impl Loop {
        fn start<F>(connections: &Arc<Connections>, admit: F) -> Self
        where
            F: Fn(Arc<TcpStream>, Slot) -> Option<ConnectionJob> + Send + 'static,
        {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let stopping = Arc::new(AtomicBool::new(false));
            let (connections, flag) = (Arc::clone(connections), Arc::clone(&stopping));
            let thread = thread::spawn(move || {
                accept_loop(&listener, &connections, &flag, "test", admit);
            });
            Self {
                addr,
                stopping,
                thread,
            }
        }

        /// Raises the flag, wakes the loop with a connection, and joins it.
        fn stop(self) {
            self.stopping.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(self.addr);
            self.thread.join().unwrap();
        }
    }

    /// A loop that keeps every admitted connection open, and says so.
    fn holding_loop(max: usize, codec: Codec) -> (Loop, mpsc::Receiver<(Arc<TcpStream>, Slot)>) {
        let connections = Arc::new(Connections::new(max, codec));
        let (admitted, held) = mpsc::channel();
        let admit = move |stream, slot| {
            admitted.send((stream, slot)).unwrap();
            None
        };
        (Loop::start(&connections, admit), held)
    }

    fn read_to_end(mut stream: TcpStream) -> Vec<u8> {
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn a_connection_over_the_cap_is_told_why_and_closed() {
        let (accepting, held) = holding_loop(1, Codec::Json);
        let _first = TcpStream::connect(accepting.addr).unwrap();
        let _kept = held.recv().unwrap();
        let second = TcpStream::connect(accepting.addr).unwrap();
        let refusal = read_to_end(second);
        let expected =
            "{\"response\":\"ko\",\"error\":\"server full: 1 connections already open\"}\n";
        assert_eq!(String::from_utf8_lossy(&refusal), expected);
        accepting.stop();
    }

    #[test]
    fn on_the_zeromq_wire_the_refusal_is_a_zmtp_error() {
        let (accepting, held) = holding_loop(1, Codec::Pickle);
        let _first = TcpStream::connect(accepting.addr).unwrap();
        let _kept = held.recv().unwrap();
        let refusal = read_to_end(TcpStream::connect(accepting.addr).unwrap());
        assert_eq!(
            refusal,
            zmtp::refusal("server full: 1 connections already open")
        );
        accepting.stop();
    }

    #[test]
    fn a_freed_slot_admits_the_next_connection() {
        let (accepting, held) = holding_loop(1, Codec::Json);
        let _first = TcpStream::connect(accepting.addr).unwrap();
        drop(held.recv().unwrap());
        let _second = TcpStream::connect(accepting.addr).unwrap();
        let (_, slot) = held.recv().unwrap();
        assert!(slot.id.0 > 1);
        accepting.stop();
    }

    #[test]
    fn each_admitted_job_runs_on_a_thread_named_after_its_connection() {
        let connections = Arc::new(Connections::new(4, Codec::Json));
        let (ran, names) = mpsc::channel();
        let accepting = Loop::start(&connections, move |_stream, slot| {
            let ran = ran.clone();
            Some(Box::new(move || {
                let name = thread::current().name().map(str::to_owned);
                ran.send((name, slot.id)).unwrap();
            }))
        });
        let _peer = TcpStream::connect(accepting.addr).unwrap();
        let (name, id) = names.recv().unwrap();
        assert_eq!(name, Some(format!("test-{}", id.0)));
        accepting.stop();
    }

    #[test]
    fn the_loop_returns_once_stopping_without_admitting_anyone() {
        let (accepting, held) = holding_loop(4, Codec::Json);
        accepting.stop();
        assert!(held.recv().is_err());
    }

    #[test]
    fn a_broadcast_connection_is_subscribed_then_fed() {
        let hub = Hub::new(Codec::Json);
        let _broadcaster = hub.start_broadcaster().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Connections::new(4, Codec::Json));
        let (stopping, accepting_hub) = (Arc::new(AtomicBool::new(false)), Arc::clone(&hub));
        let flag = Arc::clone(&stopping);
        let accepting = thread::spawn(move || {
            accept_subscribers(&listener, &accepting_hub, &connections, &flag);
        });
        let client = TcpStream::connect(addr).unwrap();
        let from = client.local_addr().unwrap();
        assert!(hub.wait_for_subscriber(from, Duration::from_secs(30)));
        hub.publish(&[b"hello\n"]).unwrap();
        assert_eq!(read_lines(&mut BufReader::new(client), 1), ["hello\n"]);
        stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(addr);
        accepting.join().unwrap();
        hub.close();
    }
}
