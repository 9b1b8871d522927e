//! What the signed layer costs a receiver, message by message, against
//! AEAD: each layer's opener on the same stream from one sender (one salt
//! per session, as `chat_bench --session-salt`), opened one by one and in
//! bursts as the client's receive pipeline opens what queued up
//! (`client::inbox::Verifier`). Prints microseconds per message on one
//! core, sealing included. Bursts cost what single messages cost since
//! every signature is checked on its own, by one rule (docs/PERFORMANCE.md).
//!
//! ```sh
//! cargo run --release --example signature_cost            # 4,096 messages
//! cargo run --release --example signature_cost -- 20000
//! ```

use std::time::Instant;

use chat::Layer;
use chat::layer::{AeSettings, Open, Password, SaltMode, Seal, Verdict};
use chat::wire::{MessageBody, Nick};

const DEFAULT_MESSAGES: usize = 4096;
/// Burst sizes tried: what a receiver finds queued when it falls behind.
const BURSTS: [usize; 4] = [1, 5, 16, 64];

fn main() {
    let messages = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_MESSAGES)
        .max(1);
    let settings = AeSettings {
        salt_mode: SaltMode::PerSession,
        ..AeSettings::new(Password::new("cost"))
    };
    for layer in [Layer::Aead, Layer::Signed] {
        let (stream, sealing) = sealed(layer, &settings, messages);
        print!("{:6}  seal {sealing:5.1} us  open:", layer.to_string());
        for burst in BURSTS {
            let opening = opened(layer, &settings, &stream, burst);
            print!("  burst {burst:2} {opening:5.1} us");
        }
        println!("  (per message)");
    }
}

/// `count` messages from alice, and the microseconds each took to seal.
fn sealed(layer: Layer, settings: &AeSettings, count: usize) -> (Vec<MessageBody<'static>>, f64) {
    let alice = Nick::new("alice").expect("a valid nick");
    let mut sealer = layer.sealer(Some(settings)).expect("a password is given");
    let start = Instant::now();
    let stream = (0..count)
        .map(|i| {
            let body = sealer
                .seal(&alice, &format!("message {i:09} of a stream"))
                .expect("seals");
            sealer.verdict(Verdict::Accepted);
            body
        })
        .collect();
    (stream, per_message(start, count))
}

/// Microseconds per message to open `stream` in bursts of `burst`, every
/// message accepted.
fn opened(layer: Layer, settings: &AeSettings, stream: &[MessageBody<'_>], burst: usize) -> f64 {
    let mut opener = layer.opener(Some(settings)).expect("a password is given");
    let start = Instant::now();
    for chunk in stream.chunks(burst) {
        let frames: Vec<(&str, &MessageBody<'_>)> = chunk.iter().map(|b| ("alice", b)).collect();
        let accepted = opener.open_all(&frames).iter().all(Result::is_ok);
        assert!(accepted, "every message opens");
    }
    per_message(start, stream.len())
}

fn per_message(start: Instant, count: usize) -> f64 {
    start.elapsed().as_secs_f64() * 1e6 / count as f64
}
