//! The keys a member of the signed layer has pinned, one per nick: trust on
//! first use, as SSH's `known_hosts`. The first key seen sign for a nick is
//! that nick's key from then on; any other is refused.
//!
//! They are kept in a text file (`--known FILE`), one line per nick, the
//! key in base64 and then the nick:
//!
//! ```text
//! # unsecured-chat known members (signed layer): the key first seen for each nick.
//! # To accept a member's new key, delete the line of that nick.
//! pFv3pM8qS6cWb1RYJ2zpy5zH0Q1zj8m1Xz0Mb9kV2kE= alice
//! ```
//!
//! What the file promises: a pin once in it is never changed or dropped by a
//! client (only a person editing the file does that). A client adds a line
//! for each nick it pins, rewriting the file atomically
//! ([`private_file::replace`]) under a lock, after reading it again: two
//! clients sharing the file (two terminals of one user) both keep their
//! pins, and a client adopts the pins the other made. A file that does not
//! read as above is refused whole, and left as it is.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::layer::signed_client::member_key::{Fingerprint, MemberKey};
use crate::layer::signed_client::private_file;
use crate::wire::Nick;

/// Most nicks pinned: past this, a message from a nick never seen is
/// refused rather than let the file grow without bound.
pub const MAX_PINS: usize = 4096;

/// What a new file starts with.
const HEADER: &str = "\
# unsecured-chat known members (signed layer): the key first seen for each nick.
# To accept a member's new key, delete the line of that nick.
";

/// The pins, shared by the receiving half of the layer and the terminal's
/// `/whois`; clones share the same book.
#[derive(Clone)]
pub struct KnownMembers {
    book: Arc<Mutex<Book>>,
}

struct Book {
    pins: HashMap<String, MemberKey>,
    /// Where they are kept, if anywhere.
    file: Option<PathBuf>,
}

/// What became of a key offered for a nick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pinning {
    /// It is the nick's key from now on, kept in the file if there is one.
    Pinned,
    /// The same, but the file could not take it: it holds for this session.
    Unsaved(String),
    /// Another client sharing the file pinned this other key first.
    Taken(MemberKey),
    /// [`MAX_PINS`] nicks are pinned already.
    Full,
}

