//! A request connection's life, on its own thread: Python's `update`
//! polled one REP socket; here each connection reads frames, decodes them,
//! calls [`Service::on_recv`], publishes the broadcast (if any) and writes
//! the response, until it closes. A request that cannot be decoded never
//! reaches the service: it is logged and answered `ko`, as Python's
//! `update` logged the exception and answered empty.
//!
//! Only a frame over [`MAX_LINE`] bytes, or the peer, ends a connection:
//! the over-long frame is answered `ko` and the rest of it drained, so the
//! peer reads why; a connection that dies mid-frame costs nothing lasting.
//! Answers to pipelined requests are written in batches of about
//! [`OUT_BUDGET`] bytes, so what a connection holds stays bounded whatever
//! it sends.

use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::connections::Slot;
use super::{OUT_BUDGET, Publisher, Service, Session, refusal, refused};
use crate::server::tap::Refusal;
use crate::wire::framing::FramingError;
use crate::wire::zmtp::{self, SocketType, ZmtpError};
use crate::wire::{Codec, Connection, MAX_LINE, Relaying, Response, Wire};

/// Most bytes read and discarded from a connection refused for a framing
/// error, and how long to wait for each read, before closing it.
const DRAIN_LIMIT: usize = 1024 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_millis(200);

/// A request connection's thread, from the handshake (on the ZeroMQ wire)
/// to `on_close`. The slot is held, not just its id, until it ends.
pub(super) fn serve_request_connection<S: Service>(
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
        tap: slot.tap().clone(),
    };
    log::debug!("request connection {} opened from {peer}", session.id);
    let connection = match open_connection(stream, session.broadcast.codec()) {
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
    let codec = session.broadcast.codec();
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
    let server_codec = session.broadcast.codec();
    let (reply, relaying) = match server_codec.decode_request_to_relay(frame) {
        Ok((request, relaying)) => (service.on_recv(session, request), relaying),
        Err(e) => {
            session.tap.refused_body(frame);
            let refused = refusal(session, Refusal::Request, "request", e);
            (refused, Relaying::Reencoded)
        }
    };
    let codec = server_codec.reading(frame);
    if let Some(relay) = &reply.broadcast {
        if let Err(e) = session.broadcast.relay(frame, relaying, relay) {
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

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, mpsc};
    use std::thread::{self, JoinHandle};

    use super::super::super::broadcast::Hub;
    use super::super::connections::Connections;
    use super::super::{ConnectionId, Relay, Reply};
    use super::*;
    use crate::server::tap::Tap;
    use crate::server::test_sockets::{read_lines, socket_pair};
    use crate::wire::Request;

    const LIST: &[u8] = b"{\"type\":\"list\"}\n";

    /// Answers each request with its rank (and `pad` bytes, to make answers
    /// big), relays messages as received, and, on the request ranked
    /// `hold`, waits to be released first.
    #[derive(Default)]
    struct Ranks {
        calls: AtomicUsize,
        closes: AtomicUsize,
        pad: usize,
        hold: Option<(usize, Mutex<mpsc::Receiver<()>>)>,
    }

    impl Service for Ranks {
        fn on_recv<'a>(&self, _session: &Session, request: Request<'a>) -> Reply<'a> {
            let rank = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some((at, release)) = &self.hold {
                if rank == *at {
                    release.lock().unwrap().recv().unwrap();
                }
            }
            if let Request::Message { .. } = request {
                return Reply::broadcast(Relay::Received);
            }
            let answer = format!("{rank:04}{}", "x".repeat(self.pad));
            Reply::respond(Response::nicks(vec![answer]))
        }

        fn on_close(&self, _session: &Session) {
            self.closes.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn session(hub: &Arc<Hub>) -> Session {
        Session {
            id: ConnectionId(1),
            peer: "127.0.0.1:1".parse().unwrap(),
            broadcast: Publisher::new(Arc::clone(hub), Codec::Json),
            tap: Tap::new(),
        }
    }

    /// `serve_requests` on a thread, and the peer's end of its connection.
    fn serve(service: Arc<Ranks>, hub: &Arc<Hub>) -> (JoinHandle<Closed>, TcpStream) {
        let (server_end, client) = socket_pair();
        let session = session(hub);
        let served =
            thread::spawn(move || serve_requests(Connection::new(server_end), &*service, &session));
        // A guard, not a measure: a server that never answers fails the test.
        client
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        (served, client)
    }

    fn rank_line(rank: usize) -> String {
        format!("{{\"response\":[\"{rank:04}\"]}}\n")
    }

    #[test]
    fn pipelined_requests_are_answered_in_order() {
        let (served, mut client) = serve(Arc::default(), &Hub::new(Codec::Json));
        client.write_all(&LIST.repeat(100)).unwrap();
        let answers = read_lines(&mut BufReader::new(client.try_clone().unwrap()), 100);
        let expected: Vec<String> = (1..=100).map(rank_line).collect();
        assert_eq!(answers, expected);
        client.shutdown(Shutdown::Write).unwrap();
        assert!(matches!(served.join().unwrap(), Closed::ByPeer));
    }

    #[test]
    fn answers_go_out_once_the_budget_is_queued_even_with_requests_waiting() {
        let (release, released) = mpsc::channel();
        let service = Ranks {
            pad: 1000,
            hold: Some((40, Mutex::new(released))),
            ..Ranks::default()
        };
        let (served, mut client) = serve(Arc::new(service), &Hub::new(Codec::Json));
        // 50 requests at once: the 40th is held while the last 10 wait
        // behind it, and the 39 answers before it exceed the budget.
        client.write_all(&LIST.repeat(50)).unwrap();
        let mut reader = BufReader::new(client.try_clone().unwrap());
        let before_the_hold = OUT_BUDGET / 1024;
        let first = read_lines(&mut reader, before_the_hold);
        release.send(()).unwrap();
        let rest = read_lines(&mut reader, 50 - before_the_hold);
        for (rank, answer) in (1..).zip(first.iter().chain(&rest)) {
            assert!(answer.starts_with(&format!("{{\"response\":[\"{rank:04}x")));
        }
        client.shutdown(Shutdown::Write).unwrap();
        assert!(matches!(served.join().unwrap(), Closed::ByPeer));
    }

    #[test]
    fn a_request_that_cannot_be_decoded_is_answered_ko_and_never_reaches_the_service() {
        let service = Arc::new(Ranks::default());
        let (served, mut client) = serve(Arc::clone(&service), &Hub::new(Codec::Json));
        client.write_all(b"{\"type\":\"dance\"}\n").unwrap();
        client.write_all(LIST).unwrap();
        let answers = read_lines(&mut BufReader::new(client.try_clone().unwrap()), 2);
        assert!(answers[0].starts_with("{\"response\":\"ko\""));
        assert_eq!(answers[1], rank_line(1));
        drop(client);
        served.join().unwrap();
        assert_eq!(service.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_reply_s_broadcast_is_published_and_answered_ok() {
        let hub = Hub::new(Codec::Json);
        let _broadcaster = hub.start_broadcaster().unwrap();
        let (sub_end, subscriber) = socket_pair();
        let subscription = hub.subscribe(Arc::new(sub_end), None).unwrap();
        thread::spawn(move || subscription.serve());
        let (served, mut client) = serve(Arc::default(), &hub);
        let message = "{\"type\":\"message\",\"nick\":\"alice\",\"message\":\"hi\"}\n";
        client.write_all(message.as_bytes()).unwrap();
        let answer = read_lines(&mut BufReader::new(client.try_clone().unwrap()), 1);
        assert_eq!(answer, ["{\"response\":\"ok\"}\n"]);
        assert_eq!(read_lines(&mut BufReader::new(subscriber), 1), [message]);
        drop(client);
        served.join().unwrap();
        hub.close();
    }

    #[test]
    fn an_over_long_line_is_refused_after_the_pending_answers() {
        let (served, mut client) = serve(Arc::default(), &Hub::new(Codec::Json));
        let mut sent = LIST.to_vec();
        sent.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        sent.push(b'\n');
        client.write_all(&sent).unwrap();
        let mut reader = BufReader::new(client.try_clone().unwrap());
        let answers = read_lines(&mut reader, 2);
        assert_eq!(answers[0], rank_line(1));
        assert!(answers[1].contains(&format!("line longer than {MAX_LINE} bytes")));
        let mut rest = String::new();
        assert_eq!(reader.read_line(&mut rest).unwrap(), 0);
        assert!(matches!(served.join().unwrap(), Closed::Refused(_)));
    }

    #[test]
    fn a_peer_gone_in_the_middle_of_a_frame_just_ends_the_connection() {
        let (served, mut client) = serve(Arc::default(), &Hub::new(Codec::Json));
        client.write_all(b"{\"type\":\"li").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        assert!(matches!(served.join().unwrap(), Closed::ByPeer));
    }

    #[test]
    fn a_connection_closes_the_service_session_and_frees_its_slot() {
        let connections = Arc::new(Connections::new(1, Codec::Json));
        let (server_end, client) = socket_pair();
        let stream = Arc::new(server_end);
        let slot = connections.try_acquire(&stream).unwrap();
        let service = Ranks::default();
        let publisher = Publisher::new(Hub::new(Codec::Json), Codec::Json);
        client.shutdown(Shutdown::Write).unwrap();
        serve_request_connection(Arc::clone(&stream), slot, &service, publisher);
        assert_eq!(service.closes.load(Ordering::SeqCst), 1);
        assert!(connections.try_acquire(&stream).is_some());
    }
}
