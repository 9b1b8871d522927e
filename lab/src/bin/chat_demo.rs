//! `make demo`: the whole lab, played and judged.

use std::process::ExitCode;

use chat_lab::demo::{self, Attack, Cell, Layer};
use chat_lab::process::Binaries;
use clap::Parser;

/// Plays every attack of the lab (eavesdropping, eviction and flood, the
/// deserialisation exploit, tamper, impersonate, replay, drop, a stale
/// token) against every layer (plain, plain --guard, AE, AEAD) on free local
/// ports with scripted clients, narrates each scene, and ends with the
/// attack/defence table. Exits non-zero if an observed outcome differs from
/// the expected one.
#[derive(Parser)]
#[command(version)]
struct Flags {
    /// Only the table, without the narration
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    unsecured_chat::app::logging::init("warn");
    let bins = Binaries::beside_current_exe();
    let mut cells = Vec::new();
    for attack in Attack::ALL {
        if !flags.quiet {
            println!("\n=== {attack} ===\n{}", attack.lesson());
        }
        for layer in Layer::ALL {
            cells.push(play(attack, layer, &bins, flags.quiet));
        }
    }
    println!("\n{}", demo::table(&cells));
    let disagreements = cells.iter().filter(|c| !c.agrees()).count();
    if disagreements > 0 {
        eprintln!("error: {disagreements} cell(s) differ from the lab's expected outcome");
        unsecured_chat::app::logging::flush();
        return ExitCode::FAILURE;
    }
    println!("every cell agrees with the lab's expected outcome");
    unsecured_chat::app::logging::flush();
    ExitCode::SUCCESS
}

fn play(attack: Attack, layer: Layer, bins: &Binaries, quiet: bool) -> Cell {
    if !quiet {
        println!("--- {attack} against {layer}");
    }
    let mut narrate = |line: &str| {
        if !quiet {
            println!("    {line}");
        }
    };
    let observed = demo::play(attack, layer, bins, &mut narrate).map_err(|e| e.to_string());
    let cell = Cell {
        attack,
        layer,
        expected: demo::expected(attack, layer),
        observed,
    };
    if !quiet {
        let verdict = match &cell.observed {
            Ok(outcome) => format!("{outcome} (expected: {})", cell.expected),
            Err(e) => format!("could not be played: {e}"),
        };
        println!(
            "    => {verdict} {}",
            if cell.agrees() { "ok" } else { "MISMATCH" }
        );
    }
    cell
}
