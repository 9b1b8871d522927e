//! The attack/defence table of `make demo`, one test per row, played in
//! process as the demo plays it, on both wires (JSON lines, and the Python
//! original's ZeroMQ with pickle and msgpack bodies): each attack of the lab
//! against each column must give the outcome the demo's table expects. Each
//! test also checks what the cell prints: every line within 80 columns, and
//! every command it shows accepted by the parser of the binary it names.

mod demo_commands;

use chat::Named;
use chat::wire::Wire;
use chat_lab::demo::{self, Column, Observed, Place, Row, WIDTH};
use chat_lab::prerequisite;

/// Plays every cell of `row` on both wires.
fn assert_row(row: Row) {
    let columns: Vec<Column> = Column::all().collect();
    for (place, expected) in row.lesson().cells(&columns) {
        for wire in [Wire::Json, Wire::Zmq] {
            assert_cell_on(row, place, expected, wire);
        }
    }
}

fn assert_cell_on(row: Row, place: Place, expected: demo::Outcome, wire: Wire) {
    let mut story = Vec::new();
    let observed = demo::play(row, place, wire, &mut |line| story.push(line.to_owned()));
    let story_told = story.join("\n");
    if let Observed::Skipped(why) = &observed {
        prerequisite::skip(&format!("{row} against {place} on {wire:?}: {why}"));
    } else {
        assert_eq!(
            observed,
            Observed::Outcome(expected),
            "{row} against {place} on {wire:?}; story:\n{story_told}"
        );
    }
    for line in &story {
        assert!(line.chars().count() <= WIDTH, "wider than {WIDTH}: {line}");
    }
    for command in demo_commands::commands(&story) {
        demo_commands::assert_parses(&command);
    }
}

/// One test per row, and the list of rows tested.
macro_rules! rows {
    ($($name:ident: $row:ident,)*) => {
        $(
            #[test]
            fn $name() {
                assert_row(Row::$row);
            }
        )*

        const TESTED: &[Row] = &[$(Row::$row),*];
    };
}

rows! {
    eavesdropping: Eavesdrop,
    eviction: Evict,
    flood: Flood,
    pickle_in_a_pickle_reader: PickleReader,
    pickle_against_our_server: PickleOurs,
    rogue_tamper: Tamper,
    rogue_impersonation: Impersonate,
    rogue_replay: Replay,
    rogue_drop: Drop,
    key_substituted_before_first_contact: KeyFirstContact,
    key_substituted_after_pinning: KeyPinned,
    replay_into_another_room: RoomReplay,
    stale_token: StaleToken,
    insider_forges_a_nick: ForgeNick,
    insider_poisons_a_counter: PoisonCounter,
}

/// Every row of the demo's table has its test above.
#[test]
fn every_row_of_the_table_is_tested() {
    assert_eq!(TESTED, Row::ALL);
}
