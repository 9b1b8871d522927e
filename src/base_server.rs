//! The server's transport, as Python's `BaseServer`: a request port and a
//! broadcast port, and a callback that turns each request into a response
//! and, maybe, a line to broadcast.
//!
//! Python's `update(on_recv)` polled one REP socket; here each request
//! connection has its own thread, which reads lines, calls
//! [`Service::on_recv`], publishes the broadcast (if any) to the [`Hub`] and
//! writes the response. The chat logic lives in the [`Service`]
//! (`simple_server`, `rogue_server`), the transport here: what Python did by
//! subclassing, Rust does by handing a service to [`BaseServer::serve`].
//!
//! Limits enforced here (PROTOCOL.md sections 1 and 5): lines of at most
//! [`MAX_LINE`] bytes, at most `max_connections` connections on both ports
//! together, and no lasting cost for a connection that dies in the middle of
//! a line. Nothing else closes a connection: one that stalls mid-line, or
//! never reads its responses, holds its thread and its slot under the cap
//! until it closes, as the contract wants; the cap bounds what that costs.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crate::broadcast::{self, Ended, Hub};
use crate::frame::Response;
use crate::framing::{FramingError, LineReader, MAX_LINE};

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

/// Pause after a failed `accept` (out of file descriptors, say), so the
/// accept loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Where to listen, and how many connections to allow.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub broadcast_port: u16,
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            broadcast_port: DEFAULT_BROADCAST_PORT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Identifies a request connection for the lifetime of the server.
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
    /// A line (without `\n`) to publish before the response is sent.
    pub broadcast: Option<Cow<'a, [u8]>>,
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

    /// `ok`, after publishing `line`.
    pub fn broadcast(line: impl Into<Cow<'a, [u8]>>) -> Self {
        Self {
            response: Response::Ok,
            broadcast: Some(line.into()),
        }
    }
}

/// The chat logic plugged into a [`BaseServer`].
pub trait Service: Send + Sync + 'static {
    /// Python's `on_recv(packet)`: one request line in, one reply out.
    fn on_recv<'a>(&self, session: &Session, packet: &'a [u8]) -> Reply<'a>;

    /// Called once when a request connection closes, however it closes.
    fn on_close(&self, _session: &Session) {}
}

/// Publishes lines to every broadcast subscriber; cheap to clone. Services
/// that broadcast outside `on_recv` (the rogue server's delayed replays) keep one.
#[derive(Clone)]
pub struct Publisher {
    hub: Arc<Hub>,
}

