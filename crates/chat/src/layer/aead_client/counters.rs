//! The AEAD layer's counters: each sender seals a random session id and a
//! sequence number counting its messages the server accepted, so that a
//! receiver can tell when messages went missing, came out of order, or
//! came from a session the sender has since replaced.
//!
//! State is kept per (sender, session), where the sender is whatever the
//! layer could verify: under AEAD, anyone with the password, so the sealed
//! nick; a signed layer would key it by the signing key. Each session is
//! remembered for the TTL plus the 60 s of clock skew after its last
//! message (monotonic time), long enough for any late message of it to
//! still be acceptable, and no longer.
//!
//! Which session is a sender's current one: the last one seen to start,
//! unless a session never seen arrives with a token older than the current
//! session's newest (a late message from an earlier session, whose state
//! was never seen or already forgotten). Tokens are dated by the sender's
//! own clock, to the second: a sender restarting within the same second as
//! a late message of its previous session is the one case this cannot
//! order.

use std::collections::HashMap;
use std::time::Duration;

use crate::layer::keys::crypto::MAX_CLOCK_SKEW_SECS;

/// Senders whose counters a receiver follows; past this, those idle for a
/// whole window are forgotten, and if none is, all of them.
pub const MAX_TRACKED_SENDERS: usize = 4096;
/// Sessions remembered per sender.
pub const MAX_SESSIONS_PER_SENDER: usize = 16;

/// What a message's counter reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    /// This many messages of the session before this one never arrived.
    Missing(u64),
    /// The message comes after a later one of its session.
    OutOfOrder,
    /// The message comes from a session the sender has since replaced.
    Superseded,
}

impl Anomaly {
    /// The warning a client prints about a message from `nick`.
    pub fn describe(self, nick: &str) -> String {
        match self {
            Self::Missing(n) => format!("{} message(s) from {nick} missing", grouped(n)),
            Self::OutOfOrder => format!("message from {nick} arrived out of order"),
            Self::Superseded => format!(
                "message from a superseded session of {nick} (a newer session of {nick} was seen before it)"
            ),
        }
    }
}

/// `n` with its digits in groups of three, as people read a count
/// (`9,223,372,036,854,775,807`, what a poisoned counter makes of a gap).
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 4 / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The counters of one sealed message.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub session: &'a str,
    pub seq: u64,
    /// The token's timestamp (the sender's clock, to the second).
    pub sent_at: u64,
}

/// One session of a sender.
#[derive(Debug)]
struct Session {
    id: String,
    /// The counter expected next.
    next: u64,
    /// When its last message arrived (monotonic).
    last_seen: Duration,
    /// Whether it is the sender's current session.
    current: bool,
}

/// One sender's sessions.
#[derive(Debug)]
struct Sender {
    /// The newest token timestamp seen from the current session (0: none).
    newest: u64,
    sessions: Vec<Session>,
}

/// Each sender's sessions and the counters expected next.
pub struct SequenceTracker {
    /// How long a session is remembered after its last message.
    window: Duration,
    senders: HashMap<String, Sender>,
}

impl SequenceTracker {
    /// A tracker for messages acceptable for `ttl` seconds.
    pub fn new(ttl: u64) -> Self {
        Self {
            window: Duration::from_secs(ttl.saturating_add(MAX_CLOCK_SKEW_SECS)),
            senders: HashMap::new(),
        }
    }

    /// Records a message from `sender` received at monotonic time `now`;
    /// returns what its counter reveals, if anything.
    pub fn observe(&mut self, sender: &str, stamp: Stamp<'_>, now: Duration) -> Option<Anomaly> {
        let window = self.window;
        if let Some(state) = self.senders.get_mut(sender) {
            state.forget_older_than(now, window);
            if !state.sessions.is_empty() {
                return state.observe(stamp, now);
            }
        }
        self.make_room(now);
        self.senders
            .insert(sender.to_owned(), Sender::first(stamp, now));
        None
    }

    /// Senders followed now.
    #[cfg(test)]
    pub fn senders(&self) -> usize {
        self.senders.len()
    }

    fn make_room(&mut self, now: Duration) {
        if self.senders.len() < MAX_TRACKED_SENDERS {
            return;
        }
        let window = self.window;
        self.senders.retain(|_, state| {
            state.forget_older_than(now, window);
            !state.sessions.is_empty()
        });
        if self.senders.len() >= MAX_TRACKED_SENDERS {
            self.senders.clear();
        }
    }
}

impl Sender {
    /// A sender first seen now: its first message tells nothing, since
    /// those before it were sent before this receiver listened.
    fn first(stamp: Stamp<'_>, now: Duration) -> Self {
        Self {
            newest: stamp.sent_at,
            sessions: vec![Session::starting(stamp, now, true)],
        }
    }

    fn observe(&mut self, stamp: Stamp<'_>, now: Duration) -> Option<Anomaly> {
        let known = self.sessions.iter_mut().find(|s| s.id == stamp.session);
        match known {
            Some(session) if session.current => {
                self.newest = self.newest.max(stamp.sent_at);
                session.count(stamp.seq, now)
            }
            Some(session) => {
                session.count(stamp.seq, now);
                Some(Anomaly::Superseded)
            }
            None if stamp.sent_at < self.newest => {
                self.add(Session::starting(stamp, now, false));
                Some(Anomaly::Superseded)
            }
            None => {
                self.sessions.iter_mut().for_each(|s| s.current = false);
                self.add(Session::starting(stamp, now, true));
                self.newest = stamp.sent_at;
                None
            }
        }
    }

