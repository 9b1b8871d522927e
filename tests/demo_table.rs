//! The attack/defence table of `make demo`, one test per cell, played in
//! process as the demo plays it, on both wires (JSON lines, and the Python
//! original's ZeroMQ with pickle and msgpack bodies): each attack of the lab
//! against each column must give the lab's expected outcome. Each test also
//! checks what the cell prints: every line within 80 columns, and every
//! command it shows accepted by the parser of the binary it names.

mod demo_commands;

use chat_lab::demo::{self, Column, Forgery, Observed, Outcome, Row, Target, WIDTH};
use unsecured_chat::Layer;
use unsecured_chat::server::TrustModel;
use unsecured_chat::server::rogue_server::Attack as RogueAttack;
use unsecured_chat::wire::Wire;

fn plain() -> Column {
    Column {
        layer: Layer::Plain,
        trust: TrustModel::Open,
    }
}

fn guarded() -> Column {
    Column {
        trust: TrustModel::Guarded,
        ..plain()
    }
}

fn ae() -> Column {
    Column {
        layer: Layer::Ae,
        ..plain()
    }
}

fn aead() -> Column {
    Column {
        layer: Layer::Aead,
        ..plain()
    }
}

fn signed() -> Column {
    Column {
        layer: Layer::Signed,
        ..plain()
    }
}

/// Plays the cell on both wires.
fn assert_cell(row: Row, column: Column) {
    for wire in [Wire::Json, Wire::Zmq] {
        assert_cell_on(row, column, wire);
    }
}

fn assert_cell_on(row: Row, column: Column, wire: Wire) {
    let mut story = Vec::new();
    let observed = demo::play(row, column, wire, &mut |line| story.push(line.to_owned()));
    let story_told = story.join("\n");
    if let Observed::Skipped(why) = &observed {
        eprintln!("{row} against {column} skipped: {why}");
    } else {
        let expected = demo::expected(row, column);
        assert_eq!(
            observed,
            Observed::Outcome(expected),
            "{row} against {column} on {wire:?}; story:\n{story_told}"
        );
    }
    for line in &story {
        assert!(line.chars().count() <= WIDTH, "wider than {WIDTH}: {line}");
    }
    for command in demo_commands::commands(&story) {
        demo_commands::assert_parses(&command);
    }
}

macro_rules! cells {
    ($($name:ident: $row:expr, $column:ident => $outcome:ident;)*) => {
        $(
            #[test]
            fn $name() {
                assert_eq!(demo::expected($row, $column()), Outcome::$outcome);
                assert_cell($row, $column());
            }
        )*
    };
}

const TAMPER: Row = Row::Rogue(RogueAttack::Tamper);
const IMPERSONATE: Row = Row::Rogue(RogueAttack::Impersonate);
const REPLAY: Row = Row::Rogue(RogueAttack::Replay);
const DROP: Row = Row::Rogue(RogueAttack::Drop);
const SUBSTITUTE: Row = Row::Rogue(RogueAttack::SubstituteKey);
const PICKLE_READER: Row = Row::Exploit(Target::PickleReader);
const OUR_SERVER: Row = Row::Exploit(Target::Ours);
const FORGE_NICK: Row = Row::Insider(Forgery::Nick);
const POISON_COUNTER: Row = Row::Insider(Forgery::Counter);

