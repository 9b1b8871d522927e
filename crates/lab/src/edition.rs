//! `make student-edition OUT=DIR`: the project as a Rust class gets it.
//!
//! One source, two editions, as nbgrader makes a student's notebook of a
//! teacher's: the project's files are copied as its manifest
//! ([`manifest::MANIFEST`]) says, each part a student writes (between the
//! solution [`markers`]) replaced by a `todo!` that says what to write and
//! where the lab sheet explains it, the answers swapped for the questions,
//! every other place that gives a step away dropped or rewritten, and the
//! tests that need a solved step marked ignored (`cargo test -- --ignored`
//! runs them once it is). Nothing of the project's git history goes along.
//! The crates it builds with are carried in `vendor/` (`cargo vendor`), so
//! a room builds it offline.
//!
//! An edition is checked before it is handed out: no marker is left in it,
//! and none of the solutions' [`fingerprints`] is found in it.

pub mod fingerprints;
pub mod manifest;
pub mod markers;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::steps::Step;
use fingerprints::{FINGERPRINTS, Found};
use manifest::{Action, Ignore, MANIFEST, Manifest, Rule};
use markers::Syntax;

/// Where the vendored crates go in an edition, and how cargo finds them.
pub const VENDOR: &str = "vendor";
const CARGO_CONFIG: &str = ".cargo/config.toml";
const VENDORED_CONFIG: &str = "\
# The crates this edition builds with are carried along (cargo vendor), so
# that a room builds it offline, with no registry.
[source.crates-io]
replace-with = \"vendored-sources\"

[source.vendored-sources]
directory = \"vendor\"
";

/// What to make, from what.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project's root (its git work tree).
    pub project: PathBuf,
    /// The edition's folder: new, or empty.
    pub out: PathBuf,
    /// Whether to carry the crates along (`cargo vendor`).
    pub vendor: bool,
}

/// What an edition holds.
#[derive(Debug, Default)]
pub struct Report {
    pub kept: usize,
    pub dropped: Vec<String>,
    /// Files rewritten: tests ignored, text edited, parts removed.
    pub rewritten: Vec<String>,
    /// Files in the place of others: (the one left out, where the other went).
    pub swapped: Vec<(String, String)>,
    /// Parts left for the students, by step.
    pub todos: BTreeMap<Step, usize>,
    pub ignored_tests: usize,
    /// Crates vendored, if they were.
    pub vendored: Option<usize>,
}

/// Writes the student edition of `options.project` into `options.out`, and
/// checks it.
pub fn write(options: &Options) -> Result<Report> {
    let project = &options.project;
    let out = &options.out;
    ensure_empty(out)?;
    let manifest = Manifest::read(&project.join(MANIFEST))?;
    let tracked = tracked(project)?;
    let mut report = Report::default();
    for (path, rule) in manifest.decide(&tracked)? {
        copy(project, out, path, rule, &mut report).with_context(|| format!("in {path}"))?;
    }
    if options.vendor {
        report.vendored = Some(vendor(out)?);
    }
    check(project, out)?;
    Ok(report)
}

/// The files git tracks in `project`, as paths from its root.
pub fn tracked(project: &Path) -> Result<Vec<String>> {
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(project)
        .output()
        .context("cannot run git ls-files")?;
    ensure!(
        listed.status.success(),
        "git ls-files failed in {}: {}",
        project.display(),
        String::from_utf8_lossy(&listed.stderr).trim()
    );
    let names = String::from_utf8(listed.stdout).context("a tracked path is not UTF-8")?;
    Ok(names
        .split('\0')
        .filter(|name| !name.is_empty() && project.join(name).exists())
        .map(str::to_owned)
        .collect())
}

fn ensure_empty(out: &Path) -> Result<()> {
    if out.exists() && fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty: give a new folder, or empty it first",
            out.display()
        );
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

/// Copies one file as its rule says.
fn copy(project: &Path, out: &Path, path: &str, rule: &Rule, report: &mut Report) -> Result<()> {
    match rule.action {
        Action::Drop => report.dropped.push(path.to_owned()),
        Action::Swap => {
            let (with, to) = (rule.with.as_deref(), rule.to.as_deref());
            let (Some(with), Some(to)) = (with, to) else {
                unreachable!("a swap's rule says with and to: checked on reading")
            };
            put(&out.join(to), &fs::read(project.join(with))?)?;
            report.swapped.push((path.to_owned(), to.to_owned()));
        }
        Action::Keep => {
            let bytes = fs::read(project.join(path))?;
            let kept = keep(Path::new(path), bytes, rule, report)?;
            put(&out.join(path), &kept)?;
            report.kept += 1;
        }
    }
    Ok(())
}

/// A kept file's bytes in the edition.
fn keep(path: &Path, bytes: Vec<u8>, rule: &Rule, report: &mut Report) -> Result<Vec<u8>> {
    let Ok(text) = String::from_utf8(bytes.clone()) else {
        ensure!(
            rule.ignore.is_none() && rule.edit.is_empty(),
            "a file that is not text can be kept only as it is"
        );
        return Ok(bytes);
    };
    let replaced = match Syntax::of(path) {
        Some(syntax) => markers::replace(&text, path, syntax)?,
        // No comments, so no markers (Cargo.lock): only edits.
        None if rule.ignore.is_none() => markers::Replaced {
            text,
            ..Default::default()
        },
        None => bail!("tests are ignored in Rust files only"),
    };
    for &step in &replaced.solutions {
        *report.todos.entry(step).or_default() += 1;
    }
    let mut text = replaced.text;
    let mut changed = !replaced.items.is_empty();
    if let Some(ignore) = &rule.ignore {
        let (ignored, count) = ignore_tests(&text, ignore, &rule.needed())?;
        (text, changed) = (ignored, true);
        report.ignored_tests += count;
    }
    for edit in &rule.edit {
        let found = text.matches(edit.find.as_str()).count();
        ensure!(found == 1, "found {found} times, not once: {:?}", edit.find);
        (text, changed) = (text.replacen(&edit.find, &edit.with, 1), true);
    }
    if changed {
        report.rewritten.push(path.display().to_string());
    }
    Ok(text.into_bytes())
}

