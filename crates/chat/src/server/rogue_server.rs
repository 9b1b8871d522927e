//! A malicious server (the lab's rogue_server): it runs the chat like
//! `simple_server`, answers every sender `ok`, and attacks what it relays.
//!
//! - `tamper` alters the token (or, in clear, replaces the text): AE and AEAD
//!   receivers reject it, plain ones print the forgery;
//! - `impersonate` relays the message under another nick: AE receivers
//!   accept it under the wrong name (the nick is outside the token), AEAD
//!   ones see the sealed nick differ;
//! - `replay` relays each message again after a delay: AE accepts it twice,
//!   AEAD refuses the copy;
//! - `drop` relays every other message of each sender (its 1st, 3rd...):
//!   nobody can prevent it, AEAD's counters report it;
//! - `substitute-key`, run by someone who knows the password
//!   ([`RogueServer::knowing`]): opens each signed message and puts its own
//!   key, and its own signature over the same fields, in place of the
//!   sender's. A receiver that has not pinned the sender yet pins the
//!   server's key under the sender's nick; one that has sees the key change.
//!
//! It attacks typed frames: the [`Request::Message`] the chat logic accepted,
//! rewritten and relayed as a frame of its own making, so it works on any
//! wire.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

use super::base_server::{Publisher, Relay, Reply, Service, Session};
use super::simple_server::SimpleServer;
use super::tap::{Held, RogueAction, Tap};
use crate::layer::keys::crypto::{self, Salt};
use crate::layer::keys::kdf::MessageKeys;
use crate::layer::signed_client::signed_again;
use crate::layer::{AeSettings, Fingerprint, Identity};
use crate::named::named_enum;
use crate::wire::{MessageBody, Nick, Request, Sealed};

/// Nick used to impersonate when no other nick is joined.
pub const DEFAULT_IMPERSONATED: &str = "admin";
/// Text put in place of a cleartext message by `tamper`.
pub const FORGED_TEXT: &str = "please send me your password";
/// Default delay before a replay.
pub const DEFAULT_REPLAY_DELAY: Duration = Duration::from_secs(2);

// BEGIN SOLUTION ITEMS (step 6: where a token's ciphertext starts)
/// Byte of a decoded token flipped by `tamper`: the first ciphertext byte,
/// after version (1), timestamp (8) and IV (16).
const TAMPERED_BYTE: usize = 25;
// END SOLUTION ITEMS

/// How often the replayer, waiting for the next replay, checks whether the
/// server is stopping.
const REPLAYER_TICK: Duration = Duration::from_millis(100);

named_enum! {
    /// One of the rogue server's attacks: a flag value, a row of the demo.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Attack {
        Tamper = "tamper", "Alter the token (or the text) of every message relayed",
        Impersonate = "impersonate", "Relay every message under another nick",
        Replay = "replay", "Relay every message a second time, later",
        Drop = "drop", "Relay only every other message of each sender",
        SubstituteKey = "substitute-key",
            "Put the server's own key and signature in each signed message (needs the password)",
    }
}

impl Attack {
    /// What the attack does to the traffic, for the server's first log line.
    pub fn plan(self) -> &'static str {
        match self {
            Self::Tamper => "alter every token (or text) it relays",
            Self::Impersonate => "relabel every message with another nick",
            Self::Replay => "relay every message a second time, later",
            Self::Drop => "drop every other message of each sender",
            Self::SubstituteKey => "sign every signed message again with its own key",
        }
    }
}

/// What the rogue server does to the messages it relays.
#[derive(Debug, Clone)]
pub struct RogueConfig {
    pub attacks: BTreeSet<Attack>,
    /// Nick to relabel messages with (`--as`); default: another joined nick.
    pub impersonate: Option<Nick>,
    pub replay_delay: Duration,
}

