//! `make grade`: the score board. One row per step of the lab
//! ([`Step`]): `solved`, `not yet` (and why), or `blocked by step N` when
//! the chat it is judged in runs a step not solved yet; then `N of M
//! solved`, and what to do next.
//!
//! Each step is judged from what the student's code does in a chat staged
//! for it ([`judge`]), never from the code's text, and in a child process
//! of its own with a deadline: a `todo!` panics on whatever thread reaches
//! it (a server's, a client's reader), where no catch of the board's would
//! see it, so the child's verdict line, its exit, or its silence past the
//! deadline is the verdict. Steps whose needs are judged run side by side,
//! so the whole board takes at most one deadline per level of needs
//! (four), whatever the machine.
//!
//! [`script`] judges the Python lab's own scripts the same way, against our
//! server on the original's wire.

mod judge;
mod pickle_reader;
pub mod script;
mod vectors;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use chat::Named;

pub use judge::{Judged, judge};

use crate::demo::wrap;
use crate::process::{POLL, Process};
use crate::steps::Step;

/// How long one step may take to be judged, staging included.
pub const DEADLINE: Duration = Duration::from_secs(25);

/// The flag that makes the board's program judge one step and say so: the
/// board runs itself with it, once per step.
pub const JUDGE_FLAG: &str = "--judge";

/// What the child writes before its verdict, and before each piece of
/// evidence.
const VERDICT: &str = "verdict: ";
const EVIDENCE: &str = "evidence: ";
/// What the standard library's `todo!` says when it panics.
const TODO: &str = "not yet implemented: ";

/// What the board says of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Solved,
    NotYet(String),
    /// It runs on this step, which is not solved yet.
    Blocked(Step),
    CannotJudge(String),
}

/// A row of the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub step: Step,
    pub verdict: Verdict,
    /// What showed a solved step solved.
    pub evidence: Vec<String>,
    pub took: Duration,
}

/// The child's side: judges `step` here and writes its evidence and its
/// verdict, one line each, on stdout.
pub fn judge_and_tell(step: Step) -> Judged {
    let judged = judge(step);
    let line = match &judged {
        Judged::Solved(evidence) => {
            evidence.iter().for_each(|e| println!("{EVIDENCE}{e}"));
            "solved".to_owned()
        }
        Judged::NotYet(why) => format!("not yet: {why}"),
        Judged::CannotJudge(why) => format!("cannot judge: {why}"),
    };
    println!("{VERDICT}{}", one_line(&line));
    judged
}

/// `text` on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Judges `steps` and every step they need, each in a child process of
/// `exe` (this program), at most `deadline` each; the rows of `steps`.
pub fn board(exe: &Path, steps: &[Step], deadline: Duration) -> Result<Vec<Row>> {
    let mut rows: BTreeMap<Step, Row> = BTreeMap::new();
    let wanted = with_needs(steps);
    while rows.len() < wanted.len() {
        let ready: Vec<Step> = wanted
            .iter()
            .copied()
            .filter(|s| !rows.contains_key(s) && s.needs().iter().all(|n| rows.contains_key(n)))
            .collect();
        let mut running = Vec::new();
        for step in ready {
            match blocker(step, &rows) {
                Some(need) => {
                    rows.insert(step, blocked(step, need));
                }
                None => running.push((step, Child::start(exe, step)?)),
            }
        }
        for (step, child) in running {
            rows.insert(step, child.verdict(deadline));
        }
    }
    Ok(steps.iter().filter_map(|s| rows.remove(s)).collect())
}

/// The longest the board of `steps` can take: one `deadline` per level of
/// needs, the steps of a level being judged side by side. A room's board
/// must come back within [`BOARD_LIMIT`], however many steps hang.
pub fn worst_case(steps: &[Step], deadline: Duration) -> Duration {
    let levels = with_needs(steps)
        .into_iter()
        .map(level)
        .max()
        .map_or(0, |l| l + 1);
    deadline * u32::try_from(levels).unwrap_or(u32::MAX)
}

/// What a student waits for the whole board at most.
pub const BOARD_LIMIT: Duration = Duration::from_secs(120);

/// How many steps stand below `step` in its longest chain of needs.
fn level(step: Step) -> usize {
    step.needs()
        .iter()
        .map(|&n| level(n) + 1)
        .max()
        .unwrap_or(0)
}

