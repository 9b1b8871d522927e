//! What the teacher's view shows, gathered once for every reader: one
//! thread follows the server's tap (or, for the demo, the taps of the
//! scene being played), turns each event into the JSON the page reads, and
//! keeps the last [`KEPT_ITEMS`] with the chat's state now (members,
//! connections, totals). The page's streams read from here at their own
//! pace; the server's tap never waits for any of them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use chat::server::{Batch, Counts, Event, Held, Reader, Refusal, RogueAction, Sighting, Tap};
use serde_json::{Value, json};

use super::routes::MAX_PER_PUSH;

/// Items kept for a view that opens or reconnects.
pub const KEPT_ITEMS: usize = 2048;

/// How long the feed waits on its tap before looking at its commands and
/// the connection counts again.
const TICK: Duration = Duration::from_millis(250);

/// How long the feed sleeps when following several taps and none had news.
const POLL: Duration = Duration::from_millis(50);

/// How long the feed rests after taking a batch: a busy chat's events are
/// taken twenty times a second at most, in batches, so that neither the
/// server's threads nor the feed's are woken for each message.
const FEED_INTERVAL: Duration = Duration::from_millis(50);

/// Events of one batch turned into items at most, the newest: a push
/// carries no more ([`MAX_PER_PUSH`]), so the others are only counted, as
/// not shown.
const MAX_PER_BATCH: usize = MAX_PER_PUSH;

/// What the feed is told to do.
enum Command {
    Follow(Reader),
    /// A new scene: forget the taps followed so far and start afresh.
    Scene(String),
}

/// The gathered view, and who waits for more.
pub struct Feed {
    state: Mutex<State>,
    grown: Condvar,
    commands: Mutex<Sender<Command>>,
}

/// An item as the views read it: its number, its JSON, and how many of
/// the server's events it stands for (1; a count of events not shown; 0
/// for a scene's title), so that a push that leaves it out can count them.
#[derive(Debug, Clone)]
pub struct Item {
    pub n: u64,
    pub json: Arc<str>,
    pub events: u64,
}

#[derive(Default)]
struct State {
    items: VecDeque<Item>,
    last: u64,
    /// The chat now, as JSON, and its version (bumped when it changes).
    snapshot: Arc<str>,
    version: u64,
    totals: Totals,
    ended: bool,
}

/// What a stream gets since its cursor.
pub struct Update {
    /// Items it missed that are no longer kept.
    pub not_shown: u64,
    pub items: Vec<Item>,
    /// The chat now, if it changed since the version the stream had.
    pub snapshot: Option<(u64, Arc<str>)>,
    pub ended: bool,
}

/// Counts since the feed (or the scene) started.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    relayed: u64,
    refused_request: u64,
    refused_chat: u64,
    refused_guard: u64,
    refused_full: u64,
    rogue: u64,
    not_shown: u64,
}

impl Feed {
    /// A feed, and the thread that fills it until `stopping`.
    pub fn start(stopping: Arc<AtomicBool>) -> std::io::Result<Arc<Self>> {
        let (commands, inbox) = mpsc::channel();
        let feed = Arc::new(Self {
            state: Mutex::default(),
            grown: Condvar::new(),
            commands: Mutex::new(commands),
        });
        set_snapshot(&mut feed.lock(), &[], Counts::default());
        let filling = Arc::clone(&feed);
        thread::Builder::new()
            .name("dashboard-feed".into())
            .spawn(move || filling.fill(&inbox, &stopping))?;
        Ok(feed)
    }

    /// Follows `tap` from now on (as well as any followed already).
    pub fn follow(&self, tap: &Tap) {
        self.command(Command::Follow(tap.reader()));
    }

    /// Starts a scene titled `title`: the taps followed so far are dropped.
    pub fn scene(&self, title: &str) {
        self.command(Command::Scene(title.to_owned()));
    }

    fn command(&self, command: Command) {
        let commands = self.commands.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = commands.send(command);
    }

