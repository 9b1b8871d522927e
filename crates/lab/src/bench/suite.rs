//! The configurations `make bench` runs: the Python original's measured
//! anchors (REFERENCE.md) and the project's goals (the speed issue), each
//! run several times because the machine is noisy; the table reports the
//! median run of each.

use std::fmt::Write as _;

use chat::Layer;

use super::{BenchConfig, BenchReport};

/// What a configuration must reach.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// End-to-end messages per second, at least.
    Rate(f64),
    /// 99th percentile latency under this many microseconds.
    P99Below(f64),
    /// Server resident memory under this many KiB.
    RssBelow(u64),
    /// At least this fraction of another entry's rate (by name).
    FractionOf(&'static str, f64),
}

/// What bounds a goal that a run may miss through no fault of the code:
/// docs/PERFORMANCE.md measures and explains each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The machine: the request round trip each sender waits for, and what
    /// two vCPUs do with a reader thread per subscriber.
    Machine,
    /// The lab's key scheme: a PBKDF2 run per message and per reader.
    Scheme,
}

impl Bound {
    /// How the table's last column names it.
    fn tag(self) -> &'static str {
        match self {
            Self::Machine => "NO (machine)",
            Self::Scheme => "NO (scheme)",
        }
    }

    /// The note printed under the table when a goal so bounded is missed.
    fn note(self) -> &'static str {
        match self {
            Self::Machine => {
                "NO (machine): a goal this machine bounds, not the code (each sender waits for its \
                 ok, and 2 vCPUs wake a reader per subscriber): docs/PERFORMANCE.md measures the \
                 bare ceiling in \"The machine's ceilings\" and explains the miss in \"The goals \
                 not met, and why\"."
            }
            Self::Scheme => {
                "NO (scheme): the lab's key scheme's price, a PBKDF2 run per message and per \
                 reader, not the code's: docs/PERFORMANCE.md, \"The goals not met, and why\"; \
                 a session salt (--session-salt) or --kdf hkdf removes it."
            }
        }
    }
}

/// One line of the suite.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: &'static str,
    pub config: BenchConfig,
    /// The Python original's end-to-end rate in this configuration, if measured.
    pub python: Option<f64>,
    pub goal: Goal,
    /// What bounds the goal, where a run may miss it through no fault of
    /// the code.
    pub bound: Option<Bound>,
}

fn entry(name: &'static str, config: BenchConfig, python: Option<f64>, goal: Goal) -> Entry {
    Entry {
        name,
        config,
        python,
        goal,
        bound: None,
    }
}

impl Entry {
    fn bounded_by(mut self, bound: Bound) -> Self {
        self.bound = Some(bound);
        self
    }
}

fn encrypted(mode: Layer, session_salt: bool, iterations: u32) -> BenchConfig {
    let mut config = BenchConfig::new(mode, 10, 1, 20_000);
    config.session_salt = session_salt;
    config.iterations = iterations;
    config
}

/// The suite, in the order it runs.
pub fn entries() -> Vec<Entry> {
    let mut paced = BenchConfig::new(Layer::Plain, 100, 1, 5_000);
    paced.rate = Some(1_000.0);
    let fresh_ae = BenchConfig {
        messages: 5_000,
        ..encrypted(Layer::Ae, false, 100)
    };
    let fresh_aead = BenchConfig {
        messages: 5_000,
        ..encrypted(Layer::Aead, false, 100)
    };
    let fresh_signed = BenchConfig {
        messages: 5_000,
        ..encrypted(Layer::Signed, false, 100)
    };
    vec![
        entry(
            "plain 10 subs, 1 sender",
            BenchConfig::new(Layer::Plain, 10, 1, 50_000),
            Some(4_200.0),
            Goal::Rate(42_000.0),
        )
        .bounded_by(Bound::Machine),
        entry(
            "plain 10/1, dashboard reader",
            BenchConfig {
                dashboard_reader: true,
                ..BenchConfig::new(Layer::Plain, 10, 1, 50_000)
            },
            None,
            Goal::FractionOf("plain 10 subs, 1 sender", 0.95),
        ),
        entry(
            "plain 100 subs, 1 sender",
            BenchConfig::new(Layer::Plain, 100, 1, 20_000),
            Some(770.0),
            Goal::Rate(7_700.0),
        ),
        entry(
            "plain 10 subs, 4 senders",
            BenchConfig::new(Layer::Plain, 10, 4, 100_000),
            Some(9_500.0),
            Goal::Rate(95_000.0),
        )
        .bounded_by(Bound::Machine),
        entry(
            "ae 10/1, session salt",
            encrypted(Layer::Ae, true, 100),
            None,
            Goal::FractionOf("plain 10 subs, 1 sender", 0.5),
        ),
        entry(
            "aead 10/1, session salt",
            encrypted(Layer::Aead, true, 100),
            None,
            Goal::FractionOf("plain 10 subs, 1 sender", 0.5),
        ),
        entry(
            "ae 10/1, fresh salts (lab)",
            fresh_ae,
            None,
            Goal::FractionOf("plain 10 subs, 1 sender", 0.5),
        )
        .bounded_by(Bound::Scheme),
        entry(
            "aead 10/1, fresh salts (lab)",
            fresh_aead,
            None,
            Goal::FractionOf("plain 10 subs, 1 sender", 0.5),
        )
        .bounded_by(Bound::Scheme),
        entry(
            "signed 10/1, session salt",
            encrypted(Layer::Signed, true, 100),
            None,
            Goal::FractionOf("aead 10/1, session salt", 0.5),
        ),
        entry(
            "signed 10/1, fresh salts (lab)",
            fresh_signed,
            None,
            Goal::FractionOf("aead 10/1, fresh salts (lab)", 0.5),
        )
        .bounded_by(Bound::Scheme),
        entry(
            "ae 10/1, session salt, 600k it.",
            encrypted(Layer::Ae, true, 600_000),
            None,
            Goal::FractionOf("ae 10/1, session salt", 0.5),
        ),
        entry(
            "plain 100/1 at 1,000 msg/s",
            paced,
            None,
            Goal::P99Below(1_000.0),
        )
        .bounded_by(Bound::Machine),
        entry(
            "plain 500 subs, 500 senders",
            BenchConfig::new(Layer::Plain, 500, 500, 5_000),
            None,
            Goal::RssBelow(100 * 1024),
        ),
    ]
}

