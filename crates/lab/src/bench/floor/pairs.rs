//! Request/response pairs of plain `std::net`: K senders each writing a
//! request the size of a chat message and waiting for an answer the size of
//! `{"response":"ok"}`, from an echo thread per connection.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{connect, joined};

/// Bytes of a request: a 64-byte message in its JSON frame.
const REQUEST: usize = 110;
/// Bytes of an answer: `{"response":"ok"}` and its newline.
const ANSWER: usize = 18;
/// Round trips of the paced run, one per millisecond.
const PACED_ROUND_TRIPS: u32 = 3_000;

/// How long the pairs run flat out.
pub const PAIRS_RUN: Duration = Duration::from_secs(3);

/// What a pairs run measured.
#[derive(Debug, Clone, Serialize)]
pub struct PairsFloor {
    pub floor: &'static str,
    pub pairs: usize,
    pub round_trips_per_s: f64,
}

/// `pairs` pairs, each as fast as it can for `run`: round trips per second
/// in all.
pub fn pairs(pairs: usize, run: Duration) -> io::Result<PairsFloor> {
    let addr = start_echo()?;
    let workers: Vec<_> = (0..pairs)
        .map(|_| thread::spawn(move || round_trips_for(addr, run)))
        .collect();
    let mut total = 0u64;
    for worker in workers {
        total += joined(worker, "pair")?;
    }
    Ok(PairsFloor {
        floor: "pairs",
        pairs,
        round_trips_per_s: (total as f64 / run.as_secs_f64()).round(),
    })
}

/// The latency of one pair paced at 1,000 round trips per second.
#[derive(Debug, Clone, Serialize)]
pub struct PacedFloor {
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// One pair at 1,000 round trips per second: the latency floor.
pub fn paced() -> io::Result<PacedFloor> {
    let mut stream = connect(start_echo()?)?;
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(PACED_ROUND_TRIPS as usize);
    for i in 0..PACED_ROUND_TRIPS {
        let due = start + Duration::from_millis(u64::from(i));
        thread::sleep(due.saturating_duration_since(Instant::now()));
        let sent = Instant::now();
        round_trip(&mut stream)?;
        latencies.push(sent.elapsed());
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len() - 1);
        latencies[i].as_secs_f64() * 1e6
    };
    Ok(PacedFloor {
        p50_us: at(0.50),
        p99_us: at(0.99),
        max_us: at(1.0),
    })
}

/// An echo server: one thread per connection, answering each request.
fn start_echo() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || echo(stream));
        }
    });
    Ok(addr)
}

fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut request = [0u8; REQUEST];
    while stream.read_exact(&mut request).is_ok() {
        if stream.write_all(&request[..ANSWER]).is_err() {
            return;
        }
    }
}

fn round_trips_for(addr: SocketAddr, run: Duration) -> io::Result<u64> {
    let mut stream = connect(addr)?;
    let (start, mut done) = (Instant::now(), 0);
    while start.elapsed() < run {
        round_trip(&mut stream)?;
        done += 1;
    }
    Ok(done)
}

fn round_trip(stream: &mut TcpStream) -> io::Result<()> {
    let (request, mut answer) = ([7u8; REQUEST], [0u8; ANSWER]);
    stream.write_all(&request)?;
    stream.read_exact(&mut answer)
}
