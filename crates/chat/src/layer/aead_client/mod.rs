//! The AEAD layer's client side (the lab's AEADClient, and more).
//!
//! Fernet has no associated data: the clear `nick` of a frame is not
//! authenticated, so with AE a rogue server can relabel a message. The lab's
//! simple answer is to seal the nick inside the token and compare it on
//! receipt. Here the sealed plaintext binds more than the nick:
// BEGIN SOLUTION ITEMS (step 7: the sealed plaintext, spelled out)
//!
//! ```text
//! {"nick": N, "message": TEXT, "room": R, "seq": S, "session": ID}
//! ```
// END SOLUTION ITEMS
//!
//! - `nick` and `room` bind the message to its sender and its chat, so it
//!   can be neither relabelled nor replayed into another chat that shares
//!   the password;
//! - a TTL refuses old tokens (and tokens too far in the future), and a
//!   [`ReplayGuard`] refuses a token already accepted;
//! - `seq` and `session`, optional, let a receiver report messages a server
//!   dropped, reordered, or held back from a sender's previous session
//!   ([`SequenceTracker`]).
//!
//! The opener runs its checks in one fixed order ([`AeadOpener`]); a layer
//! built on this one (a signed layer) plugs its own check of the sender in
//! through [`SenderCheck`], and the counters are kept under whatever sender
//! that check vouches for.

pub(crate) mod counters;
pub(crate) mod replay;

use std::borrow::Cow;

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Serialize;

use crate::layer::ae_client::{AeSealer, sealed_body};
use crate::layer::aead_client::counters::{SESSION_ID_LEN, SequenceTracker, Tracked};
use crate::layer::aead_client::replay::ReplayGuard;
use crate::layer::clock::{Clock, SteadyWall, SystemClock};
use crate::layer::facts::{Facts, Make};
use crate::layer::keys::crypto::{self, MAC_LEN, TokenInfo};
use crate::layer::keys::key_cache::KeyCache;
use crate::layer::plaintext::SealedPlaintext;
use crate::layer::room::Room;
use crate::layer::settings::AeSettings;
use crate::layer::{Open, Opened, Rejection, Seal, SealError, Verdict};
use crate::wire::{MessageBody, Nick, Sealed, ZmqBody};

/// The AEAD layer, as the library knows it.
pub(crate) const FACTS: Facts = Facts {
    title: "AEAD",
    zmq_body: ZmqBody::Msgpack,
    counters: true,
    make: Make::Keyed {
        sealer: |settings| Ok(Box::new(AeadSealer::new(settings))),
        opener: |settings| Box::new(AeadOpener::new(settings)),
    },
};

/// The sending half: seals the nick, the room, a counter and the text.
pub struct AeadSealer {
    ae: AeSealer,
    room: Room,
    session: String,
    /// The counter of the next message the server will accept.
    next_seq: u64,
    /// The counter of the message sealed last, until its verdict.
    pending: Option<u64>,
}

impl AeadSealer {
    pub fn new(settings: &AeSettings) -> Self {
        let session = rand::rng()
            .sample_iter(Alphanumeric)
            .take(SESSION_ID_LEN)
            .map(char::from)
            .collect();
        Self {
            ae: AeSealer::new(settings),
            room: settings.room.clone(),
            session,
            next_seq: 0,
            pending: None,
        }
    }

    /// Python's AEAD `encrypt_message`: the nick goes inside the token. The
    /// counter moves on only once the server accepts the message
    /// ([`Seal::verdict`]).
    pub fn encrypt_message(
        &mut self,
        nick: &Nick,
        text: &str,
    ) -> Result<Sealed<'static>, SealError> {
        self.encrypt_plaintext(|draft| draft.plaintext(nick.as_str(), text))
    }

    /// Seals the plaintext that `build` makes of the next message's
    /// `Draft` (a layer built on this one adds its fields around
    /// [`SealedPlaintext`]); it counts as the message sealed last, whose
    /// verdict commits the counter, and its token is dated
    /// `Draft::sent_at`.
    pub fn encrypt_plaintext<T: Serialize>(
        &mut self,
        build: impl FnOnce(&Draft<'_>) -> T,
    ) -> Result<Sealed<'static>, SealError> {
        let draft = Draft {
            room: self.room.as_str(),
            session: &self.session,
            seq: self.next_seq,
            sent_at: self.ae.now(),
        };
        let sent_at = draft.sent_at;
        let json = to_json(&build(&draft))?;
        let sealed = self.ae.encrypt_message_at(&json, sent_at)?;
        self.pending = Some(self.next_seq);
        Ok(sealed)
    }
}

