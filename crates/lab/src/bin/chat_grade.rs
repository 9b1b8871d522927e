//! `make grade`: the score board of the lab's steps.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chat::named::Named;
use chat::server::{DEFAULT_BROADCAST_PORT, DEFAULT_HOST, DEFAULT_PORT};
use chat_lab::grade::script::{self, FROM_OUTSIDE, Script};
use chat_lab::grade::{self, DEADLINE, Judged, Verdict};
use chat_lab::steps::Step;
use clap::{Parser, ValueEnum};
use unsecured_chat::flags::choice;

/// The score board: each step of the lab (docs/LAB.md) judged from what
/// it does in a chat staged for it, in a process of its own with a
/// deadline: solved, not yet (and why), or blocked by a step it needs.
/// Ends with N of M solved and what to do next.
///
/// With --cmd, judges a program of the Python lab instead (--step says
/// which): our server on the original's wire, on the ports it expects, or,
/// for the msgpack and rogue servers, the program as the server; it is told
/// where in CHAT_HOST, CHAT_PORT and CHAT_BROADCAST_PORT.
#[derive(Parser)]
#[command(version)]
struct Flags {
    /// Only this step
    #[arg(long, value_parser = choice::<Step>())]
    step: Option<Step>,
    /// The student's program for --step, run through `sh -c`
    #[arg(long, requires = "step", value_name = "COMMAND")]
    cmd: Option<String>,
    /// Where our server listens for --cmd (0.0.0.0: the classroom's network)
    #[arg(long, default_value = DEFAULT_HOST)]
    host: String,
    /// The request port for --cmd (0: a free one)
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The broadcast port for --cmd (0: a free one)
    #[arg(long, default_value_t = DEFAULT_BROADCAST_PORT)]
    broadcast_port: u16,
    /// Seconds each step (or the program) has to show what it does
    #[arg(long, default_value_t = DEADLINE.as_secs())]
    deadline: u64,
    /// Fail unless every step is solved (all), or none is (none)
    #[arg(long)]
    expect: Option<Expect>,
    /// Say what showed each solved step solved
    #[arg(long, short)]
    verbose: bool,
    /// Judge this step here and say so (what the board runs, once per step)
    #[arg(long, hide = true, value_parser = choice::<Step>())]
    judge: Option<Step>,
}

/// What the board must show, for a check of the project or of an edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Expect {
    All,
    None,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    if let Some(step) = flags.judge {
        grade::judge_and_tell(step);
        return ExitCode::SUCCESS;
    }
    let result = match &flags.cmd {
        Some(command) => judge_script(&flags, command),
        None => print_board(&flags),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

fn print_board(flags: &Flags) -> Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find this program, to run its steps")?;
    let steps: Vec<Step> = match flags.step {
        Some(step) => vec![step],
        None => Step::ALL.to_vec(),
    };
    let deadline = Duration::from_secs(flags.deadline);
    println!(
        "The score board: each step judged from what it does, in a process of its own (at most {} s each, {} s in all).\n",
        deadline.as_secs(),
        grade::worst_case(&steps, deadline).as_secs()
    );
    let started = Instant::now();
    let rows = grade::board(&exe, &steps, deadline)?;
    print!("{}", grade::render(&rows, flags.verbose));
    println!("(judged in {} s)", started.elapsed().as_secs());
    let solved = grade::solved(&rows);
    let met = match flags.expect {
        Some(Expect::All) => solved == rows.len(),
        Some(Expect::None) => rows.iter().all(|r| r.verdict != Verdict::Solved),
        None => true,
    };
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn judge_script(flags: &Flags, command: &str) -> Result<ExitCode> {
    let Some(step) = flags.step else {
        bail!("--cmd needs --step");
    };
    if !FROM_OUTSIDE.contains(&step) {
        let names: Vec<&str> = FROM_OUTSIDE.iter().map(|s| s.name()).collect();
        bail!(
            "step {} ({}) does not show from outside a program; --cmd judges {}",
            step.number(),
            step.title(),
            names.join(", ")
        );
    }
    let script = Script {
        step,
        command: command.to_owned(),
        host: flags.host.clone(),
        port: flags.port,
        broadcast_port: flags.broadcast_port,
        deadline: Duration::from_secs(flags.deadline),
    };
    println!("step {}, {}: `{command}`", step.number(), step.title());
    let judged = script::judge(&script)?;
    let solved = matches!(judged, Judged::Solved(_));
    match judged {
        Judged::Solved(evidence) => {
            println!("solved");
            evidence.iter().for_each(|e| println!("  {e}"));
        }
        Judged::NotYet(why) => println!("not yet: {why}\n  see {}", step.doc()),
        Judged::CannotJudge(why) => println!("cannot judge here: {why}"),
    }
    Ok(if solved {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
