//! The AEAD layer's client side (the lab's AEADClient, and more).
//!
//! Fernet has no associated data: the clear `nick` of a frame is not
//! authenticated, so with AE a rogue server can relabel a message. The lab's
//! simple answer is to seal the nick inside the token and compare it on
//! receipt; that is the plaintext `{"nick": N, "message": TEXT}` here.
//!
//! Nick binding does not stop a replay: the copy is a valid token from the
//! right sender. So a receiver also refuses tokens older than a TTL (or too
//! far in the future), and tokens it has already accepted, remembering them
//! only as long as the TTL would accept them. Beyond the lab, each sender
//! seals a counter and a random session id, so that messages a server drops
//! or reorders are reported. The extra fields are optional: a receiver that
//! does not know them (the Python original's) still accepts the message.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};

use super::ae_client::{AeSealer, AeSettings, sealed_body};
use super::crypto::{self, KeyCache};
use super::{Open, Opened, Rejection, Seal, SealError};
use crate::wire::{MessageBody, Nick, Sealed};

/// Senders whose counters a receiver follows; past this it starts afresh.
const MAX_TRACKED_SENDERS: usize = 4096;

/// Length of a sender's random session id.
const SESSION_ID_LEN: usize = 12;

/// The Fernet plaintext of the AEAD layer.
#[derive(Debug, Serialize, Deserialize)]
pub struct SealedPlaintext<'a> {
    #[serde(borrow)]
    pub nick: Cow<'a, str>,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    /// The sender's message counter, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The sender's session: counters restart with each session.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub session: Option<Cow<'a, str>>,
}

/// The sending half: seals the nick, a counter and the text.
pub struct AeadSealer {
    ae: AeSealer,
    session: String,
    next_seq: u64,
}

impl AeadSealer {
    pub fn new(settings: AeSettings) -> Self {
        let session = rand::rng()
            .sample_iter(Alphanumeric)
            .take(SESSION_ID_LEN)
            .map(char::from)
            .collect();
        Self {
            ae: AeSealer::new(settings),
            session,
            next_seq: 0,
        }
    }

    /// Python's AEAD `encrypt_message`: the nick goes inside the token.
    pub fn encrypt_message(
        &mut self,
        nick: &Nick,
        text: &str,
    ) -> Result<Sealed<'static>, SealError> {
        let plaintext = SealedPlaintext {
            nick: nick.as_str().into(),
            message: text.into(),
            seq: Some(self.next_seq),
            session: Some(self.session.as_str().into()),
        };
        let json = serde_json::to_vec(&plaintext).map_err(|e| SealError::Encode(e.to_string()))?;
        let sealed = self.ae.encrypt_message(&json)?;
        self.next_seq += 1;
        Ok(sealed)
    }
}

impl Seal for AeadSealer {
    fn seal(&mut self, nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        self.encrypt_message(nick, text).map(MessageBody::Sealed)
    }
}

/// The receiving half: verifies, checks the sealed nick, the token's age,
/// replays, and each sender's counter.
pub struct AeadOpener {
    keys: KeyCache,
    ttl: u64,
    replays: ReplayGuard,
    senders: SequenceTracker,
}

impl AeadOpener {
    pub fn new(settings: &AeSettings) -> Self {
        Self {
            keys: KeyCache::new(settings.password.clone(), settings.iterations),
            ttl: settings.ttl,
            replays: ReplayGuard::default(),
            senders: SequenceTracker::default(),
        }
    }

    /// Python's `decrypt_message(password, token, salt, nick)`, judged at
    /// `now` (seconds since the Unix epoch).
    pub fn decrypt_message(
        &mut self,
        token: &str,
        salt: &str,
        nick: &str,
        now: u64,
    ) -> Result<Opened, Rejection> {
        let (info, plaintext) = self.keys.open(salt, token)?;
        crypto::check_freshness(info.timestamp, now, self.ttl)?;
        let sealed: SealedPlaintext<'_> = serde_json::from_slice(&plaintext)
            .map_err(|e| Rejection::BadPlaintext(e.to_string()))?;
        if sealed.nick != nick {
            return Err(Rejection::SenderMismatch {
                sealed_by: sealed.nick.into_owned(),
            });
        }
        self.replays
            .remember(info.mac, info.timestamp.saturating_add(self.ttl), now)?;
        let warnings = self.senders.observe(nick, &sealed).into_iter().collect();
        Ok(Opened {
            text: sealed.message.into_owned(),
            warnings,
        })
    }
}

impl Open for AeadOpener {
    fn open(&mut self, nick: &str, body: &MessageBody<'_>) -> Result<Opened, Rejection> {
        let sealed = sealed_body(body)?;
        let now = crypto::unix_now(0);
        self.decrypt_message(&sealed.token, &sealed.salt, nick, now)
    }
}

/// The tokens accepted and still within their TTL.
#[derive(Default)]
pub struct ReplayGuard {
    seen: HashSet<[u8; 32]>,
    /// `(expiry, mac)`, soonest first, to forget tokens once they expire.
    expiries: BinaryHeap<Reverse<(u64, [u8; 32])>>,
}

impl ReplayGuard {
    /// Accepts a token's MAC once; `expires` is when the TTL check would
    /// start refusing the token anyway, so it need not be remembered after.
    pub fn remember(&mut self, mac: [u8; 32], expires: u64, now: u64) -> Result<(), Rejection> {
        self.forget_expired(now);
        if !self.seen.insert(mac) {
            return Err(Rejection::Replay);
        }
        self.expiries.push(Reverse((expires, mac)));
        Ok(())
    }

