//! The lab tooling of TP unsecured chat, outside the chat's library: what
//! stages whole chats to show, measure and test them.
//!
//! - [`stage`]: chats in this process (a server through the library's
//!   `ServerHandle`, clients whose broadcasts arrive as values);
//! - [`process`]: the project's binaries as child processes, for what is
//!   about binaries (the command-line contract, a server's own memory);
//! - [`raw`]: raw connections that speak the JSON-lines wire by hand, read
//!   line by line with a deadline;
//! - [`logbook`]: the servers' log kept in memory, to quote from;
//! - [`scratch`]: throwaway folders;
//! - [`prerequisite`]: what a test does when the machine lacks something
//!   it needs (skipped, or failed under `CI=true`);
//! - [`demo`]: `make demo`, every attack against every layer, judged;
//! - [`bench`](mod@bench): `make bench`, the benchmark of PROTOCOL.md section 7;
//! - [`flood`]: `chat_flood`, a salt flood against a real receiver, measured;
//! - [`steps`]: the lab's steps "to write", which the solution markers, the
//!   student edition and the score board name;
//! - [`edition`]: `make student-edition`, the project as a Rust class gets
//!   it;
//! - [`grade`]: `make grade`, the score board of the steps, and the judge
//!   of the Python lab's scripts.
//!
//! The integration tests use `stage`, `process`, `raw`, `scratch` and
//! `prerequisite` too, so each exists once.

pub mod bench;
pub mod demo;
pub mod edition;
pub mod flood;
pub mod grade;
pub mod logbook;
pub mod prerequisite;
pub mod process;
pub mod raw;
pub mod scratch;
pub mod stage;
pub mod steps;
