//! `make student-edition OUT=DIR`: the student edition of the project.

use std::path::PathBuf;
use std::process::ExitCode;

use chat_lab::edition::{self, Options, Report};
use clap::Parser;

/// Writes the student edition of the project: each part the lab's students
/// write (between solution markers) replaced by a todo! that says what to
/// write and where the lab sheet explains it, docs/ANSWERS.md replaced by
/// docs/QUESTIONS.md, every other place that gives a step away dropped or
/// rewritten as classroom/edition.toml says, no git history, and the crates
/// carried in vendor/ so that a room builds it offline. The edition is
/// checked before this returns: no marker left, no solution's fingerprint
/// (classroom/fingerprints.toml) found.
#[derive(Parser)]
#[command(version)]
struct Flags {
    /// The edition's folder: new, or empty
    #[arg(long)]
    out: PathBuf,
    /// The project (a git work tree with classroom/edition.toml)
    #[arg(long, default_value = ".")]
    project: PathBuf,
    /// Leave the crates out (a check of the sources, not an edition to hand out)
    #[arg(long)]
    no_vendor: bool,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    let options = Options {
        project: flags.project,
        out: flags.out.clone(),
        vendor: !flags.no_vendor,
    };
    match edition::write(&options) {
        Ok(report) => {
            print(&report, &flags.out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: no student edition: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print(report: &Report, out: &std::path::Path) {
    println!("student edition written to {}", out.display());
    let todos: usize = report.todos.values().sum();
    println!(
        "  {} files kept ({} rewritten), {} dropped, {} swapped",
        report.kept,
        report.rewritten.len(),
        report.dropped.len(),
        report.swapped.len()
    );
    for (step, count) in &report.todos {
        println!("  step {}, {}: {count} todo!", step.number(), step.title());
    }
    println!(
        "  {todos} parts left to write; {} tests ignored until their step is solved",
        report.ignored_tests
    );
    match report.vendored {
        Some(crates) => println!("  {crates} crates vendored: it builds offline"),
        None => println!("  no crates vendored (--no-vendor)"),
    }
    println!("  checked: no marker left, no solution's fingerprint found");
}
