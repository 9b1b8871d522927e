//! The signed layer's client side: the answer to the insider who knows the
//! password.
//!
//! AEAD binds a message to its nick with a key every member shares, so any
//! member can seal any nick, and poison another's counters. Here each
//! member also has an Ed25519 key pair of its own ([`Identity`]), and signs
//! what it says: the plaintext is AEAD's, plus the public key and the
//! signature, both in standard base64.
// BEGIN SOLUTION ITEMS (step 7: the sealed plaintext, spelled out)
//!
//! ```text
//! {"nick": N, "message": TEXT, "room": R, "seq": S, "session": ID,
//!  "key": PUBLIC_KEY, "signature": SIGNATURE}
//! ```
// END SOLUTION ITEMS
//!
//! The signature covers the nick, room, session, counter, date (the
//! token's own timestamp) and text, encoded by [`SignedFields::encode`] so
//! that no two messages encode alike. A receiver runs every check of AEAD
//! in its order ([`AeadOpener`]), with [`Signatures`] as the check of the
//! sender: the key must be the one pinned for the nick, or none is pinned
//! yet and this one is pinned now (trust on first use, [`KnownMembers`]);
//! the signature must verify, by the one rule of [`MemberKey::verifies`];
//! the counters are then kept per verified key, and the replay guard
//! remembers the message by its key and signed bytes, which sealing the
//! same plaintext again in a new token cannot change.

pub(crate) mod identity;
pub(crate) mod known_members;
pub(crate) mod member_key;
pub(crate) mod pin_file;
pub(crate) mod private_file;

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, Signature};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::layer::aead_client::{AeadOpener, AeadSealer, Draft, SenderCheck, Vouched};
use crate::layer::clock::SystemClock;
use crate::layer::facts::{Facts, Make};
use crate::layer::keys::crypto::MAC_LEN;
use crate::layer::plaintext::SealedPlaintext;
use crate::layer::settings::AeSettings;
use crate::layer::signed_client::identity::Identity;
use crate::layer::signed_client::known_members::{KnownMembers, Pin, Pinning};
use crate::layer::signed_client::member_key::{Fingerprint, MemberKey};
use crate::layer::{Rejection, Seal, SealError, Verdict};
use crate::wire::{MessageBody, Nick, Sealed, ZmqBody};

/// The signed layer, as the library knows it. A sealer made from its facts
/// alone signs with a key pair made for it and kept nowhere, an opener pins
/// keys in memory (the demo's and the benchmark's members); the client
/// binary signs with its identity file and pins in its known-members file
/// ([`SignedSealer::new`], [`opener`]).
pub(crate) const FACTS: Facts = Facts {
    title: "signed",
    zmq_body: ZmqBody::Msgpack,
    counters: true,
    make: Make::Keyed {
        sealer: |settings| Ok(Box::new(SignedSealer::new(settings, Identity::generate()?))),
        opener: |settings| Box::new(opener(settings, KnownMembers::in_memory())),
    },
};

/// What every signed message starts with, before its fields: a signature
/// made for this layer means nothing anywhere else, and the reverse.
pub const SIGNATURE_CONTEXT: &[u8] = b"tp-unsecured-chat/signed-v1";

/// What a signature covers, in the order [`encode`](Self::encode) writes
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedFields<'a> {
    pub nick: &'a str,
    pub room: &'a str,
    pub session: &'a str,
    pub seq: u64,
    /// The token's timestamp: re-sealing the plaintext under another date
    /// breaks the signature.
    pub sent_at: u64,
    pub text: &'a str,
}

impl<'a> SignedFields<'a> {
    /// The fields a sealer's next message carries.
    pub fn of_draft(draft: &Draft<'a>, nick: &'a str, text: &'a str) -> Self {
        Self {
            nick,
            room: draft.room,
            session: draft.session,
            seq: draft.seq,
            sent_at: draft.sent_at,
            text,
        }
    }

