//! The server's transport, as Python's `BaseServer`: a request port and a
//! broadcast port, and a callback that turns each request into a response
//! and, maybe, a frame to broadcast.
//!
//! Python's `update(on_recv)` polled one REP socket; here each request
//! connection has its own thread, which reads frames, decodes them, calls
//! [`Service::on_recv`], publishes the broadcast (if any) and writes the
//! response. The chat logic lives in the [`Service`] (`simple_server`,
//! `rogue_server`), the transport here: what Python did by subclassing, Rust
//! does by handing a service to [`BaseServer::spawn`]. A request that cannot
//! be decoded never reaches the service: it is logged and answered `ko`, as
//! Python's `update` logged the exception and answered empty.
//!
//! [`BaseServer::spawn`] returns a [`ServerHandle`], as tiny_http's `Server`
//! and mini-redis's `run(listener, shutdown)`: it says where the server
//! listens, and stops it, closing every connection and joining every thread,
//! so tests run servers in process and a binary stops cleanly on Ctrl-C.
//!
//! Limits enforced here (PROTOCOL.md sections 1 and 5): frames of at most
//! [`MAX_LINE`] bytes, at most `max_connections` connections on both ports
//! together, and no lasting cost for a connection that dies in the middle of
//! a frame. Nothing else closes a connection: one that stalls mid-line, or
//! never reads its responses, holds its thread and its slot under the cap
//! until it closes, as the contract wants; the cap bounds what that costs.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::broadcast::{Ended, Hub};
use crate::wire::framing::{FramingError, MAX_LINE};
use crate::wire::zmtp::{self, SocketType, ZmtpError};
use crate::wire::{Codec, Connection, Reason, Request, Response, Wire, ZmqBody};

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 6666;
pub const DEFAULT_BROADCAST_PORT: u16 = 6667;
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Stack of each connection thread. Parsing is bounded (serde_json stops at
/// 128 levels, frames are refused past 32), so a small stack keeps a
/// thousand connections cheap; debug builds need the larger frames.
const STACK_SIZE: usize = if cfg!(debug_assertions) {
    1024 * 1024
} else {
    256 * 1024
};

/// Most bytes read and discarded from a connection refused for a framing
/// error, and how long to wait for each read, before closing it.
const DRAIN_LIMIT: usize = 1024 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_millis(200);

/// Bytes of answers a request connection may have queued before they are
/// written, even while further requests are already buffered: pipelined
/// requests are answered in writes of about this size, so a connection
/// holds at most this plus one answer (at most [`MAX_LINE`] + 1 bytes),
/// whatever it sends. See docs/ROBUSTNESS.md for the whole bound.
pub const OUT_BUDGET: usize = 32 * 1024;

/// Pause after a failed `accept` (out of file descriptors, say), so the
/// accept loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Where to listen, on which wire, and how many connections to allow.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub broadcast_port: u16,
    pub max_connections: usize,
    /// JSON lines (the default) or the original's ZeroMQ wire.
    pub wire: Wire,
    /// On the ZeroMQ wire, how this server's own frames (broadcasts) are
    /// serialised: pickle as the original's SimpleServer, msgpack as its
    /// AEServer. Answers take the serialisation of their request.
    pub zmq_body: ZmqBody,
}

impl ServerConfig {
    /// `host`, both ports, and the default connection cap.
    pub fn new(host: impl Into<String>, port: u16, broadcast_port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            broadcast_port,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            wire: Wire::Json,
            zmq_body: ZmqBody::Pickle,
        }
    }

    /// The same, on `wire`.
    pub fn on_wire(mut self, wire: Wire) -> Self {
        self.wire = wire;
        self
    }

    /// The same, serialising its own frames on the ZeroMQ wire as `body`.
    pub fn with_zmq_body(mut self, body: ZmqBody) -> Self {
        self.zmq_body = body;
        self
    }

    /// How this server's frames are serialised and framed.
    pub fn codec(&self) -> Codec {
        self.wire.codec(self.zmq_body)
    }

    /// Loopback, on ports the system picks: for tests and the lab tooling.
    pub fn local() -> Self {
        Self::new(DEFAULT_HOST, 0, 0)
    }
}

/// Identifies a connection for the lifetime of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The request connection a request came from. Python's REQ/REP had no such
/// notion; the guarded mode needs it to know who owns a nick.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: ConnectionId,
    pub peer: SocketAddr,
    /// The server's broadcast side, for services that need it.
    pub broadcast: Publisher,
}

/// What a service makes of one request: Python's `(broadcast, response)`.
#[derive(Debug)]
pub struct Reply<'a> {
    pub response: Response,
    /// What to publish before the response is sent.
    pub broadcast: Option<Relay<'a>>,
}

