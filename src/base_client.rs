//! The client's transport, as Python's `BaseClient`: a request connection
//! that sends one frame and waits for its response (the REQ socket), and a
//! broadcast connection read by a thread of its own that calls `on_recv` for
//! each line (the SUB socket, without the original's 0.1 s polling).

use std::fmt;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::frame::{FrameError, OutgoingRequest, Response};
use crate::framing::{FramingError, LineReader};

/// How long to try each address of the server before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the client could not talk to the server.
#[derive(Debug)]
pub enum ClientError {
    /// No address of `host:port` accepted a connection.
    Unreachable { addr: String, error: io::Error },
    /// The server closed the connection, or it broke.
    ConnectionLost(String),
    /// The server answered something that is not a response.
    BadResponse(FrameError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable { addr, error } => {
                write!(f, "cannot reach server at {addr}: {error}")
            }
            Self::ConnectionLost(why) => write!(f, "connection to server lost ({why})"),
            Self::BadResponse(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<FramingError> for ClientError {
    fn from(e: FramingError) -> Self {
        match e {
            FramingError::Truncated { .. } => {
                Self::ConnectionLost("closed in the middle of a line".into())
            }
            other => Self::ConnectionLost(other.to_string()),
        }
    }
}

/// Opens a TCP connection to `host:port`, trying each address it resolves to.
pub fn connect(host: &str, port: u16) -> Result<TcpStream, ClientError> {
    let addr = format!("{host}:{port}");
    let unreachable = |error| ClientError::Unreachable {
        addr: addr.clone(),
        error,
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
    writer: TcpStream,
    reader: LineReader<TcpStream>,
}

impl RequestChannel {
    pub fn connect(host: &str, port: u16) -> Result<Self, ClientError> {
        let stream = connect(host, port)?;
        let writer = stream
            .try_clone()
            .map_err(|e| ClientError::ConnectionLost(e.to_string()))?;
        Ok(Self {
            writer,
            reader: LineReader::new(stream),
        })
    }

    /// Python's `send(bytes) -> bytes`: writes one line (which must end with
    /// `\n`) and returns the response line, without its `\n`.
    pub fn send(&mut self, line: &[u8]) -> Result<&[u8], ClientError> {
        self.writer
            .write_all(line)
            .map_err(|e| ClientError::ConnectionLost(e.to_string()))?;
        match self.reader.read_line()? {
            Some(response) => Ok(response),
            None => Err(ClientError::ConnectionLost("closed by the server".into())),
        }
    }

    /// Sends a request and parses the response.
    pub fn request(&mut self, request: &OutgoingRequest<'_>) -> Result<Response, ClientError> {
        let response = self.send(&request.to_line())?;
        Response::parse(response).map_err(ClientError::BadResponse)
    }
}

/// The broadcast connection: only ever read.
pub struct BroadcastChannel {
    reader: LineReader<TcpStream>,
}

impl BroadcastChannel {
    pub fn connect(host: &str, port: u16) -> Result<Self, ClientError> {
        Ok(Self {
            reader: LineReader::new(connect(host, port)?),
        })
    }

    /// Where this connection comes from, as the server sees it (on the
    /// same host or network: no address translation in between).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.reader.get_ref().local_addr()
    }

    /// The next broadcast line, without its `\n`; an error once the
    /// connection is gone (a server never closes it while it runs). Blank
    /// lines carry no frame and are skipped.
    pub fn next_line(&mut self) -> Result<&[u8], ClientError> {
        match self.reader.read_nonblank_line()? {
            Some(line) => Ok(line),
            None => Err(ClientError::ConnectionLost("closed by the server".into())),
        }
    }

    /// Python's `update(on_recv)`, on a thread: calls `on_recv` for every
    /// line until the connection ends, then `on_end` with the reason.
    pub fn spawn<F, E>(mut self, mut on_recv: F, on_end: E) -> io::Result<JoinHandle<()>>
    where
        F: FnMut(&[u8]) + Send + 'static,
        E: FnOnce(ClientError) + Send + 'static,
    {
        thread::Builder::new()
            .name("broadcast-reader".into())
            .spawn(move || {
                let ended = loop {
                    match self.next_line() {
                        Ok(line) => on_recv(line),
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
    pub fn connect(host: &str, port: u16, broadcast_port: u16) -> Result<Self, ClientError> {
        let broadcasts = BroadcastChannel::connect(host, broadcast_port)?;
        let requests = RequestChannel::connect(host, port)?;
        Ok(Self {
            requests,
            broadcasts,
        })
    }
}