    /// The fields of a received plaintext in a token dated `sent_at`, if it
    /// carries the counters this layer requires.
    pub fn of_plaintext(plaintext: &'a SealedPlaintext<'_>, sent_at: u64) -> Option<Self> {
        Some(Self {
            nick: &plaintext.nick,
            room: &plaintext.room,
            session: plaintext.session.as_deref()?,
            seq: plaintext.seq?,
            sent_at,
            text: &plaintext.message,
        })
    }

    /// The bytes signed: [`SIGNATURE_CONTEXT`], the nick, room and session,
    /// each as its length (8 bytes, big-endian) then its UTF-8 bytes, the
    /// counter and the date as 8 bytes big-endian each, then the text as
    /// its length and bytes. Every field is of fixed size or says its size,
    /// so one byte string reads one way only.
    pub fn encode(&self) -> Vec<u8> {
        let variable = [self.nick, self.room, self.session, self.text];
        let size =
            8 * 7 + SIGNATURE_CONTEXT.len() + variable.iter().map(|f| f.len()).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        push_field(&mut out, SIGNATURE_CONTEXT);
        for field in [self.nick, self.room, self.session] {
            push_field(&mut out, field.as_bytes());
        }
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.sent_at.to_be_bytes());
        push_field(&mut out, self.text.as_bytes());
        out
    }
}

fn push_field(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The signed layer's plaintext: AEAD's, then the key and the signature.
#[derive(Debug, Serialize)]
pub struct SignedPlaintext<'a> {
    #[serde(flatten)]
    pub sealed: SealedPlaintext<'a>,
    /// The signer's public key, standard base64.
    pub key: String,
    /// The signature of the [`SignedFields`], standard base64.
    pub signature: String,
}

impl SignedPlaintext<'static> {
    /// `fields`, signed by `identity`.
    pub fn sign(fields: &SignedFields<'_>, identity: &Identity) -> Self {
        let signature = identity.sign(&fields.encode());
        let owned = |field: &str| Cow::Owned(field.to_owned());
        Self {
            sealed: SealedPlaintext {
                nick: owned(fields.nick),
                message: owned(fields.text),
                room: owned(fields.room),
                seq: Some(fields.seq),
                session: Some(owned(fields.session)),
            },
            key: identity.public().to_base64(),
            signature: STANDARD.encode(signature.to_bytes()),
        }
    }
}

/// A signed plaintext (`raw`, in a token dated `sent_at`) with its key and
/// signature replaced by `identity`'s over the same fields: what anyone who
/// can open the message can make of it (a server that knows the password,
/// substituting its own key). Receivers that have not pinned the sender yet
/// cannot tell; those that have see the key change.
pub fn signed_again(raw: &[u8], sent_at: u64, identity: &Identity) -> Result<Vec<u8>, Rejection> {
    let plaintext = SealedPlaintext::parse(raw)?;
    // Only what was signed is signed again.
    Claim::read(&plaintext, raw, sent_at)?;
    let fields = SignedFields::of_plaintext(&plaintext, sent_at)
        .ok_or_else(|| Rejection::Unsigned("no seq or session".into()))?;
    serde_json::to_vec(&SignedPlaintext::sign(&fields, identity))
        .map_err(|e| Rejection::BadPlaintext(e.to_string()))
}

/// The sending half: AEAD's sealer, with the plaintext signed.
pub struct SignedSealer {
    aead: AeadSealer,
    identity: Identity,
}

impl SignedSealer {
    pub fn new(settings: &AeSettings, identity: Identity) -> Self {
        Self {
            aead: AeadSealer::new(settings),
            identity,
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.identity.fingerprint()
    }

    /// AEAD's `encrypt_message`, the plaintext signed first.
    pub fn encrypt_message(
        &mut self,
        nick: &Nick,
        text: &str,
    ) -> Result<Sealed<'static>, SealError> {
        let identity = &self.identity;
        self.aead.encrypt_plaintext(|draft| {
            SignedPlaintext::sign(
                &SignedFields::of_draft(draft, nick.as_str(), text),
                identity,
            )
        })
    }
}