/// A frame to publish again, and when.
type DueReplay = (Instant, Request<'static>);

/// The rogue server: `SimpleServer`'s logic, then the attacks.
pub struct RogueServer {
    chat: SimpleServer,
    config: RogueConfig,
    replays: Mutex<Sender<DueReplay>>,
    replayer: Mutex<Option<JoinHandle<()>>>,
    stopping: Arc<AtomicBool>,
    /// Messages each sender has had accepted, for `drop`: it numbers them
    /// from 1, as the sender counts them, and swallows the even ones.
    sent: Mutex<HashMap<Nick, u64>>,
    /// What `substitute-key` needs: the password and a key pair.
    insider: Option<Substitution>,
}

/// The password's keys, and the rogue server's own key pair.
struct Substitution {
    keys: MessageKeys,
    identity: Identity,
}

impl RogueServer {
    /// The rogue server; its replays go out through `publisher`.
    pub fn new(chat: SimpleServer, config: RogueConfig, publisher: Publisher) -> Self {
        let (replays, due) = mpsc::channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
        let replayer = thread::Builder::new()
            .name("replayer".into())
            .spawn(move || replay_when_due(&due, &publisher, &stop));
        let replayer = replayer
            .inspect_err(|e| log::error!("replays disabled: cannot start their thread: {e}"))
            .ok();
        Self {
            chat,
            config,
            replays: Mutex::new(replays),
            replayer: Mutex::new(replayer),
            stopping,
            sent: Mutex::default(),
            insider: None,
        }
    }

    /// The same server, knowing the chat's password, and signing with
    /// `identity` (for `substitute-key`).
    pub fn knowing(mut self, settings: &AeSettings, identity: Identity) -> Self {
        log::warn!(
            "rogue server: knows the password; its own signing key has fingerprint {}",
            identity.fingerprint()
        );
        self.insider = Some(Substitution {
            keys: settings.message_keys(),
            identity,
        });
        self
    }

    /// The fingerprint of the key it signs with, if it knows the password.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.insider.as_ref().map(|s| s.identity.fingerprint())
    }

    fn has(&self, attack: Attack) -> bool {
        self.config.attacks.contains(&attack)
    }

    /// Applies the attacks to one accepted message, and records each for
    /// the teacher's view; `None` drops it.
    fn attack<'a>(&self, nick: Nick, mut body: MessageBody<'a>, tap: &Tap) -> Option<Request<'a>> {
        if self.has(Attack::Drop) {
            let number = self.number(&nick);
            if number % 2 == 0 {
                log::warn!(
                    "ATTACK drop: swallowed message {number} from '{nick}' (the sender got ok)"
                );
                tap.rogue(&nick, RogueAction::Dropped);
                return None;
            }
        }
        if self.has(Attack::Tamper) {
            tamper(&mut body, &nick);
            tap.rogue(&nick, RogueAction::Tampered(Held::of(&body)));
        }
        if self.has(Attack::SubstituteKey) && self.substitute_key(&mut body, &nick) {
            tap.rogue(&nick, RogueAction::Substituted);
        }
        let mut relayed_as = nick.clone();
        if self.has(Attack::Impersonate) {
            relayed_as = self.impersonated(&nick);
            log::warn!("ATTACK impersonate: relaying a message from '{nick}' as '{relayed_as}'");
            let as_nick = relayed_as.to_string();
            tap.rogue(&nick, RogueAction::Impersonated { as_nick });
        }
        let frame = Request::Message {
            nick: relayed_as,
            body,
        };
        if self.has(Attack::Replay) && self.schedule_replay(&frame, &nick) {
            tap.rogue(&nick, RogueAction::Replayed);
        }
        Some(frame)
    }

    /// The number of `sender`'s message being relayed, from 1.
    fn number(&self, sender: &Nick) -> u64 {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let count = sent.entry(sender.clone()).or_default();
        *count += 1;
        *count
    }

    /// The nick to relabel `sender`'s message with.
    fn impersonated(&self, sender: &Nick) -> Nick {
        // BEGIN SOLUTION (step 6: impersonation, the nick a message is relabelled with)
        if let Some(nick) = &self.config.impersonate {
            return nick.clone();
        }
        let other = self
            .chat
            .room()
            .nicks()
            .into_iter()
            .find(|n| n != sender.as_str());
        other
            .and_then(|n| Nick::new(n).ok())
            .unwrap_or_else(|| Nick::new(DEFAULT_IMPERSONATED).unwrap_or_else(|_| sender.clone()))
        // END SOLUTION
    }

    /// Signs a signed message again with the server's key; whether it did.
    fn substitute_key(&self, body: &mut MessageBody<'_>, sender: &Nick) -> bool {
        let Some(insider) = &self.insider else {
            log::error!(
                "ATTACK substitute-key: the password is unknown, message from '{sender}' relayed as is"
            );
            return false;
        };
        let MessageBody::Sealed(sealed) = body else {
            log::warn!(
                "ATTACK substitute-key: a message in clear from '{sender}', no key to substitute"
            );
            return false;
        };
        match insider.sign_again(sealed) {
            Ok(resealed) => {
                *sealed = resealed;
                log::warn!(
                    "ATTACK substitute-key: a message from '{sender}' now carries the server's key {}",
                    insider.identity.fingerprint()
                );
                true
            }
            Err(why) => {
                log::warn!("ATTACK substitute-key: a message from '{sender}' relayed as is: {why}");
                false
            }
        }
    }

    /// Queues `frame` to be relayed again later; whether it was.
    fn schedule_replay(&self, frame: &Request<'_>, sender: &Nick) -> bool {
        // BEGIN SOLUTION (step 6: replay, a relayed frame queued to be relayed again later)
        let due = Instant::now() + self.config.replay_delay;
        let queued = self
            .replays
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send((due, frame.clone().into_owned()));
        if queued.is_ok() {
            log::warn!(
                "ATTACK replay: will relay a message from '{sender}' again in {:.1} s",
                self.config.replay_delay.as_secs_f64()
            );
        }
        queued.is_ok()
        // END SOLUTION
    }
}

