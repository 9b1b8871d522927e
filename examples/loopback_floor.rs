//! What plain `std::net` reaches on this machine, with no chat code at all:
//! the ceilings the benchmark's numbers should be read against.
//!
//! - `pairs K`: K threads each send a 110-byte request and wait for an
//!   18-byte answer from an echo thread, as fast as they can. This is the
//!   most any server can reach in `chat_bench` with K senders, before it
//!   broadcasts anything to anyone.
//! - `paced`: one pair at 1,000 round trips per second; the latency floor.
//!
//! `cargo run --release --example loopback_floor -- pairs 4`

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const REQUEST: usize = 110;
const ANSWER: usize = 18;
const RUN: Duration = Duration::from_secs(3);
const PACED_ROUND_TRIPS: u32 = 3_000;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = start_echo()?;
    match args.first().map(String::as_str) {
        Some("paced") => paced(addr),
        _ => {
            let pairs = args.get(1).and_then(|k| k.parse().ok()).unwrap_or(1);
            flat_out(addr, pairs)
        }
    }
}

/// An echo server: one thread per connection, answering each request.
fn start_echo() -> std::io::Result<SocketAddr> {
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

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn round_trip(stream: &mut TcpStream) -> std::io::Result<()> {
    let (request, mut answer) = ([7u8; REQUEST], [0u8; ANSWER]);
    stream.write_all(&request)?;
    stream.read_exact(&mut answer)
}

fn flat_out(addr: SocketAddr, pairs: usize) -> std::io::Result<()> {
    let workers: Vec<_> = (0..pairs)
        .map(|_| {
            thread::spawn(move || -> std::io::Result<u64> {
                let mut stream = connect(addr)?;
                let (start, mut done) = (Instant::now(), 0);
                while start.elapsed() < RUN {
                    round_trip(&mut stream)?;
                    done += 1;
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker
            .join()
            .map_err(|_| std::io::Error::other("a pair panicked"))??;
    }
    println!("{pairs} pair(s): {} round trips/s", total / RUN.as_secs());
    Ok(())
}

fn paced(addr: SocketAddr) -> std::io::Result<()> {
    let mut stream = connect(addr)?;
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
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "paced at 1,000/s: p50 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        latencies[latencies.len() - 1]
    );
    Ok(())
}