impl Seal for SignedSealer {
    fn seal(&mut self, nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        self.encrypt_message(nick, text).map(MessageBody::Sealed)
    }

    fn verdict(&mut self, verdict: Verdict) {
        self.aead.verdict(verdict);
    }
}

/// The receiving half: AEAD's opener, checking signatures and pins.
pub type SignedOpener = AeadOpener<Signatures>;

/// A signed opener whose pins are `known`.
pub fn opener(settings: &AeSettings, known: KnownMembers) -> SignedOpener {
    AeadOpener::with_check(
        settings,
        Box::new(SystemClock::new()),
        Signatures::new(known, settings.room.as_str()),
    )
}

/// What the terminal's `/whois`, `/verify` and `/fingerprint` read.
#[derive(Clone)]
pub struct Keyring {
    /// This member's own fingerprint.
    pub own: Fingerprint,
    pub known: KnownMembers,
}

/// The signed layer's [`SenderCheck`]: the key pinned for the nick or one
/// it looks like (or pinned now, on first contact), and its signature.
pub struct Signatures {
    known: KnownMembers,
    /// The room this receiver is in: where the keys it pins were first seen.
    room: String,
}

impl Signatures {
    pub fn new(known: KnownMembers, room: &str) -> Self {
        Self {
            known,
            room: room.to_owned(),
        }
    }

    /// The key this message must verify under, and whether it is new here;
    /// or why there is none.
    fn key_for(&self, nick: &str, claim: &Claim) -> Result<(MemberKey, bool), Rejection> {
        match self.known.pin_of(nick) {
            Some(pin) if *pin.key.as_bytes() == claim.key => Ok((pin.key, false)),
            Some(pin) => Err(key_changed(&pin, nick, &claim.key)),
            None => Ok((MemberKey::from_bytes(&claim.key)?, true)),
        }
    }

    /// Pins `key` for `nick`, first seen now; what to tell the user.
    fn pin(&self, nick: &str, key: MemberKey) -> Result<Option<String>, Rejection> {
        let fingerprint = key.fingerprint();
        let room = &self.room;
        let pinned = format!(
            "new key for {nick} pinned: {fingerprint}, first seen in room '{room}' (trust on first use: compare it with what {nick}'s /fingerprint shows, then /verify {nick} FINGERPRINT)"
        );
        match self.known.pin(nick, key, room) {
            Pinning::Pinned | Pinning::Adopted => Ok(Some(pinned)),
            Pinning::Unsaved(why) => Ok(Some(format!("{pinned}; for this session only: {why}"))),
            Pinning::Taken(first) => Err(key_changed(&first, nick, key.as_bytes())),
            Pinning::Full => Err(Rejection::TooManyPins),
        }
    }

    /// What to warn of, the message accepted: a key pinned for another
    /// nick, and what the pin file changed.
    fn warnings(&self, nick: &str, key: &MemberKey) -> Vec<String> {
        let other = self.known.other_nick(key, nick);
        let mut warnings: Vec<String> = other
            .map(|first| format!("{nick}: this key is pinned for {first}"))
            .into_iter()
            .collect();
        warnings.extend(self.known.take_reports());
        warnings
    }
}

/// `nick`'s message under `got`, where `pin` holds another key.
fn key_changed(pin: &Pin, nick: &str, got: &[u8]) -> Rejection {
    Rejection::KeyChanged {
        pinned: pin.key.fingerprint(),
        got: Fingerprint::of(got),
        pinned_for: (pin.nick != nick).then(|| pin.nick.clone()),
    }
}

impl SenderCheck for Signatures {
    fn sender<'p>(
        &mut self,
        plaintext: &'p SealedPlaintext<'_>,
        raw: &[u8],
        sent_at: u64,
    ) -> Result<Vouched<'p>, Rejection> {
        let claim = Claim::read(plaintext, raw, sent_at)?;
        let nick = &plaintext.nick;
        let (key, first_contact) = self.key_for(nick, &claim)?;
        if !key.verifies(&claim.signed, &claim.signature) {
            return Err(Rejection::BadSignature);
        }
        let note = if first_contact {
            self.pin(nick, key)?
        } else {
            None
        };
        Ok(Vouched {
            sender: Cow::Owned(key.to_base64()),
            message_id: Some(claim.message_id()),
            notes: note.into_iter().collect(),
            warnings: self.warnings(nick, &key),
        })
    }
}

