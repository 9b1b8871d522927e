//! The AEAD layer's counters: each sender seals a random session id and a
//! sequence number counting its messages the server accepted, so that a
//! receiver can tell when messages went missing, came out of order, or
//! came from a session the sender has since replaced.
//!
//! State is kept per (sender, session), where the sender is whatever the
//! layer could verify: under AEAD, anyone with the password, so the sealed
//! nick; the signed layer keys it by the signing key. Each session is
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
//!
//! **Bounded whatever is sent, at no honest sender's expense.** A session
//! id is 12 ASCII letters or digits ([`SessionId`], kept inline), a sender
//! keeps at most [`MAX_SESSIONS_PER_SENDER`] sessions (the least recently
//! heard non-current one makes room), and at most [`MAX_TRACKED_SENDERS`]
//! senders are followed. When that many are, those silent for a whole
//! window are forgotten first; then the [`EVICTED_AT_ONCE`] *seen least*
//! make room: senders never confirmed (no message of theirs ever continued
//! a session) before any confirmed one, then the fewest messages, then the
//! longest silent.
//! One insider's flood of fresh sessions, or of fresh nicks on a server in
//! the original's trust model, is all unconfirmed: it evicts itself, and
//! the counters of members who keep talking stay. Never is every sender
//! cleared at once. Worst case, about 12 MiB (docs/ROBUSTNESS.md).

use std::collections::HashMap;
use std::time::Duration;

use crate::layer::keys::crypto::MAX_CLOCK_SKEW_SECS;

/// Length of a session id, in ASCII letters or digits.
pub const SESSION_ID_LEN: usize = 12;
/// Senders whose counters a receiver follows at once.
pub const MAX_TRACKED_SENDERS: usize = 4096;
/// Sessions remembered per sender.
pub const MAX_SESSIONS_PER_SENDER: usize = 64;
/// Senders that make room at once when the tracker is full: 1/64 of it, so
/// that a flood of new senders costs a scan per 64 of them, not per one.
pub const EVICTED_AT_ONCE: usize = MAX_TRACKED_SENDERS / 64;

/// A sender's session id: exactly [`SESSION_ID_LEN`] ASCII letters or
/// digits, as a sealer draws it. Anything else is refused before any
/// counter is touched, so a session costs a receiver 12 bytes, whatever a
/// sender puts there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; SESSION_ID_LEN]);

impl SessionId {
    /// `text` as a session id, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = <[u8; SESSION_ID_LEN]>::try_from(text.as_bytes()).ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_alphanumeric)
            .then_some(Self(bytes))
    }
}

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
pub struct Stamp {
    pub session: SessionId,
    pub seq: u64,
    /// The token's timestamp (the sender's clock, to the second).
    pub sent_at: u64,
}

/// How much a tracker holds: what its bounds count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub senders: usize,
    /// Sessions of all senders together.
    pub sessions: usize,
    /// The most sessions one sender has.
    pub most_sessions: usize,
}

