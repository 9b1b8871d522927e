//! The attack/defence table of `make demo`, one test per cell, through the
//! real binaries: each attack of the lab against each layer, observed from
//! what the victims see, must match the lab's expected outcome.

use std::path::PathBuf;

use chat_lab::demo::{self, Attack, Layer, Outcome};
use chat_lab::process::Binaries;

/// The directory cargo built the binaries in.
fn binaries() -> Binaries {
    let server = PathBuf::from(env!("CARGO_BIN_EXE_simple_server"));
    Binaries::at(server.parent().expect("binaries live in a directory"))
}

fn assert_cell(attack: Attack, layer: Layer) {
    let mut story = Vec::new();
    let observed = demo::play(attack, layer, &binaries(), &mut |line| {
        story.push(line.to_owned())
    });
    let expected = demo::expected(attack, layer);
    assert_eq!(
        observed.as_ref().ok(),
        Some(&expected),
        "{attack} against {layer}: observed {observed:?}, expected {expected}; story:\n{}",
        story.join("\n")
    );
}

macro_rules! cells {
    ($($name:ident: $attack:ident against $layer:ident => $outcome:ident;)*) => {
        $(
            #[test]
            fn $name() {
                assert_eq!(demo::expected(Attack::$attack, Layer::$layer), Outcome::$outcome);
                assert_cell(Attack::$attack, Layer::$layer);
            }
        )*
    };
}

cells! {
    eavesdropping_succeeds_on_plain: Eavesdrop against Plain => Succeeds;
    eavesdropping_succeeds_on_guarded: Eavesdrop against Guarded => Succeeds;
    eavesdropping_is_stopped_by_ae: Eavesdrop against Ae => Stopped;
    eavesdropping_is_stopped_by_aead: Eavesdrop against Aead => Stopped;

    eviction_succeeds_on_plain: Evict against Plain => Succeeds;
    eviction_is_stopped_by_the_guard: Evict against Guarded => Stopped;
    eviction_succeeds_despite_ae: Evict against Ae => Succeeds;
    eviction_succeeds_despite_aead: Evict against Aead => Succeeds;

    flood_succeeds_on_plain: Flood against Plain => Succeeds;
    flood_is_stopped_by_the_guard: Flood against Guarded => Stopped;
    flood_succeeds_despite_ae: Flood against Ae => Succeeds;
    flood_succeeds_despite_aead: Flood against Aead => Succeeds;

    exploit_is_stopped_on_plain: Exploit against Plain => Stopped;
    exploit_is_stopped_on_guarded: Exploit against Guarded => Stopped;
    exploit_is_stopped_on_ae: Exploit against Ae => Stopped;
    exploit_is_stopped_on_aead: Exploit against Aead => Stopped;

    tamper_succeeds_on_plain: Tamper against Plain => Succeeds;
    tamper_succeeds_on_guarded: Tamper against Guarded => Succeeds;
    tamper_is_stopped_by_ae: Tamper against Ae => Stopped;
    tamper_is_stopped_by_aead: Tamper against Aead => Stopped;

    impersonation_succeeds_on_plain: Impersonate against Plain => Succeeds;
    impersonation_succeeds_on_guarded: Impersonate against Guarded => Succeeds;
    impersonation_succeeds_despite_ae: Impersonate against Ae => Succeeds;
    impersonation_is_stopped_by_aead: Impersonate against Aead => Stopped;

    replay_succeeds_on_plain: Replay against Plain => Succeeds;
    replay_succeeds_on_guarded: Replay against Guarded => Succeeds;
    replay_succeeds_despite_ae: Replay against Ae => Succeeds;
    replay_is_stopped_by_aead: Replay against Aead => Stopped;

    drop_is_silent_on_plain: Drop against Plain => Succeeds;
    drop_is_silent_on_guarded: Drop against Guarded => Succeeds;
    drop_is_silent_despite_ae: Drop against Ae => Succeeds;
    drop_is_detected_by_aead: Drop against Aead => Detected;

    stale_token_means_nothing_in_clear: StaleToken against Plain => NotApplicable;
    stale_token_means_nothing_in_clear_guarded: StaleToken against Guarded => NotApplicable;
    stale_token_is_accepted_by_ae: StaleToken against Ae => Succeeds;
    stale_token_is_stopped_by_aead: StaleToken against Aead => Stopped;
}