/// `text` with `#[ignore = ...]` after each `#[test]` of the tests
/// `ignore` names; how many.
fn ignore_tests(text: &str, ignore: &Ignore, needed: &str) -> Result<(String, usize)> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut ignored = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        if line.trim() != "#[test]" {
            continue;
        }
        let name = test_name(&lines[i + 1..]).context("a #[test] with no fn after it")?;
        let chosen = match ignore {
            Ignore::All(_) => true,
            Ignore::Named(names) => names.iter().any(|n| n == name),
        };
        if chosen {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!(
                "{indent}#[ignore = \"needs {needed} solved: cargo test -- --ignored once make grade says so\"]\n"
            ));
            ignored.push(name.to_owned());
        }
    }
    if let Ignore::Named(names) = ignore {
        let missing: Vec<&String> = names.iter().filter(|n| !ignored.contains(n)).collect();
        ensure!(missing.is_empty(), "no test named {missing:?}");
    }
    Ok((out, ignored.len()))
}

/// The name of the function a `#[test]` is on, from the lines after it.
fn test_name<'t>(after: &[&'t str]) -> Option<&'t str> {
    let line = after.iter().find(|line| line.contains("fn "))?;
    let name = line.split("fn ").nth(1)?;
    name.split(['(', '<']).next().map(str::trim)
}

fn put(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Carries the crates along: `cargo vendor` into `vendor/`, and the
/// configuration that makes cargo build from there; how many crates.
fn vendor(out: &Path) -> Result<usize> {
    let vendored = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["vendor", "--locked", "--quiet", VENDOR])
        .current_dir(out)
        .output()
        .context("cannot run cargo vendor")?;
    ensure!(
        vendored.status.success(),
        "cargo vendor failed: {}",
        String::from_utf8_lossy(&vendored.stderr).trim()
    );
    put(&out.join(CARGO_CONFIG), VENDORED_CONFIG.as_bytes())?;
    Ok(fs::read_dir(out.join(VENDOR))?.count())
}

/// Checks an edition: no marker left in it, no solution's fingerprint
/// found in it (the crates it carries aside: the `pbkdf2` crate holds
/// PBKDF2).
pub fn check(project: &Path, edition: &Path) -> Result<()> {
    let files = files(edition)?;
    let left = leftovers(edition, &files)?;
    ensure!(
        left.is_empty(),
        "markers left in the edition: {}",
        left.join(", ")
    );
    let found = fingerprints_in(project, edition, &files)?;
    ensure!(
        found.is_empty(),
        "solutions left in the edition: {}",
        describe(&found)
    );
    Ok(())
}

/// The fingerprints of [`FINGERPRINTS`] (the project's) found in `files`
/// of `root`.
pub fn fingerprints_in(project: &Path, root: &Path, files: &[PathBuf]) -> Result<Vec<Found>> {
    let fingerprints = fingerprints::read(&project.join(FINGERPRINTS))?;
    fingerprints::scan(&fingerprints, root, files)
}

/// Fingerprints found, one per line.
pub fn describe(found: &[Found]) -> String {
    let lines: Vec<String> = found
        .iter()
        .map(|f| {
            let step = f.step.number();
            format!(
                "\n  {}:{} step {step}: {}",
                f.path.display(),
                f.line,
                f.what
            )
        })
        .collect();
    lines.concat()
}

/// Marker lines left in `files` of `root`, as `path:line`.
pub fn leftovers(root: &Path, files: &[PathBuf]) -> Result<Vec<String>> {
    let mut left = Vec::new();
    for path in files {
        let Ok(text) = String::from_utf8(fs::read(root.join(path))?) else {
            continue;
        };
        let lines = text.lines().enumerate();
        let markers = lines.filter(|(_, line)| markers::is_marker(line));
        left.extend(markers.map(|(i, _)| format!("{}:{}", path.display(), i + 1)));
    }
    Ok(left)
}

/// Every file of an edition, as paths from its root, the vendored crates
/// aside.
pub fn files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut folders = vec![PathBuf::new()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(root.join(&folder))? {
            let entry = entry?;
            let path = folder.join(entry.file_name());
            if path == Path::new(VENDOR) {
                continue;
            }
            if entry.file_type()?.is_dir() {
                folders.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_tests_say_what_they_need() {
        let text = "#[test]\nfn a() {}\n\n    #[test]\n    fn b() {}\n";
        let named = Ignore::Named(vec!["b".into()]);
        let (out, count) = ignore_tests(text, &named, "step 5 (the AE client)").unwrap();
        assert_eq!(count, 1);
        assert_eq!(
            out,
            "#[test]\nfn a() {}\n\n    #[test]\n    #[ignore = \"needs step 5 (the AE client) solved: cargo test -- --ignored once make grade says so\"]\n    fn b() {}\n"
        );
        let (_, all) = ignore_tests(text, &Ignore::All("all".into()), "x").unwrap();
        assert_eq!(all, 2);
        let missing = Ignore::Named(vec!["c".into()]);
        assert!(ignore_tests(text, &missing, "x").is_err());
    }

    #[test]
    fn a_test_is_named_by_the_fn_after_its_attributes() {
        let after = ["    #[should_panic]\n", "    fn grows<T>() {\n"];
        assert_eq!(test_name(&after), Some("grows"));
    }
}
