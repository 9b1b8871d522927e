//! What plain `std::net` reaches on this machine, with no chat code at all:
//! the ceilings the benchmark's numbers should be read against
//! (`chat_lab::bench::floor` says how each is measured).
//!
//! - `pairs K`: K threads each send a 110-byte request and wait for an
//!   18-byte answer from an echo thread, as fast as they can. This is the
//!   most any server can reach in `chat_bench` with K senders, before it
//!   broadcasts anything to anyone.
//! - `paced`: one pair at 1,000 round trips per second; the latency floor.
//! - `broadcast S K [M]`: the chat's I/O and nothing else, S readers and K
//!   senders, M messages of 64 bytes (100,000 unless given): the fair
//!   floor of `chat_bench --subscribers S --senders K`.
//!
//! ```sh
//! cargo run --release --example loopback_floor -- pairs 4
//! cargo run --release --example loopback_floor -- broadcast 10 4
//! ```

use chat_lab::bench::floor;

/// Messages of a broadcast floor run unless given: `chat_bench --suite`'s
/// count for 10 subscribers and 4 senders.
const BROADCAST_MESSAGES: usize = 100_000;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|n| n.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("paced") => {
            let paced = floor::paced()?;
            println!(
                "paced at 1,000/s: p50 {:.0} us, p99 {:.0} us, max {:.0} us",
                paced.p50_us, paced.p99_us, paced.max_us
            );
        }
        Some("broadcast") => {
            let (subscribers, senders) = (number(1, 10), number(2, 4));
            let run = floor::broadcast(subscribers, senders, number(3, BROADCAST_MESSAGES))?;
            println!(
                "broadcast, {subscribers} subscriber(s), {senders} sender(s): {:.0} msg/s ({} lost)",
                run.msgs_per_s, run.lost
            );
        }
        _ => {
            let pairs = number(1, 1);
            let run = floor::pairs(pairs, floor::PAIRS_RUN)?;
            println!(
                "{pairs} pair(s): {:.0} round trips/s",
                run.round_trips_per_s
            );
        }
    }
    Ok(())
}