/// What a reply broadcasts.
#[derive(Debug)]
pub enum Relay<'a> {
    /// The request's frame as it was received: every field its sender put
    /// in it.
    Received,
    /// A frame of the service's own making (the rogue server's forgeries).
    Frame(Request<'a>),
}

impl<'a> Reply<'a> {
    pub fn ok() -> Self {
        Self::respond(Response::Ok)
    }

    pub fn ko(reason: impl fmt::Display) -> Self {
        Self::respond(Response::ko(reason))
    }

    pub fn respond(response: Response) -> Self {
        Self {
            response,
            broadcast: None,
        }
    }

    /// `ok`, after publishing `relay`.
    pub fn broadcast(relay: Relay<'a>) -> Self {
        Self {
            response: Response::Ok,
            broadcast: Some(relay),
        }
    }
}

/// Logs a refused request and answers it `ko`, the reason bounded in both.
pub fn refused(session: &Session, what: &str, reason: impl fmt::Display) -> Reply<'static> {
    let reason = Reason::new(reason);
    log::warn!(
        "refused {what} from {} ({}): {reason}",
        session.id,
        session.peer
    );
    Reply::respond(Response::Ko(reason))
}

/// The chat logic plugged into a [`BaseServer`].
pub trait Service: Send + Sync + 'static {
    /// Python's `on_recv(packet)`, once the packet is decoded: one request
    /// in, one reply out.
    fn on_recv<'a>(&self, session: &Session, request: Request<'a>) -> Reply<'a>;

    /// Called once when a request connection closes, however it closes.
    fn on_close(&self, _session: &Session) {}

    /// Called once the server has stopped, to end what the service runs
    /// of its own (the rogue server's replays).
    fn on_stop(&self) {}
}

/// Publishes frames to every broadcast subscriber; cheap to clone. Services
/// that broadcast outside `on_recv` (the rogue server's delayed replays) keep one.
#[derive(Clone)]
pub struct Publisher {
    hub: Arc<Hub>,
    codec: Codec,
}

impl Publisher {
    /// Broadcasts a frame of the service's making.
    pub fn publish(&self, frame: &Request<'_>) {
        self.publish_bytes(&self.codec.request_bytes(frame));
    }

    /// Broadcasts what a reply says, `received` being the request's frame;
    /// an error if the frame cannot be relayed as received.
    fn relay(&self, received: &[u8], relay: &Relay<'_>) -> Result<(), crate::wire::FrameError> {
        match relay {
            Relay::Received => self.publish_bytes(&self.codec.relayed(received)?),
            Relay::Frame(frame) => self.publish(frame),
        }
        Ok(())
    }

    fn publish_bytes(&self, body: &[u8]) {
        let mut header = [0u8; 9];
        if self
            .hub
            .publish(&self.codec.frame_parts(body, &mut header))
            .is_err()
        {
            log::error!(
                "not broadcast: a {}-byte frame does not fit the backlog",
                body.len()
            );
        }
    }

    pub fn subscriber_count(&self) -> usize {
        self.hub.subscriber_count()
    }

    /// See [`Hub::wait_for_subscriber`].
    pub fn wait_for_subscriber(&self, peer: SocketAddr, timeout: Duration) -> bool {
        self.hub.wait_for_subscriber(peer, timeout)
    }
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Publisher({} subscribers)", self.subscriber_count())
    }
}

/// Both listening sockets, bound and ready to serve.
pub struct BaseServer {
    requests: TcpListener,
    broadcasts: TcpListener,
    hub: Arc<Hub>,
    connections: Arc<Connections>,
    codec: Codec,
}

impl BaseServer {
    /// Binds both ports (port 0 lets the system choose).
    pub fn bind(config: &ServerConfig) -> io::Result<Self> {
        let requests = bind_listener(&config.host, config.port)?;
        let broadcasts = bind_listener(&config.host, config.broadcast_port)?;
        let codec = config.codec();
        Ok(Self {
            requests,
            broadcasts,
            hub: Hub::new(codec),
            connections: Arc::new(Connections::new(config.max_connections, codec)),
            codec,
        })
    }

    pub fn request_addr(&self) -> io::Result<SocketAddr> {
        self.requests.local_addr()
    }

    pub fn broadcast_addr(&self) -> io::Result<SocketAddr> {
        self.broadcasts.local_addr()
    }

    pub fn publisher(&self) -> Publisher {
        Publisher {
            hub: Arc::clone(&self.hub),
            codec: self.codec,
        }
    }