/// `steps` and the steps they need, in order.
fn with_needs(steps: &[Step]) -> Vec<Step> {
    let mut all: Vec<Step> = steps.to_vec();
    let mut i = 0;
    while let Some(&step) = all.get(i) {
        all.extend(
            step.needs()
                .iter()
                .filter(|n| !all.contains(n))
                .copied()
                .collect::<Vec<_>>(),
        );
        i += 1;
    }
    all.sort();
    all
}

/// The first step `step` needs that is not solved.
fn blocker(step: Step, rows: &BTreeMap<Step, Row>) -> Option<Step> {
    let unsolved = |need: &&Step| {
        rows.get(need)
            .is_none_or(|row| row.verdict != Verdict::Solved)
    };
    step.needs().iter().find(unsolved).copied()
}

fn blocked(step: Step, need: Step) -> Row {
    Row {
        step,
        verdict: Verdict::Blocked(need),
        evidence: Vec::new(),
        took: Duration::ZERO,
    }
}

/// A step being judged in a child process.
struct Child {
    step: Step,
    process: Process,
    started: Instant,
}

impl Child {
    fn start(exe: &Path, step: Step) -> Result<Self> {
        Ok(Self {
            step,
            process: Process::spawn(exe, [JUDGE_FLAG, step.name()], &[])?,
            started: Instant::now(),
        })
    }

    /// Waits for the child, at most `deadline` from its start, and reads
    /// its verdict: its line, or what its exit or its silence says.
    fn verdict(mut self, deadline: Duration) -> Row {
        let left = deadline.saturating_sub(self.started.elapsed());
        let exited = self.process.wait(left);
        self.process.kill();
        // Its last lines, once its streams end.
        self.process.stdout.find(POLL * 20, |_| false);
        self.process.stderr.find(POLL * 20, |_| false);
        let (stdout, stderr) = (self.process.stdout.all(), self.process.stderr.all());
        let evidence = prefixed(&stdout, EVIDENCE);
        let said = prefixed(&stdout, VERDICT).pop();
        let todo = prefixed(&stderr, TODO).into_iter().next();
        let verdict = match (said.as_deref(), todo) {
            (Some("solved"), _) => Verdict::Solved,
            (_, Some(todo)) => Verdict::NotYet(format!("todo! reached: {todo}")),
            (Some(said), None) => read_verdict(said),
            (None, None) => silent(exited.is_some(), &stderr, deadline),
        };
        Row {
            step: self.step,
            verdict,
            evidence,
            took: self.started.elapsed(),
        }
    }
}

/// The lines of `lines` that start with `prefix`, without it.
fn prefixed(lines: &[String], prefix: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix).map(str::to_owned))
        .collect()
}

/// The verdict a child's line says (other than `solved`).
fn read_verdict(said: &str) -> Verdict {
    match said.strip_prefix("cannot judge: ") {
        Some(why) => Verdict::CannotJudge(why.to_owned()),
        None => Verdict::NotYet(said.strip_prefix("not yet: ").unwrap_or(said).to_owned()),
    }
}

/// A child that gave no verdict: it died, or said nothing in time.
fn silent(exited: bool, stderr: &[String], deadline: Duration) -> Verdict {
    let panic = stderr
        .iter()
        .position(|l| l.contains("panicked at"))
        .and_then(|i| stderr.get(i + 1));
    Verdict::NotYet(match (panic, exited) {
        (Some(message), _) => format!("it panicked: {message}"),
        (None, true) => "it ended without a verdict".into(),
        (None, false) => format!("no verdict within {} s", deadline.as_secs()),
    })
}

/// How many rows are solved.
pub fn solved(rows: &[Row]) -> usize {
    rows.iter().filter(|r| r.verdict == Verdict::Solved).count()
}

/// Width of the board's text.
const WIDTH: usize = 78;
/// Width of the step's column.
const TITLE: usize = 22;