    /// Adds a session, making room by forgetting the least recently heard
    /// session that is not the current one.
    fn add(&mut self, session: Session) {
        if self.sessions.len() >= MAX_SESSIONS_PER_SENDER {
            let oldest = (0..self.sessions.len())
                .filter(|&i| !self.sessions[i].current)
                .min_by_key(|&i| self.sessions[i].last_seen);
            if let Some(i) = oldest {
                self.sessions.swap_remove(i);
            }
        }
        self.sessions.push(session);
    }

    fn forget_older_than(&mut self, now: Duration, window: Duration) {
        self.sessions
            .retain(|s| s.last_seen.saturating_add(window) >= now);
        if !self.sessions.iter().any(|s| s.current) {
            // No current session: the next one to start becomes it.
            self.newest = 0;
        }
    }
}

impl Session {
    fn starting(stamp: Stamp<'_>, now: Duration, current: bool) -> Self {
        Self {
            id: stamp.session.to_owned(),
            next: stamp.seq.saturating_add(1),
            last_seen: now,
            current,
        }
    }

    fn count(&mut self, seq: u64, now: Duration) -> Option<Anomaly> {
        let expected = self.next;
        self.next = self.next.max(seq.saturating_add(1));
        self.last_seen = now;
        match seq.cmp(&expected) {
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => Some(Anomaly::Missing(seq - expected)),
            std::cmp::Ordering::Less => Some(Anomaly::OutOfOrder),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_is_counted_in_groups_of_three_digits() {
        let gap = Anomaly::Missing(u64::MAX >> 1).describe("alice");
        assert_eq!(
            gap,
            "9,223,372,036,854,775,807 message(s) from alice missing"
        );
        assert_eq!(
            Anomaly::Missing(1).describe("bob"),
            "1 message(s) from bob missing"
        );
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(999), "999");
    }

    const TTL: u64 = 30;
    const T0: u64 = 1_800_000_000;

    fn stamp(session: &str, seq: u64, sent_at: u64) -> Stamp<'_> {
        Stamp {
            session,
            seq,
            sent_at,
        }
    }

    fn at(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn gaps_and_reordering_within_a_session() {
        let mut t = SequenceTracker::new(TTL);
        assert_eq!(t.observe("alice", stamp("s1", 0, T0), at(0)), None);
        assert_eq!(
            t.observe("alice", stamp("s1", 3, T0), at(1)),
            Some(Anomaly::Missing(2))
        );
        assert_eq!(
            t.observe("alice", stamp("s1", 1, T0), at(2)),
            Some(Anomaly::OutOfOrder)
        );
        assert_eq!(t.observe("alice", stamp("s1", 4, T0), at(3)), None);
    }

    #[test]
    fn a_late_message_of_a_replaced_session_is_flagged() {
        let mut t = SequenceTracker::new(TTL);
        assert_eq!(t.observe("alice", stamp("old", 0, T0), at(0)), None);
        assert_eq!(t.observe("alice", stamp("new", 0, T0 + 5), at(5)), None);
        assert_eq!(
            t.observe("alice", stamp("old", 1, T0 + 1), at(6)),
            Some(Anomaly::Superseded)
        );
        assert_eq!(t.observe("alice", stamp("new", 1, T0 + 6), at(7)), None);
    }

    #[test]
    fn a_late_message_of_a_session_never_seen_is_flagged_by_its_date() {
        let mut t = SequenceTracker::new(TTL);
        assert_eq!(t.observe("alice", stamp("new", 4, T0 + 10), at(0)), None);
        assert_eq!(
            t.observe("alice", stamp("old", 9, T0 + 2), at(1)),
            Some(Anomaly::Superseded)
        );
        assert_eq!(t.observe("alice", stamp("new", 5, T0 + 11), at(2)), None);
    }

    #[test]
    fn sessions_are_forgotten_after_their_window() {
        let mut t = SequenceTracker::new(TTL);
        t.observe("alice", stamp("s1", 0, T0), at(0));
        t.observe("alice", stamp("s1", 1, T0), at(TTL + 60));
        // Still within the window of its last message: a gap is noticed.
        assert_eq!(
            t.observe("alice", stamp("s1", 5, T0), at(2 * (TTL + 60))),
            Some(Anomaly::Missing(3))
        );
        // After a whole window of silence, the sender starts afresh.
        assert_eq!(
            t.observe("alice", stamp("s1", 9, T0), at(4 * (TTL + 60))),
            None
        );
        assert_eq!(t.senders(), 1);
    }

    #[test]
    fn the_state_is_bounded() {
        let mut t = SequenceTracker::new(TTL);
        for i in 0..=MAX_TRACKED_SENDERS {
            t.observe(&format!("n{i}"), stamp("s", 0, T0), at(0));
        }
        assert!(t.senders() <= MAX_TRACKED_SENDERS);
        for i in 0..(2 * MAX_SESSIONS_PER_SENDER) as u64 {
            t.observe("alice", stamp(&format!("s{i}"), 0, T0 + i), at(1));
        }
        assert!(t.senders["alice"].sessions.len() <= MAX_SESSIONS_PER_SENDER);
    }
}
