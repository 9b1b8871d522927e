//! The solutions' fingerprints (`classroom/fingerprints.toml`): strings
//! and shapes that only a solved step writes (the pickle's opcodes, the
//! PBKDF2 call, the sealed nick compared with the frame's, the tamper's
//! body...). The project holds each at least once; a student edition holds
//! none.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use regex::bytes::Regex;
use serde::Deserialize;

use crate::steps::Step;

/// Where the list is, in the project.
pub const FINGERPRINTS: &str = "classroom/fingerprints.toml";

/// The list, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct List {
    fingerprint: Vec<Written>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    step: usize,
    what: String,
    /// A regular expression over a file's bytes.
    pattern: String,
}

/// One fingerprint of a solved step.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    pub step: Step,
    pub what: String,
    pub pattern: Regex,
}

/// Where a fingerprint was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub step: Step,
    pub what: String,
    pub path: PathBuf,
    pub line: usize,
}

/// Reads the list at `path`.
pub fn read(path: &Path) -> Result<Vec<Fingerprint>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the fingerprints {}", path.display()))?;
    let list: List = toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
    list.fingerprint.into_iter().map(Fingerprint::new).collect()
}

impl Fingerprint {
    fn new(written: Written) -> Result<Self> {
        let step = Step::numbered(written.step)
            .with_context(|| format!("{}: no step {}", written.what, written.step))?;
        let pattern = Regex::new(&written.pattern)
            .with_context(|| format!("{}: not a regular expression", written.what))?;
        Ok(Self {
            step,
            what: written.what,
            pattern,
        })
    }
}

/// Every fingerprint found in the files `paths` (relative to `root`).
pub fn scan(fingerprints: &[Fingerprint], root: &Path, paths: &[PathBuf]) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for path in paths {
        let bytes = std::fs::read(root.join(path))
            .with_context(|| format!("cannot read {}", path.display()))?;
        for fingerprint in fingerprints {
            if let Some(at) = fingerprint.pattern.find(&bytes) {
                found.push(Found {
                    step: fingerprint.step,
                    what: fingerprint.what.clone(),
                    path: path.clone(),
                    line: 1 + bytes[..at.start()].iter().filter(|&&b| b == b'\n').count(),
                });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_found_with_its_line() {
        let list: List = toml::from_str(
            r#"
            [[fingerprint]]
            step = 6
            what = "the bit flipped"
            pattern = '\^= 0x01'
            "#,
        )
        .unwrap();
        let fingerprints: Vec<Fingerprint> = list
            .fingerprint
            .into_iter()
            .map(Fingerprint::new)
            .collect::<Result<_>>()
            .unwrap();
        let scratch = crate::scratch::Scratch::new("fingerprints").unwrap();
        std::fs::write(scratch.path().join("a.rs"), "x\ny\nbyte ^= 0x01;\n").unwrap();
        std::fs::write(scratch.path().join("b.rs"), "todo!()\n").unwrap();
        let paths = [PathBuf::from("a.rs"), PathBuf::from("b.rs")];
        let found = scan(&fingerprints, scratch.path(), &paths).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].step, found[0].line), (Step::Rogue, 3));
        assert_eq!(found[0].path, PathBuf::from("a.rs"));
    }
}
