//! The machine's bare ceilings, with no chat code at all: what plain
//! `std::net` reaches on this machine, so that the benchmark's numbers are
//! read against the machine and not only against the Python original.
//!
//! - [`pairs`]: K request/response pairs flat out, the most any server can
//!   answer K senders that each wait for an answer, before it broadcasts
//!   anything to anyone.
//! - [`paced`]: one pair at 1,000 round trips per second; the latency floor.
//! - [`broadcast`]: the chat's I/O and nothing else (read a line, answer
//!   `ok`, write it coalesced to every subscriber, S readers counting every
//!   line), the fair floor of `chat_bench` with S subscribers and K senders.
//!
//! `examples/loopback_floor.rs` prints them; `chat_bench --floor` prints
//! them as JSON lines, and `chat_bench --suite` measures them in the same
//! run as the chat, beside its 10 subscribers and 4 senders.

mod broadcast;
mod pairs;

pub use broadcast::{BroadcastFloor, broadcast};
pub use pairs::{PAIRS_RUN, PacedFloor, PairsFloor, paced, pairs};

use std::io;
use std::net::TcpStream;

/// A connection to the floor's own server, without Nagle's delay, as the
/// chat's clients and server set theirs.
fn connect(addr: std::net::SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Joins a floor's thread, its panic turned into an error.
fn joined<T>(handle: std::thread::JoinHandle<io::Result<T>>, what: &str) -> io::Result<T> {
    handle
        .join()
        .map_err(|_| io::Error::other(format!("a {what} thread panicked")))?
}
