//! What the transport and the chat logic say to each other: Python's
//! `on_recv(packet) -> (broadcast, response)`, typed. The transport hands
//! a [`Service`] each decoded request with the [`Session`] it came from;
//! the service answers with a [`Reply`], whose [`Relay`] says what, if
//! anything, to publish first. What Python did by subclassing
//! `BaseServer`, Rust does by handing a service to `BaseServer::spawn`.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::super::broadcast::Hub;
use crate::server::tap::{Refusal, Tap};
use crate::wire::{Codec, FrameError, Reason, Relaying, Request, Response};

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
    /// What the server records for the teacher's view.
    pub tap: Tap,
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

/// Logs a request refused by the chat's rules and answers it `ko`, the
/// reason bounded in both.
pub fn refused(session: &Session, what: &str, reason: impl fmt::Display) -> Reply<'static> {
    refusal(session, Refusal::Chat, what, reason)
}

/// Logs a refused request, records it for the teacher's view as `kind`,
/// and answers it `ko`, the reason bounded in all three.
pub fn refusal(
    session: &Session,
    kind: Refusal,
    what: &str,
    reason: impl fmt::Display,
) -> Reply<'static> {
    let reason = Reason::new(reason);
    log::warn!(
        "refused {what} from {} ({}): {reason}",
        session.id,
        session.peer
    );
    session.tap.refused(kind, what, &reason);
    Reply::respond(Response::Ko(reason))
}

/// The chat logic plugged into a [`BaseServer`](super::BaseServer).
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
    /// Publishes on `hub`, serialising its own frames as `codec`.
    pub(super) fn new(hub: Arc<Hub>, codec: Codec) -> Self {
        Self { hub, codec }
    }

    /// The server's codec: how its own frames, and answers to frames it
    /// cannot read, are serialised.
    pub(super) fn codec(&self) -> Codec {
        self.codec
    }

    /// Broadcasts a frame of the service's making.
    pub fn publish(&self, frame: &Request<'_>) {
        self.publish_bytes(&self.codec.request_bytes(frame));
    }

    /// Broadcasts what a reply says, `received` being the request's frame;
    /// an error if the frame cannot be relayed as received. `relaying`:
    /// how the frame is relayed, as reading it found.
    pub(super) fn relay(
        &self,
        received: &[u8],
        relaying: Relaying,
        relay: &Relay<'_>,
    ) -> Result<(), FrameError> {
        match relay {
            Relay::Received => self.publish_bytes(&self.codec.relayed_as(received, relaying)?),
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

    /// Waits up to `timeout` for a subscriber connecting from `peer`, so
    /// that a join naming its broadcast connection is answered only once
    /// that connection will receive what follows (the hub's
    /// `wait_for_subscriber` says why).
    pub fn wait_for_subscriber(&self, peer: SocketAddr, timeout: Duration) -> bool {
        self.hub.wait_for_subscriber(peer, timeout)
    }
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Publisher({} subscribers)", self.subscriber_count())
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;
    use std::net::TcpStream;
    use std::thread;

    use super::*;
    use crate::server::test_sockets::{read_lines, socket_pair};
    use crate::wire::MAX_REASON_CHARS;

    /// A publisher on a running hub, and a reader of what it broadcasts.
    fn publisher_and_reader(hub: Arc<Hub>) -> (Publisher, BufReader<TcpStream>) {
        hub.start_broadcaster().unwrap();
        let (server_end, client) = socket_pair();
        let subscription = hub.subscribe(Arc::new(server_end), None).unwrap();
        thread::spawn(move || subscription.serve());
        (Publisher::new(hub, Codec::Json), BufReader::new(client))
    }

    fn session() -> Session {
        Session {
            id: ConnectionId(7),
            peer: "127.0.0.1:4242".parse().unwrap(),
            broadcast: Publisher::new(Hub::new(Codec::Json), Codec::Json),
            tap: Tap::new(),
        }
    }

    #[test]
    fn replies_answer_ok_or_ko_and_broadcast_only_when_told() {
        assert_eq!(Reply::ok().response, Response::Ok);
        assert!(Reply::ok().broadcast.is_none());
        assert_eq!(Reply::ko("no").response, Response::ko("no"));
        assert!(Reply::ko("no").broadcast.is_none());
        let relayed = Reply::broadcast(Relay::Received);
        assert_eq!(relayed.response, Response::Ok);
        assert!(matches!(relayed.broadcast, Some(Relay::Received)));
        let listed = Reply::respond(Response::nicks(vec!["alice".into()]));
        assert_eq!(listed.response, Response::nicks(vec!["alice".into()]));
    }

    #[test]
    fn refused_bounds_the_reason_it_answers() {
        let reply = refused(&session(), "request", "x".repeat(10_000));
        let Response::Ko(reason) = reply.response else {
            panic!("refused answered {:?}", reply.response);
        };
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS);
        assert!(reason.ends_with("..."));
        assert!(reply.broadcast.is_none());
    }

    #[test]
    fn connection_ids_print_as_numbers() {
        assert_eq!(ConnectionId(7).to_string(), "#7");
        assert!(ConnectionId(1) < ConnectionId(2));
    }

    #[test]
    fn a_publisher_reaches_every_subscriber() {
        let (publisher, mut reader) = publisher_and_reader(Hub::new(Codec::Json));
        assert_eq!(publisher.subscriber_count(), 1);
        assert_eq!(format!("{publisher:?}"), "Publisher(1 subscribers)");
        publisher.publish(&Request::List);
        assert_eq!(read_lines(&mut reader, 1), ["{\"type\":\"list\"}\n"]);
    }

    #[test]
    fn a_relay_of_the_received_frame_broadcasts_it_unchanged_on_json() {
        let (publisher, mut reader) = publisher_and_reader(Hub::new(Codec::Json));
        let received = br#"{"type":"message","nick":"a","message":"hi","extra":1}"#;
        let relaying = Codec::Json.decode_request_to_relay(received).unwrap().1;
        publisher
            .relay(received, relaying, &Relay::Received)
            .unwrap();
        publisher
            .relay(b"", Relaying::Reencoded, &Relay::Frame(Request::List))
            .unwrap();
        let expected = format!("{}\n", String::from_utf8_lossy(received));
        assert_eq!(
            read_lines(&mut reader, 2),
            [expected.as_str(), "{\"type\":\"list\"}\n"]
        );
    }

    #[test]
    fn a_frame_that_cannot_be_relayed_as_received_is_an_error() {
        let publisher = Publisher::new(Hub::new(Codec::Pickle), Codec::Pickle);
        let received = b"not a pickle";
        assert!(
            publisher
                .relay(received, Relaying::Reencoded, &Relay::Received)
                .is_err()
        );
    }

    #[test]
    fn a_frame_larger_than_the_backlog_is_dropped_whole_not_cut() {
        let (publisher, mut reader) = publisher_and_reader(Hub::with_capacity(64, Codec::Json));
        publisher.publish_bytes(&[b'x'; 100]);
        publisher.publish(&Request::List);
        assert_eq!(read_lines(&mut reader, 1), ["{\"type\":\"list\"}\n"]);
    }
}