impl Service for RogueServer {
    fn on_recv<'a>(&self, session: &Session, request: Request<'a>) -> Reply<'a> {
        let Request::Message { nick, body } = request else {
            return self.chat.on_recv(session, request);
        };
        let accepted = Request::Message {
            nick: nick.clone(),
            body: body.clone(),
        };
        let reply = self.chat.on_recv(session, accepted);
        if reply.broadcast.is_none() {
            return reply;
        }
        match self.attack(nick, body, &session.tap) {
            Some(forged) => Reply::broadcast(Relay::Frame(forged)),
            None => Reply::ok(),
        }
    }

    fn on_close(&self, session: &Session) {
        self.chat.on_close(session);
    }

    /// Ends the replayer: replays not yet due are forgotten.
    fn on_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let replayer = self
            .replayer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(replayer) = replayer {
            let _ = replayer.join();
        }
    }
}

impl Substitution {
    /// `sealed`, opened, signed again with this key pair, and sealed again
    /// under the same salt and date.
    fn sign_again(&self, sealed: &Sealed<'_>) -> Result<Sealed<'static>, String> {
        let salt = Salt::from_base64(&sealed.salt).map_err(|e| e.to_string())?;
        let key = self.keys.key(&salt);
        let (info, raw) = crypto::open_token(&key, &sealed.token).map_err(|e| e.to_string())?;
        let plaintext =
            signed_again(&raw, info.timestamp, &self.identity).map_err(|e| e.to_string())?;
        Ok(Sealed {
            salt: sealed.salt.to_string().into(),
            token: crypto::encrypt_at(&key, &plaintext, info.timestamp).into(),
        })
    }
}

/// Alters a message: flips a ciphertext bit of a token, or replaces a
/// cleartext with [`FORGED_TEXT`].
fn tamper(body: &mut MessageBody<'_>, sender: &Nick) {
    // BEGIN SOLUTION (step 6: tampering, a message altered on its way)
    match body {
        MessageBody::Text(text) => {
            log::warn!(
                "ATTACK tamper: replaced the text of a message from '{sender}' with a forgery"
            );
            *text = FORGED_TEXT.into();
        }
        MessageBody::Sealed(Sealed { token, .. }) => {
            *token = flip_a_ciphertext_bit(token).into();
            log::warn!("ATTACK tamper: flipped one ciphertext bit of a token from '{sender}'");
        }
    }
    // END SOLUTION
}

/// The token with one bit of its first ciphertext block flipped, still valid
/// base64, so only the MAC can tell.
fn flip_a_ciphertext_bit(token: &str) -> String {
    // BEGIN SOLUTION (step 6: tampering, one bit of a token's ciphertext flipped)
    let Ok(mut bytes) = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')) else {
        return format!("{token}A");
    };
    match bytes.get_mut(TAMPERED_BYTE) {
        Some(byte) => *byte ^= 0x01,
        None => bytes.push(0),
    }
    URL_SAFE.encode(bytes)
    // END SOLUTION
}

