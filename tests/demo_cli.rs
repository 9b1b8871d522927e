//! `chat_demo`'s flags and what it prints around the cells: `--only` and
//! `--layer` play exactly the cells they name, `--quiet` prints only the
//! table, every line fits in 80 columns, and the pickle scene's commands,
//! pasted into a shell, do what the scene did.

mod demo_commands;

use std::path::Path;

use chat::server::TrustModel;
use chat::wire::Wire;
use chat::{Layer, Named};
use chat_lab::demo::{self, Cell, Column, Flags, Observed, Place, Row, TABLE, WIDTH};
use chat_lab::prerequisite;
use chat_lab::scratch::Scratch;
use clap::Parser;

/// Runs the demo with `args`; the cells it played and what it printed.
fn demo(args: &[&str]) -> (Vec<Cell>, String) {
    let flags = Flags::parse_from(std::iter::once("chat_demo").chain(args.iter().copied()));
    let mut out = Vec::new();
    let cells = demo::run(&flags, &mut out).unwrap();
    (cells, String::from_utf8(out).unwrap())
}

fn played(cells: &[Cell]) -> Vec<(Row, Place)> {
    cells.iter().map(|c| (c.row, c.place)).collect()
}

fn column(layer: Layer, trust: TrustModel) -> Place {
    Place::Column(Column { layer, trust })
}

#[test]
fn only_and_layer_play_exactly_the_cells_they_name() {
    let (cells, printed) = demo(&["--quiet", "--only", "replay,exploit", "--layer", "ae"]);
    let ae = column(Layer::Ae, TrustModel::Open);
    let expected = [
        (Row::PickleReader, Place::AnyLayer),
        (Row::PickleOurs, Place::AnyLayer),
        (Row::Replay, ae),
    ];
    assert_eq!(played(&cells), expected);
    let rows: Vec<&str> = printed.lines().filter(|l| l.contains(" AE ")).collect();
    assert_eq!(rows.len(), 1, "{printed}");
    assert!(rows[0].starts_with("replay "), "{printed}");
    let anywhere: Vec<&str> = printed
        .lines()
        .filter(|l| l.contains(" any layer "))
        .collect();
    assert_eq!(anywhere.len(), 2, "{printed}");
}

#[test]
fn the_plain_layer_has_an_open_and_a_guarded_column() {
    let (cells, _) = demo(&["--quiet", "--only", "evict", "--layer", "plain"]);
    let expected = [
        (Row::Evict, column(Layer::Plain, TrustModel::Open)),
        (Row::Evict, column(Layer::Plain, TrustModel::Guarded)),
    ];
    assert_eq!(played(&cells), expected);
    assert!(
        cells
            .iter()
            .all(|c| c.observed == Observed::Outcome(c.expected))
    );
}

#[test]
fn quiet_prints_the_table_and_its_verdict_only() {
    let (_, printed) = demo(&["--quiet", "--only", "stale-token"]);
    let lines: Vec<&str> = printed.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("attack "), "{printed}");
    assert_eq!(lines.len(), 1 + 5 + 1, "{printed}");
    assert_eq!(
        lines[6],
        "every cell agrees with the lab's expected outcome"
    );
}

#[test]
fn a_narrated_run_shows_each_scene_and_fits_in_80_columns() {
    let (_, printed) = demo(&["--only", "stale-token", "--layer", "aead"]);
    assert!(
        printed.contains("=== stale token (45 s) ===\n"),
        "{printed}"
    );
    assert!(
        printed.contains("--- stale token (45 s) against AEAD\n"),
        "{printed}"
    );
    let client = demo::Binaries::here().path("aead_client", false);
    let command = format!("CHAT_PASSWORD=s3cret {client} --nick alice --clock-offset -45");
    let story: Vec<String> = printed.lines().map(str::to_owned).collect();
    let commands: Vec<String> = demo_commands::commands(&story)
        .iter()
        .map(|c| {
            c.split_whitespace()
                .filter(|w| *w != "\\")
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(commands.contains(&command), "{printed}");
    assert_fits(printed.lines());
}

/// Every row's header and every line of a full table fit, whatever the
/// run plays.
#[test]
fn every_header_and_the_whole_table_fit_in_80_columns() {
    TABLE
        .iter()
        .for_each(|lesson| assert_fits(demo::header(lesson).iter()));
    let columns: Vec<Column> = Column::all().collect();
    let cells: Vec<Cell> = TABLE
        .iter()
        .flat_map(|lesson| {
            let row = lesson.row;
            lesson
                .cells(&columns)
                .into_iter()
                .map(move |(place, expected)| Cell {
                    row,
                    place,
                    expected,
                    observed: Observed::Failed(
                        "a reason as long as a line could be, and longer still".repeat(3),
                    ),
                })
        })
        .collect();
    assert_eq!(
        cells.len(),
        Row::ALL.len() * columns.len() - 2 * (columns.len() - 1)
    );
    assert_fits(demo::table(&cells).lines());
}

fn assert_fits<S: AsRef<str>>(lines: impl Iterator<Item = S>) {
    for line in lines {
        let line = line.as_ref();
        assert!(line.chars().count() <= WIDTH, "wider than {WIDTH}: {line}");
    }
}

/// The pickle scene's commands, pasted in order into one shell with the
/// project's binaries on `PATH`, leave the file the scene found.
#[test]
fn the_pickle_scene_pasted_into_a_shell_runs_the_payload_in_python() {
    let mut story = Vec::new();
    let observed = demo::play(
        Row::PickleReader,
        Place::AnyLayer,
        Wire::Json,
        &mut |line| story.push(line.to_owned()),
    );
    if let Observed::Skipped(why) = observed {
        return prerequisite::skip(why);
    }
    let script = demo_commands::commands(&story).join("\n");
    let scratch = Scratch::under(Path::new(env!("CARGO_TARGET_TMPDIR")), "pasted").unwrap();
    let binaries = Path::new(env!("CARGO_BIN_EXE_simple_exploit"))
        .parent()
        .unwrap();
    let status = std::process::Command::new("sh")
        .args(["-c", &script])
        .env("PATH", demo_commands::search_path(binaries))
        .env("TMPDIR", scratch.path())
        .current_dir(scratch.path())
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
    let folders = scratch.entries().unwrap();
    assert_eq!(folders.len(), 1, "mktemp made one folder: {folders:?}");
    let made = scratch.path().join(&folders[0]);
    assert!(made.join("pwned").exists(), "{script}");
}