cells! {
    eavesdropping_succeeds_on_plain: Row::Eavesdrop, plain => Succeeds;
    eavesdropping_succeeds_on_guarded: Row::Eavesdrop, guarded => Succeeds;
    eavesdropping_is_stopped_by_ae: Row::Eavesdrop, ae => Stopped;
    eavesdropping_is_stopped_by_aead: Row::Eavesdrop, aead => Stopped;
    eavesdropping_is_stopped_by_signed: Row::Eavesdrop, signed => Stopped;

    eviction_succeeds_on_plain: Row::Evict, plain => Succeeds;
    eviction_is_stopped_by_the_guard: Row::Evict, guarded => Stopped;
    eviction_succeeds_despite_ae: Row::Evict, ae => Succeeds;
    eviction_succeeds_despite_aead: Row::Evict, aead => Succeeds;
    eviction_succeeds_despite_signed: Row::Evict, signed => Succeeds;

    flood_succeeds_on_plain: Row::Flood, plain => Succeeds;
    flood_is_stopped_by_the_guard: Row::Flood, guarded => Stopped;
    flood_succeeds_despite_ae: Row::Flood, ae => Succeeds;
    flood_succeeds_despite_aead: Row::Flood, aead => Succeeds;
    flood_succeeds_despite_signed: Row::Flood, signed => Succeeds;

    pickle_runs_in_a_pickle_reader_whatever_the_layer_plain: PICKLE_READER, plain => Succeeds;
    pickle_runs_in_a_pickle_reader_whatever_the_layer_guarded: PICKLE_READER, guarded => Succeeds;
    pickle_runs_in_a_pickle_reader_whatever_the_layer_ae: PICKLE_READER, ae => Succeeds;
    pickle_runs_in_a_pickle_reader_whatever_the_layer_aead: PICKLE_READER, aead => Succeeds;
    pickle_runs_in_a_pickle_reader_whatever_the_layer_signed: PICKLE_READER, signed => Succeeds;

    pickle_is_stopped_by_our_server_on_plain: OUR_SERVER, plain => Stopped;
    pickle_is_stopped_by_our_server_on_guarded: OUR_SERVER, guarded => Stopped;
    pickle_is_stopped_by_our_server_on_ae: OUR_SERVER, ae => Stopped;
    pickle_is_stopped_by_our_server_on_aead: OUR_SERVER, aead => Stopped;
    pickle_is_stopped_by_our_server_on_signed: OUR_SERVER, signed => Stopped;

    tamper_succeeds_on_plain: TAMPER, plain => Succeeds;
    tamper_succeeds_on_guarded: TAMPER, guarded => Succeeds;
    tamper_is_stopped_by_ae: TAMPER, ae => Stopped;
    tamper_is_stopped_by_aead: TAMPER, aead => Stopped;
    tamper_is_stopped_by_signed: TAMPER, signed => Stopped;

    impersonation_succeeds_on_plain: IMPERSONATE, plain => Succeeds;
    impersonation_succeeds_on_guarded: IMPERSONATE, guarded => Succeeds;
    impersonation_succeeds_despite_ae: IMPERSONATE, ae => Succeeds;
    impersonation_is_stopped_by_aead: IMPERSONATE, aead => Stopped;
    impersonation_is_stopped_by_signed: IMPERSONATE, signed => Stopped;

    replay_succeeds_on_plain: REPLAY, plain => Succeeds;
    replay_succeeds_on_guarded: REPLAY, guarded => Succeeds;
    replay_succeeds_despite_ae: REPLAY, ae => Succeeds;
    replay_is_stopped_by_aead: REPLAY, aead => Stopped;
    replay_is_stopped_by_signed: REPLAY, signed => Stopped;

    drop_is_silent_on_plain: DROP, plain => Succeeds;
    drop_is_silent_on_guarded: DROP, guarded => Succeeds;
    drop_is_silent_despite_ae: DROP, ae => Succeeds;
    drop_is_detected_by_aead: DROP, aead => Detected;
    drop_is_detected_by_signed: DROP, signed => Detected;

    no_key_to_substitute_in_clear: SUBSTITUTE, plain => NotApplicable;
    no_key_to_substitute_in_clear_guarded: SUBSTITUTE, guarded => NotApplicable;
    no_key_to_substitute_in_ae: SUBSTITUTE, ae => NotApplicable;
    no_key_to_substitute_in_aead: SUBSTITUTE, aead => NotApplicable;
    key_substituted_before_first_contact_succeeds: SUBSTITUTE, signed => Succeeds;

    no_key_pinned_in_clear: Row::KeyPinned, plain => NotApplicable;
    no_key_pinned_in_clear_guarded: Row::KeyPinned, guarded => NotApplicable;
    no_key_pinned_in_ae: Row::KeyPinned, ae => NotApplicable;
    no_key_pinned_in_aead: Row::KeyPinned, aead => NotApplicable;
    key_substituted_after_pinning_is_stopped: Row::KeyPinned, signed => Stopped;

    room_replay_succeeds_on_plain: Row::RoomReplay, plain => Succeeds;
    room_replay_succeeds_on_guarded: Row::RoomReplay, guarded => Succeeds;
    room_replay_succeeds_despite_ae: Row::RoomReplay, ae => Succeeds;
    room_replay_is_stopped_by_aead: Row::RoomReplay, aead => Stopped;
    room_replay_is_stopped_by_signed: Row::RoomReplay, signed => Stopped;

    stale_token_means_nothing_in_clear: Row::StaleToken, plain => NotApplicable;
    stale_token_means_nothing_in_clear_guarded: Row::StaleToken, guarded => NotApplicable;
    stale_token_is_accepted_by_ae: Row::StaleToken, ae => Succeeds;
    stale_token_is_stopped_by_aead: Row::StaleToken, aead => Stopped;
    stale_token_is_stopped_by_signed: Row::StaleToken, signed => Stopped;

    insider_forges_a_nick_on_plain: FORGE_NICK, plain => Succeeds;
    insider_forging_a_nick_is_stopped_by_the_guard: FORGE_NICK, guarded => Stopped;
    insider_forges_a_nick_despite_ae: FORGE_NICK, ae => Succeeds;
    insider_forges_a_nick_despite_aead: FORGE_NICK, aead => Succeeds;
    insider_forging_a_nick_is_stopped_by_signed: FORGE_NICK, signed => Stopped;

    insider_poisons_a_counter_on_plain: POISON_COUNTER, plain => Succeeds;
    insider_poisoning_is_stopped_by_the_guard: POISON_COUNTER, guarded => Stopped;
    insider_poisons_a_counter_despite_ae: POISON_COUNTER, ae => Succeeds;
    insider_poisons_a_counter_despite_aead: POISON_COUNTER, aead => Succeeds;
    insider_poisoning_is_stopped_by_signed: POISON_COUNTER, signed => Stopped;
}

/// Every cell of the demo has its test above.
#[test]
fn the_table_has_75_cells() {
    assert_eq!(Row::all().len() * Column::all().len(), 75);
}
