//! The counters' worst case, measured: the contract bounds what a receiver
//! keeps about senders under 32 MiB whatever is sent (PROTOCOL.md section
//! 3.4). The tracker is filled to every one of its caps at once (4,096
//! senders, each named by a 64-character nick of 4-byte characters, each
//! with 64 sessions), then flooded with as many new senders again; what it
//! costs is read from the growth of this test process's resident memory
//! (Linux `/proc`), which counts the allocator's own slack too.
//! docs/ROBUSTNESS.md records the figure (`cargo test -p chat --test
//! tracker_memory -- --nocapture` prints it).

use std::time::Duration;

use chat::layer::{
    MAX_SESSIONS_PER_SENDER, MAX_TRACKED_SENDERS, SequenceTracker, SessionId, Stamp,
};

/// The contract's bound, in KiB.
const BOUND_KIB: u64 = 32 << 10;
const TTL: u64 = 30;
const T0: u64 = 1_800_000_000;

/// This process's resident memory, in KiB: the larger of now and its peak,
/// so that memory freed on the way still counts.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let field = |name: &str| {
        let line = status.lines().find_map(|l| l.strip_prefix(name));
        let value = line.expect("a memory field").trim().trim_end_matches("kB");
        value.trim().parse::<u64>().expect("a number of KiB")
    };
    field("VmRSS:").max(field("VmHWM:"))
}

/// The longest nick there is, in bytes: 64 characters of 4 bytes each,
/// made distinct by `i`.
fn longest_nick(i: usize) -> String {
    let distinct = format!("{i:08}");
    let padding = "\u{1f980}".repeat(64 - distinct.len());
    format!("{distinct}{padding}")
}

fn session(i: usize) -> SessionId {
    SessionId::parse(&format!("{i:012}")).expect("twelve digits")
}

/// Every sender of `senders`, each with `sessions` sessions of its own.
fn flood(tracker: &mut SequenceTracker, senders: std::ops::Range<usize>, sessions: usize) {
    for i in senders {
        let nick = longest_nick(i);
        for s in 0..sessions {
            let stamp = Stamp {
                session: session(s),
                seq: 0,
                sent_at: T0 + s as u64,
            };
            tracker.observe(&nick, stamp, Duration::from_secs(1));
        }
    }
}

#[test]
fn the_tracker_stays_under_32_mib_whatever_is_sent() {
    let before = resident_kib();
    let mut tracker = SequenceTracker::new(TTL);
    flood(
        &mut tracker,
        0..MAX_TRACKED_SENDERS,
        MAX_SESSIONS_PER_SENDER,
    );
    let full = resident_kib() - before;
    let tracked = tracker.tracked();
    assert_eq!(tracked.senders, MAX_TRACKED_SENDERS, "{tracked:?}");
    assert_eq!(
        tracked.most_sessions, MAX_SESSIONS_PER_SENDER,
        "{tracked:?}"
    );
    flood(
        &mut tracker,
        MAX_TRACKED_SENDERS..2 * MAX_TRACKED_SENDERS,
        MAX_SESSIONS_PER_SENDER,
    );
    let churned = resident_kib() - before;
    println!(
        "tracker at its caps: {:.1} MiB; after as many new senders again: {:.1} MiB",
        full as f64 / 1024.0,
        churned as f64 / 1024.0
    );
    assert!(
        full < BOUND_KIB && churned < BOUND_KIB,
        "{full} and {churned} KiB"
    );
}