/// One session of a sender.
#[derive(Debug)]
struct Session {
    id: SessionId,
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
    /// Messages seen from it while followed.
    seen: u64,
    /// Whether a message of it ever continued one of its sessions: what a
    /// flood of one message per session or per nick never does.
    confirmed: bool,
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
    pub fn observe(&mut self, sender: &str, stamp: Stamp, now: Duration) -> Option<Anomaly> {
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

    /// How much it holds now.
    pub fn tracked(&self) -> Tracked {
        let sessions = self.senders.values().map(|s| s.sessions.len());
        Tracked {
            senders: self.senders.len(),
            sessions: sessions.clone().sum(),
            most_sessions: sessions.max().unwrap_or(0),
        }
    }

    /// Room for one more sender. Past [`MAX_TRACKED_SENDERS`], those silent
    /// for a whole window go; if that frees too little, the
    /// [`EVICTED_AT_ONCE`] seen least go too, so that the next ones find
    /// room without a scan of every sender each.
    fn make_room(&mut self, now: Duration) {
        if self.senders.len() < MAX_TRACKED_SENDERS {
            return;
        }
        let window = self.window;
        self.senders.retain(|_, state| {
            state.forget_older_than(now, window);
            !state.sessions.is_empty()
        });
        let excess = (self.senders.len() + EVICTED_AT_ONCE).saturating_sub(MAX_TRACKED_SENDERS);
        if excess == 0 {
            return;
        }
        let mut ranked: Vec<_> = self
            .senders
            .iter()
            .map(|(name, state)| (state.standing(), name.clone()))
            .collect();
        ranked.select_nth_unstable(excess - 1);
        for (_, name) in &ranked[..excess] {
            self.senders.remove(name);
        }
    }
}

impl Sender {
    /// A sender first seen now: its first message tells nothing, since
    /// those before it were sent before this receiver listened.
    fn first(stamp: Stamp, now: Duration) -> Self {
        Self {
            newest: stamp.sent_at,
            sessions: vec![Session::starting(stamp, now, true)],
            seen: 1,
            confirmed: false,
        }
    }

    /// Where it stands when one sender must make room: the least first.
    fn standing(&self) -> (bool, u64, Duration) {
        let heard = self.sessions.iter().map(|s| s.last_seen).max();
        (self.confirmed, self.seen, heard.unwrap_or_default())
    }