/// The run with the median rate.
pub fn median(mut runs: Vec<BenchReport>) -> Option<BenchReport> {
    runs.sort_by(|a, b| a.msgs_per_s.total_cmp(&b.msgs_per_s));
    let middle = runs.len().checked_sub(1)? / 2;
    Some(runs.swap_remove(middle))
}

/// Whether a median run meets its goal, given the medians so far.
fn verdict(goal: Goal, run: &BenchReport, done: &[(Entry, BenchReport)]) -> (String, bool) {
    match goal {
        Goal::Rate(rate) => (
            format!(">= {} msg/s", thousands(rate)),
            run.msgs_per_s >= rate,
        ),
        Goal::P99Below(us) => (format!("p99 < {us} us"), run.p99_us < us),
        Goal::RssBelow(kib) => (
            format!("RSS < {} MiB", kib / 1024),
            run.server_rss_kib.is_some_and(|r| r < kib),
        ),
        Goal::FractionOf(name, fraction) => {
            let reference = done
                .iter()
                .find(|(e, _)| e.name == name)
                .map(|(_, r)| r.msgs_per_s);
            let met = reference.is_some_and(|r| run.msgs_per_s >= r * fraction);
            let shown = reference.map_or_else(|| "?".to_owned(), |r| thousands(r * fraction));
            (format!(">= {shown} msg/s ({fraction} x {name})"), met)
        }
    }
}

/// The readable table of the medians, in Markdown, then a note for each
/// kind of bound behind a goal it shows missed.
pub fn table(done: &[(Entry, BenchReport)]) -> String {
    let mut out = String::from(
        "| configuration | Python | msg/s | deliveries/s | p50 us | p99 us | server RSS | lost | goal | met |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut bounds = Vec::new();
    for (i, (entry, run)) in done.iter().enumerate() {
        let (goal, met) = verdict(entry.goal, run, &done[..i]);
        let met = if met && run.lost == 0 {
            "yes"
        } else if let Some(bound) = entry.bound.filter(|_| run.lost == 0) {
            if !bounds.contains(&bound) {
                bounds.push(bound);
            }
            bound.tag()
        } else {
            "NO"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            entry.name,
            entry.python.map_or_else(|| "-".to_owned(), thousands),
            thousands(run.msgs_per_s),
            thousands(run.deliveries_per_s),
            run.p50_us,
            run.p99_us,
            run.server_rss_kib.map_or_else(
                || "-".to_owned(),
                |k| format!("{:.1} MiB", k as f64 / 1024.0)
            ),
            run.lost,
            goal,
            met,
        );
    }
    for bound in bounds {
        let _ = write!(out, "\n{}\n", bound.note());
    }
    out
}

/// 12345.6 as "12,346".
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(770.0), "770");
    }

    fn report(msgs_per_s: f64) -> BenchReport {
        BenchReport {
            mode: Layer::Plain,
            subscribers: 10,
            senders: 1,
            messages: 1,
            size: 64,
            msgs_per_s,
            deliveries_per_s: msgs_per_s * 10.0,
            p50_us: 0.0,
            p99_us: 0.0,
            max_us: 0.0,
            server_rss_kib: None,
            lost: 0,
            rate: None,
            iterations: None,
            session_salt: None,
            server_peak_rss_kib: None,
            dashboard_reader: false,
        }
    }

    #[test]
    fn a_goal_the_machine_bounds_says_so_and_where_it_is_explained() {
        let entries = entries();
        let done = vec![(entries[0].clone(), report(30_000.0))];
        let missed = table(&done);
        assert!(missed.contains("| NO (machine) |"), "{missed}");
        assert!(missed.contains("docs/PERFORMANCE.md"), "{missed}");
        assert!(missed.contains("The goals not met, and why"), "{missed}");
        let met = table(&[(entries[0].clone(), report(50_000.0))]);
        assert!(
            met.contains("| yes |") && !met.contains("PERFORMANCE"),
            "{met}"
        );
    }

    #[test]
    fn fraction_goals_refer_to_earlier_entries() {
        let entries = entries();
        for (i, e) in entries.iter().enumerate() {
            if let Goal::FractionOf(name, _) = e.goal {
                assert!(
                    entries[..i].iter().any(|earlier| earlier.name == name),
                    "{}",
                    e.name
                );
            }
        }
    }
}