/// The signature fields of a plaintext, as read.
#[derive(Deserialize)]
struct SignatureFields<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    signature: Cow<'a, str>,
}

/// What a message says about its signature, not yet verified.
struct Claim {
    key: [u8; PUBLIC_KEY_LENGTH],
    signature: Signature,
    /// The bytes the signature must be of.
    signed: Vec<u8>,
}

impl Claim {
    fn read(plaintext: &SealedPlaintext<'_>, raw: &[u8], sent_at: u64) -> Result<Self, Rejection> {
        let fields: SignatureFields<'_> =
            serde_json::from_slice(raw).map_err(|e| Rejection::Unsigned(e.to_string()))?;
        let signed = SignedFields::of_plaintext(plaintext, sent_at)
            .ok_or_else(|| Rejection::Unsigned("no seq or session".into()))?;
        Ok(Self {
            key: MemberKey::bytes_from_base64(&fields.key).map_err(Rejection::BadKey)?,
            signature: signature_from_base64(&fields.signature)?,
            signed: signed.encode(),
        })
    }

    /// What the replay guard remembers the message by: the hash of its key
    /// and signed bytes. Not the signature: a copy whose signature were
    /// encoded another way would still be the same message.
    fn message_id(&self) -> [u8; MAC_LEN] {
        let mut hash = Sha256::new();
        hash.update(self.key);
        hash.update(&self.signed);
        hash.finalize().into()
    }
}

