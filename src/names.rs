//! Random readable nicks, like the Docker-style names the Python original
//! generated: an adjective and a pioneer of cryptography or computing.

use rand::Rng;
use rand::seq::IndexedRandom;

const ADJECTIVES: &[&str] = &[
    "admiring", "bold", "brave", "calm", "clever", "curious", "dazzling", "eager", "elated",
    "fearless", "festive", "gentle", "happy", "hopeful", "jolly", "keen", "kind", "lucid",
    "modest", "nimble", "patient", "quirky", "relaxed", "serene", "sharp", "stoic", "sunny",
    "tender", "upbeat", "vibrant", "witty", "zealous",
];

const PIONEERS: &[&str] = &[
    "adleman",
    "alberti",
    "babbage",
    "boneh",
    "diffie",
    "driscoll",
    "feistel",
    "friedman",
    "goldwasser",
    "hamming",
    "hellman",
    "hopper",
    "kerckhoffs",
    "knuth",
    "koblitz",
    "lamport",
    "lovelace",
    "merkle",
    "micali",
    "rabin",
    "rejewski",
    "rivest",
    "rozycki",
    "shamir",
    "shannon",
    "turing",
    "vernam",
    "vigenere",
    "yao",
    "zygalski",
];

/// A name such as `keen_lovelace_42`: readable, and unlikely to be taken.
pub fn random_name() -> String {
    let mut rng = rand::rng();
    let adjective = ADJECTIVES.choose(&mut rng).copied().unwrap_or("happy");
    let pioneer = PIONEERS.choose(&mut rng).copied().unwrap_or("turing");
    format!("{adjective}_{pioneer}_{}", rng.random_range(10..100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Nick;

    #[test]
    fn names_are_valid_nicks() {
        for _ in 0..100 {
            let name = random_name();
            assert!(Nick::new(name.as_str()).is_ok(), "{name}");
            assert_eq!(name.split('_').count(), 3);
        }
    }
}