    fn observe(&mut self, stamp: Stamp, now: Duration) -> Option<Anomaly> {
        self.seen = self.seen.saturating_add(1);
        let known = self.sessions.iter_mut().find(|s| s.id == stamp.session);
        if known.is_some() {
            self.confirmed = true;
        }
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
    fn starting(stamp: Stamp, now: Duration, current: bool) -> Self {
        Self {
            id: stamp.session,
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
    /// More than the tracker holds, in either shape of flood.
    const FLOOD: u64 = 20_000;

    /// A session id made of `name`, padded to 12 characters.
    fn sid(name: &str) -> SessionId {
        SessionId::parse(&format!("{name:0>12}")).expect("a session id")
    }

    fn stamp(session: &str, seq: u64, sent_at: u64) -> Stamp {
        Stamp {
            session: sid(session),
            seq,
            sent_at,
        }
    }

    fn at(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_session_id_is_twelve_ascii_letters_or_digits() {
        assert!(SessionId::parse("uWoZH4GJoUWt").is_some());
        for bad in [
            "",
            "short",
            "uWoZH4GJoUW",
            "uWoZH4GJoUWtx",
            "uWoZH4GJoU-t",
            "uWoZH4GJoUé",
        ] {
            assert_eq!(SessionId::parse(bad), None, "{bad:?}");
        }
        assert_eq!(SessionId::parse(&"a".repeat(4096)), None);
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
        assert_eq!(t.tracked().senders, 1);
    }

    /// alice's session, with message 1 missing: what a counter going back
    /// (message 1, late) must then be flagged against.
    fn alice_with_a_gap() -> SequenceTracker {
        let mut t = SequenceTracker::new(TTL);
        assert_eq!(t.observe("alice", stamp("alice", 0, T0), at(0)), None);
        assert_eq!(
            t.observe("alice", stamp("alice", 2, T0), at(1)),
            Some(Anomaly::Missing(1))
        );
        t
    }

    /// One insider, 20,000 sessions of its own nick: it keeps 64 of them,
    /// and alice's counters are untouched.
    #[test]
    fn a_flood_of_sessions_keeps_64_and_costs_alice_nothing() {
        let mut t = alice_with_a_gap();
        for i in 0..FLOOD {
            t.observe("mallory", stamp(&format!("m{i}"), 0, T0 + i), at(2));
        }
        let tracked = t.tracked();
        assert_eq!(tracked.senders, 2, "{tracked:?}");
        assert_eq!(
            tracked.most_sessions, MAX_SESSIONS_PER_SENDER,
            "{tracked:?}"
        );
        assert_eq!(tracked.sessions, MAX_SESSIONS_PER_SENDER + 1, "{tracked:?}");
        assert_eq!(
            t.observe("alice", stamp("alice", 1, T0), at(3)),
            Some(Anomaly::OutOfOrder)
        );
    }

    /// One insider, 20,000 nicks with a session each (joined on a server in
    /// the original's trust model): the tracker stays full, never cleared,
    /// and the flood evicts itself, not alice.
    #[test]
    fn a_flood_of_senders_evicts_itself_and_costs_alice_nothing() {
        let mut t = alice_with_a_gap();
        for i in 0..FLOOD {
            t.observe(
                &format!("mallory{i}"),
                stamp(&format!("m{i}"), 0, T0),
                at(2),
            );
            assert!(t.senders.contains_key("alice"), "alice evicted at {i}");
        }
        let tracked = t.tracked();
        assert!(tracked.senders <= MAX_TRACKED_SENDERS, "{tracked:?}");
        assert!(
            tracked.senders > MAX_TRACKED_SENDERS - EVICTED_AT_ONCE,
            "{tracked:?}"
        );
        assert_eq!(tracked.sessions, tracked.senders, "{tracked:?}");
        assert_eq!(
            t.observe("alice", stamp("alice", 1, T0), at(3)),
            Some(Anomaly::OutOfOrder)
        );
    }

    /// Fills the tracker with senders named `prefix0`, `prefix1`... of one
    /// message each, heard one millisecond apart from `from`.
    fn fill(t: &mut SequenceTracker, prefix: &str, from: Duration) {
        let mut i = 0u64;
        while t.tracked().senders < MAX_TRACKED_SENDERS {
            let heard = from + Duration::from_millis(i);
            t.observe(&format!("{prefix}{i}"), stamp("o", 0, T0), heard);
            i += 1;
        }
    }

    /// Who makes room: never confirmed first, then the fewest messages,
    /// then the longest silent; those silent for a window before anyone.
    #[test]
    fn the_senders_seen_least_make_room() {
        let mut t = SequenceTracker::new(TTL);
        for seq in 0..5 {
            t.observe("talker", stamp("t", seq, T0), at(1));
        }
        t.observe("quiet", stamp("q", 0, T0), at(1));
        t.observe("quiet", stamp("q", 1, T0), at(1));
        fill(&mut t, "once", at(2));
        t.observe("newcomer", stamp("n", 0, T0), at(7));
        let gone = |t: &SequenceTracker, name: &str| !t.senders.contains_key(name);
        let first = EVICTED_AT_ONCE as u64;
        assert!((0..first).all(|i| gone(&t, &format!("once{i}"))));
        assert!(
            !gone(&t, &format!("once{first}")),
            "only the longest silent"
        );
        assert!(!gone(&t, "quiet") && !gone(&t, "newcomer"));
        // Everyone confirmed: those seen least go (quiet has two messages,
        // the others three or more).
        let names: Vec<String> = t.senders.keys().cloned().collect();
        for name in &names {
            t.observe(name, stamp(&name[..1], 8, T0), at(8));
            t.observe(name, stamp(&name[..1], 9, T0), at(8));
        }
        t.observe("quiet2", stamp("q", 0, T0), at(8));
        t.observe("quiet2", stamp("q", 1, T0), at(8));
        fill(&mut t, "more", at(9));
        t.observe("last", stamp("l", 0, T0), at(10));
        assert!(gone(&t, "quiet2"), "confirmed, but seen least");
        assert!(!gone(&t, "talker") && !gone(&t, "quiet"));
        // A window later, those silent since are forgotten before anyone.
        let later = at(11 + TTL + 60);
        fill(&mut t, "after", later);
        t.observe("late", stamp("l", 0, T0), later + at(1));
        assert!(gone(&t, "talker") && !gone(&t, "after0") && !gone(&t, "late"));
        assert!(t.tracked().senders <= EVICTED_AT_ONCE, "{:?}", t.tracked());
    }
}
