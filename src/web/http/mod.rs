//! A small blocking HTTP/1.1 server for the pages: an accept loop of our
//! own with a cap on connections and a thread per connection under it, as
//! the chat's own `base_server` does, and `httparse` to read the head.
//!
//! Why not tiny_http: it starts a thread whenever all of its threads are
//! busy, so a slowloris (connections that send their head a byte at a
//! time) or a crowd of event-stream readers grows its threads without
//! bound; measured here, 500 stalled connections made 500 threads (see
//! docs/PERFORMANCE.md, "The pages' HTTP server"). Owning the accept loop
//! puts the cap where it cannot be passed: the thread count is the cap plus
//! the accept thread, whatever the peers do.
//!
//! One request per connection (`Connection: close`): the pages make few
//! requests, and a connection that is not kept has no idle life to bound.
//! A connection over the cap gets `503` without waiting on the peer; one
//! that does not send its head within [`HEAD_TIMEOUT`] is closed.
//!
//! One concept a file: `request` (reading one, within limits), `response`
//! (writing one, with the headers every one carries), `events` (a
//! server-sent event stream).

pub mod events;
pub mod request;
pub mod response;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub use request::{ReadError, Request};
pub use response::{Response, Status};

/// How long a peer has to send its whole request (head and body).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a write may block before the peer is given up on.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Stack of a connection thread: requests are parsed flat, and a stream's
/// writer keeps little on the stack.
const STACK_SIZE: usize = 256 * 1024;

/// Pause after a failed `accept` (out of file descriptors, say), so that
/// the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How long a refused or answered connection's unread bytes are drained,
/// so that closing it does not reset the answer away.
const LINGER: Duration = Duration::from_millis(200);

/// Bytes drained at most when closing.
const LINGER_BYTES: usize = 256 * 1024;

/// What a site answers: one request in, one response out.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &Request) -> Response;
}

/// A site's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; the threads serving them are as many.
    pub max_connections: usize,
    /// Bytes of a request's body at most (413 beyond).
    pub max_body: usize,
}

/// A site being served; dropping it stops accepting.
pub struct Served {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    open: Arc<AtomicUsize>,
}

impl Served {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Whether the site is stopping: long-lived streams end when it is.
    pub fn stopping(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stopping)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, ACCEPT_BACKOFF);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Serves `handler` on `listener`, on threads of its own, under `limits`.
pub fn serve<H: Handler>(
    listener: TcpListener,
    limits: Limits,
    handler: Arc<H>,
    stopping: Arc<AtomicBool>,
) -> std::io::Result<Served> {
    let addr = listener.local_addr()?;
    let open = Arc::new(AtomicUsize::new(0));
    let (flag, count) = (Arc::clone(&stopping), Arc::clone(&open));
    let acceptor = thread::Builder::new()
        .name(format!("http-{}", addr.port()))
        .spawn(move || accept_loop(&listener, limits, &handler, &flag, &count))?;
    Ok(Served {
        addr,
        stopping,
        acceptor: Some(acceptor),
        open,
    })
}

/// One open connection's place under the cap; freed on drop.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn try_acquire(open: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        open.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()
        .map(|_| Self(Arc::clone(open)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop<H: Handler>(
    listener: &TcpListener,
    limits: Limits,
    handler: &Arc<H>,
    stopping: &AtomicBool,
    open: &Arc<AtomicUsize>,
) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                log::warn!("page server: cannot accept a connection: {e}");
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        let Some(slot) = Slot::try_acquire(open, limits.max_connections) else {
            refuse_over_cap(&stream, limits.max_connections);
            continue;
        };
        let handler = Arc::clone(handler);
        let spawned = thread::Builder::new()
            .name("http-connection".into())
            .stack_size(STACK_SIZE)
            .spawn(move || serve_connection(&stream, limits, &*handler, slot));
        if let Err(e) = spawned {
            log::error!("page server: cannot start a connection thread: {e}");
        }
    }
}

/// Tells a connection over the cap to come back later, without ever
/// waiting on it, then closes it.
fn refuse_over_cap(stream: &TcpStream, max: usize) {
    log::debug!("page server: refused a connection: {max} already open");
    let refusal = Response::text(Status::UNAVAILABLE, "too many connections")
        .with_header("Retry-After", "1".to_owned());
    let Some(bytes) = refusal.into_bytes() else {
        return;
    };
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    // Small enough for the socket's buffer: written whole or not at all,
    // never waited on.
    let _ = (&*stream).write(&bytes);
    let _ = stream.shutdown(Shutdown::Write);
    let _ = (&*stream).read(&mut [0u8; 4096]);
}

/// A connection's life: one request, one response, then close.
fn serve_connection<H: Handler + ?Sized>(
    stream: &TcpStream,
    limits: Limits,
    handler: &H,
    slot: Slot,
) {
    let _slot = slot;
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let response = match request::read_request(stream, limits.max_body, HEAD_TIMEOUT) {
        Ok(request) => handler.handle(&request),
        Err(ReadError::Refuse(status)) => Response::status(status),
        Err(ReadError::Gone) => return,
    };
    if let Err(e) = response.write_to(stream) {
        if e.kind() != ErrorKind::BrokenPipe {
            log::debug!("page server: a response was cut: {e}");
        }
    }
    linger(stream);
}

/// Closes gently: says no more, then drains what the peer still sends for
/// a moment, so that the kernel does not reset the connection (and the
/// answer with it) over unread bytes.
fn linger(mut stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER));
    let mut drained = 0;
    let mut buf = [0u8; 4096];
    while drained < LINGER_BYTES {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}