/// Why a known-members file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KnownError {
    #[error("cannot read the known-members file {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the known-members file {}, line {line}: {reason}; fix or delete that line (the file was left as it is)",
        .path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("cannot write the known-members file {} (the keys it pins would be lost)", .path.display())]
    Unwritable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl KnownMembers {
    /// Pins held in memory only, for this session (the demo, the benchmark).
    pub fn in_memory() -> Self {
        Self::with(Book {
            pins: HashMap::new(),
            file: None,
        })
    }

    /// The pins kept in `path`: read if it exists, created otherwise; it
    /// must be writable, so that no pin made from now on is lost.
    pub fn open(path: &Path) -> Result<Self, KnownError> {
        let unwritable = |source| KnownError::Unwritable {
            path: path.to_owned(),
            source,
        };
        private_file::ensure_folder(path).map_err(unwritable)?;
        let pins = match read(path)? {
            Some(pins) => pins,
            None => {
                private_file::create_new(path, HEADER.as_bytes()).map_err(unwritable)?;
                read(path)?.unwrap_or_default()
            }
        };
        private_file::check_writable(path).map_err(unwritable)?;
        Ok(Self::with(Book {
            pins: pins.into_iter().collect(),
            file: Some(path.to_owned()),
        }))
    }

    fn with(book: Book) -> Self {
        Self {
            book: Arc::new(Mutex::new(book)),
        }
    }

    /// The key pinned for `nick`.
    pub fn pinned(&self, nick: &str) -> Option<MemberKey> {
        self.lock().pins.get(nick).copied()
    }

    pub fn fingerprint_of(&self, nick: &str) -> Option<Fingerprint> {
        self.pinned(nick).map(|key| key.fingerprint())
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
        self.lock().file.clone()
    }

    /// Pins `key` for `nick`, which has none here.
    pub fn pin(&self, nick: &str, key: MemberKey) -> Pinning {
        let mut book = self.lock();
        if book.pins.len() >= MAX_PINS {
            return Pinning::Full;
        }
        let Some(path) = book.file.clone() else {
            book.pins.insert(nick.to_owned(), key);
            return Pinning::Pinned;
        };
        match save(&path, nick, key) {
            Ok(Saved { pins, taken }) => {
                book.pins.extend(pins);
                match taken {
                    Some(first) => Pinning::Taken(first),
                    None => Pinning::Pinned,
                }
            }
            Err(e) => {
                book.pins.insert(nick.to_owned(), key);
                Pinning::Unsaved(error_chain(&e))
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The file as it stands after a pin was added to it.
struct Saved {
    pins: Vec<(String, MemberKey)>,
    /// The key the file already held for the nick, if another client
    /// pinned one first.
    taken: Option<MemberKey>,
}

/// Adds `nick key` to the file at `path`, under its lock, as read now.
fn save(path: &Path, nick: &str, key: MemberKey) -> Result<Saved, KnownError> {
    let unwritable = |source| KnownError::Unwritable {
        path: path.to_owned(),
        source,
    };
    let _lock = private_file::lock(path).map_err(unwritable)?;
    let text = read_text(path)?.unwrap_or_else(|| HEADER.to_owned());
    let mut pins = parse(path, &text)?;
    if let Some((_, first)) = pins.iter().find(|(n, _)| n == nick) {
        let taken = Some(*first);
        return Ok(Saved { pins, taken });
    }
    let mut updated = text;
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push('\n');
    }
    let _ = writeln!(updated, "{} {nick}", key.to_base64());
    private_file::replace(path, updated.as_bytes()).map_err(unwritable)?;
    pins.push((nick.to_owned(), key));
    Ok(Saved { pins, taken: None })
}

/// The pins in `path`, or `None` if there is no such file.
fn read(path: &Path) -> Result<Option<Vec<(String, MemberKey)>>, KnownError> {
    read_text(path)?.map(|text| parse(path, &text)).transpose()
}

fn read_text(path: &Path) -> Result<Option<String>, KnownError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            corrupt(path, line, "not UTF-8 text")
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KnownError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The file's pins, in its order; every line must be a comment, blank, or
/// `KEY NICK` with a nick pinned once.
fn parse(path: &Path, text: &str) -> Result<Vec<(String, MemberKey)>, KnownError> {
    let mut pins: Vec<(String, MemberKey)> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, nick) = parse_line(line).map_err(|why| corrupt(path, number, &why))?;
        if let Some(first) = seen.insert(nick.clone(), number) {
            let why = format!("'{nick}' is pinned twice (lines {first} and {number})");
            return Err(corrupt(path, number, &why));
        }
        pins.push((nick, key));
    }
    Ok(pins)
}

fn parse_line(line: &str) -> Result<(MemberKey, String), String> {
    let (key, nick) = line
        .split_once(' ')
        .ok_or("expected a key, a space and a nick")?;
    let key = MemberKey::from_base64(key).map_err(|e| e.to_string())?;
    let nick = Nick::new(nick).map_err(|e| format!("bad nick: {e}"))?;
    Ok((key, nick.as_str().to_owned()))
}

fn corrupt(path: &Path, line: usize, reason: &str) -> KnownError {
    KnownError::Corrupt {
        path: path.to_owned(),
        line,
        reason: reason.to_owned(),
    }
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

    use ed25519_dalek::SigningKey;

    use super::*;

    fn key(seed: u8) -> MemberKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key().into()
    }

    fn scratch(name: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("chat-known-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&folder);
        folder.join("known")
    }

    #[test]
    fn pins_are_kept_in_the_file_and_read_back() {
        let path = scratch("kept");
        let known = KnownMembers::open(&path).unwrap();
        assert_eq!(known.pin("alice", key(1)), Pinning::Pinned);
        assert_eq!(known.pin("bob smith", key(2)), Pinning::Pinned);
        let again = KnownMembers::open(&path).unwrap();
        assert_eq!(again.pinned("alice"), Some(key(1)));
        assert_eq!(again.pinned("bob smith"), Some(key(2)));
        assert_eq!(again.len(), 2);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(HEADER), "{text}");
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    /// Two clients sharing a file: neither loses the other's pins, and the
    /// first to pin a nick wins.
    #[test]
    fn two_clients_sharing_a_file_keep_each_others_pins() {
        let path = scratch("shared");
        let (one, two) = (
            KnownMembers::open(&path).unwrap(),
            KnownMembers::open(&path).unwrap(),
        );
        assert_eq!(one.pin("alice", key(1)), Pinning::Pinned);
        assert_eq!(two.pin("bob", key(2)), Pinning::Pinned);
        assert_eq!(two.pinned("alice"), Some(key(1)), "adopted from the file");
        assert_eq!(two.pin("carol", key(3)), Pinning::Pinned);
        assert_eq!(one.pin("carol", key(9)), Pinning::Taken(key(3)));
        let all = KnownMembers::open(&path).unwrap();
        assert_eq!(
            ["alice", "bob", "carol"].map(|n| all.pinned(n)),
            [Some(key(1)), Some(key(2)), Some(key(3))]
        );
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_corrupt_file_is_refused_and_left_as_it_is() {
        let path = scratch("corrupt");
        let good = format!("# mine\n{} alice\n", key(1).to_base64());
        for (bad, why) in [
            ("garbage\n", "line 3: expected a key, a space and a nick"),
            ("AAAA bob\n", "line 3: key has 3 bytes"),
            (&format!("{} alice\n", key(2).to_base64()), "pinned twice"),
            (&format!("{} \u{202e}bob\n", key(2).to_base64()), "bad nick"),
        ] {
            let text = format!("{good}{bad}");
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &text).unwrap();
            let err = KnownMembers::open(&path).err().unwrap().to_string();
            assert!(err.contains(why), "{err}");
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
        }
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_corrupted_later_keeps_the_pin_for_the_session() {
        let path = scratch("later");
        let known = KnownMembers::open(&path).unwrap();
        fs::write(&path, "garbage\n").unwrap();
        let Pinning::Unsaved(why) = known.pin("alice", key(1)) else {
            panic!("pinned into a corrupt file");
        };
        assert!(why.contains("line 1"), "{why}");
        assert_eq!(known.pinned("alice"), Some(key(1)));
        assert_eq!(fs::read_to_string(&path).unwrap(), "garbage\n");
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn memory_pins_are_bounded() {
        let known = KnownMembers::in_memory();
        for i in 0..MAX_PINS {
            assert_eq!(known.pin(&format!("n{i}"), key(1)), Pinning::Pinned);
        }
        assert_eq!(known.pin("one more", key(1)), Pinning::Full);
    }
}
