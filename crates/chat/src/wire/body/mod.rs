//! How one frame's bytes become the one envelope every frame of the
//! protocol is read into, and how typed frames become bytes: one file per
//! serialisation (`json`, `pickle`, `msgpack`). A body knows nothing of how
//! its frame was delimited; which framing carries which bodies is the
//! codec's business ([`Codec`](crate::wire::Codec)).
//!
//! Each reader bounds what a peer's bytes may cost before serde builds
//! anything from them (nesting, announced lengths, copies), so a new body
//! comes with its own pre-scan, or with a parser that needs none.

mod flat_json;
pub mod json;
pub mod msgpack;
pub mod pickle;

/// Deepest nesting of arrays and objects accepted anywhere in a request. The
/// protocol needs 3; the limit keeps frames that would exhaust another
/// parser's recursion (Python's `json` among them) off the broadcast port.
pub const MAX_NESTING: usize = 32;
