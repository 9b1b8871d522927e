//! The AE step's reference: tokens made once by Python's `cryptography`,
//! as the lab's AEClient makes them (`classroom/vectors/ae.json`, made by
//! `classroom/vectors/make_vectors.py`). Built into the board, so it judges
//! wherever it is copied.

use anyhow::{Context, Result};
use serde::Deserialize;

/// The vectors, as committed.
const AE_VECTORS: &str = include_str!("../../../../classroom/vectors/ae.json");

/// The vectors of the AE step.
#[derive(Debug, Deserialize)]
pub struct AeVectors {
    pub iterations: u32,
    pub password: String,
    /// Tokens under `password`, each with its own salt.
    pub tokens: Vec<Sealed>,
    /// A token under another password, which `password` must not open.
    pub other_password: Sealed,
}

/// One message as Python sealed it.
#[derive(Debug, Deserialize)]
pub struct Sealed {
    /// Standard base64, as in the frame.
    pub salt: String,
    /// The Fernet key PBKDF2 gave for that salt (URL-safe base64).
    pub key: String,
    pub message: String,
    pub token: String,
}

impl AeVectors {
    pub fn load() -> Result<Self> {
        serde_json::from_str(AE_VECTORS).context("classroom/vectors/ae.json does not read")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vectors_read_and_hold_several_salts() {
        let vectors = AeVectors::load().unwrap();
        assert_eq!(vectors.iterations, 100);
        assert!(vectors.tokens.len() >= 2);
        let salts: std::collections::BTreeSet<&str> =
            vectors.tokens.iter().map(|t| t.salt.as_str()).collect();
        assert_eq!(salts.len(), vectors.tokens.len());
        assert_ne!(vectors.password, vectors.other_password.message);
    }
}
