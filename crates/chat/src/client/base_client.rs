//! The client's transport, as Python's `BaseClient`: a request connection
//! that sends one frame and waits for its response (the REQ socket), and a
//! broadcast connection read by a thread of its own that calls `on_recv` for
//! each frame (the SUB socket, without the original's 0.1 s polling).
//!
//! On the ZeroMQ wire they are a REQ and a SUB socket in ZMTP terms
//! ([`crate::wire::zmtp`]): the connections greet the server first, and the
//! frames travel in ZeroMQ frames; nothing else changes.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::layer::SealError;
use crate::wire::zmtp::SocketType;
use crate::wire::{
    Codec, Connection, FrameError, FramingError, MAX_LINE, Request, Response, Wire, ZmqBody,
};

/// Where a server is, and how to speak to it: what every client and tool
/// connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub broadcast_port: u16,
    /// JSON lines (the default) or the original's ZeroMQ wire.
    pub wire: Wire,
    /// On the ZeroMQ wire, how requests are serialised: pickle for the
    /// plain clients and tools, msgpack for the encrypted clients (as the
    /// lab's AEServer expects). Answers and broadcasts are read either way.
    pub zmq_body: ZmqBody,
}

impl Endpoint {
    pub fn new(host: impl Into<String>, port: u16, broadcast_port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            broadcast_port,
            wire: Wire::Json,
            zmq_body: ZmqBody::Pickle,
        }
    }

    /// The same server, spoken to on `wire`.
    pub fn on_wire(mut self, wire: Wire) -> Self {
        self.wire = wire;
        self
    }

    /// The same, serialising requests on the ZeroMQ wire as `body`.
    pub fn with_zmq_body(mut self, body: ZmqBody) -> Self {
        self.zmq_body = body;
        self
    }

    /// How requests are serialised and framed.
    pub fn codec(&self) -> Codec {
        self.wire.codec(self.zmq_body)
    }

    /// A connection to `port` of this server, as a `me` socket on the
    /// ZeroMQ wire.
    fn open(&self, port: u16, me: SocketType) -> Result<Connection, ClientError> {
        let stream = connect(&self.host, port)?;
        match self.wire {
            Wire::Json => Ok(Connection::new(stream)),
            Wire::Zmq => Connection::zmtp(Arc::new(stream), me, CONNECT_TIMEOUT)
                .map_err(ClientError::Handshake),
        }
    }

    /// The endpoint of a server listening on these two addresses.
    pub fn of(requests: SocketAddr, broadcasts: SocketAddr) -> Self {
        Self::new(
            requests.ip().to_string(),
            requests.port(),
            broadcasts.port(),
        )
    }
}

