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
//! One concept a file: `pool` (the connection threads, under the cap),
//! `request` (reading one, within limits), `response` (writing one, with
//! the headers every one carries), `events` (a server-sent event stream).

pub mod events;
mod pool;
pub mod request;
pub mod response;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use pool::Pool;

pub use request::{ReadError, Request};
pub use response::{Response, Status};

/// How long a peer has to send its whole request (head and body).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a write may block before the peer is given up on.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

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
    pool: Arc<Pool>,
}

impl Served {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connection threads alive now, busy or idle: never more than the cap.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, ACCEPT_BACKOFF);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        self.pool.stop();
    }
}

/// Listens on `host:port` for `what` (the page, the dashboard); a port
/// taken or refused says which site could not be served, and where.
pub fn bind(what: &str, host: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port)).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot serve the {what} on {host}:{port}: {e}"),
        )
    })
}

/// Serves `handler` on `listener`, on threads of its own, under `limits`,
/// until dropped (`stopping` is raised then, for long-lived streams).
pub fn serve<H: Handler>(
    listener: TcpListener,
    limits: Limits,
    handler: Arc<H>,
    stopping: Arc<AtomicBool>,
) -> std::io::Result<Served> {
    let addr = listener.local_addr()?;
    let serve: pool::Serve = Arc::new(move |stream| serve_connection(&stream, limits, &*handler));
    let pool = Pool::new(limits.max_connections, serve);
    let (flag, threads) = (Arc::clone(&stopping), Arc::clone(&pool));
    let max = limits.max_connections;
    let acceptor = thread::Builder::new()
        .name(format!("http-{}", addr.port()))
        .spawn(move || accept_loop(&listener, max, &threads, &flag))?;
    Ok(Served {
        addr,
        stopping,
        acceptor: Some(acceptor),
        pool,
    })
}

fn accept_loop(listener: &TcpListener, max: usize, pool: &Arc<Pool>, stopping: &AtomicBool) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        match stream {
            Ok(stream) => {
                if let Err(refused) = pool.offer(stream) {
                    refuse_over_cap(&refused, max);
                }
            }
            Err(e) => {
                log::warn!("page server: cannot accept a connection: {e}");
                thread::sleep(ACCEPT_BACKOFF);
            }
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
fn serve_connection<H: Handler + ?Sized>(stream: &TcpStream, limits: Limits, handler: &H) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let (response, unread) = match request::read_request(stream, limits.max_body, HEAD_TIMEOUT) {
        Ok(request) => (handler.handle(&request), false),
        Err(ReadError::Refuse(status)) => (Response::status(status), true),
        Err(ReadError::Gone) => return,
    };
    if let Err(e) = response.write_to(stream) {
        if e.kind() != ErrorKind::BrokenPipe {
            log::debug!("page server: a response was cut: {e}");
        }
    }
    // A refused request may still be arriving: closing over unread bytes
    // would reset the connection, and the answer with it.
    if unread {
        linger(stream);
    }
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
