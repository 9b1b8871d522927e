//! The keys a member of the signed layer has pinned: trust on first use, as
//! SSH's `known_hosts`, one pin per nick *as people read it*.
//!
//! - **One pin per confusable skeleton** (UTS #39, [`Nick::skeleton`], as
//!   the server compares joined nicks): `аlice` with a Cyrillic `а` meets
//!   `alice`'s pin, so a lookalike under another key is refused as
//!   `alice`'s changed key would be, naming `alice`.
//! - **Global to the file**, never per room or per server: a new room, or a
//!   rogue server elsewhere, meets the same pins. A pin records the room it
//!   was first seen in, and stays *unverified* until the user compares its
//!   fingerprint out of band and says so ([`verify`](KnownMembers::verify)).
//! - **A key knows its first nick**: a key pinned for `mallory` that speaks
//!   as `notmallory` is pinned for it too, and flagged every time
//!   ([`other_nick`](KnownMembers::other_nick)).
//! - **Several clients, one file** (several terminals of one account): the
//!   file ([`PinFile`]) is read again under its lock before any new pin, so
//!   a pin another client made for the same key is adopted, never reported
//!   as a key change; a pin changed or removed in the file (by hand) is
//!   reported once and not adopted: this client keeps what it trusted until
//!   it restarts. A pin once in the file is never changed or dropped by a
//!   client.
//!
//! Clones share the same book: the receiving half of the layer and the
//! terminal's `/whois` and `/verify`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ed25519_dalek::PUBLIC_KEY_LENGTH;

use crate::layer::signed_client::member_key::{Fingerprint, MemberKey};
use crate::layer::signed_client::pin_file::{Found, PinFile, Record};

pub use crate::layer::signed_client::pin_file::{KnownError, Place, skeleton_of};
use crate::layer::signed_client::private_file;

/// Most nicks pinned: past this, a message from a nick never seen is
/// refused rather than let the file grow without bound.
pub const MAX_PINS: usize = 4096;

/// The pins, shared by the receiving half of the layer and the terminal's
/// commands; clones share the same book.
#[derive(Clone)]
pub struct KnownMembers {
    book: Arc<Mutex<Book>>,
}

/// A nick's pin, as `/whois` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The nick as first seen (a lookalike of it meets this pin).
    pub nick: String,
    pub key: MemberKey,
    /// The room it was first seen in (`None`: pinned before rooms were
    /// recorded).
    pub room: Option<String>,
    /// Whether the user confirmed its fingerprint (`/verify`).
    pub verified: bool,
    /// Whether the file holds it (else: for this session only).
    pub saved: bool,
}

struct Book {
    /// By skeleton.
    pins: HashMap<String, Pin>,
    /// Each pinned key, and the skeleton it was first pinned for.
    first_nick: HashMap<[u8; PUBLIC_KEY_LENGTH], String>,
    file: Option<PinFile>,
    /// Skeletons whose pin the file changed or dropped, already reported.
    reported: HashSet<String>,
    /// Reports not yet given.
    reports: Vec<String>,
}

/// What became of a key offered for a nick on first contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pinning {
    /// It is the nick's key from now on, kept in the file if there is one.
    Pinned,
    /// Another client sharing the file pinned this very key first: taken
    /// from the file.
    Adopted,
    /// The same as pinned, but the file could not take it: it holds for
    /// this session.
    Unsaved(String),
    /// Another key is pinned for this nick, or one it looks like.
    Taken(Box<Pin>),
    /// [`MAX_PINS`] nicks are pinned already.
    Full,
}

/// What `/verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verifying {
    /// The fingerprint is the pinned key's: verified from now on (`Some`:
    /// for this session only, the file could not take it, and why).
    Verified(Pin, Option<String>),
    /// No key is pinned for the nick.
    NoPin,
    /// Another key is pinned: its pin.
    Mismatch(Pin),
}

impl KnownMembers {
    /// Pins held in memory only, for this session (the demo, the benchmark).
    pub fn in_memory() -> Self {
        Self::with(Book::new(None))
    }

    /// The pins kept in `path`: read if it exists, created otherwise. It
    /// must be writable, so that no pin made from now on is lost, and
    /// neither it nor its folder may be open to anyone else's changes.
    pub fn open(path: &Path) -> Result<Self, KnownError> {
        let unwritable = |source| KnownError::Unwritable {
            path: path.to_owned(),
            source,
        };
        private_file::ensure_folder(path).map_err(unwritable)?;
        check_exposure(Place::Folder, private_file::folder(path))?;
        let (file, records) = PinFile::open(path)?;
        check_exposure(Place::File, path)?;
        private_file::check_writable(path).map_err(unwritable)?;
        let mut book = Book::new(Some(file));
        book.take_in(Found::Appended(records));
        Ok(Self::with(book))
    }

