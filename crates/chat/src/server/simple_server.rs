//! The chat's logic, as Python's `SimpleServer`: a set of nicks and the
//! callbacks `on_join`, `on_leave`, `on_message` and `on_list`, chosen by the
//! frame's `type`.
//!
//! Two trust models. [`TrustModel::Open`] is the original's, kept on purpose
//! so the lab's attacks work: any connection may `leave` or speak for any
//! joined nick, and nicks stay joined until someone leaves them.
//! [`TrustModel::Guarded`] (`--guard`) ties each nick to the request
//! connection that joined it, frees it when that connection closes, and caps
//! the nicks one connection may hold.
//!
//! A nick that looks like a joined one (the same UTS #39 skeleton,
//! [`Nick::skeleton`]) is refused as already joined, in both models: it is
//! the same person to whoever reads the chat.
//!
//! Python's serialiser was a swappable pair (`_serial_function`,
//! `_deserial_function`, pickle by default). Here the transport decodes
//! every frame into a typed [`Request`] before the chat logic sees it (see
//! `wire::codec`), and decoding executes nothing. What the AE server changes
//! is which message bodies it accepts ([`Accept`]), passed in at
//! construction.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::base_server::{ConnectionId, Relay, Reply, Service, Session, refusal, refused};
use super::tap::{Refusal, Sighting};
use crate::wire::{MAX_LINE, MessageBody, Nick, Request, Response};

/// Most nicks one request connection may hold in the guarded mode.
pub const MAX_NICKS_PER_CONNECTION: usize = 16;

/// Longest wait, on a join that names its subscriber, for that broadcast
/// connection to be registered.
const SUBSCRIBER_WAIT: Duration = Duration::from_secs(2);

/// Bytes a nick takes in a list answer besides its own: at least its two
/// quotes and a comma in JSON. A list answer holds nicks while they add up
/// to at most [`MAX_LINE`] bytes counted this way, so it never copies more
/// nicks than a line could carry; the codec then cuts to the exact size.
const LISTED_NICK_OVERHEAD: usize = 3;

/// Who may act for a nick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustModel {
    /// The Python original's: anyone may leave or speak for any nick.
    Open,
    /// `--guard`: a nick belongs to the connection that joined it.
    Guarded,
}

/// Which message bodies the server relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Plain text or `{salt, token}`: the plain server relays every layer.
    TextOrSealed,
    /// Only `{salt, token}`: the AE server refuses cleartext.
    SealedOnly,
}

/// Why a request about a nick is refused. `Display` is the `ko` reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("nick '{0}' is already joined")]
    AlreadyJoined(Nick),
    #[error("nick '{nick}' looks like '{joined}', which is already joined")]
    LooksLike { nick: Nick, joined: Nick },
    #[error("nick '{0}' is not joined")]
    NotJoined(Nick),
    #[error("nick '{0}' belongs to another connection")]
    NotYours(Nick),
    #[error("this connection already holds {MAX_NICKS_PER_CONNECTION} nicks")]
    TooManyNicks,
}

impl RoomError {
    /// Who refused: the guard (a nick that belongs to another connection,
    /// too many nicks for one), or the chat's own rules.
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::NotYours(_) | Self::TooManyNicks => Refusal::Guard,
            Self::AlreadyJoined(_) | Self::LooksLike { .. } | Self::NotJoined(_) => Refusal::Chat,
        }
    }
}

/// Logs, records and answers a refusal of the room's.
fn room_refused(session: &Session, what: &str, error: RoomError) -> Reply<'static> {
    refusal(session, error.refusal(), what, error)
}

/// The joined nicks, and which connection joined each.
pub struct ChatRoom {
    trust: TrustModel,
    members: Mutex<Members>,
}

#[derive(Default)]
struct Members {
    by_nick: HashMap<Nick, Member>,
    /// The joined nicks by join number: `list` answers in join order,
    /// reading only the nicks it shows.
    in_order: BTreeMap<u64, Nick>,
    /// The joined nick of each confusable skeleton.
    by_skeleton: HashMap<String, Nick>,
    /// Nicks held per connection (guarded mode only).
    held: HashMap<ConnectionId, usize>,
    /// Join counter.
    joins: u64,
}

struct Member {
    owner: ConnectionId,
    joined: u64,
    skeleton: String,
}

