//! What the server saw and did, for the teacher's view: a tap the server
//! records into without ever waiting, and readers that follow it at their
//! own pace.
//!
//! The lesson of the lab is what a server can read: the words of a plain
//! chat, only a salt and a token once the layers encrypt. The dashboard
//! (`--dashboard`) puts that on the projector. So the server records, as it
//! holds them, the members who join and leave, every message it accepts,
//! every request it refuses and why (the guard's refusals among them), its
//! open connections, and, for the rogue server, what it did to each
//! message.
//!
//! Recording must never slow the chat: events go into a bounded ring under
//! a short lock, each cut to [`MAX_FIELD_CHARS`], and nothing is recorded
//! but the members and the counts while no reader follows (so a server with
//! no dashboard pays one atomic load per message). Each reader has its
//! cursor: one that falls behind the ring is told how many events it
//! missed, as a lapped broadcast subscriber is, and the recorder never
//! waits for it.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::wire::{MessageBody, Nick};

/// Events the ring keeps: the newest, for a reader that falls behind.
pub const TAP_EVENTS: usize = 4096;

/// Characters kept of any text in an event (a message, a token, a reason):
/// a projector shows no more, and the ring's memory stays bounded (about
/// 4 MiB at most).
pub const MAX_FIELD_CHARS: usize = 256;

/// Bodies refused undecoded that a tap keeps, once asked to: the newest.
pub const REFUSED_BODIES: usize = 16;

/// A message as the server holds it: the words of a plain chat, only the
/// salt and the token of an encrypted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    Text(String),
    Sealed { salt: String, token: String },
}

impl Held {
    /// The message field of a frame, cut to what the tap keeps.
    pub fn of(body: &MessageBody<'_>) -> Self {
        match body {
            MessageBody::Text(text) => Self::Text(cut(text)),
            MessageBody::Sealed(sealed) => Self::Sealed {
                salt: cut(&sealed.salt),
                token: cut(&sealed.token),
            },
        }
    }
}

/// Why a request was refused, as the teacher's view groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a request of the protocol (malformed, over-long, an exploit).
    Request,
    /// Refused by the chat's rules (a nick taken, not joined, clear text
    /// to an encrypted chat).
    Chat,
    /// Refused by the guard (`--guard`): a nick that belongs to another
    /// connection, too many nicks for one connection.
    Guard,
    /// A connection over the cap.
    Full,
}

/// What a rogue server did to a message it relayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RogueAction {
    /// It altered the token (or the text), and relays this instead.
    Tampered(Held),
    /// It relays the message under another nick.
    Impersonated { as_nick: String },
    /// It relays the message again, later.
    Replayed,
    /// It swallowed the message.
    Dropped,
    /// It signed the message again with its own key.
    Substituted,
}

/// One thing the server saw or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sighting {
    Joined {
        nick: String,
    },
    Left {
        nick: String,
    },
    /// A message accepted and relayed, as the server holds it.
    Relayed {
        nick: String,
        held: Held,
    },
    Refused {
        kind: Refusal,
        /// The request refused (`join`, `message`, ...).
        what: String,
        reason: String,
    },
    /// What a rogue server did to a message of `nick`'s.
    Rogue {
        nick: String,
        action: RogueAction,
    },
}

/// An event of the tap, numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub number: u64,
    pub sighting: Sighting,
}

/// Connections open now, on each port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: usize,
    pub subscribers: usize,
}

/// What a reader gets: the events after its cursor, how many it missed
/// (overwritten before it read them), and the state of the chat now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub events: Vec<Event>,
    pub missed: u64,
    /// The joined nicks, in the order they joined.
    pub members: Vec<String>,
    pub counts: Counts,
}

/// The tap: cheap to clone; every clone records into the same ring.
#[derive(Clone, Default)]
pub struct Tap {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
    /// Readers following now: while none does, only members and counts
    /// are kept.
    readers: AtomicUsize,
    requests: AtomicUsize,
    subscribers: AtomicUsize,
    /// Whether request bodies refused undecoded are kept, and the newest
    /// of them (each at most a frame: `MAX_LINE` bytes).
    keeping: AtomicBool,
    refused: Mutex<VecDeque<Vec<u8>>>,
}

#[derive(Default)]
struct State {
    ring: VecDeque<Event>,
    /// The number of the newest event (0: none yet).
    newest: u64,
    members: Vec<String>,
}

