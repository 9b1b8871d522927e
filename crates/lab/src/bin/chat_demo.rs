//! `make demo`: the whole lab, played and judged.

use std::process::ExitCode;

use chat_lab::demo::{self, Flags, Verdict};
use clap::Parser;

fn main() -> ExitCode {
    let flags = Flags::parse();
    let cells = match demo::run(&flags, &mut std::io::stdout().lock()) {
        Ok(cells) => cells,
        Err(e) => return unsecured_chat::exit(Err(e)),
    };
    let differ = cells
        .iter()
        .filter(|c| c.verdict() == Verdict::Differs)
        .count();
    if differ > 0 {
        eprintln!("error: {differ} cell(s) differ from the lab's expected outcome");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