impl ChatRoom {
    pub fn new(trust: TrustModel) -> Self {
        Self {
            trust,
            members: Mutex::default(),
        }
    }

    pub fn join(&self, nick: Nick, by: ConnectionId) -> Result<(), RoomError> {
        let guarded = self.trust == TrustModel::Guarded;
        let skeleton = nick.skeleton();
        let mut members = self.lock();
        if guarded && members.held.get(&by).copied().unwrap_or(0) >= MAX_NICKS_PER_CONNECTION {
            return Err(RoomError::TooManyNicks);
        }
        members.admit(nick, skeleton, by)?;
        if guarded {
            *members.held.entry(by).or_default() += 1;
        }
        Ok(())
    }

    pub fn leave(&self, nick: &Nick, by: ConnectionId) -> Result<(), RoomError> {
        let mut members = self.lock();
        let owner = self.check_may_act(&members, nick, by)?;
        members.remove(nick);
        members.release_one(owner);
        Ok(())
    }

    /// Whether `by` may send a message as `nick`.
    pub fn check_speaker(&self, nick: &Nick, by: ConnectionId) -> Result<(), RoomError> {
        self.check_may_act(&self.lock(), nick, by).map(|_| ())
    }

    /// Joined nicks, in join order.
    pub fn nicks(&self) -> Vec<String> {
        self.lock().in_order.values().map(Nick::to_string).collect()
    }

    /// The list answer: the first joined nicks, in join order, while their
    /// bytes (plus `LISTED_NICK_OVERHEAD` each) add up to at most
    /// `budget`, and how many are left out.
    pub fn list(&self, budget: usize) -> Response {
        let members = self.lock();
        let shown = fitting(members.in_order.values(), budget);
        // Counted first, so the copy is allocated once, at its size.
        let nicks: Vec<String> = members
            .in_order
            .values()
            .take(shown)
            .map(Nick::to_string)
            .collect();
        let more = members.in_order.len() - shown;
        Response::Nicks { nicks, more }
    }

    /// Frees the nicks a closed connection held (guarded mode); returns them.
    pub fn release_connection(&self, by: ConnectionId) -> Vec<Nick> {
        if self.trust != TrustModel::Guarded {
            return Vec::new();
        }
        let mut members = self.lock();
        if members.held.remove(&by).is_none() {
            return Vec::new();
        }
        let freed: Vec<Nick> = members
            .by_nick
            .iter()
            .filter(|(_, m)| m.owner == by)
            .map(|(nick, _)| nick.clone())
            .collect();
        for nick in &freed {
            members.remove(nick);
        }
        freed
    }

    /// The owner of `nick`, if `by` may act for it under this trust model.
    fn check_may_act(
        &self,
        members: &Members,
        nick: &Nick,
        by: ConnectionId,
    ) -> Result<ConnectionId, RoomError> {
        let member = members
            .by_nick
            .get(nick)
            .ok_or_else(|| RoomError::NotJoined(nick.clone()))?;
        if self.trust == TrustModel::Guarded && member.owner != by {
            return Err(RoomError::NotYours(nick.clone()));
        }
        Ok(member.owner)
    }

    fn lock(&self) -> MutexGuard<'_, Members> {
        // Every update under this lock completes or changes nothing.
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How many of `nicks`, in order, fit in `budget` bytes, each counted with
/// [`LISTED_NICK_OVERHEAD`].
fn fitting<'a>(nicks: impl Iterator<Item = &'a Nick>, budget: usize) -> usize {
    let mut used = 0usize;
    nicks
        .take_while(|nick| {
            used = used.saturating_add(nick.as_str().len() + LISTED_NICK_OVERHEAD);
            used <= budget
        })
        .count()
}

impl Members {
    /// Adds `nick`, of this `skeleton`, unless it or a lookalike is joined.
    fn admit(&mut self, nick: Nick, skeleton: String, by: ConnectionId) -> Result<(), RoomError> {
        if let Some(joined) = self.by_skeleton.get(&skeleton) {
            return Err(if *joined == nick {
                RoomError::AlreadyJoined(nick)
            } else {
                RoomError::LooksLike {
                    nick,
                    joined: joined.clone(),
                }
            });
        }
        let joined = self.joins;
        self.joins += 1;
        self.in_order.insert(joined, nick.clone());
        self.by_skeleton.insert(skeleton.clone(), nick.clone());
        let member = Member {
            owner: by,
            joined,
            skeleton,
        };
        self.by_nick.insert(nick, member);
        Ok(())
    }