    fn with(book: Book) -> Self {
        Self {
            book: Arc::new(Mutex::new(book)),
        }
    }

    /// The pin `nick` meets: its own, or a lookalike's.
    pub fn pin_of(&self, nick: &str) -> Option<Pin> {
        self.lock().pins.get(&skeleton_of(nick)).cloned()
    }

    /// The key `nick` must sign with, if one is pinned for it (or for a
    /// nick it looks like).
    pub fn pinned(&self, nick: &str) -> Option<MemberKey> {
        self.pin_of(nick).map(|pin| pin.key)
    }

    pub fn fingerprint_of(&self, nick: &str) -> Option<Fingerprint> {
        self.pinned(nick).map(|key| key.fingerprint())
    }

    /// The nick `key` was first pinned for, if it is not `nick` (nor one
    /// `nick` is read as): a member speaking under a second nick.
    pub fn other_nick(&self, key: &MemberKey, nick: &str) -> Option<String> {
        let book = self.lock();
        let skeleton = book.first_nick.get(key.as_bytes())?;
        let first = book.pins.get(skeleton)?;
        (first.nick != nick).then(|| first.nick.clone())
    }

    /// Nicks pinned.
    pub fn len(&self) -> usize {
        self.lock().pins.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file the pins are kept in, if any.
    pub fn file(&self) -> Option<PathBuf> {
        let book = self.lock();
        book.file.as_ref().map(|file| file.path().to_owned())
    }

    /// What this client noticed in the file since last asked (a pin
    /// changed or removed by hand), a line each.
    pub fn take_reports(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().reports)
    }

    /// Pins `key` for `nick`, first seen in `room`: `nick` met no pin
    /// here, but the file may hold one another client made since.
    pub fn pin(&self, nick: &str, key: MemberKey, room: &str) -> Pinning {
        let mut book = self.lock();
        let skeleton = skeleton_of(nick);
        let pin = Pin {
            nick: nick.to_owned(),
            key,
            room: Some(room.to_owned()),
            verified: false,
            saved: false,
        };
        if book.file.is_none() {
            return book.add(skeleton, pin);
        }
        match book.pin_in_file(&skeleton, &pin) {
            Ok(Some(decided)) => decided,
            Ok(None) => book.add(skeleton, Pin { saved: true, ..pin }),
            Err(e) => match book.add(skeleton, pin) {
                Pinning::Pinned => Pinning::Unsaved(error_chain(&e)),
                other => other,
            },
        }
    }

    /// Pins `key` for `nick` in memory only, whatever the file holds: a
    /// member's own key under a nick it will not keep (an ephemeral
    /// identity), so that no run leaves a stranger in the file.
    pub fn pin_for_session(&self, nick: &str, key: MemberKey) {
        let pin = Pin {
            nick: nick.to_owned(),
            key,
            room: None,
            verified: true,
            saved: false,
        };
        let mut book = self.lock();
        book.first_nick
            .entry(*key.as_bytes())
            .or_insert_with(|| skeleton_of(nick));
        book.pins.insert(skeleton_of(nick), pin);
    }

    /// `/verify NICK FINGERPRINT`: marks the pin `nick` meets as verified
    /// if `fingerprint` is its key's (as printed, in any case, dashes
    /// optional).
    pub fn verify(&self, nick: &str, fingerprint: &str) -> Verifying {
        let mut book = self.lock();
        let skeleton = skeleton_of(nick);
        let Some(pin) = book.pins.get(&skeleton).cloned() else {
            return Verifying::NoPin;
        };
        if !same_fingerprint(&pin.key.fingerprint(), fingerprint) {
            return Verifying::Mismatch(pin);
        }
        let unsaved = book.save_verification(&pin).err().map(|e| error_chain(&e));
        if let Some(kept) = book.pins.get_mut(&skeleton) {
            kept.verified = true;
        }
        let verified = book.pins.get(&skeleton).cloned().unwrap_or(pin);
        Verifying::Verified(verified, unsaved)
    }

