//! The configurations `make bench` runs: the Python original's measured
//! anchors (REFERENCE.md) and the project's goals (the speed issue), each
//! run several times because the machine is noisy; the table reports the
//! median run of each. Beside 10 subscribers and 4 senders, the machine's
//! floors ([`floor`]) are measured in the same rounds, so the
//! table also says how close to the machine the chat runs.

use std::fmt::Write as _;

use chat::Layer;

use super::floor::{self, BroadcastFloor, PairsFloor};
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
    /// Whether the machine's floors are measured beside it, in the same
    /// rounds ([`Floors`]).
    pub floors: bool,
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
        floors: false,
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
        Entry {
            floors: true,
            ..entry(
                "plain 10 subs, 4 senders",
                BenchConfig::new(Layer::Plain, 10, 4, 100_000),
                Some(9_500.0),
                Goal::Rate(95_000.0),
            )
        }
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

/// The machine's floors measured beside one entry, a run of each after
/// each run of the chat, so that all three see the same machine.
#[derive(Debug, Default)]
pub struct Floors {
    pub broadcast: Vec<BroadcastFloor>,
    pub pairs: Vec<PairsFloor>,
}

impl Floors {
    /// One run of each floor in `config`'s configuration: the broadcast
    /// floor with its subscribers, senders and messages, and as many
    /// request/response pairs as it has senders.
    pub fn measure(
        &mut self,
        config: &BenchConfig,
    ) -> std::io::Result<(BroadcastFloor, PairsFloor)> {
        let broadcast = floor::broadcast(config.subscribers, config.senders, config.messages)?;
        let pairs = floor::pairs(config.senders, floor::PAIRS_RUN)?;
        self.broadcast.push(broadcast.clone());
        self.pairs.push(pairs.clone());
        Ok((broadcast, pairs))
    }
}

/// The median of `rates`.
fn median_of(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates
        .get(rates.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0)
}

/// The chat's median run beside the floors measured in the same rounds,
/// and its share of each, in Markdown.
pub fn floors_table(entry: &Entry, chat: &BenchReport, floors: &Floors) -> String {
    let broadcast = median_of(floors.broadcast.iter().map(|f| f.msgs_per_s).collect());
    let pairs = median_of(floors.pairs.iter().map(|f| f.round_trips_per_s).collect());
    let lost: u64 = floors.broadcast.iter().map(|f| f.lost).sum();
    let share = |of: f64| {
        if of > 0.0 {
            format!("{:.0} %", 100.0 * chat.msgs_per_s / of)
        } else {
            "-".to_owned()
        }
    };
    let (subscribers, senders) = (chat.subscribers, chat.senders);
    let mut out = format!(
        "The machine beside {} ({} rounds each, interleaved, medians):\n\n\
         | measured in the same run | rate | the chat's share |\n\
         |---|---|---|\n",
        entry.name,
        floors.broadcast.len()
    );
    let _ = writeln!(
        out,
        "| the chat, {subscribers} subscribers, {senders} senders | {} msg/s, {} lost | |",
        thousands(chat.msgs_per_s),
        chat.lost
    );
    let _ = writeln!(
        out,
        "| broadcast floor: the chat's I/O alone, {subscribers} readers, {senders} senders \
         (`loopback_floor broadcast {subscribers} {senders}`) | {} msg/s, {lost} lost | {} |",
        thousands(broadcast),
        share(broadcast)
    );
    let _ = writeln!(
        out,
        "| pairs ceiling: {senders} request/response pairs, no broadcast \
         (`loopback_floor pairs {senders}`) | {} round trips/s | {} |",
        thousands(pairs),
        share(pairs)
    );
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
            client_pipeline: false,
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
    fn the_floors_table_gives_the_chat_s_share_of_each_floor() {
        let entries = entries();
        let entry = entries.iter().find(|e| e.floors).unwrap();
        let chat = BenchReport {
            senders: 4,
            ..report(40_000.0)
        };
        let broadcast = |msgs_per_s| BroadcastFloor {
            floor: "broadcast",
            subscribers: 10,
            senders: 4,
            messages: 100,
            size: 64,
            msgs_per_s,
            deliveries_per_s: 10.0 * msgs_per_s,
            lost: 0,
        };
        let pairs = |round_trips_per_s| PairsFloor {
            floor: "pairs",
            pairs: 4,
            round_trips_per_s,
        };
        let floors = Floors {
            broadcast: vec![
                broadcast(45_000.0),
                broadcast(50_000.0),
                broadcast(90_000.0),
            ],
            pairs: vec![pairs(100_000.0), pairs(80_000.0), pairs(200_000.0)],
        };
        let table = floors_table(entry, &chat, &floors);
        assert!(table.contains("| 50,000 msg/s, 0 lost | 80 % |"), "{table}");
        assert!(
            table.contains("| 100,000 round trips/s | 40 % |"),
            "{table}"
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
