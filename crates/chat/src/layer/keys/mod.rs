//! Keys: the password and what is derived from it. The lab's scheme under
//! the original's names ([`crypto`]: PBKDF2 then Fernet), the password and
//! raw keys that never print and are wiped on drop (`secret`), the two key
//! schedules of `--kdf` (`kdf`), and a receiver's keys by salt with the
//! budget that rations the expensive ones (`key_cache`, `budget`).

pub(crate) mod budget;
pub mod crypto;
pub(crate) mod kdf;
pub(crate) mod key_cache;
pub(crate) mod secret;