impl Tap {
    /// A tap no reader follows yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records what the server saw. Never waits for a reader; does nothing
    /// but keep the members while none follows.
    pub fn record(&self, sighting: Sighting) {
        let following = self.shared.readers.load(Ordering::Relaxed) > 0;
        let mut state = self.shared.lock();
        state.follow_members(&sighting);
        if !following {
            return;
        }
        state.newest += 1;
        let number = state.newest;
        if state.ring.len() == TAP_EVENTS {
            state.ring.pop_front();
        }
        state.ring.push_back(Event { number, sighting });
        drop(state);
        self.shared.arrived.notify_all();
    }

    /// Records a message accepted: cheap when no reader follows.
    pub fn relayed(&self, nick: &Nick, body: &MessageBody<'_>) {
        if self.following() {
            self.record(Sighting::Relayed {
                nick: cut(nick.as_str()),
                held: Held::of(body),
            });
        }
    }

    /// Records a refusal: cheap when no reader follows.
    pub fn refused(&self, kind: Refusal, what: &str, reason: &dyn fmt::Display) {
        if self.following() {
            self.record(Sighting::Refused {
                kind,
                what: cut(what),
                reason: cut(&reason.to_string()),
            });
        }
    }

    /// Records what a rogue server did: cheap when no reader follows.
    pub fn rogue(&self, nick: &Nick, action: RogueAction) {
        if self.following() {
            self.record(Sighting::Rogue {
                nick: cut(nick.as_str()),
                action,
            });
        }
    }

    /// Keeps from now on the newest [`REFUSED_BODIES`] request bodies the
    /// server refused because they do not decode: what a pickle exploit
    /// sent, for the score board to feed to a pickle reader. Until asked,
    /// a refusal costs one atomic load more.
    pub fn keep_refused_bodies(&self) {
        self.shared.keeping.store(true, Ordering::Relaxed);
    }

    /// A request body the server could not decode, kept if asked.
    pub fn refused_body(&self, body: &[u8]) {
        if !self.shared.keeping.load(Ordering::Relaxed) {
            return;
        }
        let mut kept = self
            .shared
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if kept.len() == REFUSED_BODIES {
            kept.pop_front();
        }
        kept.push_back(body.to_vec());
    }

    /// The request bodies kept, oldest first.
    pub fn refused_bodies(&self) -> Vec<Vec<u8>> {
        let kept = self
            .shared
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        kept.iter().cloned().collect()
    }

    /// Whether a reader follows the tap now.
    pub fn following(&self) -> bool {
        self.shared.readers.load(Ordering::Relaxed) > 0
    }

    /// A connection opened (`subscriber`: on the broadcast port); the
    /// returned guard counts it until dropped.
    pub fn connection(&self, subscriber: bool) -> Counted {
        self.counter(subscriber).fetch_add(1, Ordering::Relaxed);
        Counted {
            shared: Arc::clone(&self.shared),
            subscriber,
        }
    }

    /// Starts following: a reader whose first batch is the state of the
    /// chat now, then every event from this moment on.
    pub fn reader(&self) -> Reader {
        self.shared.readers.fetch_add(1, Ordering::Relaxed);
        let cursor = self.shared.lock().newest;
        Reader {
            shared: Arc::clone(&self.shared),
            cursor,
        }
    }

    fn counter(&self, subscriber: bool) -> &AtomicUsize {
        self.shared.counter(subscriber)
    }
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let readers = self.shared.readers.load(Ordering::Relaxed);
        write!(f, "Tap {{ readers: {readers} }}")
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under this lock completes or changes nothing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn counter(&self, subscriber: bool) -> &AtomicUsize {
        if subscriber {
            &self.subscribers
        } else {
            &self.requests
        }
    }

    fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::Relaxed),
            subscribers: self.subscribers.load(Ordering::Relaxed),
        }
    }
}

impl State {
    fn follow_members(&mut self, sighting: &Sighting) {
        match sighting {
            Sighting::Joined { nick } => self.members.push(nick.clone()),
            Sighting::Left { nick } => self.members.retain(|member| member != nick),
            Sighting::Relayed { .. } | Sighting::Refused { .. } | Sighting::Rogue { .. } => {}
        }
    }

    /// The events after `cursor`, and how many of those the ring no longer
    /// holds.
    fn since(&self, cursor: u64) -> (Vec<Event>, u64) {
        let oldest = self.ring.front().map_or(self.newest + 1, |e| e.number);
        let missed = oldest.saturating_sub(cursor + 1);
        let events = self
            .ring
            .iter()
            .filter(|e| e.number > cursor)
            .cloned()
            .collect();
        (events, missed)
    }
}

