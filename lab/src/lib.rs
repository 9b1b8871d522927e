//! The lab tooling of TP unsecured chat, outside the chat's library: what
//! stages whole chats to show and measure them.
//!
//! - [`process`]: the project's binaries as child processes (a server on
//!   free ports, clients driven through stdin, their output read as lines);
//!   the integration tests use it too, so there is one copy;
//! - [`demo`]: `make demo`, every attack against every layer, judged;
//! - [`bench`]: `make bench`, the benchmark of PROTOCOL.md section 7;
//! - [`flood`]: `chat_flood`, a salt flood against a real receiver, measured.

pub mod bench;
pub mod demo;
pub mod flood;
pub mod process;
