//! The original's wire (`--wire zmq`, PROTOCOL.md section 8), in process:
//! servers on free loopback ports through the library's `ServerHandle`,
//! our clients and raw ZMTP peers against them. The libzmq side of the
//! story (pyzmq peers) is interop/zmq_interop.py, run by `make interop`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat::Named;
use chat::attack::simple_exploit::{self, DEFAULT_COMMAND};
use chat::client::{
    BaseClient, ClientError, Delivery, Endpoint, RequestChannel, SimpleClient, on_recv,
};
use chat::layer::{AeSettings, Layer, Opened, Password};
use chat::server::ae_server;
use chat::server::rogue_server::{Attack, FORGED_TEXT, RogueConfig, RogueServer};
use chat::server::{BaseServer, Publisher, ServerConfig, ServerHandle, SimpleServer, TrustModel};
use chat::wire::zmtp::{self, MessageReader, SocketType};
use chat::wire::{Broadcast, Codec, MessageBody, Nick, Request, Response, Wire, ZmqBody};
use chat_lab::process::{PATIENCE, wait_until};

/// A server of `layer` on the ZeroMQ wire, and its publisher.
fn serve(layer: Layer) -> (ServerHandle, Publisher) {
    serve_with(ServerConfig::local(), layer)
}

fn serve_with(config: ServerConfig, layer: Layer) -> (ServerHandle, Publisher) {
    let config = config.on_wire(Wire::Zmq).with_zmq_body(layer.zmq_body());
    let server = BaseServer::bind(&config).unwrap();
    let publisher = server.publisher();
    let service = match layer {
        Layer::Plain => SimpleServer::new(TrustModel::Open),
        Layer::Ae | Layer::Aead | Layer::Signed => ae_server(TrustModel::Open),
    };
    (server.spawn(Arc::new(service)).unwrap(), publisher)
}

fn endpoint(server: &ServerHandle, body: ZmqBody) -> Endpoint {
    Endpoint::of(server.request_addr(), server.broadcast_addr())
        .on_wire(Wire::Zmq)
        .with_zmq_body(body)
}

fn nick(name: &str) -> Nick {
    Nick::new(name).unwrap()
}