/// A connection counted until dropped.
pub struct Counted {
    shared: Arc<Shared>,
    subscriber: bool,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.shared
            .counter(self.subscriber)
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Follows a tap from where it started, at its own pace.
pub struct Reader {
    shared: Arc<Shared>,
    cursor: u64,
}

impl Reader {
    /// Everything since the last batch, waiting up to `wait` for something
    /// new if nothing is; an empty batch (with the members and counts of
    /// now) when the wait runs out.
    pub fn next(&mut self, wait: Duration) -> Batch {
        let state = self.shared.lock();
        let (state, _) = self
            .shared
            .arrived
            .wait_timeout_while(state, wait, |state| state.newest == self.cursor)
            .unwrap_or_else(PoisonError::into_inner);
        let (events, missed) = state.since(self.cursor);
        self.cursor = state.newest;
        let members = state.members.clone();
        drop(state);
        Batch {
            events,
            missed,
            members,
            counts: self.shared.counts(),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.shared.readers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `text`, cut to [`MAX_FIELD_CHARS`] characters, saying how long it was.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_FIELD_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Sealed;

    const NOW: Duration = Duration::ZERO;

    fn joined(nick: &str) -> Sighting {
        Sighting::Joined { nick: nick.into() }
    }

    #[test]
    fn without_a_reader_only_the_members_are_kept() {
        let tap = Tap::new();
        tap.record(joined("alice"));
        tap.relayed(
            &Nick::new("alice").unwrap(),
            &MessageBody::Text("hi".into()),
        );
        let mut reader = tap.reader();
        let batch = reader.next(NOW);
        assert_eq!(batch.events, []);
        assert_eq!(batch.members, ["alice"]);
    }

    #[test]
    fn refused_bodies_are_kept_only_once_asked_and_only_the_newest() {
        let tap = Tap::new();
        tap.refused_body(b"before");
        tap.keep_refused_bodies();
        for i in 0..=REFUSED_BODIES {
            tap.refused_body(format!("body {i}").as_bytes());
        }
        let kept = tap.refused_bodies();
        assert_eq!(kept.len(), REFUSED_BODIES);
        assert_eq!(kept[0], b"body 1");
        assert_eq!(
            kept[REFUSED_BODIES - 1],
            format!("body {REFUSED_BODIES}").as_bytes()
        );
    }

    #[test]
    fn a_reader_gets_every_event_in_order_then_only_what_is_new() {
        let tap = Tap::new();
        let mut reader = tap.reader();
        tap.record(joined("alice"));
        tap.record(joined("bob"));
        tap.record(Sighting::Left {
            nick: "alice".into(),
        });
        let batch = reader.next(NOW);
        let numbers: Vec<u64> = batch.events.iter().map(|e| e.number).collect();
        assert_eq!(numbers, [1, 2, 3]);
        assert_eq!((batch.missed, batch.members), (0, vec!["bob".to_owned()]));
        assert_eq!(reader.next(NOW).events, []);
    }

    #[test]
    fn a_reader_that_falls_behind_is_told_how_many_it_missed() {
        let tap = Tap::new();
        let mut reader = tap.reader();
        let extra = 10;
        for i in 0..TAP_EVENTS + extra {
            tap.record(joined(&format!("n{i}")));
        }
        let batch = reader.next(NOW);
        assert_eq!(batch.missed, extra as u64);
        assert_eq!(batch.events.len(), TAP_EVENTS);
        assert_eq!(batch.events[0].number, extra as u64 + 1);
    }

    #[test]
    fn a_sealed_message_is_held_as_its_salt_and_token_cut_short() {
        let token = "t".repeat(3 * MAX_FIELD_CHARS);
        let body = MessageBody::Sealed(Sealed {
            salt: "c2FsdA==".into(),
            token: token.clone().into(),
        });
        let Held::Sealed { salt, token: held } = Held::of(&body) else {
            panic!("a sealed body held as text");
        };
        assert_eq!(salt, "c2FsdA==");
        assert!(held.starts_with(&token[..MAX_FIELD_CHARS]));
        assert!(held.ends_with(&format!("… ({} bytes)", token.len())));
    }

    #[test]
    fn connections_are_counted_until_their_guards_drop() {
        let tap = Tap::new();
        let request = tap.connection(false);
        let subscribers = [tap.connection(true), tap.connection(true)];
        let mut reader = tap.reader();
        let counts = reader.next(NOW).counts;
        assert_eq!((counts.requests, counts.subscribers), (1, 2));
        drop((request, subscribers));
        assert_eq!(reader.next(NOW).counts, Counts::default());
    }

    #[test]
    fn a_waiting_reader_wakes_when_an_event_arrives() {
        let tap = Tap::new();
        let mut reader = tap.reader();
        let recorder = tap.clone();
        let thread = std::thread::spawn(move || recorder.record(joined("carol")));
        let batch = reader.next(Duration::from_secs(60));
        thread.join().unwrap();
        assert_eq!(batch.members, ["carol"]);
    }
}