/// How long to try each address of the server before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the client could not talk to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No address of `host:port` accepted a connection.
    #[error("cannot reach server at {addr}")]
    Unreachable {
        addr: String,
        #[source]
        source: io::Error,
    },
    /// The server did not complete the ZeroMQ wire's handshake.
    #[error("no ZeroMQ handshake with the server (is it on --wire zmq?)")]
    Handshake(#[source] io::Error),
    /// The connection broke, or the server sent what no frame may be.
    #[error("connection to server lost")]
    Lost(#[from] FramingError),
    /// The server closed the connection.
    #[error("connection to server lost: closed by the server")]
    Closed,
    /// The server answered something that is not a response.
    #[error("unexpected response from server")]
    BadResponse(#[source] FrameError),
    /// The layer could not seal the message.
    #[error("cannot encrypt the message")]
    Seal(#[from] SealError),
    /// The request, once encoded, is longer than a line may be: it was not
    /// sent, since the server would refuse it and close the connection.
    #[error("{bytes} bytes once encoded, at most {MAX_LINE} allowed on a line")]
    TooLong { bytes: usize },
}

impl ClientError {
    /// Whether a read only gave up waiting (a read timeout set on the
    /// channel): the connection is intact and whatever part of a frame
    /// arrived stays buffered, so reading again goes on where it stopped.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Lost(FramingError::TimedOut { .. }))
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        Self::Lost(FramingError::Io(e))
    }
}

/// Opens a TCP connection to `host:port`, trying each address it resolves to.
pub fn connect(host: &str, port: u16) -> Result<TcpStream, ClientError> {
    let addr = format!("{host}:{port}");
    let unreachable = |source| ClientError::Unreachable {
        addr: addr.clone(),
        source,
    };
    let candidates: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(unreachable)?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address found");
    for candidate in candidates {
        match TcpStream::connect_timeout(&candidate, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(unreachable(last))
}

/// The request connection: one frame out, one response back, in order.
pub struct RequestChannel {
    connection: Connection,
    codec: Codec,
}

impl RequestChannel {
    pub fn connect(endpoint: &Endpoint) -> Result<Self, ClientError> {
        Ok(Self {
            connection: endpoint.open(endpoint.port, SocketType::Req)?,
            codec: endpoint.codec(),
        })
    }

    /// How requests are serialised on this channel.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Python's `send(bytes) -> bytes`: writes one frame's bytes and returns
    /// the frame that answers it.
    pub fn send(&mut self, body: &[u8]) -> Result<&[u8], ClientError> {
        let answer = self
            .connection
            .exchange(|out| out.extend_from_slice(body))?;
        answer.ok_or(ClientError::Closed)
    }

    /// Sends a request and reads its response. A request too long for a
    /// line is refused here, unsent: the connection stays usable.
    pub fn request(&mut self, request: &Request<'_>) -> Result<Response, ClientError> {
        let codec = self.codec;
        let body = codec.request_bytes(request);
        if body.len() > MAX_LINE {
            return Err(ClientError::TooLong { bytes: body.len() });
        }
        let answer = self.send(&body)?;
        codec
            .decode_response(answer)
            .map_err(ClientError::BadResponse)
    }
}

/// The broadcast connection: only ever read.
pub struct BroadcastChannel {
    connection: Connection,
    codec: Codec,
}

impl BroadcastChannel {
    pub fn connect(endpoint: &Endpoint) -> Result<Self, ClientError> {
        Ok(Self {
            connection: endpoint.open(endpoint.broadcast_port, SocketType::Sub)?,
            codec: endpoint.codec(),
        })
    }

    /// How the frames read here are serialised.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Where this connection comes from, as the server sees it (on the
    /// same host or network: no address translation in between).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.connection.local_addr()
    }

    /// Gives up waiting for a frame after `timeout` (`None`: never).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.connection.stream().set_read_timeout(timeout)
    }

    /// The next broadcast frame; an error once the connection is gone (a
    /// server never closes it while it runs). Blank lines carry no frame
    /// and are skipped.
    pub fn next_frame(&mut self) -> Result<&[u8], ClientError> {
        self.connection
            .reader
            .read_nonblank_frame()?
            .ok_or(ClientError::Closed)
    }

    /// The next broadcast frame if it has already arrived whole, without
    /// waiting: what one read brought beyond the frame [`next_frame`]
    /// returned, taken before the reader waits again.
    ///
    /// [`next_frame`]: Self::next_frame
    pub fn buffered_frame(&mut self) -> Result<Option<&[u8]>, ClientError> {
        Ok(self.connection.reader.read_buffered_nonblank_frame()?)
    }

    /// Python's `update(on_recv)`, on a thread: calls `on_recv` for every
    /// frame until the connection ends, then `on_end` with the reason.
    pub fn spawn<F, E>(mut self, mut on_recv: F, on_end: E) -> io::Result<JoinHandle<()>>
    where
        F: FnMut(Codec, &[u8]) + Send + 'static,
        E: FnOnce(ClientError) + Send + 'static,
    {
        let codec = self.codec;
        thread::Builder::new()
            .name("broadcast-reader".into())
            .spawn(move || {
                let ended = loop {
                    match self.next_frame() {
                        Ok(frame) => on_recv(codec, frame),
                        Err(e) => break e,
                    }
                };
                on_end(ended);
            })
    }
}

/// Python's `BaseClient`: both connections to one server.
pub struct BaseClient {
    pub requests: RequestChannel,
    pub broadcasts: BroadcastChannel,
}

impl BaseClient {
    /// Connects the broadcast port first, so nothing sent after the join is missed.
    pub fn connect(endpoint: &Endpoint) -> Result<Self, ClientError> {
        let broadcasts = BroadcastChannel::connect(endpoint)?;
        let requests = RequestChannel::connect(endpoint)?;
        Ok(Self {
            requests,
            broadcasts,
        })
    }
}