/// What the next message of an [`AeadSealer`] is sealed under.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'s> {
    pub room: &'s str,
    pub session: &'s str,
    /// The counter it carries.
    pub seq: u64,
    /// The date its token carries.
    pub sent_at: u64,
}

impl Draft<'_> {
    /// AEAD's plaintext of `text` sent by `nick`.
    pub fn plaintext<'a>(&self, nick: &'a str, text: &'a str) -> SealedPlaintext<'a> {
        // BEGIN SOLUTION (step 7: what the AEAD client seals with the text)
        SealedPlaintext {
            nick: nick.into(),
            message: text.into(),
            room: Cow::Owned(self.room.to_owned()),
            seq: Some(self.seq),
            session: Some(Cow::Owned(self.session.to_owned())),
        }
        // END SOLUTION
    }
}

impl Seal for AeadSealer {
    fn seal(&mut self, nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        self.encrypt_message(nick, text).map(MessageBody::Sealed)
    }

    fn verdict(&mut self, verdict: Verdict) {
        match (self.pending.take(), verdict) {
            (Some(seq), Verdict::Accepted) => self.next_seq = seq.saturating_add(1),
            (_, Verdict::Refused) | (None, _) => {}
        }
    }
}

fn to_json<T: Serialize>(plaintext: &T) -> Result<Vec<u8>, SealError> {
    serde_json::to_vec(plaintext).map_err(|e| SealError::Encode(e.to_string()))
}

/// Who sealed a message, as far as a layer can tell, once the token, its
/// age, its room and its sealed nick have passed: the name the counters
/// are kept under, or why the message is refused.
pub trait SenderCheck: Send {
    /// `plaintext` was read from `raw`, in a token dated `sent_at`.
    fn sender<'p>(
        &mut self,
        plaintext: &'p SealedPlaintext<'_>,
        raw: &[u8],
        sent_at: u64,
    ) -> Result<Vouched<'p>, Rejection>;
}

/// What a [`SenderCheck`] vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vouched<'p> {
    /// The name the counters are kept under.
    pub sender: Cow<'p, str>,
    /// What the replay guard remembers the message by, if not its token's
    /// MAC: whoever knows the password can seal the same plaintext again
    /// in a token of its own, whose MAC is new.
    pub message_id: Option<[u8; MAC_LEN]>,
    /// What the check learnt and tells once (a key pinned).
    pub notes: Vec<String>,
    /// What the check found worth a warning, the message still accepted
    /// (a key that is pinned for another nick too).
    pub warnings: Vec<String>,
}

impl<'p> Vouched<'p> {
    pub fn named(sender: Cow<'p, str>) -> Self {
        Self {
            sender,
            message_id: None,
            notes: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// The AEAD layer's own answer: whoever knows the shared password may seal
/// any nick, so the sealed nick is all a receiver can name the sender by.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedPassword;

impl SenderCheck for SharedPassword {
    fn sender<'p>(
        &mut self,
        plaintext: &'p SealedPlaintext<'_>,
        _raw: &[u8],
        _sent_at: u64,
    ) -> Result<Vouched<'p>, Rejection> {
        Ok(Vouched::named(Cow::Borrowed(&plaintext.nick)))
    }
}

/// A token whose MAC verified and whose age passed: its date and
/// plaintext, and when its age was judged.
#[derive(Debug)]
pub struct Unsealed {
    pub info: TokenInfo,
    pub plaintext: Vec<u8>,
    /// The steady wall time the TTL check passed at: the replay guard
    /// judges at the same instant, so that it never forgets a token the
    /// TTL check has just let through.
    pub checked_at: u64,
}

/// The receiving half. For each message, in this order: the token's MAC
/// (within the budget of new salts), its age, the plaintext's shape, its
/// room, its sealed nick, its session's shape, the `SenderCheck`, the
/// replay guard, then the counters, which only ever warn.
pub struct AeadOpener<C: SenderCheck = SharedPassword> {
    keys: KeyCache,
    room: Room,
    ttl: u64,
    time: SteadyWall,
    replays: ReplayGuard,
    counters: SequenceTracker,
    check: C,
}

impl AeadOpener {
    pub fn new(settings: &AeSettings) -> Self {
        Self::with_clock(settings, Box::new(SystemClock::new()))
    }