impl Publisher {
    pub fn publish(&self, line: &[u8]) {
        if self.hub.publish(line).is_err() {
            log::error!(
                "not broadcast: a {}-byte line does not fit the backlog",
                line.len()
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
    slots: Arc<Slots>,
}

impl BaseServer {
    /// Binds both ports (port 0 lets the system choose).
    pub fn bind(config: &ServerConfig) -> io::Result<Self> {
        let requests = bind_listener(&config.host, config.port)?;
        let broadcasts = bind_listener(&config.host, config.broadcast_port)?;
        Ok(Self {
            requests,
            broadcasts,
            hub: Hub::new(),
            slots: Arc::new(Slots::new(config.max_connections)),
        })
    }

    pub fn request_addr(&self) -> io::Result<SocketAddr> {
        self.requests.local_addr()
    }

    pub fn broadcast_addr(&self) -> io::Result<SocketAddr> {
        self.broadcasts.local_addr()
    }

    /// The line servers print on stdout once both ports listen.
    pub fn listening_line(&self) -> io::Result<String> {
        Ok(format!(
            "listening on {} (requests) and {} (broadcast)",
            self.request_addr()?,
            self.broadcast_addr()?
        ))
    }

    pub fn publisher(&self) -> Publisher {
        Publisher {
            hub: Arc::clone(&self.hub),
        }
    }

    /// Serves forever: broadcast connections on a thread of their own, request
    /// connections on this one.
    pub fn serve<S: Service>(self, service: Arc<S>) -> io::Result<()> {
        let Self {
            requests,
            broadcasts,
            hub,
            slots,
        } = self;
        hub.start_broadcaster()?;
        let subscriber_hub = Arc::clone(&hub);
        let subscriber_slots = Arc::clone(&slots);
        thread::Builder::new()
            .name("accept-broadcast".into())
            .spawn(move || accept_subscribers(broadcasts, subscriber_hub, subscriber_slots))?;
        accept_requests(requests, service, hub, slots);
        Ok(())
    }
}

fn bind_listener(host: &str, port: u16) -> io::Result<TcpListener> {
    TcpListener::bind((host, port))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {host}:{port}: {e}")))
}

/// Counts open connections on both ports against the cap.
struct Slots {
    open: AtomicUsize,
    max: usize,
    next_id: AtomicU64,
}

/// One open connection's place under the cap; freed on drop.
struct Slot {
    slots: Arc<Slots>,
    id: ConnectionId,
}

impl Slots {
    fn new(max: usize) -> Self {
        Self {
            open: AtomicUsize::new(0),
            max,
            next_id: AtomicU64::new(1),
        }
    }

    fn try_acquire(self: &Arc<Self>) -> Option<Slot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        taken.ok().map(|_| Slot {
            slots: Arc::clone(self),
            id: ConnectionId(self.next_id.fetch_add(1, Ordering::Relaxed)),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Work to run on a connection's own thread.
type ConnectionJob = Box<dyn FnOnce() + Send>;

/// Accepts connections forever. `admit` runs on the accept thread, so what it
/// does (subscribing a broadcast connection) happens before the next accept;
/// the job it returns, if any, runs on a thread of the connection's own.
/// Connections over the cap get one `ko` line and are closed.
fn accept_loop<F>(listener: TcpListener, slots: Arc<Slots>, role: &'static str, admit: F)
where
    F: Fn(TcpStream, Slot) -> Option<ConnectionJob>,
{
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                log::warn!("{role} port: cannot accept a connection: {e}");
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        let Some(slot) = slots.try_acquire() else {
            refuse_over_cap(stream, slots.max, role);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let name = format!("{role}-{}", slot.id.0);
        let Some(job) = admit(stream, slot) else {
            continue;
        };
        if let Err(e) = thread::Builder::new()
            .name(name)
            .stack_size(STACK_SIZE)
            .spawn(job)
        {
            log::error!("{role} port: cannot start a connection thread: {e}");
        }
    }
}

/// Tells a connection over the cap why it is refused, without ever blocking
/// the accept loop, then closes it.
fn refuse_over_cap(mut stream: TcpStream, max: usize, role: &str) {
    log::warn!("{role} port: refused a connection: {max} connections already open");
    let line = Response::ko(format!("server full: {max} connections already open")).to_line();
    if stream.set_nonblocking(true).is_ok() {
        let _ = stream.write(&line);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        // Read what the peer already sent, so closing does not reset the
        // connection before it reads our line.
        let _ = stream.read(&mut [0u8; 4096]);
    }
}

fn accept_subscribers(listener: TcpListener, hub: Arc<Hub>, slots: Arc<Slots>) {
    accept_loop(listener, slots, "broadcast", |stream, slot| {
        let address = stream.peer_addr().ok();
        let peer = address.map_or_else(|| "an unknown peer".to_owned(), |a| a.to_string());
        let subscription = match hub.subscribe(stream, address) {
            Ok(subscription) => subscription,
            Err(e) => {
                log::warn!("cannot serve subscriber {} from {peer}: {e}", slot.id);
                return None;
            }
        };
        Some(Box::new(move || {
            let slot = slot; // held, not just its id, until the connection ends
            log::debug!("subscriber {} connected from {peer}", slot.id);
            match subscription.serve() {
                Ended::Closed => log::debug!("subscriber {} from {peer} left", slot.id),
                Ended::TooSlow => log::warn!(
                    "subscriber {} from {peer} disconnected: it fell more than {} bytes behind",
                    slot.id,
                    broadcast::BACKLOG_BYTES
                ),
                Ended::Io(e) => log::debug!("subscriber {} from {peer} lost: {e}", slot.id),
            }
        }))
    });
}

fn accept_requests<S: Service>(
    listener: TcpListener,
    service: Arc<S>,
    hub: Arc<Hub>,
    slots: Arc<Slots>,
) {
    accept_loop(listener, slots, "request", |stream, slot| {
        let service = Arc::clone(&service);
        let broadcast = Publisher {
            hub: Arc::clone(&hub),
        };
        Some(Box::new(move || {
            let slot = slot; // held, not just its id, until the connection ends
            let Ok(peer) = stream.peer_addr() else {
                return;
            };
            let session = Session {
                id: slot.id,
                peer,
                broadcast,
            };
            log::debug!("request connection {} opened from {peer}", session.id);
            let ended = serve_requests(stream, &*service, &session);
            service.on_close(&session);
            log::debug!(
                "request connection {} from {peer} closed: {ended}",
                session.id
            );
        }))
    });
}

/// How a request connection ended, for the log.
enum Closed {
    ByPeer,
    Refused(String),
    Io(io::Error),
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ByPeer => write!(f, "by the peer"),
            Self::Refused(why) => write!(f, "by the server: {why}"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The request connection's thread: lines in, replies out, until it closes.
///
/// Responses to requests that arrived together are written together: the
/// buffer is flushed only when no further whole line is waiting.
fn serve_requests<S: Service>(stream: TcpStream, service: &S, session: &Session) -> Closed {
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(e) => return Closed::Io(e),
    };
    let mut reader = LineReader::new(stream);
    let mut out = Vec::with_capacity(256);
    loop {
        let line = match reader.read_line() {
            Ok(Some(line)) => line,
            Ok(None) => return Closed::ByPeer,
            // No read timeout is set; should the socket report one, wait on.
            Err(FramingError::TimedOut { .. }) => continue,
            Err(e) => return refuse(&mut writer, e, &mut out),
        };
        let reply = service.on_recv(session, line);
        if let Some(line) = &reply.broadcast {
            session.broadcast.publish(line);
        }
        reply.response.encode(&mut out);
        if !reader.has_complete_line() {
            if let Err(e) = writer.write_all(&out) {
                return Closed::Io(e);
            }
            out.clear();
        }
    }
}

/// Answers a line over the limit with one `ko` line, after any responses
/// still pending, and ends the connection; other framing errors end it
/// without a word (the peer is gone).
fn refuse(writer: &mut TcpStream, error: FramingError, out: &mut Vec<u8>) -> Closed {
    let reason = match error {
        FramingError::TooLong => {
            format!("line longer than {MAX_LINE} bytes; closing the connection")
        }
        FramingError::Truncated { .. } | FramingError::TimedOut { .. } => return Closed::ByPeer,
        FramingError::Io(e) => return Closed::Io(e),
    };
    Response::ko(&reason).encode(out);
    let _ = writer.write_all(out);
    drain_before_close(writer);
    Closed::Refused(reason)
}

/// Reads and discards what the peer is still sending (the rest of an
/// over-long line, say), within bounds, before the connection is closed:
/// closing a socket with unread input makes the kernel reset the
/// connection, which may destroy our last line before the peer reads it.
fn drain_before_close(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    if stream.set_read_timeout(Some(DRAIN_TIMEOUT)).is_err() {
        return;
    }
    let mut scratch = [0u8; 16 * 1024];
    let mut drained = 0;
    while drained < DRAIN_LIMIT {
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}