    /// The items after `after` and the chat's state if its version is not
    /// `version`, waiting up to `wait` for either.
    pub fn since(&self, after: u64, version: u64, wait: Duration) -> Update {
        let state = self.lock();
        let (state, _) = self
            .grown
            .wait_timeout_while(state, wait, |s| {
                s.last <= after && s.version == version && !s.ended
            })
            .unwrap_or_else(PoisonError::into_inner);
        let first = state.items.front().map_or(state.last + 1, |i| i.n);
        Update {
            not_shown: first.saturating_sub(after + 1),
            items: state
                .items
                .iter()
                .filter(|i| i.n > after)
                .cloned()
                .collect(),
            snapshot: (state.version != version)
                .then(|| (state.version, Arc::clone(&state.snapshot))),
            ended: state.ended,
        }
    }

    /// The feed's thread: takes commands, reads the taps, until stopping.
    fn fill(&self, inbox: &Receiver<Command>, stopping: &AtomicBool) {
        let mut readers: Vec<Reader> = Vec::new();
        while !stopping.load(Ordering::SeqCst) {
            while let Ok(command) = inbox.try_recv() {
                self.take(command, &mut readers);
            }
            match readers.as_mut_slice() {
                [] => match inbox.recv_timeout(TICK) {
                    Ok(command) => self.take(command, &mut readers),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                [one] => {
                    let batch = one.next(TICK);
                    let busy = !batch.events.is_empty();
                    self.absorb(vec![batch]);
                    if busy {
                        thread::sleep(FEED_INTERVAL);
                    }
                }
                many => {
                    let batches: Vec<Batch> =
                        many.iter_mut().map(|r| r.next(Duration::ZERO)).collect();
                    let quiet = batches.iter().all(|b| b.events.is_empty() && b.missed == 0);
                    self.absorb(batches);
                    thread::sleep(if quiet { POLL } else { FEED_INTERVAL });
                }
            }
        }
        self.lock().ended = true;
        self.grown.notify_all();
    }

    fn take(&self, command: Command, readers: &mut Vec<Reader>) {
        match command {
            Command::Follow(reader) => readers.push(reader),
            Command::Scene(title) => {
                readers.clear();
                let mut state = self.lock();
                state.totals = Totals::default();
                let scene = json!({"type": "scene", "title": title}).to_string();
                push(&mut state, &scene, 0);
                set_snapshot(&mut state, &[], Counts::default());
                drop(state);
                self.grown.notify_all();
            }
        }
    }

    /// Takes what the taps gave: their events as items (the newest of a
    /// large batch; the others counted as not shown), then the chat's state
    /// now; readers wake if anything changed. Items are made before the
    /// lock is taken, so readers wait only for them to be numbered.
    fn absorb(&self, batches: Vec<Batch>) {
        let mut members = Vec::new();
        let mut counts = Counts::default();
        let mut tally = Totals::default();
        let mut items = Vec::new();
        for batch in batches {
            let skipped = batch.events.len().saturating_sub(MAX_PER_BATCH);
            let not_shown = batch.missed + skipped as u64;
            if not_shown > 0 {
                tally.not_shown += not_shown;
                let missed = json!({"type": "missed", "count": not_shown}).to_string();
                items.push((missed, not_shown));
            }
            for event in &batch.events {
                tally.count(&event.sighting);
            }
            items.extend(
                batch.events[skipped..]
                    .iter()
                    .map(|e| (item(e).to_string(), 1)),
            );
            members.extend(batch.members);
            counts.requests += batch.counts.requests;
            counts.subscribers += batch.counts.subscribers;
        }
        let mut state = self.lock();
        state.totals.add(tally);
        let changed = !items.is_empty();
        for (item, events) in items {
            push(&mut state, &item, events);
        }
        let changed = set_snapshot(&mut state, &members, counts) || changed;
        drop(state);
        if changed {
            self.grown.notify_all();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under this lock completes or changes nothing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sets the chat's state now (with the totals so far); whether it changed.
fn set_snapshot(state: &mut State, members: &[String], counts: Counts) -> bool {
    let snapshot = json!({
        "members": members,
        "connections": {"requests": counts.requests, "subscribers": counts.subscribers},
        "totals": state.totals.json(),
    })
    .to_string();
    if *state.snapshot == *snapshot {
        return false;
    }
    state.snapshot = Arc::from(snapshot);
    state.version += 1;
    true
}

/// Adds an item (a JSON object standing for `events` events), numbered
/// after the last; the oldest goes past the limit.
fn push(state: &mut State, object: &str, events: u64) {
    state.last += 1;
    let fields = object.strip_prefix('{').unwrap_or("}");
    let separator = if fields == "}" { "" } else { "," };
    let json = Arc::from(format!("{{\"n\":{}{separator}{fields}", state.last));
    state.items.push_back(Item {
        n: state.last,
        json,
        events,
    });
    if state.items.len() > KEPT_ITEMS {
        state.items.pop_front();
    }
}

impl Totals {
    fn add(&mut self, other: Totals) {
        self.relayed += other.relayed;
        self.refused_request += other.refused_request;
        self.refused_chat += other.refused_chat;
        self.refused_guard += other.refused_guard;
        self.refused_full += other.refused_full;
        self.rogue += other.rogue;
        self.not_shown += other.not_shown;
    }

    fn count(&mut self, sighting: &Sighting) {
        match sighting {
            Sighting::Relayed { .. } => self.relayed += 1,
            Sighting::Refused { kind, .. } => match kind {
                Refusal::Request => self.refused_request += 1,
                Refusal::Chat => self.refused_chat += 1,
                Refusal::Guard => self.refused_guard += 1,
                Refusal::Full => self.refused_full += 1,
            },
            Sighting::Rogue { .. } => self.rogue += 1,
            Sighting::Joined { .. } | Sighting::Left { .. } => {}
        }
    }

    fn json(self) -> Value {
        json!({
            "relayed": self.relayed,
            "refused": {
                "request": self.refused_request,
                "chat": self.refused_chat,
                "guard": self.refused_guard,
                "full": self.refused_full,
            },
            "rogue": self.rogue,
            "not_shown": self.not_shown,
        })
    }
}

/// An event of the tap, as the page reads it.
fn item(event: &Event) -> Value {
    match &event.sighting {
        Sighting::Joined { nick } => json!({"type": "joined", "nick": nick}),
        Sighting::Left { nick } => json!({"type": "left", "nick": nick}),
        Sighting::Relayed { nick, held } => {
            let mut value = held_json(held);
            value["type"] = json!("relayed");
            value["nick"] = json!(nick);
            value
        }
        Sighting::Refused { kind, what, reason } => json!({
            "type": "refused",
            "by": refusal_name(*kind),
            "what": what,
            "reason": reason,
        }),
        Sighting::Rogue { nick, action } => {
            let mut value = rogue_json(action);
            value["type"] = json!("rogue");
            value["nick"] = json!(nick);
            value
        }
    }
}

/// A message as the server holds it: its words, or its salt and token.
fn held_json(held: &Held) -> Value {
    match held {
        Held::Text(text) => json!({"text": text}),
        Held::Sealed { salt, token } => json!({"salt": salt, "token": token}),
    }
}

fn rogue_json(action: &RogueAction) -> Value {
    match action {
        RogueAction::Tampered(held) => {
            json!({"action": "tampered", "now": held_json(held)})
        }
        RogueAction::Impersonated { as_nick } => json!({"action": "impersonated", "as": as_nick}),
        RogueAction::Replayed => json!({"action": "replayed"}),
        RogueAction::Dropped => json!({"action": "dropped"}),
        RogueAction::Substituted => json!({"action": "substituted"}),
    }
}

fn refusal_name(kind: Refusal) -> &'static str {
    match kind {
        Refusal::Request => "request",
        Refusal::Chat => "chat",
        Refusal::Guard => "guard",
        Refusal::Full => "full",
    }
}

#[cfg(test)]
mod tests {
    use chat::wire::{MessageBody, Nick};

    use super::*;

    const SOON: Duration = Duration::from_secs(30);

    fn feed() -> (Arc<Feed>, Arc<AtomicBool>) {
        let stopping = Arc::new(AtomicBool::new(false));
        (Feed::start(Arc::clone(&stopping)).unwrap(), stopping)
    }

    /// Reads the feed until an item of `kind` arrives; every item's JSON.
    fn until(feed: &Feed, kind: &str) -> Vec<Value> {
        let (mut after, mut seen) = (0, Vec::new());
        loop {
            let update = feed.since(after, u64::MAX, SOON);
            for item in update.items {
                after = item.n;
                seen.push(serde_json::from_str::<Value>(&item.json).unwrap());
            }
            if seen.iter().any(|v| v["type"] == kind) {
                return seen;
            }
        }
    }

    #[test]
    fn a_tap_s_events_become_items_in_order() {
        let (feed, stopping) = feed();
        let tap = Tap::new();
        feed.follow(&tap);
        let alice = Nick::new("alice").unwrap();
        tap.record(Sighting::Joined {
            nick: "alice".into(),
        });
        tap.relayed(&alice, &MessageBody::Text("<b>hi</b>".into()));
        tap.refused(
            Refusal::Guard,
            "message",
            &"nick 'bob' belongs to another connection",
        );
        tap.rogue(
            &alice,
            RogueAction::Impersonated {
                as_nick: "bob".into(),
            },
        );
        let seen = until(&feed, "rogue");
        let kinds: Vec<&str> = seen.iter().map(|v| v["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["joined", "relayed", "refused", "rogue"]);
        assert_eq!(seen[1]["text"], "<b>hi</b>");
        assert_eq!(
            (seen[2]["by"].as_str(), seen[3]["as"].as_str()),
            (Some("guard"), Some("bob"))
        );
        let update = feed.since(4, 0, Duration::ZERO);
        let (_, snapshot) = update.snapshot.unwrap();
        let snapshot: Value = serde_json::from_str(&snapshot).unwrap();
        assert_eq!(snapshot["members"], json!(["alice"]));
        assert_eq!(snapshot["totals"]["refused"]["guard"], 1);
        stopping.store(true, Ordering::SeqCst);
    }

    #[test]
    fn a_sealed_message_shows_its_salt_and_token_only() {
        let value = held_json(&Held::Sealed {
            salt: "c2FsdA==".into(),
            token: "gAAAA".into(),
        });
        assert_eq!(value, json!({"salt": "c2FsdA==", "token": "gAAAA"}));
    }

    #[test]
    fn a_scene_drops_the_taps_followed_so_far() {
        let (feed, stopping) = feed();
        let (old, new) = (Tap::new(), Tap::new());
        feed.follow(&old);
        feed.scene("tamper against AE");
        feed.follow(&new);
        until(&feed, "scene");
        old.record(Sighting::Joined {
            nick: "ghost".into(),
        });
        new.record(Sighting::Joined {
            nick: "alice".into(),
        });
        let seen = until(&feed, "joined");
        let nicks: Vec<&str> = seen.iter().filter_map(|v| v["nick"].as_str()).collect();
        assert_eq!(nicks, ["alice"]);
        stopping.store(true, Ordering::SeqCst);
    }

    #[test]
    fn past_what_is_kept_a_stream_is_told_how_many_items_it_missed() {
        let mut state = State::default();
        for _ in 0..KEPT_ITEMS + 5 {
            push(&mut state, r#"{"type":"joined"}"#, 1);
        }
        assert_eq!(state.items.len(), KEPT_ITEMS);
        let first = state.items.front().unwrap();
        assert_eq!((first.n, &*first.json), (6, r#"{"n":6,"type":"joined"}"#));
        push(&mut state, "{}", 0);
        let last = state.items.back().unwrap();
        assert_eq!(&*last.json, format!("{{\"n\":{}}}", KEPT_ITEMS + 6));
    }
}
