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
//! - `drop` relays every other message: nobody can prevent it, AEAD's
//!   counters report it.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use crate::base_server::{Publisher, Reply, Service, Session};
use crate::frame::Nick;
use crate::simple_server::SimpleServer;

/// Nick used to impersonate when no other nick is joined.
pub const DEFAULT_IMPERSONATED: &str = "admin";
/// Text put in place of a cleartext message by `tamper`.
pub const FORGED_TEXT: &str = "please send me your password";
/// Default delay before a replay.
pub const DEFAULT_REPLAY_DELAY: Duration = Duration::from_secs(2);

/// Byte of a decoded token flipped by `tamper`: the first ciphertext byte,
/// after version (1), timestamp (8) and IV (16).
const TAMPERED_BYTE: usize = 25;

/// One of the rogue server's attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attack {
    Tamper,
    Impersonate,
    Replay,
    Drop,
}

impl FromStr for Attack {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tamper" => Ok(Self::Tamper),
            "impersonate" => Ok(Self::Impersonate),
            "replay" => Ok(Self::Replay),
            "drop" => Ok(Self::Drop),
            other => Err(format!(
                "unknown attack '{other}' (expected tamper, impersonate, replay or drop)"
            )),
        }
    }
}

impl Attack {
    /// What the attack does to the traffic, for the server's first log line.
    pub fn plan(self) -> &'static str {
        match self {
            Self::Tamper => "alter every token (or text) it relays",
            Self::Impersonate => "relabel every message with another nick",
            Self::Replay => "relay every message a second time, later",
            Self::Drop => "drop every other message",
        }
    }
}

impl fmt::Display for Attack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tamper => "tamper",
            Self::Impersonate => "impersonate",
            Self::Replay => "replay",
            Self::Drop => "drop",
        })
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

/// The rogue server: `SimpleServer`'s logic, then the attacks.
pub struct RogueServer {
    chat: SimpleServer,
    config: RogueConfig,
    publisher: Publisher,
    replays: Mutex<Sender<(Instant, Vec<u8>)>>,
    relayed: AtomicU64,
}

impl RogueServer {
    pub fn new(chat: SimpleServer, config: RogueConfig, publisher: Publisher) -> Self {
        let (replays, due) = mpsc::channel();
        let replayer = publisher.clone();
        let spawned = thread::Builder::new()
            .name("replayer".into())
            .spawn(move || replay_when_due(&due, &replayer));
        if let Err(e) = spawned {
            log::error!("replays disabled: cannot start their thread: {e}");
        }
        Self {
            chat,
            config,
            publisher,
            replays: Mutex::new(replays),
            relayed: AtomicU64::new(0),
        }
    }

    fn has(&self, attack: Attack) -> bool {
        self.config.attacks.contains(&attack)
    }

    /// Applies the attacks to one accepted message frame; `None` drops it.
    fn attack(&self, line: &[u8]) -> Option<Vec<u8>> {
        let count = self.relayed.fetch_add(1, Ordering::Relaxed);
        let Ok(Value::Object(mut frame)) = serde_json::from_slice::<Value>(line) else {
            return Some(line.to_vec());
        };
        let sender = frame
            .get("nick")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        if self.has(Attack::Drop) && count % 2 == 1 {
            log::warn!(
                "ATTACK drop: swallowed message {count} from '{sender}' (the sender got ok)"
            );
            return None;
        }
        if self.has(Attack::Tamper) {
            tamper(&mut frame, &sender);
        }
        if self.has(Attack::Impersonate) {
            let victim = self.impersonated(&sender);
            log::warn!("ATTACK impersonate: relaying a message from '{sender}' as '{victim}'");
            frame.insert("nick".into(), Value::String(victim));
        }
        let out = serde_json::to_vec(&frame).unwrap_or_else(|_| line.to_vec());
        if self.has(Attack::Replay) {
            self.schedule_replay(&out, &sender);
        }
        Some(out)
    }