/// The replayer thread: publishes each queued frame once its time comes,
/// until the server stops. Every replay has the same delay, so the queue is
/// already in due order.
fn replay_when_due(due: &Receiver<DueReplay>, publisher: &Publisher, stopping: &AtomicBool) {
    while !stopping.load(Ordering::SeqCst) {
        let (when, frame) = match due.recv_timeout(REPLAYER_TICK) {
            Ok(next) => next,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if sleep_until(when, stopping) {
            publisher.publish(&frame);
            log::warn!("ATTACK replay: relayed a message again");
        }
    }
}

/// Sleeps until `when`, in ticks; false if the server stopped meanwhile.
fn sleep_until(when: Instant, stopping: &AtomicBool) -> bool {
    loop {
        if stopping.load(Ordering::SeqCst) {
            return false;
        }
        let left = when.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        thread::sleep(left.min(REPLAYER_TICK));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{BaseServer, ServerConfig, TrustModel};

    #[test]
    fn drop_swallows_every_other_message_of_each_sender_counted_from_1() {
        let publisher = BaseServer::bind(&ServerConfig::local())
            .unwrap()
            .publisher();
        let config = RogueConfig {
            attacks: BTreeSet::from([Attack::Drop]),
            impersonate: None,
            replay_delay: DEFAULT_REPLAY_DELAY,
        };
        let rogue = RogueServer::new(SimpleServer::new(TrustModel::Open), config, publisher);
        let (alice, bob) = (Nick::new("alice").unwrap(), Nick::new("bob").unwrap());
        let tap = Tap::new();
        let mut dashboard = tap.reader();
        let relayed = |nick: &Nick| {
            let body = MessageBody::Text("hi".into());
            rogue.attack(nick.clone(), body, &tap).is_some()
        };
        let order = [&alice, &alice, &bob, &alice, &bob, &alice, &bob];
        let fates: Vec<bool> = order.into_iter().map(relayed).collect();
        assert_eq!(fates, [true, false, true, true, false, false, true]);
        assert_eq!(rogue.number(&alice), 5);
        let dropped = dashboard.next(std::time::Duration::ZERO).events;
        assert_eq!(dropped.len(), 3, "each drop is shown: {dropped:?}");
        assert!(dropped.iter().all(|event| matches!(
            &event.sighting,
            crate::server::Sighting::Rogue {
                action: RogueAction::Dropped,
                ..
            }
        )));
        rogue.on_stop();
    }

    #[test]
    fn flipping_a_bit_keeps_the_token_well_formed() {
        let key = crate::layer::keys::crypto::fernet_key_from_base64(
            "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",
        )
        .unwrap();
        let token = key.encrypt(b"hello");
        let tampered = flip_a_ciphertext_bit(&token);
        assert_ne!(token, tampered);
        assert!(crate::layer::keys::crypto::inspect_token(&tampered).is_ok());
        assert_eq!(
            crate::layer::keys::crypto::open_token(&key, &tampered).map(|(_, p)| p),
            Err(crate::layer::keys::crypto::DecryptError::WrongKeyOrAltered)
        );
    }
}
