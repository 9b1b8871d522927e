//! How cheap offline password guessing is against a captured frame.
//!
//! Anyone who reads one frame on the broadcast port (big brother does) has
//! a salt and a token. Each guess of the password is then one PBKDF2 run
//! and one HMAC: if the token's MAC verifies, the guess is the password.
//! This example makes such a frame under a password it picks, then times
//! guesses on one thread, the right one last, and prints guesses per second
//! per core.
//!
//! ```sh
//! cargo run --release --example offline_guess                # 100 iterations, 200,000 guesses
//! cargo run --release --example offline_guess -- 600000 40   # today's recommended count
//! ```

use std::time::Instant;

use chat::layer::crypto::{self, Password};

/// Iterations and guesses when none are given.
const DEFAULT_ITERATIONS: u32 = 100;
const DEFAULT_GUESSES: u32 = 200_000;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u32>());
    let iterations = args
        .next()
        .and_then(Result::ok)
        .unwrap_or(DEFAULT_ITERATIONS);
    let guesses = args
        .next()
        .and_then(Result::ok)
        .unwrap_or(DEFAULT_GUESSES)
        .max(1);
    let secret = format!("guess-{}", guesses - 1);
    let (salt, token) = crypto::encrypt_message(&Password::new(&*secret), b"hello", iterations)
        .expect("the OS gives randomness");
    let salt = salt.to_base64();

    let started = Instant::now();
    let found = (0..guesses).find_map(|i| {
        let guess = format!("guess-{i}");
        crypto::decrypt_message(&Password::new(&*guess), &token, &salt, iterations)
            .ok()
            .map(|_| guess)
    });
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{iterations} iterations: {guesses} guesses in {elapsed:.2} s on one core = {:.0} guesses/s; found: {}",
        f64::from(guesses) / elapsed,
        found.as_deref() == Some(secret.as_str())
    );
}