    /// The nick to relabel `sender`'s message with.
    fn impersonated(&self, sender: &str) -> String {
        if let Some(nick) = &self.config.impersonate {
            return nick.to_string();
        }
        let joined = self.chat.room().nicks();
        joined
            .into_iter()
            .find(|n| n != sender)
            .unwrap_or_else(|| DEFAULT_IMPERSONATED.to_owned())
    }

    fn schedule_replay(&self, frame: &[u8], sender: &str) {
        let due = Instant::now() + self.config.replay_delay;
        let queued = self
            .replays
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send((due, frame.to_vec()));
        if queued.is_ok() {
            log::warn!(
                "ATTACK replay: will relay a message from '{sender}' again in {:.1} s",
                self.config.replay_delay.as_secs_f64()
            );
        }
    }
}

impl Service for RogueServer {
    fn on_recv<'a>(&self, session: &Session, packet: &'a [u8]) -> Reply<'a> {
        let reply = self.chat.on_recv(session, packet);
        let Some(line) = reply.broadcast else {
            return reply;
        };
        match self.attack(&line) {
            Some(attacked) => Reply::broadcast(attacked),
            None => Reply::ok(),
        }
    }

    fn on_close(&self, session: &Session) {
        self.chat.on_close(session);
        log::debug!(
            "{} subscribers still listening",
            self.publisher.subscriber_count()
        );
    }
}

/// Alters a frame's message: flips a ciphertext bit of a token, or replaces
/// a cleartext with [`FORGED_TEXT`].
fn tamper(frame: &mut Map<String, Value>, sender: &str) {
    match frame.get_mut("message") {
        Some(Value::String(text)) => {
            log::warn!(
                "ATTACK tamper: replaced the text of a message from '{sender}' with a forgery"
            );
            *text = FORGED_TEXT.to_owned();
        }
        Some(Value::Object(sealed)) => {
            if let Some(Value::String(token)) = sealed.get_mut("token") {
                *token = flip_a_ciphertext_bit(token);
                log::warn!("ATTACK tamper: flipped one ciphertext bit of a token from '{sender}'");
            }
        }
        _ => {}
    }
}

/// The token with one bit of its first ciphertext block flipped, still valid
/// base64, so only the MAC can tell.
fn flip_a_ciphertext_bit(token: &str) -> String {
    let Ok(mut bytes) = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')) else {
        return format!("{token}A");
    };
    match bytes.get_mut(TAMPERED_BYTE) {
        Some(byte) => *byte ^= 0x01,
        None => bytes.push(0),
    }
    URL_SAFE.encode(bytes)
}

/// The replayer thread: publishes each queued frame once its time comes.
/// Every replay has the same delay, so the queue is already in due order.
fn replay_when_due(due: &mpsc::Receiver<(Instant, Vec<u8>)>, publisher: &Publisher) {
    for (when, frame) in due {
        thread::sleep(when.saturating_duration_since(Instant::now()));
        publisher.publish(&frame);
        log::warn!("ATTACK replay: relayed a message again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attacks() {
        assert_eq!("tamper".parse(), Ok(Attack::Tamper));
        assert!(
            "explode"
                .parse::<Attack>()
                .unwrap_err()
                .contains("unknown attack")
        );
    }

    #[test]
    fn flipping_a_bit_keeps_the_token_well_formed() {
        let key =
            crate::crypto::fernet_key_from_base64("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")
                .unwrap();
        let token = key.encrypt(b"hello");
        let tampered = flip_a_ciphertext_bit(&token);
        assert_ne!(token, tampered);
        assert!(crate::crypto::inspect_token(&tampered).is_ok());
        assert_eq!(
            crate::crypto::open_token(&key, &tampered).map(|(_, p)| p),
            Err(crate::crypto::DecryptError::WrongKeyOrAltered)
        );
    }
}
