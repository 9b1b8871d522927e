//! Chats staged in this process, for the demo and the tests of the library:
//! a server run through the library's [`ServerHandle`] on free loopback
//! ports, members (a [`SimpleClient`] whose broadcasts arrive as
//! [`Delivery`] values on a channel), and an eavesdropper. What they see
//! comes back as values, so whoever stages them judges values, not printed
//! lines.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chat::attack::simple_bigbrother::{BigBrother, Overheard, overhear};
use chat::client::{
    BaseClient, BroadcastChannel, Delivery, Endpoint, RequestChannel, SimpleClient, on_recv,
};
use chat::layer::{AeSettings, Layer, Open, Seal};
use chat::server::{
    BaseServer, Publisher, ServerConfig, ServerHandle, Service, SimpleServer, Stopper, Tap,
    TrustModel,
};
use chat::server::{ae_server, ae_zmq_body};
use chat::wire::{Nick, Request, Response, Wire, ZmqBody};

use crate::process::{PATIENCE, endpoint_args, wait_until};
use crate::raw::{Conn, Sub};

/// A layer's server: the binary that runs it, the service it runs, and how
/// it serialises on the ZeroMQ wire.
#[derive(Debug, Clone, Copy)]
pub struct LayerServer {
    pub binary: &'static str,
    pub service: fn(TrustModel) -> SimpleServer,
    pub zmq_body: ZmqBody,
}

/// The server a layer's clients talk to: the plain server relays every
/// layer, the AE server encrypted messages only (AE's, AEAD's, signed;
/// msgpack on the ZeroMQ wire, as the lab's AEServer).
pub fn layer_server(layer: Layer) -> LayerServer {
    match layer {
        Layer::Plain => LayerServer {
            binary: "simple_server",
            service: SimpleServer::new,
            zmq_body: ZmqBody::Pickle,
        },
        Layer::Ae | Layer::Aead | Layer::Signed => LayerServer {
            binary: "ae_server",
            service: ae_server,
            zmq_body: ae_zmq_body(),
        },
    }
}

/// Who follows the servers staged here: the demo's teacher's view
/// (`chat_demo --dashboard`) follows every server its scenes start, from
/// before its first connection.
pub mod watch {
    use std::sync::{Mutex, PoisonError};

    use chat::server::Tap;

    /// What is told of each server staged from now on.
    type Watcher = Box<dyn Fn(&Tap) + Send>;

    static WATCHER: Mutex<Option<Watcher>> = Mutex::new(None);

    /// Tells `watcher` of every server staged from now on (in any thread
    /// of this process), until [`stop`].
    pub fn servers(watcher: impl Fn(&Tap) + Send + 'static) {
        *lock() = Some(Box::new(watcher));
    }

    /// Tells no one of the servers staged from now on.
    pub fn stop() {
        *lock() = None;
    }

    /// A server was staged: its tap, to whoever watches.
    pub(super) fn announce(tap: &Tap) {
        if let Some(watcher) = lock().as_ref() {
            watcher(tap);
        }
    }

    fn lock() -> std::sync::MutexGuard<'static, Option<Watcher>> {
        WATCHER.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A server running in this process on loopback ports the system chose;
/// dropping it stops it.
pub struct Server {
    handle: ServerHandle,
    publisher: Publisher,
    wire: Wire,
    zmq_body: ZmqBody,
}

impl Server {
    /// Serves what `make` builds (it may keep the publisher, as the rogue
    /// server does for its replays).
    pub fn start<S: Service>(make: impl FnOnce(Publisher) -> S) -> Result<Self> {
        Self::start_with(&ServerConfig::local(), make)
    }

    /// As [`start`](Self::start), on `wire` (serialising as `zmq_body` on
    /// the ZeroMQ wire).
    pub fn start_on<S: Service>(
        wire: Wire,
        zmq_body: ZmqBody,
        make: impl FnOnce(Publisher) -> S,
    ) -> Result<Self> {
        let config = ServerConfig::local().on_wire(wire).with_zmq_body(zmq_body);
        Self::start_with(&config, make)
    }

    /// As [`start`](Self::start), with a configuration of the caller's (a
    /// connection cap); its ports should be 0.
    pub fn start_with<S: Service>(
        config: &ServerConfig,
        make: impl FnOnce(Publisher) -> S,
    ) -> Result<Self> {
        let server = BaseServer::bind(config)?;
        watch::announce(&server.tap());
        let publisher = server.publisher();
        let handle = server.spawn(Arc::new(make(publisher.clone())))?;
        Ok(Self {
            handle,
            publisher,
            wire: config.wire,
            zmq_body: config.zmq_body,
        })
    }