    /// Tokens remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn forget_expired(&mut self, now: u64) {
        while let Some(Reverse((expires, mac))) = self.expiries.peek().copied() {
            if expires >= now {
                return;
            }
            self.expiries.pop();
            self.seen.remove(&mac);
        }
    }
}

/// Each sender's session and the counter expected next.
#[derive(Default)]
struct SequenceTracker {
    expected: HashMap<String, (String, u64)>,
}

impl SequenceTracker {
    /// Starts following a sender first seen now (the first message tells
    /// nothing: messages before it were sent before this receiver listened).
    fn start_following(&mut self, nick: &str, session: &str, next: u64) {
        if self.expected.len() >= MAX_TRACKED_SENDERS {
            self.expected.clear();
        }
        self.expected
            .insert(nick.to_owned(), (session.to_owned(), next));
    }

    /// Records a message; returns what its counter reveals, if anything.
    fn observe(&mut self, nick: &str, sealed: &SealedPlaintext<'_>) -> Option<String> {
        let (Some(seq), Some(session)) = (sealed.seq, sealed.session.as_deref()) else {
            return None;
        };
        let next = seq.saturating_add(1);
        let Some(entry) = self.expected.get_mut(nick) else {
            self.start_following(nick, session, next);
            return None;
        };
        if entry.0 != session {
            *entry = (session.to_owned(), next);
            return None;
        }
        let expected = entry.1;
        entry.1 = entry.1.max(next);
        match seq.cmp(&expected) {
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => {
                Some(format!("{} message(s) from {nick} missing", seq - expected))
            }
            std::cmp::Ordering::Less => Some(format!("message from {nick} arrived out of order")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::DecryptError;
    use crate::layer::crypto::Password;

    const NOW: u64 = 1_800_000_000;

    fn settings() -> AeSettings {
        AeSettings::new(Password::new("s3cret"))
    }

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }

    fn open(
        opener: &mut AeadOpener,
        sealed: &Sealed<'_>,
        nick: &str,
        now: u64,
    ) -> Result<Opened, Rejection> {
        opener.decrypt_message(&sealed.token, &sealed.salt, nick, now)
    }

    #[test]
    fn accepts_once_from_the_sealed_sender_only() {
        let sealed = AeadSealer::new(settings())
            .encrypt_message(&nick("alice"), "hi")
            .unwrap();
        let mut opener = AeadOpener::new(&settings());
        let now = crypto::unix_now(0);
        assert_eq!(
            open(&mut opener, &sealed, "bob", now),
            Err(Rejection::SenderMismatch {
                sealed_by: "alice".into()
            })
        );
        assert_eq!(
            open(&mut opener, &sealed, "alice", now).map(|o| o.text),
            Ok("hi".into())
        );
        assert_eq!(
            open(&mut opener, &sealed, "alice", now),
            Err(Rejection::Replay)
        );
    }

    #[test]
    fn the_labs_clock_experiments() {
        let mut behind = settings();
        behind.clock_offset = -45;
        let stale = AeadSealer::new(behind)
            .encrypt_message(&nick("alice"), "late")
            .unwrap();
        let mut opener = AeadOpener::new(&settings());
        let now = crypto::unix_now(0);
        let err = open(&mut opener, &stale, "alice", now).unwrap_err();
        assert!(
            matches!(
                err,
                Rejection::Decrypt(DecryptError::Expired {
                    age: 45..=47,
                    ttl: 30
                })
            ),
            "{err}"
        );

        let mut ahead = settings();
        ahead.clock_offset = 120;
        let early = AeadSealer::new(ahead)
            .encrypt_message(&nick("alice"), "early")
            .unwrap();
        let err = open(&mut opener, &early, "alice", now).unwrap_err();
        assert!(
            matches!(err, Rejection::Decrypt(DecryptError::FromTheFuture { .. })),
            "{err}"
        );
    }

    #[test]
    fn replay_memory_is_bounded_by_the_ttl() {
        let mut guard = ReplayGuard::default();
        for i in 0..100u8 {
            guard.remember([i; 32], NOW + 30, NOW).unwrap();
        }
        assert_eq!(guard.len(), 100);
        guard.remember([200; 32], NOW + 31 + 30, NOW + 31).unwrap();
        assert_eq!(guard.len(), 1);
    }

    #[test]
    fn counters_reveal_drops_and_reordering() {
        let mut sealer = AeadSealer::new(settings());
        let msgs: Vec<_> = (0..5)
            .map(|i| {
                sealer
                    .encrypt_message(&nick("alice"), &format!("m{i}"))
                    .unwrap()
            })
            .collect();
        let mut opener = AeadOpener::new(&settings());
        let now = crypto::unix_now(0);
        let warnings = |o: Result<Opened, Rejection>| o.unwrap().warnings;
        assert!(warnings(open(&mut opener, &msgs[0], "alice", now)).is_empty());
        assert_eq!(
            warnings(open(&mut opener, &msgs[3], "alice", now)),
            vec!["2 message(s) from alice missing"]
        );
        assert_eq!(
            warnings(open(&mut opener, &msgs[1], "alice", now)),
            vec!["message from alice arrived out of order"]
        );
        assert!(warnings(open(&mut opener, &msgs[4], "alice", now)).is_empty());
    }

    #[test]
    fn plaintext_without_counters_is_accepted() {
        let json = br#"{"nick":"alice","message":"from python"}"#;
        let sealed = AeSealer::new(settings()).encrypt_message(json).unwrap();
        let mut opener = AeadOpener::new(&settings());
        let opened = open(&mut opener, &sealed, "alice", crypto::unix_now(0)).unwrap();
        assert_eq!(
            (opened.text.as_str(), opened.warnings.len()),
            ("from python", 0)
        );
    }
}