    fn remove(&mut self, nick: &Nick) {
        if let Some(member) = self.by_nick.remove(nick) {
            self.in_order.remove(&member.joined);
            self.by_skeleton.remove(&member.skeleton);
        }
    }

    fn release_one(&mut self, owner: ConnectionId) {
        if let Entry::Occupied(mut count) = self.held.entry(owner) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
    }
}

/// The chat server: Python's `SimpleServer`, plugged into a `BaseServer`.
pub struct SimpleServer {
    room: ChatRoom,
    accept: Accept,
}

impl SimpleServer {
    pub fn new(trust: TrustModel) -> Self {
        Self::accepting(trust, Accept::TextOrSealed)
    }

    pub fn accepting(trust: TrustModel, accept: Accept) -> Self {
        Self {
            room: ChatRoom::new(trust),
            accept,
        }
    }

    pub fn room(&self) -> &ChatRoom {
        &self.room
    }

    fn on_join(
        &self,
        session: &Session,
        nick: Nick,
        subscriber: Option<SocketAddr>,
    ) -> Reply<'static> {
        if let Some(addr) = subscriber {
            if !session.broadcast.wait_for_subscriber(addr, SUBSCRIBER_WAIT) {
                log::warn!(
                    "join of '{nick}': no broadcast connection from {addr}; answering anyway"
                );
            }
        }
        match self.room.join(nick.clone(), session.id) {
            Ok(()) => {
                log::info!("Client '{nick}' join");
                session.tap.record(Sighting::Joined {
                    nick: nick.to_string(),
                });
                Reply::ok()
            }
            Err(e) => room_refused(session, "join", e),
        }
    }

    fn on_leave(&self, session: &Session, nick: Nick) -> Reply<'static> {
        match self.room.leave(&nick, session.id) {
            Ok(()) => {
                log::info!("Client '{nick}' leave");
                session.tap.record(Sighting::Left {
                    nick: nick.to_string(),
                });
                Reply::ok()
            }
            Err(e) => room_refused(session, "leave", e),
        }
    }

    /// Relays the frame exactly as received: every field the sender put in it.
    fn on_message(&self, session: &Session, nick: Nick, body: MessageBody<'_>) -> Reply<'static> {
        if let Err(e) = self.room.check_speaker(&nick, session.id) {
            return room_refused(session, "message", e);
        }
        match (&body, self.accept) {
            (MessageBody::Text(text), Accept::TextOrSealed) => {
                log::info!("Client '{nick}' sent message '{}'", text.escape_debug());
            }
            (MessageBody::Sealed(sealed), _) => log::info!(
                "Client '{nick}' sent message: salt {}, token {} ({} bytes): ciphertext only",
                sealed.salt.escape_debug(),
                abbreviate(&sealed.token),
                sealed.token.len()
            ),
            (MessageBody::Text(_), Accept::SealedOnly) => {
                return refused(
                    session,
                    "message",
                    "this server relays encrypted messages only: `message` must be {\"salt\", \"token\"}",
                );
            }
        }
        session.tap.relayed(&nick, &body);
        Reply::broadcast(Relay::Received)
    }

    fn on_list(&self) -> Reply<'static> {
        Reply::respond(self.room.list(MAX_LINE))
    }
}

impl Service for SimpleServer {
    fn on_recv<'a>(&self, session: &Session, request: Request<'a>) -> Reply<'a> {
        match request {
            Request::Join { nick, subscriber } => self.on_join(session, nick, subscriber),
            Request::Leave { nick } => self.on_leave(session, nick),
            Request::Message { nick, body } => self.on_message(session, nick, body),
            Request::List => self.on_list(),
        }
    }

    fn on_close(&self, session: &Session) {
        for nick in self.room.release_connection(session.id) {
            log::info!("Client '{nick}' leave (connection {} closed)", session.id);
            session.tap.record(Sighting::Left {
                nick: nick.to_string(),
            });
        }
    }
}