    /// Reads what the file gained since last looked (pins other clients
    /// made), as `/whois` does before it answers.
    pub fn refresh(&self) {
        let mut book = self.lock();
        if book.file.is_some() {
            let _ = book.under_lock(|_| Ok(()));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Book {
    fn new(file: Option<PinFile>) -> Self {
        Self {
            pins: HashMap::new(),
            first_nick: HashMap::new(),
            file,
            reported: HashSet::new(),
            reports: Vec::new(),
        }
    }

    /// Pins in memory: `pin`, unless its nick is pinned or the book full.
    fn add(&mut self, skeleton: String, pin: Pin) -> Pinning {
        if let Some(first) = self.pins.get(&skeleton) {
            return Pinning::Taken(Box::new(first.clone()));
        }
        if self.pins.len() >= MAX_PINS {
            return Pinning::Full;
        }
        self.first_nick
            .entry(*pin.key.as_bytes())
            .or_insert_with(|| skeleton.clone());
        self.pins.insert(skeleton, pin);
        Pinning::Pinned
    }

    /// Under the file's lock: what other clients pinned since, then this
    /// pin appended (`None`), unless the file decides otherwise: it holds a
    /// pin for the nick already, or the book is full.
    fn pin_in_file(&mut self, skeleton: &str, pin: &Pin) -> Result<Option<Pinning>, KnownError> {
        self.under_lock(|book| {
            if let Some(first) = book.pins.get(skeleton) {
                return Ok(Some(if first.key == pin.key {
                    Pinning::Adopted
                } else {
                    Pinning::Taken(Box::new(first.clone()))
                }));
            }
            if book.pins.len() >= MAX_PINS {
                return Ok(Some(Pinning::Full));
            }
            let record = Record::Pin {
                nick: pin.nick.clone(),
                key: pin.key,
                room: pin.room.clone(),
                verified: false,
            };
            book.append(&record).map(|()| None)
        })
    }

    /// Appends that the user verified `pin`, under the file's lock.
    fn save_verification(&mut self, pin: &Pin) -> Result<(), KnownError> {
        if self.file.is_none() || !pin.saved {
            return Ok(());
        }
        let record = Record::Verify {
            nick: pin.nick.clone(),
            key: pin.key,
        };
        self.under_lock(|book| book.append(&record))
    }

    /// Runs `then` under the file's lock, once what the file gained or
    /// lost since last looked is taken in; compacts the file after, if it
    /// is worth it.
    fn under_lock<T>(
        &mut self,
        then: impl FnOnce(&mut Self) -> Result<T, KnownError>,
    ) -> Result<T, KnownError> {
        let Some(file) = self.file.as_mut() else {
            return then(self);
        };
        let _lock = file.lock()?;
        let found = file.look()?;
        self.take_in(found);
        let done = then(self)?;
        if let Some(file) = self.file.as_mut().filter(|file| file.wasteful()) {
            file.compact()?;
        }
        Ok(done)
    }

    fn append(&mut self, record: &Record) -> Result<(), KnownError> {
        match self.file.as_mut() {
            Some(file) => file.append(record),
            None => Ok(()),
        }
    }

    /// Adopts the pins the file gained, notes the verifications, and
    /// reports once each pin it changed or lost.
    fn take_in(&mut self, found: Found) {
        let (records, whole) = match found {
            Found::Appended(records) => (records, false),
            Found::Rewritten(records) => (records, true),
        };
        let mut in_file = HashSet::new();
        for record in records {
            let skeleton = skeleton_of(record.nick());
            self.take_record(&skeleton, record);
            in_file.insert(skeleton);
        }
        if whole {
            self.report_removed(&in_file);
        }
    }

    fn take_record(&mut self, skeleton: &str, record: Record) {
        let Some(pin) = self.pins.get_mut(skeleton) else {
            if let Record::Pin {
                nick,
                key,
                room,
                verified,
            } = record
            {
                let pin = Pin {
                    nick,
                    key,
                    room,
                    verified,
                    saved: true,
                };
                self.add(skeleton.to_owned(), pin);
            }
            return;
        };
        if pin.key != *record.key() {
            if matches!(record, Record::Pin { .. }) {
                let (nick, kept, other) = (pin.nick.clone(), pin.key, *record.key());
                self.report(skeleton, format!(
                    "the known-members file now pins another key for {nick} ({}); not adopted: this client keeps trusting {} until it restarts",
                    other.fingerprint(),
                    kept.fingerprint()
                ));
            }
            return;
        }
        pin.saved = true;
        pin.verified |= verifies(&record);
    }

    /// Reports the saved pins a file read whole no longer holds.
    fn report_removed(&mut self, in_file: &HashSet<String>) {
        let gone: Vec<(String, String, Fingerprint)> = self
            .pins
            .iter()
            .filter(|(skeleton, pin)| pin.saved && !in_file.contains(*skeleton))
            .map(|(skeleton, pin)| (skeleton.clone(), pin.nick.clone(), pin.key.fingerprint()))
            .collect();
        for (skeleton, nick, fingerprint) in gone {
            self.report(&skeleton, format!(
                "the known-members file no longer pins {nick}'s key {fingerprint}; not adopted: this client keeps trusting it until it restarts"
            ));
        }
    }

    fn report(&mut self, skeleton: &str, report: String) {
        if self.reported.insert(skeleton.to_owned()) {
            self.reports.push(report);
        }
    }
}

/// Refuses `path` if others could change it.
fn check_exposure(place: Place, path: &Path) -> Result<(), KnownError> {
    let exposure = private_file::exposure(path).map_err(|source| KnownError::Read {
        path: path.to_owned(),
        source,
    })?;
    match exposure {
        Some(exposure) => Err(KnownError::Exposed {
            place,
            path: path.to_owned(),
            exposure,
        }),
        None => Ok(()),
    }
}

/// Whether a record says its key was verified.
fn verifies(record: &Record) -> bool {
    matches!(
        record,
        Record::Verify { .. } | Record::Pin { verified: true, .. }
    )
}

/// Whether `typed` is `fingerprint` as a person may type it: any case,
/// with or without its dashes.
fn same_fingerprint(fingerprint: &Fingerprint, typed: &str) -> bool {
    let digits = |text: &str| -> String {
        text.chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    digits(&fingerprint.to_string()) == digits(typed.trim())
}

/// An error and its causes, in one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let _ = write!(line, ": {e}");
        cause = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::layer::signed_client::pin_file::{HEADER, MAX_RECORD_BYTES};

    fn key(seed: u8) -> MemberKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key().into()
    }

    fn scratch(name: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("chat-known-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&folder);
        folder.join("known")
    }

    fn clean(path: &Path) {
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn pins_are_kept_in_the_file_and_read_back() {
        let path = scratch("kept");
        let known = KnownMembers::open(&path).unwrap();
        assert_eq!(known.pin("alice", key(1), "lobby"), Pinning::Pinned);
        assert_eq!(known.pin("bob smith", key(2), "ops"), Pinning::Pinned);
        let again = KnownMembers::open(&path).unwrap();
        assert_eq!(again.pinned("alice"), Some(key(1)));
        let bob = again.pin_of("bob smith").unwrap();
        assert_eq!(
            (bob.key, bob.room.as_deref(), bob.verified),
            (key(2), Some("ops"), false)
        );
        assert_eq!(again.len(), 2);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(HEADER), "{text}");
        clean(&path);
    }

    #[test]
    fn one_pin_per_skeleton_global_to_the_file() {
        let known = KnownMembers::in_memory();
        assert_eq!(known.pin("alice", key(1), "lobby"), Pinning::Pinned);
        let lookalike = "\u{430}lice";
        assert_eq!(known.pinned(lookalike), Some(key(1)));
        let Pinning::Taken(first) = known.pin(lookalike, key(2), "other room") else {
            panic!("a lookalike gets no pin of its own");
        };
        assert_eq!(
            (first.nick.as_str(), first.room.as_deref()),
            ("alice", Some("lobby"))
        );
        assert_eq!(known.pinned("Alice"), None, "case shows: another nick");
    }

    /// Two clients sharing a file: neither loses the other's pins, the
    /// first to pin a nick wins, and the second meeting the *same* key
    /// adopts it rather than call it changed (the old bug: "key changed:
    /// pinned 87ad-..., got 87ad-...").
    #[test]
    fn two_clients_sharing_a_file_adopt_each_others_pins() {
        let path = scratch("shared");
        let (one, two) = (
            KnownMembers::open(&path).unwrap(),
            KnownMembers::open(&path).unwrap(),
        );
        assert_eq!(one.pin("alice", key(1), "lobby"), Pinning::Pinned);
        assert_eq!(two.pin("bob", key(2), "lobby"), Pinning::Pinned);
        assert_eq!(two.pinned("alice"), Some(key(1)), "adopted from the file");
        assert_eq!(one.pin("carol", key(3), "lobby"), Pinning::Pinned);
        assert_eq!(two.pin("carol", key(3), "lobby"), Pinning::Adopted);
        assert!(matches!(two.pin("dave", key(4), "lobby"), Pinning::Pinned));
        assert!(
            matches!(one.pin("dave", key(9), "lobby"), Pinning::Taken(pin) if pin.key == key(4))
        );
        assert!(one.take_reports().is_empty() && two.take_reports().is_empty());
        let all = KnownMembers::open(&path).unwrap();
        assert_eq!(
            ["alice", "bob", "carol", "dave"].map(|n| all.pinned(n)),
            [Some(key(1)), Some(key(2)), Some(key(3)), Some(key(4))]
        );
        clean(&path);
    }

    /// A new pin is one line appended, whatever the file holds: the same
    /// file (inode) and at most `MAX_RECORD_BYTES` more.
    #[test]
    fn a_new_pin_writes_a_bounded_number_of_bytes() {
        let path = scratch("bounded");
        let known = KnownMembers::open(&path).unwrap();
        for i in 0..1_000 {
            assert_eq!(
                known.pin(&format!("n{i}"), key(1), "lobby"),
                Pinning::Pinned
            );
        }
        let before = fs::metadata(&path).unwrap();
        let longest = "\u{1f980}".repeat(64);
        assert_eq!(
            known.pin(&longest, key(2), &"\u{1f980}".repeat(64)),
            Pinning::Pinned
        );
        let after = fs::metadata(&path).unwrap();
        assert_eq!(after.ino(), before.ino(), "appended, not rewritten");
        let written = usize::try_from(after.len() - before.len()).unwrap();
        assert!((1..=MAX_RECORD_BYTES).contains(&written), "{written} bytes");
        clean(&path);
    }

    /// A pin changed or removed in the file by hand is reported once, and
    /// not adopted; a pin added by hand for a new nick is.
    #[test]
    fn a_hand_edit_is_reported_not_adopted() {
        let path = scratch("edited");
        let known = KnownMembers::open(&path).unwrap();
        known.pin("alice", key(1), "lobby");
        known.pin("bob", key(2), "lobby");
        let text = fs::read_to_string(&path).unwrap();
        let alice = text.lines().find(|l| l.contains("\"alice\"")).unwrap();
        let bob = text.lines().find(|l| l.contains("\"bob\"")).unwrap();
        let edited = text
            .replace(
                alice,
                &alice.replace(&key(1).to_base64(), &key(7).to_base64()),
            )
            .replace(&format!("{bob}\n"), "");
        fs::write(&path, edited).unwrap();
        assert_eq!(known.pin("carol", key(3), "lobby"), Pinning::Pinned);
        let reports = known.take_reports();
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert!(
            reports
                .iter()
                .any(|r| r.contains("now pins another key for alice"))
        );
        assert!(
            reports
                .iter()
                .any(|r| r.contains("no longer pins bob's key"))
        );
        assert_eq!(known.pinned("alice"), Some(key(1)), "not adopted");
        assert_eq!(known.pinned("bob"), Some(key(2)), "not dropped");
        known.pin("dave", key(4), "lobby");
        assert!(known.take_reports().is_empty(), "reported once");
        let mut added = fs::read_to_string(&path).unwrap();
        added.push_str(&format!("{} eve\n", key(5).to_base64()));
        fs::write(&path, added).unwrap();
        known.refresh();
        assert_eq!(known.pinned("eve"), Some(key(5)), "a new nick is adopted");
        clean(&path);
    }

    #[test]
    fn a_verification_is_kept_and_the_file_compacted_now_and_then() {
        let path = scratch("verified");
        let known = KnownMembers::open(&path).unwrap();
        let pins = 200;
        for i in 0..pins {
            known.pin(&format!("n{i}"), key(1), "lobby");
        }
        let fingerprint = key(1).fingerprint().to_string();
        assert!(matches!(known.verify("n0", "0000"), Verifying::Mismatch(_)));
        assert_eq!(known.verify("nobody", &fingerprint), Verifying::NoPin);
        let inode = fs::metadata(&path).unwrap().ino();
        for i in 0..pins {
            let typed = if i % 2 == 0 {
                fingerprint.to_uppercase()
            } else {
                fingerprint.replace('-', "")
            };
            assert!(matches!(
                known.verify(&format!("n{i}"), &typed),
                Verifying::Verified(_, None)
            ));
        }
        assert_ne!(fs::metadata(&path).unwrap().ino(), inode, "compacted");
        let lines = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with('{'))
            .count();
        assert!(lines < pins + pins / 2, "{lines} records for {pins} pins");
        let again = KnownMembers::open(&path).unwrap();
        assert!((0..pins).all(|i| again.pin_of(&format!("n{i}")).unwrap().verified));
        clean(&path);
    }

    #[test]
    fn a_corrupt_or_contradictory_file_is_refused_and_left_as_it_is() {
        let path = scratch("corrupt");
        let good = format!("# mine\n{} alice\n", key(1).to_base64());
        for (bad, why) in [
            (
                "garbage\n",
                "line 3: expected a record, or a key, a space and a nick",
            ),
            ("AAAA bob\n", "line 3: key has 3 bytes"),
            (
                &format!("{} \u{430}lice\n", key(2).to_base64()),
                "line 3: '\u{430}lice' is pinned with another key than 'alice' on line 2",
            ),
            (&format!("{} \u{202e}bob\n", key(2).to_base64()), "bad nick"),
            ("{\"pin\":\"bob\"}\n", "line 3: not a record"),
        ] {
            let text = format!("{good}{bad}");
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            let err = KnownMembers::open(&path).err().unwrap().to_string();
            assert!(err.contains(why), "{err}");
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
        }
        clean(&path);
    }

    #[test]
    fn a_file_others_can_change_is_refused_naming_it_and_the_fix() {
        let path = scratch("exposed");
        KnownMembers::open(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
        let err = KnownMembers::open(&path).err().unwrap().to_string();
        let shown = path.display();
        assert_eq!(
            err,
            format!(
                "the known-members file {shown} can be written by others (mode 664), so anyone could change the keys you trust: run `chmod 600 {shown}`"
            )
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let folder = path.parent().unwrap();
        fs::set_permissions(folder, fs::Permissions::from_mode(0o777)).unwrap();
        let err = KnownMembers::open(&path).err().unwrap().to_string();
        assert!(
            err.starts_with(&format!(
                "the folder of the known-members file, {} can be written by others (mode 777)",
                folder.display()
            )),
            "{err}"
        );
        fs::set_permissions(folder, fs::Permissions::from_mode(0o700)).unwrap();
        // Another user's file (only root can hand one over to test it).
        let nobody = 65534;
        if std::os::unix::fs::chown(&path, Some(nobody), None).is_ok() {
            let err = KnownMembers::open(&path).err().unwrap().to_string();
            assert_eq!(
                err,
                format!(
                    "the known-members file {shown} belongs to another user (uid {nobody}), who could change the keys you trust: use a file of your own (--known FILE)"
                )
            );
        }
        clean(&path);
    }

    #[test]
    fn a_file_corrupted_later_keeps_the_pin_for_the_session() {
        let path = scratch("later");
        let known = KnownMembers::open(&path).unwrap();
        fs::write(&path, "garbage\n").unwrap();
        let Pinning::Unsaved(why) = known.pin("alice", key(1), "lobby") else {
            panic!("pinned into a corrupt file");
        };
        assert!(why.contains("line 1"), "{why}");
        assert_eq!(known.pinned("alice"), Some(key(1)));
        assert_eq!(fs::read_to_string(&path).unwrap(), "garbage\n");
        clean(&path);
    }

    /// A key pinned for two nicks names the first, in the file's order,
    /// whenever the second speaks.
    #[test]
    fn a_key_remembers_the_first_nick_it_was_pinned_for() {
        let path = scratch("first-nick");
        let known = KnownMembers::open(&path).unwrap();
        for nick in ["mallory", "notmallory", "mallory2"] {
            known.pin(nick, key(6), "lobby");
        }
        for reopened in [known, KnownMembers::open(&path).unwrap()] {
            assert_eq!(
                reopened.other_nick(&key(6), "notmallory").as_deref(),
                Some("mallory")
            );
            assert_eq!(
                reopened.other_nick(&key(6), "mallory2").as_deref(),
                Some("mallory")
            );
            assert_eq!(reopened.other_nick(&key(6), "mallory"), None);
        }
        clean(&path);
    }

    #[test]
    fn memory_pins_are_bounded() {
        let known = KnownMembers::in_memory();
        for i in 0..MAX_PINS {
            assert_eq!(
                known.pin(&format!("n{i}"), key(1), "lobby"),
                Pinning::Pinned
            );
        }
        assert_eq!(known.pin("one more", key(1), "lobby"), Pinning::Full);
    }
}