    /// The chat server of `layer`, in `trust`.
    pub fn of_layer(layer: Layer, trust: TrustModel) -> Result<Self> {
        Self::of_layer_on(layer, trust, Wire::Json)
    }

    /// The chat server of `layer`, in `trust`, on `wire`.
    pub fn of_layer_on(layer: Layer, trust: TrustModel, wire: Wire) -> Result<Self> {
        let LayerServer {
            service, zmq_body, ..
        } = layer_server(layer);
        Self::start_on(wire, zmq_body, |_| service(trust))
    }

    pub fn request_addr(&self) -> SocketAddr {
        self.handle.request_addr()
    }

    pub fn broadcast_addr(&self) -> SocketAddr {
        self.handle.broadcast_addr()
    }

    /// Where the server is, on its wire, speaking its own serialisation.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::of(self.request_addr(), self.broadcast_addr())
            .on_wire(self.wire)
            .with_zmq_body(self.zmq_body)
    }

    /// `--host H --port P --broadcast-port B`, for a client or tool binary.
    pub fn client_args(&self) -> Vec<String> {
        endpoint_args(&self.endpoint())
    }

    /// Returns once the server has registered the broadcast connection that
    /// comes from `peer`: it receives every line published from then on.
    pub fn wait_for_subscriber(&self, peer: SocketAddr) -> Result<()> {
        if !self.publisher.wait_for_subscriber(peer, PATIENCE) {
            bail!("no broadcast connection from {peer} within {PATIENCE:?}");
        }
        Ok(())
    }

    /// How many broadcast connections the server has registered now.
    pub fn subscribers(&self) -> usize {
        self.publisher.subscriber_count()
    }

    /// Returns once `count` broadcast connections are registered, for
    /// subscribers whose address is not known (another process's).
    pub fn wait_for_subscribers(&self, count: usize) -> Result<()> {
        wait_until(&format!("{count} subscriber(s) are registered"), || {
            Ok(self.publisher.subscriber_count() >= count)
        })
    }

    /// A raw request connection ([`Conn`]), for lines written by hand.
    pub fn request(&self) -> Result<Conn> {
        Conn::connect(self.request_addr())
    }

    /// A raw broadcast connection ([`Sub`]), perhaps not registered yet.
    pub fn subscribe(&self) -> Result<Sub> {
        Sub::connect(self.broadcast_addr())
    }

    /// A raw broadcast connection the server has certainly registered: it
    /// receives every line accepted from now on.
    pub fn synced_subscriber(&self) -> Result<Sub> {
        let sub = self.subscribe()?;
        self.wait_for_subscriber(sub.local_addr()?)?;
        Ok(sub)
    }

    /// `count` of them.
    pub fn synced_subscribers(&self, count: usize) -> Result<Vec<Sub>> {
        (0..count).map(|_| self.synced_subscriber()).collect()
    }

    /// The joined nicks, asked on a connection of its own.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut requests = RequestChannel::connect(&self.endpoint())?;
        match requests.request(&Request::List)? {
            Response::Nicks { nicks, .. } => Ok(nicks),
            other => bail!("list answered {other:?}"),
        }
    }

    pub fn stopper(&self) -> Stopper {
        self.handle.stopper()
    }

    /// What the server records for the teacher's view.
    pub fn tap(&self) -> Tap {
        self.handle.tap()
    }

    /// Stops the server: every connection closed, every thread joined.
    pub fn stop(self) {
        self.handle.stop();
    }
}

/// A member of a chat: the library's client, sealing with its layer, and
/// its broadcasts opened by its layer into [`Delivery`] values on a
/// channel, in the order they came.
pub struct Member {
    client: SimpleClient<Box<dyn Seal>>,
    deliveries: Receiver<Delivery>,
}

impl Member {
    /// Joins as `nick` in `layer` (`settings` for the encrypted layers).
    /// The join names the member's broadcast connection, so the server
    /// answers it once that connection is registered: nothing sent after
    /// is missed.
    pub fn join(
        endpoint: &Endpoint,
        nick: &str,
        layer: Layer,
        settings: Option<&AeSettings>,
    ) -> Result<Self> {
        let endpoint = endpoint.clone().with_zmq_body(layer.zmq_body());
        let (sealer, opener) = (layer.sealer(settings)?, layer.opener(settings)?);
        Self::join_with(&endpoint, nick, sealer, opener)
    }

