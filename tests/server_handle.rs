//! The server handle (`BaseServer::bind` then `spawn`): where a server
//! listens, and how it stops. Stopping closes every connection, joins every
//! thread and frees both ports, whether by `stop`, by a `Stopper` from
//! another thread, or by dropping the handle; a rogue server's pending
//! replays do not hold it up.
//!
//! Stops run on a thread of their own, awaited for [`PATIENCE`]: a failure
//! guard for a server that would never stop, not a measure of speed.

mod common;

use anyhow::Result;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use chat::client::{Endpoint, RequestChannel};
use chat::server::rogue_server::{Attack, RogueConfig, RogueServer};
use chat::server::{
    BaseServer, Publisher, ServerConfig, ServerHandle, Service, SimpleServer, TrustModel,
};
use chat::{Nick, Request, Response};
use chat_lab::process::PATIENCE;
use chat_lab::raw::{Conn, Sub, ok};

/// A replay due long after any test has ended: one still pending when its
/// server stops.
const FAR_OFF: Duration = Duration::from_secs(3600);

/// A running server, and its publisher, to know when it has registered a
/// subscriber.
fn spawn<S: Service>(make: impl FnOnce(Publisher) -> S) -> (ServerHandle, Publisher) {
    let server = BaseServer::bind(&ServerConfig::local()).unwrap();
    let publisher = server.publisher();
    let service = Arc::new(make(publisher.clone()));
    (server.spawn(service).unwrap(), publisher)
}

fn plain() -> (ServerHandle, Publisher) {
    spawn(|_| SimpleServer::new(TrustModel::Open))
}

/// Runs `stop` on a thread of its own and asserts it returns.
fn assert_returns(what: &str, stop: impl FnOnce() + Send + 'static) {
    let (done, returned) = mpsc::channel();
    thread::spawn(move || {
        stop();
        let _ = done.send(());
    });
    assert!(
        returned.recv_timeout(PATIENCE).is_ok(),
        "{what} did not return within {PATIENCE:?}"
    );
}

/// Asserts nothing listens at `addr` any more.
fn assert_refuses_connections(addr: SocketAddr) {
    let refused = TcpStream::connect(addr);
    assert!(refused.is_err(), "{addr} still accepts connections");
}

/// A request connection joined as `nick`, and a subscriber the server has
/// registered.
fn connected_pair((handle, publisher): &(ServerHandle, Publisher), nick: &str) -> (Conn, Sub) {
    let mut conn = Conn::connect(handle.request_addr()).unwrap();
    assert_eq!(conn.join(nick).unwrap(), ok());
    let sub = Sub::connect(handle.broadcast_addr()).unwrap();
    assert!(publisher.wait_for_subscriber(sub.local_addr().unwrap(), PATIENCE));
    (conn, sub)
}

#[test]
fn binds_port_zero_reports_both_addresses_and_serves() {
    let server = BaseServer::bind(&ServerConfig::local()).unwrap();
    let (requests, broadcasts) = (
        server.request_addr().unwrap(),
        server.broadcast_addr().unwrap(),
    );
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert_eq!((requests.ip(), broadcasts.ip()), (loopback, loopback));
    assert!(requests.port() != 0 && broadcasts.port() != 0);
    assert_ne!(requests.port(), broadcasts.port());

    let handle = server
        .spawn(Arc::new(SimpleServer::new(TrustModel::Open)))
        .unwrap();
    assert_eq!(
        (handle.request_addr(), handle.broadcast_addr()),
        (requests, broadcasts)
    );
    assert_eq!(
        handle.listening_line(),
        format!("listening on {requests} (requests) and {broadcasts} (broadcast)")
    );
    let mut client = RequestChannel::connect(&Endpoint::of(requests, broadcasts)).unwrap();
    let alice = Nick::new("alice").unwrap();
    let join = Request::Join {
        nick: alice,
        subscriber: None,
    };
    assert_eq!(client.request(&join).unwrap(), Response::Ok);
    assert_eq!(
        client.request(&Request::List).unwrap(),
        Response::nicks(vec!["alice".into()])
    );
}

/// Starts a plain server with a joined request connection and a registered
/// subscriber, stops it with `stop` (on a thread of its own), and asserts
/// that both connections see the end, and both ports refuse connections.
fn assert_stops_cleanly(what: &str, stop: impl FnOnce(ServerHandle) + Send + 'static) {
    let server = plain();
    let (mut conn, mut sub) = connected_pair(&server, "alice");
    let (handle, _) = server;
    let addrs = [handle.request_addr(), handle.broadcast_addr()];

    assert_returns(what, move || stop(handle));
    assert_eq!(
        conn.read_line().unwrap(),
        None,
        "{what}: the request connection is open"
    );
    assert!(
        sub.sees_end_of_stream(),
        "{what}: the subscriber is connected"
    );
    addrs.into_iter().for_each(assert_refuses_connections);
}

#[test]
fn stop_closes_every_connection_and_frees_both_ports() {
    assert_stops_cleanly("stop", ServerHandle::stop);
}

#[test]
fn a_stopper_on_another_thread_ends_wait() {
    assert_stops_cleanly("a stopper", |handle| {
        let stopper = handle.stopper();
        let waiting = thread::spawn(move || handle.wait());
        stopper.stop();
        waiting.join().unwrap();
    });
}

#[test]
fn dropping_the_handle_stops_the_server() {
    assert_stops_cleanly("drop", drop);
}

#[test]
fn a_rogue_server_with_a_replay_pending_stops_at_once_and_never_sends_it() -> Result<()> {
    let config = RogueConfig {
        attacks: BTreeSet::from([Attack::Replay]),
        impersonate: None,
        replay_delay: FAR_OFF,
    };
    let chat = SimpleServer::new(TrustModel::Open);
    let server = spawn(|publisher| RogueServer::new(chat, config, publisher));
    let (mut conn, mut sub) = connected_pair(&server, "alice");
    let (handle, _) = server;
    assert_eq!(conn.say("alice", "pay bob")?, ok());
    let relayed = sub.next_json()?;
    assert_eq!(relayed["message"], "pay bob");

    assert_returns("stop, a replay pending", move || handle.stop());
    assert!(
        sub.sees_end_of_stream(),
        "more came before the end: a replay?"
    );
    Ok(())
}