    /// An opener that reads the time from `clock`.
    pub fn with_clock(settings: &AeSettings, clock: Box<dyn Clock>) -> Self {
        Self::with_check(settings, clock, SharedPassword)
    }
}

impl<C: SenderCheck> AeadOpener<C> {
    /// An opener whose sender check is `check`.
    pub fn with_check(settings: &AeSettings, clock: Box<dyn Clock>, check: C) -> Self {
        Self {
            keys: KeyCache::new(settings.message_keys()),
            room: settings.room.clone(),
            ttl: settings.ttl,
            time: SteadyWall::new(clock),
            replays: ReplayGuard::new(settings.ttl),
            counters: SequenceTracker::new(settings.ttl),
            check,
        }
    }

    /// Python's `decrypt_message(password, token, salt, nick)`: `nick` is
    /// the frame's, which the sealed one must match.
    pub fn decrypt_message(
        &mut self,
        token: &str,
        salt: &str,
        nick: &str,
    ) -> Result<Opened, Rejection> {
        let unsealed = self.unseal(token, salt, nick)?;
        self.judge(nick, &unsealed)
    }

    /// The cryptographic half: the token's MAC, then its age.
    pub fn unseal(&mut self, token: &str, salt: &str, nick: &str) -> Result<Unsealed, Rejection> {
        let now = self.time.now();
        let (info, plaintext) = self.keys.open(nick, salt, token, now.monotonic)?;
        crypto::check_freshness(info.timestamp, now.unix, self.ttl)?;
        Ok(Unsealed {
            info,
            plaintext,
            checked_at: now.unix,
        })
    }

    /// The other half: what the plaintext says, who vouches for it, whether
    /// it was seen before, what its counter reveals.
    pub fn judge(&mut self, nick: &str, unsealed: &Unsealed) -> Result<Opened, Rejection> {
        let Unsealed {
            info,
            plaintext,
            checked_at,
        } = unsealed;
        let sealed = SealedPlaintext::parse(plaintext)?;
        self.check_binding(&sealed, nick)?;
        let stamp = sealed.stamp(info.timestamp)?;
        let vouched = self.check.sender(&sealed, plaintext, info.timestamp)?;
        let id = vouched.message_id.unwrap_or(info.mac);
        self.replays.remember(id, info.timestamp, *checked_at)?;
        let now = self.time.now();
        let anomaly =
            stamp.and_then(|stamp| self.counters.observe(&vouched.sender, stamp, now.monotonic));
        let mut warnings = vouched.warnings;
        warnings.extend(anomaly.map(|a| a.describe(nick)));
        Ok(Opened {
            warnings,
            notes: vouched.notes,
            text: sealed.message.into_owned(),
        })
    }

    /// How much the counters hold: what their bounds count.
    pub fn tracked(&self) -> Tracked {
        self.counters.tracked()
    }

    /// The sealed room is this client's, and the sealed nick the frame's.
    fn check_binding(&self, sealed: &SealedPlaintext<'_>, nick: &str) -> Result<(), Rejection> {
        if sealed.room != self.room.as_str() {
            return Err(Rejection::OtherRoom {
                sealed_for: sealed.room.clone().into_owned(),
                room: self.room.clone(),
            });
        }
        // BEGIN SOLUTION (step 7: the AEAD client's nick check, the sealed nick against the frame's)
        if sealed.nick != nick {
            return Err(Rejection::SenderMismatch {
                sealed_by: sealed.nick.clone().into_owned(),
            });
        }
        Ok(())
        // END SOLUTION
    }
}

impl<C: SenderCheck> Open for AeadOpener<C> {
    fn open(&mut self, nick: &str, body: &MessageBody<'_>) -> Result<Opened, Rejection> {
        let sealed = sealed_body(body)?;
        self.decrypt_message(&sealed.token, &sealed.salt, nick)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::layer::DecryptError;
    use crate::layer::clock::ManualClock;
    use crate::layer::keys::secret::Password;

    fn settings() -> AeSettings {
        AeSettings::new(Password::new("s3cret"))
    }

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }

    fn open(opener: &mut AeadOpener, sealed: &Sealed<'_>, nick: &str) -> Result<Opened, Rejection> {
        opener.decrypt_message(&sealed.token, &sealed.salt, nick)
    }

    /// Seals `text` as `nick` and reports it accepted by the server.
    fn sent(sealer: &mut AeadSealer, nick_: &str, text: &str) -> Sealed<'static> {
        let sealed = sealer.encrypt_message(&nick(nick_), text).unwrap();
        sealer.verdict(Verdict::Accepted);
        sealed
    }

    // BEGIN SOLUTION ITEMS (step 7: plaintexts sealed by hand)
    /// A token made with the AE layer's sealer, so of any plaintext.
    fn raw(plaintext: &[u8]) -> Sealed<'static> {
        AeSealer::new(&settings())
            .encrypt_message(plaintext)
            .unwrap()
    }
    // END SOLUTION ITEMS

    fn rejection(result: Result<Opened, Rejection>) -> String {
        result.map(|o| o.text).unwrap_err().to_string()
    }

    #[test]
    fn accepts_once_from_the_sealed_sender_only() {
        let sealed = sent(&mut AeadSealer::new(&settings()), "alice", "hi");
        let mut opener = AeadOpener::new(&settings());
        assert_eq!(
            open(&mut opener, &sealed, "bob"),
            Err(Rejection::SenderMismatch {
                sealed_by: "alice".into()
            })
        );
        assert_eq!(
            open(&mut opener, &sealed, "alice").map(|o| o.text),
            Ok("hi".into())
        );
        assert_eq!(open(&mut opener, &sealed, "alice"), Err(Rejection::Replay));
    }

    #[test]
    fn a_message_sealed_for_another_room_is_refused() {
        let mut ops = settings();
        ops.room = Room::new("ops").unwrap();
        let sealed = sent(&mut AeadSealer::new(&ops), "alice", "deploy now");
        let mut lobby = AeadOpener::new(&settings());
        assert_eq!(
            rejection(open(&mut lobby, &sealed, "alice")),
            "sealed for room 'ops', this client is in 'lobby'"
        );
        assert!(open(&mut AeadOpener::new(&ops), &sealed, "alice").is_ok());
    }

    // BEGIN SOLUTION ITEMS (step 7: plaintexts spelled out)
    #[test]
    fn the_plaintext_must_be_an_object_with_a_room() {
        let mut opener = AeadOpener::new(&settings());
        let array = raw(br#"["alice","hi","lobby"]"#);
        assert_eq!(
            open(&mut opener, &array, "alice"),
            Err(Rejection::NotAnObject)
        );
        let ae_text = raw(b"hello from an AE client");
        assert_eq!(
            rejection(open(&mut opener, &ae_text, "alice")),
            "sealed content is not a JSON object (sent by an AE client?)"
        );
        let no_room = raw(br#"{"nick":"alice","message":"hi"}"#);
        let reason = rejection(open(&mut opener, &no_room, "alice"));
        assert!(
            reason.starts_with("sealed content is not {nick, message, room}: missing field `room`"),
            "{reason}"
        );
        let minimal = raw(br#" {"nick":"alice","message":"hi","room":"lobby"}"#);
        assert_eq!(
            open(&mut opener, &minimal, "alice").map(|o| o.text),
            Ok("hi".into())
        );
    }
    // END SOLUTION ITEMS

    #[test]
    fn the_labs_clock_experiments() {
        let mut behind = settings();
        behind.clock_offset = -45;
        let stale = sent(&mut AeadSealer::new(&behind), "alice", "late");
        let mut opener = AeadOpener::new(&settings());
        let err = open(&mut opener, &stale, "alice").unwrap_err();
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
        let early = sent(&mut AeadSealer::new(&ahead), "alice", "early");
        let err = open(&mut opener, &early, "alice").unwrap_err();
        assert!(
            matches!(err, Rejection::Decrypt(DecryptError::FromTheFuture { .. })),
            "{err}"
        );
    }

    /// The replay guard forgets a token once the TTL check refuses it; a
    /// wall clock stepped back afterwards must not make it acceptable again.
    #[test]
    fn a_wall_clock_stepped_back_does_not_revive_a_forgotten_token() {
        let token = sent(&mut AeadSealer::new(&settings()), "alice", "pay bob");
        let clock = ManualClock::new(crypto::unix_now(0));
        let mut opener = AeadOpener::with_clock(&settings(), Box::new(clock.clone()));
        assert!(open(&mut opener, &token, "alice").is_ok());

        // TTL + skew + 1 s later, the next message makes the guard forget it.
        let window = settings().ttl + crypto::MAX_CLOCK_SKEW_SECS + 1;
        clock.advance(Duration::from_secs(window));
        let mut later = settings();
        later.clock_offset = i64::try_from(window).unwrap();
        let next = sent(&mut AeadSealer::new(&later), "bob", "hello");
        assert!(open(&mut opener, &next, "bob").is_ok());
        assert_eq!(opener.replays.len(), 1, "only the new token is remembered");
        let err = open(&mut opener, &token, "alice").unwrap_err();
        assert!(
            matches!(err, Rejection::Decrypt(DecryptError::Expired { .. })),
            "{err}"
        );

        // The wall clock is set back so that the token looks 10 s old.
        clock.step_wall(10 - i64::try_from(window).unwrap());
        let err = open(&mut opener, &token, "alice").unwrap_err();
        assert!(
            matches!(err, Rejection::Decrypt(DecryptError::Expired { .. })),
            "{err}"
        );
    }

    // BEGIN SOLUTION ITEMS (step 7: a plaintext spelled out)
    /// A token sealed as if the sender's clock read `unix_time`.
    fn dated(unix_time: u64, text: &str) -> Sealed<'static> {
        let salt = crypto::Salt::generate().unwrap();
        let key = settings().message_keys().key(&salt);
        let json = format!(r#"{{"nick":"alice","message":"{text}","room":"lobby"}}"#);
        Sealed {
            salt: salt.to_base64().into(),
            token: crypto::encrypt_at(&key, json.as_bytes(), unix_time).into(),
        }
    }
    // END SOLUTION ITEMS

    // BEGIN SOLUTION ITEMS (step 7: a plaintext spelled out)
    /// The replay guard keeps a token until the TTL check alone refuses
    /// it, to the second: before, it forgot a token TTL + 60 s after its
    /// receipt, up to a second before a token dated 60 s ahead stopped
    /// being acceptable, and that second let the replay through.
    #[test]
    fn a_token_is_remembered_until_the_ttl_check_refuses_it() {
        const T0: u64 = 1_800_000_000;
        let clock = ManualClock::new(T0);
        clock.advance(Duration::from_millis(990));
        let mut opener = AeadOpener::with_clock(&settings(), Box::new(clock.clone()));
        // Dated 60 s ahead: the most the TTL check accepts.
        let token = dated(T0 + 60, "pay bob");
        assert!(open(&mut opener, &token, "alice").is_ok());
        // 90.005 s later the wall reads T0 + 90.995: to the second, the
        // token is 30 s old, which the TTL still accepts.
        clock.advance(Duration::from_millis(90_005));
        assert_eq!(open(&mut opener, &token, "alice"), Err(Rejection::Replay));
        clock.advance(Duration::from_secs(1));
        let err = open(&mut opener, &token, "alice").unwrap_err();
        assert!(
            matches!(err, Rejection::Decrypt(DecryptError::Expired { .. })),
            "{err}"
        );
    }
    // END SOLUTION ITEMS

    #[test]
    fn counters_reveal_drops_and_reordering() {
        let mut sealer = AeadSealer::new(&settings());
        let msgs: Vec<_> = (0..5)
            .map(|i| sent(&mut sealer, "alice", &format!("m{i}")))
            .collect();
        let mut opener = AeadOpener::new(&settings());
        let warnings = |o: Result<Opened, Rejection>| o.unwrap().warnings;
        assert!(warnings(open(&mut opener, &msgs[0], "alice")).is_empty());
        assert_eq!(
            warnings(open(&mut opener, &msgs[3], "alice")),
            vec!["2 message(s) from alice missing"]
        );
        assert_eq!(
            warnings(open(&mut opener, &msgs[1], "alice")),
            vec!["message from alice arrived out of order"]
        );
        assert!(warnings(open(&mut opener, &msgs[4], "alice")).is_empty());
    }

    #[test]
    fn a_refused_message_spends_no_counter() {
        let mut sealer = AeadSealer::new(&settings());
        let first = sent(&mut sealer, "alice", "one");
        sealer.encrypt_message(&nick("alice"), "refused").unwrap();
        sealer.verdict(Verdict::Refused);
        let next = sent(&mut sealer, "alice", "two");
        let mut opener = AeadOpener::new(&settings());
        assert!(
            open(&mut opener, &first, "alice")
                .unwrap()
                .warnings
                .is_empty()
        );
        assert!(
            open(&mut opener, &next, "alice")
                .unwrap()
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn a_late_message_from_a_replaced_session_is_flagged() {
        let (mut old, mut new) = (AeadSealer::new(&settings()), AeadSealer::new(&settings()));
        let old0 = sent(&mut old, "alice", "old 0");
        let old1 = sent(&mut old, "alice", "old 1");
        let new0 = sent(&mut new, "alice", "new 0");
        let new1 = sent(&mut new, "alice", "new 1");
        let mut opener = AeadOpener::new(&settings());
        let warnings = |o: Result<Opened, Rejection>| o.unwrap().warnings;
        assert!(warnings(open(&mut opener, &old0, "alice")).is_empty());
        assert!(warnings(open(&mut opener, &new0, "alice")).is_empty());
        let late = warnings(open(&mut opener, &old1, "alice"));
        assert_eq!(late.len(), 1);
        assert!(
            late[0].starts_with("message from a superseded session of alice"),
            "{late:?}"
        );
        assert!(warnings(open(&mut opener, &new1, "alice")).is_empty());
    }

    // BEGIN SOLUTION ITEMS (step 7: a plaintext spelled out)
    /// A session is what a sealer draws, 12 ASCII letters or digits: a
    /// longer one (4 KiB was tried) would cost every receiver its size.
    #[test]
    fn a_session_must_be_twelve_ascii_letters_or_digits() {
        let mut opener = AeadOpener::new(&settings());
        let long = "a".repeat(4096);
        for (i, session) in ["py-session", "short", &long].into_iter().enumerate() {
            let json = serde_json::json!({
                "nick": "alice", "message": format!("m{i}"), "room": "lobby",
                "seq": i, "session": session,
            });
            assert_eq!(
                open(&mut opener, &raw(json.to_string().as_bytes()), "alice"),
                Err(Rejection::BadSession),
                "{session:.20}"
            );
        }
        let good =
            br#"{"nick":"alice","message":"hi","room":"lobby","seq":0,"session":"uWoZH4GJoUWt"}"#;
        assert!(open(&mut opener, &raw(good), "alice").is_ok());
        assert_eq!(
            rejection(Err(Rejection::BadSession)),
            "sealed session is not 12 ASCII letters or digits"
        );
    }
    // END SOLUTION ITEMS

    // BEGIN SOLUTION ITEMS (step 7: a plaintext spelled out)
    #[test]
    fn plaintext_without_counters_is_accepted() {
        let json = br#"{"nick":"alice","message":"from python","room":"lobby"}"#;
        let mut opener = AeadOpener::new(&settings());
        let opened = open(&mut opener, &raw(json), "alice").unwrap();
        assert_eq!(
            (opened.text.as_str(), opened.warnings.len()),
            ("from python", 0)
        );
    }
    // END SOLUTION ITEMS
}