/// The board as printed: a row per step, `N of M solved`, and what to do
/// next.
pub fn render(rows: &[Row], verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "step  {:TITLE$}  verdict", "what");
    for row in rows {
        let (word, why) = describe(&row.verdict);
        let number = row.step.number();
        let _ = writeln!(out, "{number:<4}  {:TITLE$}  {word}", row.step.title());
        let details = why
            .into_iter()
            .chain(verbose.then(|| row.evidence.clone()).into_iter().flatten());
        for line in details {
            wrap(&line, "        ", "        ").iter().for_each(|l| {
                let _ = writeln!(out, "{}", &l[..l.len().min(WIDTH + 8)]);
            });
        }
    }
    let _ = writeln!(out, "\n{} of {} solved", solved(rows), rows.len());
    if let Some(next) = rows.iter().find(|r| r.verdict != Verdict::Solved) {
        let step = next.step;
        let hint = format!(
            "next: step {}, {}: {}. See {}",
            step.number(),
            step.title(),
            step.to_write(),
            step.doc()
        );
        wrap(&hint, "", "  ").iter().for_each(|l| {
            let _ = writeln!(out, "{l}");
        });
    }
    out
}

/// A verdict's word, and the reason that goes under it.
fn describe(verdict: &Verdict) -> (String, Option<String>) {
    match verdict {
        Verdict::Solved => ("solved".into(), None),
        Verdict::NotYet(why) => ("not yet".into(), Some(why.clone())),
        Verdict::Blocked(need) => (format!("blocked by step {}", need.number()), None),
        Verdict::CannotJudge(why) => ("cannot judge here".into(), Some(why.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: Step, verdict: Verdict) -> Row {
        Row {
            step,
            verdict,
            evidence: vec!["seen".into()],
            took: Duration::ZERO,
        }
    }

    #[test]
    fn a_step_waits_for_what_it_needs() {
        assert_eq!(
            with_needs(&[Step::Ttl]),
            [Step::MsgpackServer, Step::Ae, Step::Aead, Step::Ttl]
        );
        let mut rows = BTreeMap::new();
        rows.insert(Step::Ae, row(Step::Ae, Verdict::NotYet("x".into())));
        assert_eq!(blocker(Step::Rogue, &rows), Some(Step::Ae));
        rows.insert(Step::Ae, row(Step::Ae, Verdict::Solved));
        assert_eq!(blocker(Step::Rogue, &rows), None);
    }

    #[test]
    fn the_whole_board_comes_back_within_its_limit_even_if_every_step_hangs() {
        assert_eq!(level(Step::Bigbrother), 0);
        assert_eq!(level(Step::Ttl), 3);
        assert_eq!(worst_case(&[Step::Dos], DEADLINE), DEADLINE);
        let worst = worst_case(Step::ALL, DEADLINE);
        assert!(
            worst < BOARD_LIMIT,
            "{worst:?}: four levels of {DEADLINE:?}"
        );
    }

    #[test]
    fn a_childs_lines_say_its_verdict() {
        assert_eq!(
            read_verdict("not yet: bob saw nothing"),
            Verdict::NotYet("bob saw nothing".into())
        );
        assert_eq!(
            read_verdict("cannot judge: no python3"),
            Verdict::CannotJudge("no python3".into())
        );
        let stderr = [
            "thread 'main' panicked at x.rs:1:1:".to_owned(),
            "boom".to_owned(),
        ];
        assert_eq!(
            silent(true, &stderr, DEADLINE),
            Verdict::NotYet("it panicked: boom".into())
        );
        assert_eq!(
            silent(false, &[], DEADLINE),
            Verdict::NotYet("no verdict within 25 s".into())
        );
    }

    #[test]
    fn the_board_counts_and_points_at_the_next_step() {
        let rows = [
            row(Step::Bigbrother, Verdict::Solved),
            row(
                Step::Dos,
                Verdict::NotYet("todo! reached: step 2: evict".into()),
            ),
            row(Step::Rogue, Verdict::Blocked(Step::Ae)),
        ];
        let board = render(&rows, false);
        assert!(board.contains("1 of 3 solved"), "{board}");
        assert!(board.contains("blocked by step 5"), "{board}");
        assert!(board.contains("todo! reached: step 2: evict"), "{board}");
        assert!(board.contains("next: step 2, denial of service"), "{board}");
        assert!(
            board.contains("docs/LAB.md#step-2-denial-of-service"),
            "{board}"
        );
        assert!(!board.contains("seen"), "{board}");
        assert!(render(&rows, true).contains("seen"));
    }
}
