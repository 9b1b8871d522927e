//! The known-members file on disk (`--known FILE`): its records, how a
//! client appends to it, reads what other clients appended, notices what a
//! person changed, and compacts it now and then.
//!
//! One record per line, JSON, after `#` comments:
//!
//! ```text
//! # unsecured-chat known members (signed layer): ...
//! {"pin":"alice","key":"pFv3pM8qS6cWb1RYJ2zpy5zH0Q1zj8m1Xz0Mb9kV2kE=","room":"lobby"}
//! {"verify":"alice","key":"pFv3pM8qS6cWb1RYJ2zpy5zH0Q1zj8m1Xz0Mb9kV2kE="}
//! ```
//!
//! a pin (the nick first seen with that key, and the room it was seen in)
//! and a verification (`/verify`: the user compared the key's fingerprint
//! out of band). The first project's lines, `KEY NICK`, still read, as pins
//! whose room nobody recorded.
//!
//! **Appended, never rewritten on the way.** A new pin is one line added at
//! the end, at most [`MAX_RECORD_BYTES`], under the file's lock (`FILE.lock`,
//! flock): before it, the client reads what other clients appended since
//! its last look, so pins they made are adopted, not contradicted. The
//! client remembers the bytes it has read: if the file no longer starts
//! with them, or is another file now (another inode: compacted, or saved
//! by an editor), it reads it whole again. [`compact`](PinFile::compact)
//! rewrites it (a draft renamed over it) once half of its records, or
//! more, say nothing new.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};

use crate::layer::room::Room;
use crate::layer::signed_client::member_key::MemberKey;
use crate::layer::signed_client::private_file::{self, Exposure, OWNER_ONLY};
use crate::wire::Nick;

/// A nick's confusable skeleton, the key of its pin: two nicks that look
/// alike share one (a string that is no nick is its own).
pub fn skeleton_of(nick: &str) -> String {
    Nick::new(nick).map_or_else(|_| nick.to_owned(), |nick| nick.skeleton())
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
    /// Others could change the pins: as ssh refuses such an
    /// `authorized_keys`.
    #[error("{}", exposed(*.place, .path, .exposure))]
    Exposed {
        place: Place,
        path: PathBuf,
        exposure: Exposure,
    },
}

/// Which of the pins' places others could change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    File,
    Folder,
}

/// The one line that says who could change a file or folder, and the fix.
fn exposed(place: Place, path: &Path, exposure: &Exposure) -> String {
    let shown = path.display();
    let (what, tighten) = match place {
        Place::File => ("the known-members file", "chmod 600"),
        Place::Folder => ("the folder of the known-members file,", "chmod go-w"),
    };
    match exposure {
        Exposure::Writable { mode } => format!(
            "{what} {shown} can be written by others (mode {mode:03o}), so anyone could change the keys you trust: run `{tighten} {shown}`"
        ),
        Exposure::Foreign { owner } => format!(
            "{what} {shown} belongs to another user (uid {owner}), who could change the keys you trust: use a file of your own (--known FILE)"
        ),
    }
}

/// Longest record line, newline included: a 64-character nick and room of
/// 4-byte characters, every one escaped at worst, a key, the field names.
pub const MAX_RECORD_BYTES: usize = 1_200;

/// Fewest records saying nothing new (verifications, repeats, a pin of a
/// nick already pinned) before a compaction is worth it.
const COMPACT_WASTE: usize = 64;

/// What a new file starts with.
pub const HEADER: &str = "\
# unsecured-chat known members (signed layer): the key first seen for each nick,
# one JSON record a line. To accept a member's new key, delete the lines of that nick.
";

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `key` is `nick`'s, first seen in `room` (`None`: not recorded).
    Pin {
        nick: String,
        key: MemberKey,
        room: Option<String>,
        verified: bool,
    },
    /// The user compared `key`'s fingerprint for `nick`.
    Verify { nick: String, key: MemberKey },
}

impl Record {
    pub fn nick(&self) -> &str {
        match self {
            Self::Pin { nick, .. } | Self::Verify { nick, .. } => nick,
        }
    }

    pub fn key(&self) -> &MemberKey {
        match self {
            Self::Pin { key, .. } | Self::Verify { key, .. } => key,
        }
    }