/// The first characters of a token, enough to recognise it in a log.
fn abbreviate(token: &str) -> String {
    const SHOWN: usize = 16;
    match token.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", token[..cut].escape_debug()),
        None => token.escape_debug().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ConnectionId = ConnectionId(1);
    const B: ConnectionId = ConnectionId(2);

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }

    #[test]
    fn open_model_lets_anyone_act_for_anyone() {
        let room = ChatRoom::new(TrustModel::Open);
        room.join(nick("alice"), A).unwrap();
        assert_eq!(
            room.join(nick("alice"), B),
            Err(RoomError::AlreadyJoined(nick("alice")))
        );
        room.check_speaker(&nick("alice"), B).unwrap();
        room.leave(&nick("alice"), B).unwrap();
        assert_eq!(
            room.leave(&nick("alice"), A),
            Err(RoomError::NotJoined(nick("alice")))
        );
        assert!(room.release_connection(A).is_empty());
    }

    #[test]
    fn guarded_model_ties_nicks_to_their_connection() {
        let room = ChatRoom::new(TrustModel::Guarded);
        room.join(nick("alice"), A).unwrap();
        assert_eq!(
            room.leave(&nick("alice"), B),
            Err(RoomError::NotYours(nick("alice")))
        );
        assert_eq!(
            room.check_speaker(&nick("alice"), B),
            Err(RoomError::NotYours(nick("alice")))
        );
        room.join(nick("bob"), B).unwrap();
        assert_eq!(room.release_connection(A), vec![nick("alice")]);
        assert_eq!(room.nicks(), vec!["bob"]);
    }

    #[test]
    fn guarded_model_caps_nicks_per_connection() {
        let room = ChatRoom::new(TrustModel::Guarded);
        for i in 0..MAX_NICKS_PER_CONNECTION {
            room.join(nick(&format!("n{i}")), A).unwrap();
        }
        assert_eq!(room.join(nick("one-more"), A), Err(RoomError::TooManyNicks));
        room.leave(&nick("n0"), A).unwrap();
        room.join(nick("one-more"), A).unwrap();
        room.join(nick("other"), B).unwrap();
    }

    #[test]
    fn a_lookalike_of_a_joined_nick_is_refused_as_already_joined() {
        let room = ChatRoom::new(TrustModel::Open);
        room.join(nick("alice"), A).unwrap();
        for lookalike in ["\u{430}lice", "alic\u{435}", "aIice"] {
            let refused = room.join(nick(lookalike), B).unwrap_err();
            assert_eq!(
                refused,
                RoomError::LooksLike {
                    nick: nick(lookalike),
                    joined: nick("alice")
                }
            );
            assert!(refused.to_string().contains("already joined"));
        }
        room.leave(&nick("alice"), A).unwrap();
        room.join(nick("\u{430}lice"), B).unwrap();
        assert_eq!(room.nicks(), vec!["\u{430}lice"]);
    }

    #[test]
    fn case_is_significant_alice_and_capital_alice_are_two_people() {
        let room = ChatRoom::new(TrustModel::Open);
        room.join(nick("alice"), A).unwrap();
        room.join(nick("Alice"), B).unwrap();
        assert_eq!(room.nicks(), vec!["alice", "Alice"]);
    }

    #[test]
    fn a_list_answer_keeps_what_its_budget_holds_and_counts_the_rest() {
        let room = ChatRoom::new(TrustModel::Open);
        for n in ["ab", "cd", "ef"] {
            room.join(nick(n), A).unwrap();
        }
        let two = 2 * (2 + LISTED_NICK_OVERHEAD);
        let expected = Response::Nicks {
            nicks: vec!["ab".into(), "cd".into()],
            more: 1,
        };
        assert_eq!(room.list(two), expected);
        assert_eq!(room.list(two + 4), expected);
        assert_eq!(room.list(usize::MAX), Response::nicks(room.nicks()));
    }

    #[test]
    fn released_and_left_nicks_free_their_skeleton() {
        let room = ChatRoom::new(TrustModel::Guarded);
        room.join(nick("alice"), A).unwrap();
        room.release_connection(A);
        room.join(nick("\u{430}lice"), B).unwrap();
        assert_eq!(room.nicks(), vec!["\u{430}lice"]);
    }

    #[test]
    fn lists_in_join_order() {
        let room = ChatRoom::new(TrustModel::Open);
        for n in ["zoe", "adam", "mia"] {
            room.join(nick(n), A).unwrap();
        }
        assert_eq!(room.nicks(), vec!["zoe", "adam", "mia"]);
    }
}
