//! The lab's attacks on the plain chat, as a student's scripts would write
//! them: on the client transport, returning what they achieved (printing it
//! is the command-line app's business, judging it the demo's).
//!
//! - [`simple_bigbrother`]: reads every conversation on the broadcast port;
//! - [`simple_dos`]: evicts a user, or floods the chat with nicks, through
//!   the original's trust model;
//! - [`simple_exploit`]: the pickle payload that ran code on the original,
//!   and other hostile inputs;
//!
//! and two on the encrypted layers:
//!
//! - [`salt_flood`]: junk frames under fresh salts, each costing a receiver
//!   of the lab's key scheme a PBKDF2 run, sent without the password;
//! - [`insider_forge`]: a member who knows the password speaks as another,
//!   and poisons its counters; only the signed layer stops it.

pub mod insider_forge;
pub mod salt_flood;
pub mod simple_bigbrother;
pub mod simple_dos;
pub mod simple_exploit;