    /// Starts serving on threads of its own: an accept thread per port, a
    /// thread per connection, the broadcaster. The handle stops them.
    pub fn spawn<S: Service>(self, service: Arc<S>) -> io::Result<ServerHandle> {
        let addrs = (self.request_addr()?, self.broadcast_addr()?);
        let stopping = Arc::new(AtomicBool::new(false));
        let broadcaster = self.hub.start_broadcaster()?;
        let subscribers = self.spawn_subscriber_acceptor(&stopping)?;
        let requests = self.spawn_request_acceptor(&stopping, &service)?;
        Ok(ServerHandle {
            request_addr: addrs.0,
            broadcast_addr: addrs.1,
            stop: StopSignal::new(stopping),
            acceptors: vec![requests, subscribers],
            broadcaster: Some(broadcaster),
            hub: self.hub,
            connections: self.connections,
            service,
        })
    }

    fn spawn_subscriber_acceptor(&self, stopping: &Arc<AtomicBool>) -> io::Result<JoinHandle<()>> {
        let listener = self.broadcasts.try_clone()?;
        let (hub, connections) = (Arc::clone(&self.hub), Arc::clone(&self.connections));
        let stopping = Arc::clone(stopping);
        thread::Builder::new()
            .name("accept-broadcast".into())
            .spawn(move || accept_subscribers(&listener, &hub, &connections, &stopping))
    }

    fn spawn_request_acceptor<S: Service>(
        &self,
        stopping: &Arc<AtomicBool>,
        service: &Arc<S>,
    ) -> io::Result<JoinHandle<()>> {
        let listener = self.requests.try_clone()?;
        let connections = Arc::clone(&self.connections);
        let (service, publisher) = (Arc::clone(service), self.publisher());
        let stopping = Arc::clone(stopping);
        thread::Builder::new()
            .name("accept-requests".into())
            .spawn(move || {
                accept_requests(&listener, &service, &publisher, &connections, &stopping);
            })
    }
}

fn bind_listener(host: &str, port: u16) -> io::Result<TcpListener> {
    TcpListener::bind((host, port))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {host}:{port}: {e}")))
}

