//! What a test does when the machine lacks something it needs (python3 on
//! `PATH`, to play the Python original): it prints one line, `skipped:
//! WHY`, and returns, so it passes; except under `CI=true`, where a missing
//! prerequisite fails it, as `make interop-or-skip` does. `make demo` does
//! not come here: it marks such a cell `n/a`, with its note.

use std::process::Command;

/// The program that plays the Python original.
pub const PYTHON3: &str = "python3";

/// What becomes of a test whose prerequisite is missing, under a given
/// value of `CI`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The line to print before the test returns, and passes.
    Skip(String),
    /// Why the test fails.
    Fail(String),
}

/// What a missing prerequisite (`why`) does to a test when the variable
/// `CI` is `ci`: it fails under `CI=true`, else is skipped.
pub fn judge(ci: Option<&str>, why: &str) -> Missing {
    if ci == Some("true") {
        Missing::Fail(format!("prerequisite missing under CI=true: {why}"))
    } else {
        Missing::Skip(format!("skipped: {why}"))
    }
}

/// Says that a test's prerequisite is missing: prints `skipped: WHY` for
/// the test to return, or, under `CI=true`, panics with WHY.
pub fn skip(why: &str) {
    match judge(std::env::var("CI").ok().as_deref(), why) {
        Missing::Skip(line) => eprintln!("{line}"),
        Missing::Fail(reason) => panic!("{reason}"),
    }
}

/// Whether `python3` runs here.
pub fn python3_on_path() -> bool {
    Command::new(PYTHON3)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Whether a test that needs `python3` for `what` may go on; if not, it
/// has been [`skip`]ped and should return.
pub fn python3(what: &str) -> bool {
    let here = python3_on_path();
    if !here {
        skip(&format!("{PYTHON3} is not on PATH, needed for {what}"));
    }
    here
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_prerequisite_is_a_skip_outside_ci() {
        for ci in [None, Some(""), Some("false"), Some("1")] {
            assert_eq!(
                judge(ci, "no python3"),
                Missing::Skip("skipped: no python3".into()),
                "CI={ci:?}"
            );
        }
    }

    #[test]
    fn a_missing_prerequisite_fails_under_ci_true() {
        let Missing::Fail(reason) = judge(Some("true"), "no python3") else {
            panic!("skipped under CI=true");
        };
        assert!(reason.contains("no python3"), "{reason}");
    }
}