    /// The record as a line of the file, newline included.
    pub fn line(&self) -> String {
        let json = match self {
            Self::Pin {
                nick,
                key,
                room,
                verified,
            } => Json {
                pin: Some(Cow::Borrowed(nick)),
                verify: None,
                key: key.to_base64(),
                room: room.as_deref().map(Cow::Borrowed),
                verified: *verified,
            },
            Self::Verify { nick, key } => Json {
                pin: None,
                verify: Some(Cow::Borrowed(nick)),
                key: key.to_base64(),
                room: None,
                verified: false,
            },
        };
        let mut line = serde_json::to_string(&json).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// A record as JSON.
#[derive(Serialize, Deserialize)]
struct Json<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    pin: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    verify: Option<Cow<'a, str>>,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    room: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    verified: bool,
}

/// The file as this client last read it.
pub struct PinFile {
    path: PathBuf,
    /// Which file it was (device and inode).
    identity: Option<(u64, u64)>,
    /// Every whole line read, as read.
    read: Vec<u8>,
    /// Records in it, and the nicks (by skeleton) they pin.
    records: usize,
    pinned: HashSet<String>,
}

/// What a look at the file found.
pub enum Found {
    /// Records appended since the last look, in order.
    Appended(Vec<Record>),
    /// The file changed otherwise: every record it holds now, in order.
    Rewritten(Vec<Record>),
}

impl PinFile {
    /// The file at `path`, read whole (created with its header if there is
    /// none), and its records.
    pub fn open(path: &Path) -> Result<(Self, Vec<Record>), KnownError> {
        let mut file = Self {
            path: path.to_owned(),
            identity: None,
            read: Vec::new(),
            records: 0,
            pinned: HashSet::new(),
        };
        if file.read_whole()?.is_none() {
            private_file::create_new(path, HEADER.as_bytes()).map_err(|e| file.unwritable(e))?;
            file.read_whole()?;
        }
        let records = parse(path, &file.read, 1)?;
        contradictions(path, &records)?;
        Ok((
            file,
            records.into_iter().map(|(_, record)| record).collect(),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What changed since the last look (call it under [`lock`](Self::lock)).
    pub fn look(&mut self) -> Result<Found, KnownError> {
        let bytes = self.read_bytes()?;
        let identity = self.current_identity();
        if identity == self.identity && bytes.starts_with(&self.read) {
            let start = self.read.len();
            let end = start + whole_lines(&bytes[start..]);
            let first_line = 1 + count_lines(&self.read);
            let records: Vec<Record> = parse(&self.path, &bytes[start..end], first_line)?
                .into_iter()
                .map(|(_, record)| record)
                .collect();
            self.read.extend_from_slice(&bytes[start..end]);
            self.count(&records);
            return Ok(Found::Appended(records));
        }
        let records = self.take_whole(bytes, identity)?;
        Ok(Found::Rewritten(records))
    }

    /// Adds `record` at the end (call it under [`lock`](Self::lock), after
    /// [`look`](Self::look)): one write of at most [`MAX_RECORD_BYTES`].
    pub fn append(&mut self, record: &Record) -> Result<(), KnownError> {
        let line = record.line();
        let appended = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(OWNER_ONLY)
            .open(&self.path)
            .and_then(|mut file| {
                // Other clients look under the lock, and read whole
                // lines only: none sees half of this one.
                file.write_all(line.as_bytes())?;
                file.sync_data()
            });
        appended.map_err(|e| self.unwritable(e))?;
        if self.current_identity() == self.identity {
            self.read.extend_from_slice(line.as_bytes());
            self.count(std::slice::from_ref(record));
        }
        Ok(())
    }

    /// Whether half of the records, or more, say nothing new.
    pub fn wasteful(&self) -> bool {
        let waste = self.records.saturating_sub(self.pinned.len());
        waste >= COMPACT_WASTE && waste >= self.pinned.len()
    }

    /// Rewrites the file with one record per pin, as the file itself holds
    /// them (its first pin of each nick, verified if any record says so),
    /// comments and all else dropped (call it under [`lock`](Self::lock),
    /// after [`look`](Self::look)).
    pub fn compact(&mut self) -> Result<(), KnownError> {
        let records = parse(&self.path, &self.read, 1)?;
        let mut text = HEADER.to_owned();
        for pin in merged(records.into_iter().map(|(_, record)| record)) {
            text.push_str(&pin.line());
        }
        private_file::replace(&self.path, text.as_bytes()).map_err(|e| self.unwritable(e))?;
        let identity = self.current_identity();
        self.take_whole(text.into_bytes(), identity).map(drop)
    }

    /// The file's lock, held until dropped.
    pub fn lock(&self) -> Result<Flock<File>, KnownError> {
        private_file::lock(&self.path).map_err(|e| self.unwritable(e))
    }

    fn unwritable(&self, source: io::Error) -> KnownError {
        KnownError::Unwritable {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads the whole file, if there is one: its records.
    fn read_whole(&mut self) -> Result<Option<Vec<Record>>, KnownError> {
        match fs::read(&self.path) {
            Ok(bytes) => {
                let identity = self.current_identity();
                self.take_whole(bytes, identity).map(Some)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(self.unreadable(source)),
        }
    }

    /// `bytes` as the whole file, which `identity` is.
    fn take_whole(
        &mut self,
        mut bytes: Vec<u8>,
        identity: Option<(u64, u64)>,
    ) -> Result<Vec<Record>, KnownError> {
        bytes.truncate(whole_lines(&bytes));
        let records: Vec<Record> = parse(&self.path, &bytes, 1)?
            .into_iter()
            .map(|(_, record)| record)
            .collect();
        self.read = bytes;
        self.identity = identity;
        self.records = 0;
        self.pinned.clear();
        self.count(&records);
        Ok(records)
    }

    fn count(&mut self, records: &[Record]) {
        self.records += records.len();
        let pins = records.iter().filter(|r| matches!(r, Record::Pin { .. }));
        self.pinned.extend(pins.map(|pin| skeleton_of(pin.nick())));
    }

    /// The file's bytes now; a file deleted reads as empty.
    fn read_bytes(&self) -> Result<Vec<u8>, KnownError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(self.unreadable(source)),
        }
    }

    fn current_identity(&self) -> Option<(u64, u64)> {
        let meta = fs::metadata(&self.path).ok()?;
        Some((meta.dev(), meta.ino()))
    }

    fn unreadable(&self, source: io::Error) -> KnownError {
        KnownError::Read {
            path: self.path.clone(),
            source,
        }
    }
}

/// The pins `records` make, one per nick (by skeleton): the first, marked
/// verified if a later record verifies its key.
fn merged(records: impl IntoIterator<Item = Record>) -> Vec<Record> {
    let mut pins: Vec<Record> = Vec::new();
    for record in records {
        let skeleton = skeleton_of(record.nick());
        let same = pins
            .iter_mut()
            .find(|pin| skeleton_of(pin.nick()) == skeleton);
        match (same, record) {
            (None, pin @ Record::Pin { .. }) => pins.push(pin),
            (Some(Record::Pin { key, verified, .. }), other) if *key == *other.key() => {
                *verified |= matches!(other, Record::Verify { .. })
                    || matches!(other, Record::Pin { verified: true, .. });
            }
            _ => {}
        }
    }
    pins
}

/// Bytes of `bytes` up to its last newline: whole lines only.
fn whole_lines(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |last| last + 1)
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// The records of `bytes`, whose first line is `first_line` of the file.
fn parse(path: &Path, bytes: &[u8], first_line: usize) -> Result<Vec<(usize, Record)>, KnownError> {
    let corrupt = |line: usize, reason: String| KnownError::Corrupt {
        path: path.to_owned(),
        line,
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = first_line + count_lines(&bytes[..e.valid_up_to()]);
        corrupt(line, "not UTF-8 text".into())
    })?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let number = first_line + i;
        records.push((
            number,
            parse_line(line).map_err(|why| corrupt(number, why))?,
        ));
    }
    Ok(records)
}

/// Refuses a file that pins a nick, or a lookalike of it, with two keys:
/// which one would it mean?
fn contradictions(path: &Path, records: &[(usize, Record)]) -> Result<(), KnownError> {
    let mut first: HashMap<String, (usize, &Record)> = HashMap::new();
    for (line, record) in records {
        let Record::Pin { nick, key, .. } = record else {
            continue;
        };
        let Some(&(earlier, pinned)) = first.get(&skeleton_of(nick)) else {
            first.insert(skeleton_of(nick), (*line, record));
            continue;
        };
        if pinned.key() != key {
            return Err(KnownError::Corrupt {
                path: path.to_owned(),
                line: *line,
                reason: format!(
                    "'{nick}' is pinned with another key than '{}' on line {earlier}, which it is or looks like",
                    pinned.nick()
                ),
            });
        }
    }
    Ok(())
}

fn parse_line(line: &str) -> Result<Record, String> {
    if !line.starts_with('{') {
        return legacy_pin(line);
    }
    let json: Json<'_> = serde_json::from_str(line).map_err(|e| format!("not a record: {e}"))?;
    let key = MemberKey::from_base64(&json.key).map_err(|e| e.to_string())?;
    match (json.pin, json.verify) {
        (Some(nick), None) => Ok(Record::Pin {
            nick: checked_nick(&nick)?,
            key,
            room: json.room.as_deref().map(checked_room).transpose()?,
            verified: json.verified,
        }),
        (None, Some(nick)) => Ok(Record::Verify {
            nick: checked_nick(&nick)?,
            key,
        }),
        _ => Err("a record is a \"pin\" or a \"verify\"".into()),
    }
}

/// A line of the first format, `KEY NICK`.
fn legacy_pin(line: &str) -> Result<Record, String> {
    let (key, nick) = line
        .split_once(' ')
        .ok_or("expected a record, or a key, a space and a nick")?;
    Ok(Record::Pin {
        nick: checked_nick(nick)?,
        key: MemberKey::from_base64(key).map_err(|e| e.to_string())?,
        room: None,
        verified: false,
    })
}

fn checked_nick(nick: &str) -> Result<String, String> {
    Nick::new(nick)
        .map(|nick| nick.as_str().to_owned())
        .map_err(|e| format!("bad nick: {e}"))
}

fn checked_room(room: &str) -> Result<String, String> {
    Room::new(room)
        .map(|room| room.as_str().to_owned())
        .map_err(|e| format!("bad room: {e}"))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;

    fn key(seed: u8) -> MemberKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key().into()
    }

    fn pin(nick: &str, seed: u8) -> Record {
        Record::Pin {
            nick: nick.into(),
            key: key(seed),
            room: Some("lobby".into()),
            verified: false,
        }
    }

    #[test]
    fn a_record_reads_back_as_written_and_the_longest_fits_its_bound() {
        let longest = Record::Pin {
            nick: "\"".repeat(32) + &"\u{1f980}".repeat(32),
            key: key(1),
            room: Some("\\".repeat(32) + &"\u{1f980}".repeat(32)),
            verified: true,
        };
        for record in [
            pin("bob smith", 2),
            longest.clone(),
            Record::Verify {
                nick: "a".into(),
                key: key(3),
            },
        ] {
            let line = record.line();
            assert!(line.len() <= MAX_RECORD_BYTES, "{} bytes", line.len());
            assert_eq!(parse_line(line.trim_end()), Ok(record));
        }
        let legacy = format!("{} bob smith", key(2).to_base64());
        let Ok(Record::Pin {
            nick, room: None, ..
        }) = parse_line(&legacy)
        else {
            panic!("the first format reads");
        };
        assert_eq!(nick, "bob smith");
    }

    #[test]
    fn a_compaction_keeps_the_first_pin_of_each_nick_and_its_verification() {
        let records = vec![
            pin("alice", 1),
            pin("bob", 2),
            Record::Verify {
                nick: "alice".into(),
                key: key(1),
            },
            pin("alice", 1),
            Record::Verify {
                nick: "bob".into(),
                key: key(9),
            },
        ];
        let merged = merged(records);
        assert_eq!(merged.len(), 2);
        assert!(matches!(&merged[0], Record::Pin { verified: true, .. }));
        assert!(matches!(
            &merged[1],
            Record::Pin {
                verified: false,
                ..
            }
        ));
    }
}