fn signature_from_base64(encoded: &str) -> Result<Signature, Rejection> {
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| Rejection::Unsigned("signature is not base64".into()))?;
    let bytes = <[u8; SIGNATURE_LENGTH]>::try_from(bytes.as_slice()).map_err(|_| {
        Rejection::Unsigned(format!(
            "signature has {} bytes, an Ed25519 signature has {SIGNATURE_LENGTH}",
            bytes.len()
        ))
    })?;
    Ok(Signature::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::ae_client::AeSealer;
    use crate::layer::keys::secret::Password;
    use crate::layer::{Open, Opened};

    fn settings() -> AeSettings {
        AeSettings::new(Password::new("s3cret"))
    }

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }

    fn member() -> SignedSealer {
        SignedSealer::new(&settings(), Identity::generate().unwrap())
    }

    /// Seals `text` as `nick` and reports it accepted by the server.
    fn sent(sealer: &mut SignedSealer, nick_: &str, text: &str) -> Sealed<'static> {
        let sealed = sealer.encrypt_message(&nick(nick_), text).unwrap();
        sealer.verdict(Verdict::Accepted);
        sealed
    }

    fn receiver() -> (SignedOpener, KnownMembers) {
        let known = KnownMembers::in_memory();
        (opener(&settings(), known.clone()), known)
    }

    fn open(
        opener: &mut SignedOpener,
        sealed: &Sealed<'_>,
        nick: &str,
    ) -> Result<Opened, Rejection> {
        opener.decrypt_message(&sealed.token, &sealed.salt, nick)
    }

    #[test]
    fn the_encoding_reads_one_way_only() {
        let fields = SignedFields {
            nick: "ab",
            room: "c",
            session: "s",
            seq: 1,
            sent_at: 2,
            text: "hi",
        };
        let moved = SignedFields {
            nick: "a",
            room: "bc",
            ..fields
        };
        assert_ne!(fields.encode(), moved.encode());
        let bytes = fields.encode();
        assert!(bytes.starts_with(&[0, 0, 0, 0, 0, 0, 0, 27]));
        assert_eq!(&bytes[8..35], SIGNATURE_CONTEXT);
        assert_eq!(&bytes[35..45], b"\0\0\0\0\0\0\0\x02ab");
        assert!(bytes.ends_with(b"\0\0\0\0\0\0\0\x02hi"));
    }

    #[test]
    fn a_first_key_is_pinned_with_a_note_and_a_changed_one_refused() {
        let (mut alice, mut mallory) = (member(), member());
        let (mut bob, known) = receiver();
        let opened = open(&mut bob, &sent(&mut alice, "alice", "hi"), "alice").unwrap();
        assert_eq!(opened.text, "hi");
        assert_eq!(opened.notes.len(), 1, "{opened:?}");
        assert!(opened.notes[0].contains(&alice.fingerprint().to_string()));
        assert_eq!(known.fingerprint_of("alice"), Some(alice.fingerprint()));
        let again = open(&mut bob, &sent(&mut alice, "alice", "again"), "alice").unwrap();
        assert!(
            again.notes.is_empty() && again.warnings.is_empty(),
            "{again:?}"
        );
        let forged = sent(&mut mallory, "alice", "I resign");
        assert_eq!(
            open(&mut bob, &forged, "alice"),
            Err(Rejection::KeyChanged {
                pinned: alice.fingerprint(),
                got: mallory.fingerprint(),
                pinned_for: None,
            })
        );
        assert_eq!(
            open(&mut bob, &forged, "alice").unwrap_err().to_string(),
            format!(
                "key changed: pinned {}, got {}",
                alice.fingerprint(),
                mallory.fingerprint()
            )
        );
    }

    /// An insider with the password seals a plaintext of its own making:
    /// whatever the fields, only the key's owner can sign them.
    #[test]
    fn a_signature_not_over_the_fields_is_refused() {
        let mut alice = member();
        let genuine = sent(&mut alice, "alice", "pay bob 10");
        let (mut bob, _) = receiver();
        let ae = |plaintext: &[u8]| {
            AeSealer::new(&settings())
                .encrypt_message(plaintext)
                .unwrap()
        };
        let keys = settings().message_keys();
        let salt = crate::layer::keys::crypto::Salt::from_base64(&genuine.salt).unwrap();
        let (_, raw) =
            crate::layer::keys::crypto::open_token(&keys.key(&salt), &genuine.token).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        let mut altered = json.clone();
        altered["message"] = "pay mallory 1000".into();
        let altered = ae(altered.to_string().as_bytes());
        assert_eq!(
            open(&mut bob, &altered, "alice"),
            Err(Rejection::BadSignature)
        );
        let mut unsigned = json;
        unsigned.as_object_mut().unwrap().remove("signature");
        let reason = open(&mut bob, &ae(unsigned.to_string().as_bytes()), "alice")
            .unwrap_err()
            .to_string();
        assert!(reason.contains("missing field `signature`"), "{reason}");
    }

    /// Whoever has the password can seal a captured plaintext again, in a
    /// token of its own: a new MAC, the same signature.
    #[test]
    fn a_signed_plaintext_sealed_again_is_a_replay() {
        let mut alice = member();
        let genuine = sent(&mut alice, "alice", "transfer 100");
        let keys = settings().message_keys();
        let salt = crate::layer::keys::crypto::Salt::from_base64(&genuine.salt).unwrap();
        let key = keys.key(&salt);
        let (info, raw) = crate::layer::keys::crypto::open_token(&key, &genuine.token).unwrap();
        let resealed = Sealed {
            salt: genuine.salt.clone(),
            token: crate::layer::keys::crypto::encrypt_at(&key, &raw, info.timestamp).into(),
        };
        assert_ne!(resealed.token, genuine.token);
        let (mut bob, _) = receiver();
        assert!(open(&mut bob, &genuine, "alice").is_ok());
        assert_eq!(open(&mut bob, &resealed, "alice"), Err(Rejection::Replay));
    }

    /// A burst opened together gives what opening one by one gives,
    /// forgeries included.
    #[test]
    fn a_burst_is_judged_as_one_by_one() {
        let (mut alice, mut mallory) = (member(), member());
        let frames = [
            ("alice", sent(&mut alice, "alice", "one")),
            ("alice", sent(&mut alice, "alice", "two")),
            ("alice", sent(&mut mallory, "alice", "forged")),
            ("mallory", sent(&mut mallory, "mallory", "hello")),
            ("alice", sent(&mut alice, "alice", "three")),
        ];
        let bodies: Vec<(&str, MessageBody<'_>)> = frames
            .iter()
            .map(|(n, s)| (*n, MessageBody::Sealed(s.clone())))
            .collect();
        let burst: Vec<(&str, &MessageBody<'_>)> = bodies.iter().map(|(n, b)| (*n, b)).collect();
        let (mut batched, _) = receiver();
        let (mut single, _) = receiver();
        let together = batched.open_all(&burst);
        let alone: Vec<_> = burst.iter().map(|&(n, b)| single.open(n, b)).collect();
        assert_eq!(together, alone);
        let texts: Vec<_> = together
            .iter()
            .map(|r| r.as_ref().map(|o| o.text.as_str()).ok())
            .collect();
        assert_eq!(
            texts,
            [Some("one"), Some("two"), None, Some("hello"), Some("three")]
        );
    }

    /// One pin per confusable skeleton: `аlice` (Cyrillic а) under another
    /// key is refused as alice's changed key, naming alice; under alice's
    /// own key it is alice, flagged for the other spelling.
    #[test]
    fn a_lookalike_of_a_pinned_nick_meets_its_pin() {
        let (mut alice, mut mallory) = (member(), member());
        let (mut bob, _) = receiver();
        open(&mut bob, &sent(&mut alice, "alice", "hi"), "alice").unwrap();
        let lookalike = "\u{430}lice";
        let forged = sent(&mut mallory, lookalike, "it is me, alice");
        let refused = open(&mut bob, &forged, lookalike).unwrap_err();
        assert_eq!(
            refused,
            Rejection::KeyChanged {
                pinned: alice.fingerprint(),
                got: mallory.fingerprint(),
                pinned_for: Some("alice".into()),
            }
        );
        assert_eq!(
            refused.to_string(),
            format!(
                "key changed: pinned {} for 'alice', whom this nick looks like, got {}",
                alice.fingerprint(),
                mallory.fingerprint()
            )
        );
        let own = open(&mut bob, &sent(&mut alice, lookalike, "typo"), lookalike).unwrap();
        assert_eq!(
            own.warnings,
            [format!("{lookalike}: this key is pinned for alice")]
        );
    }

    /// A key pinned for mallory speaking as notmallory: never a silent
    /// stranger.
    #[test]
    fn a_key_pinned_for_another_nick_is_flagged_under_a_new_one() {
        let mut mallory = member();
        let (mut bob, known) = receiver();
        let first = open(&mut bob, &sent(&mut mallory, "mallory", "hi"), "mallory").unwrap();
        assert!(first.warnings.is_empty(), "{first:?}");
        for text in ["hello", "again"] {
            let opened = open(
                &mut bob,
                &sent(&mut mallory, "notmallory", text),
                "notmallory",
            )
            .unwrap();
            assert_eq!(
                opened.warnings,
                ["notmallory: this key is pinned for mallory"]
            );
        }
        assert_eq!(
            known.pinned("notmallory"),
            Some(known.pinned("mallory").unwrap())
        );
    }

    /// A plaintext from an AEAD client carries no signature: refused.
    #[test]
    fn an_aead_message_is_refused_as_unsigned() {
        let mut aead = AeadSealer::new(&settings());
        let sealed = aead.encrypt_message(&nick("alice"), "hi").unwrap();
        let (mut bob, known) = receiver();
        let reason = open(&mut bob, &sealed, "alice").unwrap_err().to_string();
        assert!(
            reason.starts_with("not signed as the signed layer signs"),
            "{reason}"
        );
        assert!(known.is_empty());
    }
}