    /// As [`join`](Self::join), sealing and opening with these halves of a
    /// layer (the signed layer's, with a member's own identity and pins);
    /// `endpoint` says which body its layer speaks on the ZeroMQ wire.
    pub fn join_with(
        endpoint: &Endpoint,
        nick: &str,
        sealer: Box<dyn Seal>,
        opener: Box<dyn Open>,
    ) -> Result<Self> {
        let base = BaseClient::connect(endpoint)?;
        let subscriber = base.broadcasts.local_addr()?;
        let nick = Nick::new(nick)?;
        let mut client = SimpleClient::new(base.requests, nick, sealer).with_subscriber(subscriber);
        let deliveries = read_deliveries(base.broadcasts, opener)?;
        match client.join()? {
            Response::Ok => Ok(Self { client, deliveries }),
            refusal => bail!("'{}' cannot join: {refusal:?}", client.nick()),
        }
    }

    pub fn nick(&self) -> &Nick {
        self.client.nick()
    }

    /// Sends `text`, sealed by the layer; the server's answer.
    pub fn say(&mut self, text: &str) -> Result<Response> {
        Ok(self.client.message(text)?)
    }

    /// Sends `text`, which the server must accept.
    pub fn send(&mut self, text: &str) -> Result<()> {
        match self.say(text)? {
            Response::Ok => Ok(()),
            other => bail!("'{}' could not send {text:?}: {other:?}", self.nick()),
        }
    }

    /// The next delivery, within [`PATIENCE`].
    pub fn next(&self) -> Result<Delivery> {
        self.next_within(PATIENCE)
            .with_context(|| format!("'{}' received nothing", self.nick()))
    }

    /// The next delivery, if one comes within `timeout`.
    pub fn next_within(&self, timeout: Duration) -> Option<Delivery> {
        self.deliveries.recv_timeout(timeout).ok()
    }
}

/// Reads `broadcasts` on a thread of its own, sending each frame, opened by
/// `opener`, down the returned channel. The thread ends when the server
/// closes the connection (it does when it stops).
fn read_deliveries(
    broadcasts: BroadcastChannel,
    mut opener: Box<dyn Open>,
) -> Result<Receiver<Delivery>> {
    let (tx, rx) = mpsc::channel();
    broadcasts.spawn(
        move |codec, frame| {
            let _ = tx.send(on_recv(&mut opener, codec, frame));
        },
        |_ended| {},
    )?;
    Ok(rx)
}

/// Big brother in this process, as the lab's step 1 writes it (the
/// library's [`BigBrother`]): connected to `server`'s broadcast port,
/// waiting at most [`PATIENCE`] for a frame, and registered by the server
/// before this returns, so it hears every message sent from now on.
pub fn big_brother(server: &Server) -> Result<BigBrother> {
    let big_brother = BigBrother::connect(&server.endpoint())?;
    big_brother.set_read_timeout(Some(PATIENCE))?;
    server.wait_for_subscriber(big_brother.local_addr()?)?;
    Ok(big_brother)
}

/// An eavesdropper of the lab's own, whatever step 1 says: a broadcast
/// connection that never joins, each frame read as `simple_bigbrother`
/// reads it, or kept as it travelled.
pub struct Spy {
    broadcasts: BroadcastChannel,
}

impl Spy {
    /// Connects to `server`'s broadcast port; returns once it is registered.
    pub fn listen(server: &Server) -> Result<Self> {
        let broadcasts = BroadcastChannel::connect(&server.endpoint())?;
        broadcasts.set_read_timeout(Some(PATIENCE))?;
        server.wait_for_subscriber(broadcasts.local_addr()?)?;
        Ok(Self { broadcasts })
    }

    /// What the next broadcast frame tells an eavesdropper.
    pub fn overhear_next(&mut self) -> Result<Overheard> {
        let codec = self.broadcasts.codec();
        let frame = self.broadcasts.next_frame()?;
        Ok(overhear(codec, frame))
    }

    /// The next broadcast frame as it travelled, byte for byte, to replay.
    pub fn capture_next(&mut self) -> Result<Vec<u8>> {
        Ok(self.broadcasts.next_frame()?.to_vec())
    }
}
