//! Random readable nicks, like the Docker-style names the Python original
//! generated: an adjective and a pioneer of cryptography or computing.

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::wire::Nick;

/// Range of the number that ends each name.
const SUFFIXES: std::ops::Range<u32> = 10..100;

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
    name(adjective, pioneer, rng.random_range(SUFFIXES))
}

/// A random name as a nick. Every name the lists can make is a valid nick
/// (short, no control character: the test below tries them all), so this
/// cannot fail.
pub fn random_nick() -> Nick {
    let name = random_name();
    Nick::new(name).unwrap_or_else(|e| unreachable!("a generated name is not a nick: {e}"))
}

fn name(adjective: &str, pioneer: &str, suffix: u32) -> String {
    format!("{adjective}_{pioneer}_{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_the_lists_can_make_is_a_valid_nick() {
        for adjective in ADJECTIVES {
            for pioneer in PIONEERS {
                for suffix in [SUFFIXES.start, SUFFIXES.end - 1] {
                    let name = name(adjective, pioneer, suffix);
                    assert!(Nick::new(name.as_str()).is_ok(), "{name}");
                }
            }
        }
        assert_eq!(random_nick().as_str().split('_').count(), 3);
    }
}
