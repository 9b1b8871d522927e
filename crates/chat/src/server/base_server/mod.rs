//! The server's transport, as Python's `BaseServer`: a request port and a
//! broadcast port, and a callback that turns each request into a response
//! and, maybe, a frame to broadcast.
//!
//! The chat logic lives in the [`Service`] (`simple_server`,
//! `rogue_server`), the transport here: what Python did by subclassing, Rust
//! does by handing a service to [`BaseServer::spawn`], which returns a
//! [`ServerHandle`] that stops the server.
//!
//! One concept a file: `service` (what the transport and the chat logic say
//! to each other), `connections` (the registry and the cap on connections),
//! `accept` (the accept loops on both ports), `requests` (a request
//! connection's life) and `handle` (stopping and joining). The broadcast
//! port's own machinery is the sibling module `broadcast`.
//!
//! Limits enforced here (PROTOCOL.md sections 1 and 5): frames of at most
//! [`MAX_LINE`](crate::wire::MAX_LINE) bytes, answers queued up to
//! [`OUT_BUDGET`], at most `max_connections` connections on both ports
//! together, and no lasting cost for a connection that dies in the middle of
//! a frame. Nothing else closes a connection: one
//! that stalls mid-line, or never reads its responses, holds its thread and
//! its slot under the cap until it closes, as the contract wants; the cap
//! bounds what that costs.

mod accept;
mod connections;
mod handle;
mod requests;
mod service;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::{self, JoinHandle};

use super::broadcast::Hub;
use super::tap::Tap;
use crate::wire::{Codec, Wire, ZmqBody};
use accept::{accept_requests, accept_subscribers};
use connections::Connections;
use handle::StopSignal;

pub use handle::{ServerHandle, Stopper};
pub use service::{ConnectionId, Publisher, Relay, Reply, Service, Session, refusal, refused};

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 6666;
pub const DEFAULT_BROADCAST_PORT: u16 = 6667;
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Bytes of answers a request connection may have queued before they are
/// written, even while further requests are already buffered: pipelined
/// requests are answered in writes of about this size, so a connection
/// holds at most this plus one answer (at most
/// [`MAX_LINE`](crate::wire::MAX_LINE) + 1 bytes), whatever it sends. See
/// docs/ROBUSTNESS.md for the whole bound.
pub const OUT_BUDGET: usize = 32 * 1024;

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
        Publisher::new(Arc::clone(&self.hub), self.codec)
    }

    /// What the server records for the teacher's view: follow it with
    /// [`Tap::reader`].
    pub fn tap(&self) -> Tap {
        self.connections.tap.clone()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::test_sockets::socket_pair;

    #[test]
    fn a_config_defaults_to_json_lines_under_the_default_cap() {
        let config = ServerConfig::new("example", 1, 2);
        assert_eq!((config.host.as_str(), config.port), ("example", 1));
        assert_eq!(config.broadcast_port, 2);
        assert_eq!(config.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(config.codec(), Codec::Json);
        let local = ServerConfig::local();
        assert_eq!((local.host.as_str(), local.port), (DEFAULT_HOST, 0));
    }

    #[test]
    fn a_config_on_the_zeromq_wire_takes_its_body_serialisation() {
        let zmq = ServerConfig::local().on_wire(Wire::Zmq);
        assert_eq!(zmq.codec(), Codec::Pickle);
        let msgpack = zmq.with_zmq_body(ZmqBody::Msgpack);
        assert_eq!(msgpack.codec(), Codec::Msgpack);
    }

    #[test]
    fn binding_port_zero_gets_two_ports_of_the_system_s_choosing() {
        let server = BaseServer::bind(&ServerConfig::local()).unwrap();
        let (requests, broadcasts) = (server.request_addr(), server.broadcast_addr());
        let (requests, broadcasts) = (requests.unwrap(), broadcasts.unwrap());
        assert_ne!(requests.port(), 0);
        assert_ne!(requests.port(), broadcasts.port());
    }

    #[test]
    fn a_port_in_use_is_named_in_the_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let config = ServerConfig::new(DEFAULT_HOST, 0, port);
        let Err(error) = BaseServer::bind(&config) else {
            panic!("bound a port already in use");
        };
        assert!(error.to_string().contains(&format!("127.0.0.1:{port}")));
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn publishers_share_the_server_s_hub() {
        let server = BaseServer::bind(&ServerConfig::local()).unwrap();
        let publisher = server.publisher();
        assert_eq!(publisher.codec(), server.codec);
        assert_eq!(publisher.subscriber_count(), 0);
        let (server_end, _client) = socket_pair();
        let _subscription = server.hub.subscribe(Arc::new(server_end), None).unwrap();
        assert_eq!(publisher.subscriber_count(), 1);
    }
}