/// A REQ peer that has done the handshake, writing raw bytes after it.
fn raw_req(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    zmtp::handshake(&stream, SocketType::Req, PATIENCE).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// The answer to what a raw peer sent, decoded; `None` once closed.
fn answer(stream: &TcpStream) -> Option<Response> {
    let mut reader = MessageReader::new(stream.try_clone().unwrap(), SocketType::Req);
    let body = reader.read_message().ok()??;
    Some(Codec::Pickle.decode_response(body).unwrap())
}

/// Whether the server closes `stream` (reads reach end of stream).
fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut scratch = [0u8; 4096];
    loop {
        match stream.read(&mut scratch) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

/// A well-behaved client, checked between hostile inputs: it is served.
fn still_serves(endpoint: &Endpoint) {
    let mut requests = RequestChannel::connect(endpoint).unwrap();
    assert!(matches!(
        requests.request(&Request::List),
        Ok(Response::Nicks { .. })
    ));
}

fn ko_reason(response: Option<Response>) -> String {
    match response {
        Some(Response::Ko(reason)) => reason.to_string(),
        other => panic!("expected a ko, got {other:?}"),
    }
}

#[test]
fn our_clients_chat_through_our_server_on_every_layer() {
    let settings = AeSettings::new(Password::new("zmq-wire-test"));
    for &layer in Layer::ALL {
        let (server, _) = serve(layer);
        let base = BaseClient::connect(&endpoint(&server, layer.zmq_body())).unwrap();
        let mut broadcasts = base.broadcasts;
        broadcasts.set_read_timeout(Some(PATIENCE)).unwrap();
        let sealer = layer.sealer(Some(&settings)).unwrap();
        let mut client = SimpleClient::new(base.requests, nick("alice"), sealer)
            .with_subscriber(broadcasts.local_addr().unwrap());
        assert_eq!(client.join().unwrap(), Response::Ok, "{layer}");
        assert_eq!(client.message("hello over ZeroMQ").unwrap(), Response::Ok);
        let mut opener = layer.opener(Some(&settings)).unwrap();
        let codec = broadcasts.codec();
        let delivery = on_recv(&mut opener, codec, broadcasts.next_frame().unwrap());
        let Delivery::Accepted { nick: from, opened } = delivery else {
            panic!("{layer}: {delivery:?}");
        };
        // The signed layer notes the key it pins on first contact.
        let Opened { text, warnings, .. } = opened;
        assert_eq!(
            (from, text.as_str(), warnings.len()),
            (nick("alice"), "hello over ZeroMQ", 0),
            "{layer}"
        );
        assert_eq!(
            client.list().unwrap(),
            Response::nicks(vec!["alice".into()])
        );
        assert_eq!(client.leave().unwrap(), Response::Ok);
    }
}

#[test]
fn answers_in_the_codec_of_the_request_and_broadcasts_in_its_own() {
    let (server, _) = serve(Layer::Ae);
    let pickling = endpoint(&server, ZmqBody::Pickle);
    let mut requests = RequestChannel::connect(&pickling).unwrap();
    let join = Request::Join {
        nick: nick("bob"),
        subscriber: None,
    };
    let answer = requests.send(&Codec::Pickle.request_bytes(&join)).unwrap();
    assert!(
        Codec::Pickle.decode_response(answer).is_ok(),
        "a pickled request gets a pickled answer"
    );
    let answer = requests
        .send(&Codec::Msgpack.request_bytes(&Request::List))
        .unwrap();
    assert_eq!(
        Codec::Msgpack.decode_response(answer).unwrap(),
        Response::nicks(vec!["bob".into()])
    );
}

#[test]
fn relays_plain_pickle_whatever_opcodes_brought_the_message() {
    let (server, publisher) = serve(Layer::Plain);
    let spy = TcpStream::connect(server.broadcast_addr()).unwrap();
    zmtp::handshake(&spy, SocketType::Sub, PATIENCE).unwrap();
    wait_for_subscribers(&publisher, 1);
    let mut requests = RequestChannel::connect(&endpoint(&server, ZmqBody::Pickle)).unwrap();
    // Protocol 0, memo references included, as Python 3 writes it.
    let join = b"(dp0\nVtype\np1\nVjoin\np2\nsVnick\np3\nVbob\np4\ns.";
    let message = b"(dp0\nVtype\np1\nVmessage\np2\nsVnick\np3\nVbob\np4\nsg2\nVhi\np5\nsVextra\np6\n(lp7\nI1\naI2\nas.";
    for body in [&join[..], &message[..]] {
        let answer = requests.send(body).unwrap();
        assert_eq!(Codec::Pickle.decode_response(answer).unwrap(), Response::Ok);
    }
    spy.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reader = MessageReader::new(spy, SocketType::Sub);
    let relayed = reader.read_message().unwrap().unwrap().to_vec();
    assert_eq!(
        &relayed[..2],
        b"\x80\x03",
        "re-encoded, not relayed as received"
    );
    let Broadcast::Message { nick, body } = Codec::Pickle.decode_broadcast(&relayed).unwrap()
    else {
        panic!("not a message");
    };
    assert_eq!(
        (nick.as_ref(), body),
        ("bob", Some(MessageBody::Text("hi".into())))
    );
    let text = String::from_utf8_lossy(&relayed);
    assert!(text.contains("extra"), "every field the sender put in it");
}

fn wait_for_subscribers(publisher: &Publisher, count: usize) {
    let what = format!("{count} subscriber(s) are registered");
    wait_until(&what, || Ok(publisher.subscriber_count() == count)).unwrap();
}

#[test]
fn every_hostile_body_gets_its_ko_and_the_server_serves_on() {
    let (server, _) = serve(Layer::Plain);
    let endpoint = endpoint(&server, ZmqBody::Pickle);
    let expected = [
        "opcode STACK_GLOBAL at byte 28 imports a callable (posix.system)",
        "opcode GLOBAL at byte 0 imports a callable (posix.system)",
        "truncated: SHORT_BINUNICODE at byte 19 announces",
        "pickle nested deeper than 32 levels",
        "memo references copy more than 65536 bytes",
        "refers back to a list, tuple or dict",
        "announces 8589934590 entries, 10 bytes remain",
        "msgpack nested deeper than 32 levels",
        "a request must be a pickled dict object",
        "unknown request type 'exec'",
        "no STOP opcode in 0 bytes",
        "frame of 200000 bytes, over the 65536-byte limit; closing the connection",
    ];
    let payloads = simple_exploit::zmq_payloads(DEFAULT_COMMAND).unwrap();
    assert_eq!(payloads.len(), expected.len());
    for (payload, expected) in payloads.iter().zip(expected) {
        let mut requests = RequestChannel::connect(&endpoint).unwrap();
        let answer = requests.send(&payload.frames[0]).unwrap();
        let reason = ko_reason(Some(Codec::Pickle.decode_response(answer).unwrap()));
        assert!(reason.contains(expected), "{}: {reason}", payload.name);
        still_serves(&endpoint);
    }
}

/// A pickled dict or a msgpack map with a key twice (Python keeps the last
/// value, another reader the first): refused with its `ko` (so never
/// relayed), and the server serves on.
#[test]
fn a_key_given_twice_is_refused_in_pickle_and_msgpack() {
    let (server, _) = serve(Layer::Plain);
    let endpoint = endpoint(&server, ZmqBody::Pickle);
    let mut alice = RequestChannel::connect(&endpoint).unwrap();
    assert_eq!(
        alice
            .request(&Request::Join {
                nick: nick("alice"),
                subscriber: None
            })
            .unwrap(),
        Response::Ok
    );
    // {"type": "message", "nick": "alice", "message": "hi", "message": "bye"}
    let pickle = b"\x80\x04}(\x8c\x04type\x8c\x07message\x8c\x04nick\x8c\x05alice\x8c\x07message\x8c\x02hi\x8c\x07message\x8c\x03byeu.";
    // The same in msgpack, the second "message" key a str8.
    let mut msgpack = vec![0x84];
    for text in ["type", "message", "nick", "alice", "message", "hi"] {
        msgpack.push(0xa0 | text.len() as u8);
        msgpack.extend_from_slice(text.as_bytes());
    }
    msgpack.extend_from_slice(&[0xd9, 7]);
    msgpack.extend_from_slice(b"message\xa3bye");
    for body in [&pickle[..], &msgpack[..]] {
        let answer = alice.send(body).unwrap().to_vec();
        let reason = ko_reason(Some(
            Codec::Pickle
                .reading(&answer)
                .decode_response(&answer)
                .unwrap(),
        ));
        assert!(reason.contains(r#"duplicate key "message""#), "{reason}");
    }
    still_serves(&endpoint);
}

#[test]
fn frames_over_the_limit_get_a_ko_then_the_connection_closes() {
    let (server, _) = serve(Layer::Plain);
    let endpoint = endpoint(&server, ZmqBody::Pickle);
    let two_to_the_63 = [0x02, 0x80, 0, 0, 0, 0, 0, 0, 0];
    let (head, used) = zmtp::header(65_537, 0);
    let over_64k = [&head[..used], &[b'x'; 65_537][..]].concat();
    for (frame, size) in [
        (&two_to_the_63[..], "9223372036854775808"),
        (&over_64k[..], "65537"),
    ] {
        let mut stream = raw_req(server.request_addr());
        stream.write_all(&[0x01, 0x00]).unwrap();
        stream.write_all(frame).unwrap();
        let reason = ko_reason(answer(&stream));
        assert!(
            reason.contains(&format!("frame of {size} bytes")),
            "{reason}"
        );
        assert!(closed_by_server(&stream));
        still_serves(&endpoint);
    }
}

#[test]
fn bad_handshakes_close_that_connection_only() {
    let (server, _) = serve(Layer::Plain);
    let endpoint = endpoint(&server, ZmqBody::Pickle);
    let mut curve = zmtp::greeting();
    curve[12..17].copy_from_slice(b"CURVE");
    let mut http = [b' '; 64];
    http[..16].copy_from_slice(b"GET / HTTP/1.1\r\n");
    let json = [&br#"{"type":"list"}"#[..], b"\n"].concat();
    for greeting in [&curve[..], &http[..], &json[..]] {
        let mut stream = TcpStream::connect(server.request_addr()).unwrap();
        stream.write_all(greeting).unwrap();
        assert!(closed_by_server(&stream), "{greeting:?}");
        still_serves(&endpoint);
    }
    let publisher = TcpStream::connect(server.request_addr()).unwrap();
    assert!(zmtp::handshake(&publisher, SocketType::Pub, PATIENCE).is_err());
}

#[test]
fn silent_peers_hold_up_nobody() {
    let (server, publisher) = serve(Layer::Plain);
    let endpoint = endpoint(&server, ZmqBody::Pickle);
    let _silent = [
        TcpStream::connect(server.request_addr()).unwrap(),
        TcpStream::connect(server.broadcast_addr()).unwrap(),
    ];
    let base = BaseClient::connect(&endpoint).unwrap();
    wait_for_subscribers(&publisher, 1);
    let mut client = SimpleClient::new(base.requests, nick("carol"), Box::new(chat::layer::Plain));
    assert_eq!(client.join().unwrap(), Response::Ok);
    still_serves(&endpoint);
}

#[test]
fn a_ping_gets_its_pong() {
    let (server, _) = serve(Layer::Plain);
    let mut stream = raw_req(server.request_addr());
    // PING, a TTL of 0, a context of "abc".
    stream.write_all(b"\x04\x0a\x04PING\x00\x00abc").unwrap();
    let mut pong = [0u8; 10];
    stream.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\x04\x08\x04PONGabc");
}

#[test]
fn a_connection_over_the_cap_is_told_in_the_handshake() {
    let mut config = ServerConfig::local();
    config.max_connections = 1;
    let (server, _) = serve_with(config, Layer::Plain);
    let endpoint = endpoint(&server, ZmqBody::Pickle);
    let _first = RequestChannel::connect(&endpoint).unwrap();
    let refused = RequestChannel::connect(&endpoint)
        .err()
        .expect("over the cap");
    let ClientError::Handshake(e) = refused else {
        panic!("{refused:?}");
    };
    assert!(e.to_string().contains("server full"), "{e}");
}

#[test]
fn a_subscriber_that_does_not_read_is_disconnected_never_skipped() {
    let (server, publisher) = serve(Layer::Plain);
    let stalled = TcpStream::connect(server.broadcast_addr()).unwrap();
    zmtp::handshake(&stalled, SocketType::Sub, PATIENCE).unwrap();
    wait_for_subscribers(&publisher, 1);
    let mut sender = SimpleClient::new(
        RequestChannel::connect(&endpoint(&server, ZmqBody::Pickle)).unwrap(),
        nick("dave"),
        Box::new(chat::layer::Plain),
    );
    assert_eq!(sender.join().unwrap(), Response::Ok);
    let padding = "x".repeat(60_000);
    let deadline = Instant::now() + PATIENCE * 3;
    let mut sent = 0;
    while publisher.subscriber_count() > 0 {
        assert!(Instant::now() < deadline, "never disconnected");
        assert_eq!(
            sender.message(&format!("{sent:06} {padding}")).unwrap(),
            Response::Ok
        );
        sent += 1;
    }
    // What it was sent is every message from the first, in order, whole.
    stalled.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reader = MessageReader::new(stalled, SocketType::Sub);
    let mut next = 0;
    while let Ok(Some(body)) = reader.read_message() {
        match Codec::Pickle.decode_broadcast(body).unwrap() {
            Broadcast::Message {
                body: Some(MessageBody::Text(text)),
                ..
            } => {
                assert_eq!(text[..6].parse::<usize>().unwrap(), next);
                next += 1;
            }
            Broadcast::Notice(reason) => assert!(reason.contains("behind"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(next > 0 && next < sent, "received {next} of {sent}");
}

#[test]
fn the_rogue_server_forges_on_this_wire_too() {
    let config = ServerConfig::local().on_wire(Wire::Zmq);
    let server = BaseServer::bind(&config).unwrap();
    let publisher = server.publisher();
    let rogue = RogueServer::new(
        SimpleServer::new(TrustModel::Open),
        RogueConfig {
            attacks: [Attack::Tamper].into(),
            impersonate: None,
            replay_delay: Duration::from_secs(1),
        },
        publisher,
    );
    let server = server.spawn(Arc::new(rogue)).unwrap();
    let base = BaseClient::connect(&endpoint(&server, ZmqBody::Pickle)).unwrap();
    let mut broadcasts = base.broadcasts;
    broadcasts.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut client = SimpleClient::new(base.requests, nick("erin"), Box::new(chat::layer::Plain))
        .with_subscriber(broadcasts.local_addr().unwrap());
    assert_eq!(client.join().unwrap(), Response::Ok);
    assert_eq!(client.message("the real text").unwrap(), Response::Ok);
    let frame = broadcasts.next_frame().unwrap().to_vec();
    assert!(
        Codec::Pickle.decode_broadcast(&frame).is_ok(),
        "the forgery is plain pickle too"
    );
    let Broadcast::Message { body, .. } = Codec::Pickle.decode_broadcast(&frame).unwrap() else {
        panic!("not a message");
    };
    assert_eq!(body, Some(MessageBody::Text(FORGED_TEXT.into())));
}

/// A `list` answer stays under the frame limit on this wire too, in both of
/// its serialisations, however long the nicks: the ones that do not fit are
/// counted in `more`, and a client can read the answer.
#[test]
fn list_answers_fit_a_frame_in_pickle_and_msgpack() {
    const NICKS: usize = 300;
    let (server, _) = serve(Layer::Plain);
    for body in [ZmqBody::Pickle, ZmqBody::Msgpack] {
        let mut flood = RequestChannel::connect(&endpoint(&server, body)).unwrap();
        for i in 0..NICKS {
            let long = format!("{i:03}{}", "🦀".repeat(61));
            let join = Request::Join {
                nick: nick(
                    &format!("{body:?}{long}")
                        .chars()
                        .take(64)
                        .collect::<String>(),
                ),
                subscriber: None,
            };
            assert_eq!(flood.request(&join).unwrap(), Response::Ok);
        }
        let mut reader = RequestChannel::connect(&endpoint(&server, body)).unwrap();
        match reader.request(&Request::List).unwrap() {
            Response::Nicks { nicks, more } => {
                assert!(more > 0, "{body:?}: nothing left out");
                assert!(!nicks.is_empty(), "{body:?}");
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
}