/// A running server. Dropping it stops the server too.
pub struct ServerHandle {
    request_addr: SocketAddr,
    broadcast_addr: SocketAddr,
    stop: StopSignal,
    acceptors: Vec<JoinHandle<()>>,
    broadcaster: Option<JoinHandle<()>>,
    hub: Arc<Hub>,
    connections: Arc<Connections>,
    service: Arc<dyn Service>,
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
struct StopSignal {
    stopping: Arc<AtomicBool>,
    raised: Arc<(Mutex<bool>, Condvar)>,
}

impl StopSignal {
    fn new(stopping: Arc<AtomicBool>) -> Self {
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

/// The open connections, on both ports, under the cap. Each is registered
/// with its socket, so that stopping the server can close them all.
struct Connections {
    open: Mutex<HashMap<ConnectionId, Arc<TcpStream>>>,
    emptied: Condvar,
    max: usize,
    next_id: AtomicU64,
    codec: Codec,
}

/// One open connection's place under the cap; freed on drop.
struct Slot {
    connections: Arc<Connections>,
    id: ConnectionId,
}

impl Connections {
    fn new(max: usize, codec: Codec) -> Self {
        Self {
            open: Mutex::default(),
            emptied: Condvar::new(),
            max,
            next_id: AtomicU64::new(1),
            codec,
        }
    }

    fn try_acquire(self: &Arc<Self>, stream: &Arc<TcpStream>) -> Option<Slot> {
        let mut open = self.lock();
        if open.len() >= self.max {
            return None;
        }
        let id = ConnectionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        open.insert(id, Arc::clone(stream));
        Some(Slot {
            connections: Arc::clone(self),
            id,
        })
    }

    /// Shuts every open connection down, and waits until their threads
    /// have let go of them.
    fn close_all(&self) {
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

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.connections.lock();
        open.remove(&self.id);
        if open.is_empty() {
            self.connections.emptied.notify_all();
        }
    }
}

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
        let Some(slot) = connections.try_acquire(&stream) else {
            refuse_over_cap(&stream, connections, role);
            continue;
        };
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

fn accept_subscribers(
    listener: &TcpListener,
    hub: &Arc<Hub>,
    connections: &Arc<Connections>,
    stopping: &AtomicBool,
) {
    accept_loop(
        listener,
        connections,
        stopping,
        "broadcast",
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
) -> Option<super::broadcast::Subscription> {
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
fn serve_subscriber(subscription: super::broadcast::Subscription, slot: Slot, peer: &str) {
    log::debug!("subscriber {} connected from {peer}", slot.id);
    match subscription.serve() {
        Ended::Closed => log::debug!("subscriber {} from {peer} left", slot.id),
        Ended::TooSlow => log::warn!(
            "subscriber {} from {peer} disconnected: it fell more than {} bytes behind",
            slot.id,
            super::broadcast::BACKLOG_BYTES
        ),
        Ended::Io(e) => log::debug!("subscriber {} from {peer} lost: {e}", slot.id),
    }
}

fn accept_requests<S: Service>(
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

/// A request connection's thread, from the handshake (on the ZeroMQ wire)
/// to `on_close`. The slot is held, not just its id, until it ends.
fn serve_request_connection<S: Service>(
    stream: Arc<TcpStream>,
    slot: Slot,
    service: &S,
    broadcast: Publisher,
) {
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let session = Session {
        id: slot.id,
        peer,
        broadcast,
    };
    log::debug!("request connection {} opened from {peer}", session.id);
    let connection = match open_connection(stream, session.broadcast.codec) {
        Ok(connection) => connection,
        Err(e) => {
            let id = session.id;
            log::warn!("request connection {id} from {peer}: ZMTP handshake failed: {e}");
            return;
        }
    };
    let ended = serve_requests(connection, service, &session);
    service.on_close(&session);
    log::debug!(
        "request connection {} from {peer} closed: {ended}",
        session.id
    );
}

/// A request connection on the server's wire: as is for JSON lines, after
/// the ZMTP handshake (as a REP socket) for ZeroMQ.
fn open_connection(stream: Arc<TcpStream>, codec: Codec) -> io::Result<Connection> {
    match codec.wire() {
        Wire::Json => Ok(Connection::from_shared(stream)),
        Wire::Zmq => Connection::zmtp(stream, SocketType::Rep, zmtp::HANDSHAKE_TIMEOUT),
    }
}

/// How a request connection ended, for the log.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("by the peer")]
    ByPeer,
    #[error("by the server: {0}")]
    Refused(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The request connection's thread: frames in, replies out, until it closes.
///
/// Responses to requests that arrived together are written together: the
/// output is flushed when no further whole frame is waiting, or once
/// [`OUT_BUDGET`] bytes are queued.
fn serve_requests<S: Service>(
    mut connection: Connection,
    service: &S,
    session: &Session,
) -> Closed {
    let codec = session.broadcast.codec;
    loop {
        let frame = match connection.reader.read_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => return Closed::ByPeer,
            // No read timeout is set; should the socket report one, wait on.
            Err(FramingError::TimedOut { .. }) => continue,
            Err(e) => return refuse(&mut connection, e, codec),
        };
        let (response, answer_codec) = handle(frame, service, session);
        connection
            .writer
            .queue(|out| answer_codec.encode_response(&response, out));
        if connection.writer.pending() >= OUT_BUDGET || !connection.reader.has_buffered_frame() {
            if let Err(e) = connection.writer.flush() {
                return Closed::Io(e);
            }
        }
    }
}

/// One request: decoded, handed to the service, its broadcast published
/// before its response is returned, so `ok` means "queued for every
/// subscriber connected now". Returns the response and the codec to write
/// it in: the request's (on the ZeroMQ wire, pickle or msgpack, whichever
/// the client sent).
fn handle<S: Service>(frame: &[u8], service: &S, session: &Session) -> (Response, Codec) {
    let codec = session.broadcast.codec.reading(frame);
    let reply = match codec.decode_request(frame) {
        Ok(request) => service.on_recv(session, request),
        Err(e) => refused(session, "request", e),
    };
    if let Some(relay) = &reply.broadcast {
        if let Err(e) = session.broadcast.relay(frame, relay) {
            return (refused(session, "message", e).response, codec);
        }
    }
    (reply.response, codec)
}

/// Answers a frame over the limit with one `ko`, after any responses still
/// pending, and ends the connection; other framing errors end it without a
/// word (the peer is gone).
fn refuse(connection: &mut Connection, error: FramingError, codec: Codec) -> Closed {
    let reason = match error {
        FramingError::TooLong => {
            format!("line longer than {MAX_LINE} bytes; closing the connection")
        }
        FramingError::Truncated { .. } | FramingError::TimedOut { .. } => return Closed::ByPeer,
        FramingError::Io(e) => match ZmtpError::of(&e) {
            Some(too_long @ ZmtpError::TooLong { .. }) => {
                format!("{too_long}; closing the connection")
            }
            _ => return Closed::Io(e),
        },
    };
    let refusal = Response::ko(&reason);
    connection
        .writer
        .queue(|out| codec.encode_response(&refusal, out));
    let _ = connection.writer.flush();
    drain_before_close(connection.stream());
    Closed::Refused(reason)
}

/// Reads and discards what the peer is still sending (the rest of an
/// over-long line, say), within bounds, before the connection is closed:
/// closing a socket with unread input makes the kernel reset the
/// connection, which may destroy our last line before the peer reads it.
fn drain_before_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    if stream.set_read_timeout(Some(DRAIN_TIMEOUT)).is_err() {
        return;
    }
    let mut scratch = [0u8; 16 * 1024];
    let mut drained = 0;
    while drained < DRAIN_LIMIT {
        match (&*stream).read(&mut scratch) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}
