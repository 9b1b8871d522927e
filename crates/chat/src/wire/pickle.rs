//! Pickle, the Python original's serialisation, read without running it.
//!
//! Unpickling is not parsing: it runs a stack machine whose opcodes may
//! import any callable (`GLOBAL`, `STACK_GLOBAL`) and call it (`REDUCE`,
//! `INST`, `OBJ`, `NEWOBJ`, `BUILD`). serde-pickle calls nothing, but it was
//! made for trusted pickles: it follows nesting by recursion (a pickle nested
//! 100,000 deep overflows a thread's stack), copies a memoised value for every
//! reference to it (a few kilobytes of references can expand to gigabytes),
//! and keeps an unknown global as an opaque value instead of refusing it.
//! So every body is first checked by [`check`], one pass over its opcodes
//! that simulates the stack without building anything:
//! - only the opcodes that build plain data pass (the table in `opcode`); the others
//!   get a `ko` that names them;
//! - nesting is capped at [`MAX_NESTING`] levels;
//! - a memo reference may copy a string or a number, never a list or a dict
//!   (a shared or recursive structure), and copies add up to at most
//!   [`MAX_COPIED`] bytes;
//! - every announced length fits in the bytes that remain.
//!
//! What passes decodes, in serde-pickle and in Python's `pickle.loads`
//! alike, to dicts, lists, tuples, strings, bytes, numbers, booleans and
//! None; what a server relays is re-encoded from that data
//! ([`Codec::relayed`](super::Codec::relayed)).

use std::collections::HashMap;
use std::io::Cursor;

use serde::{Deserialize, Serialize};

use super::frame::{Envelope, FrameError};
pub use super::json::MAX_NESTING;

const FORMAT: &str = "pickle";

/// Most bytes that memo references may copy in one body, all together.
pub const MAX_COPIED: usize = 64 * 1024;

/// Most digits of an integer written as text (`INT`, `LONG`): Python's own
/// limit for `int(str)` (CVE-2020-10735: the conversion is quadratic).
pub const MAX_DIGITS: usize = 4300;

/// Highest pickle protocol (Python 3.8 added 5).
const HIGHEST_PROTOCOL: u8 = 5;

/// What a value on the simulated stack is, as far as the limits care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Text,
    Tuple,
    List,
    Dict,
}

impl Kind {
    fn is_container(self) -> bool {
        matches!(self, Self::Tuple | Self::List | Self::Dict)
    }
}

/// A value on the simulated stack.
#[derive(Debug, Clone, Copy)]
struct Item {
    kind: Kind,
    /// Containers around the deepest value inside (0 for a scalar).
    depth: usize,
    /// Bytes a copy of it costs (its data for strings and bytes).
    size: usize,
    /// Where a text's bytes lie in the body, to name a refused global.
    span: (usize, usize),
}

impl Item {
    fn scalar(size: usize) -> Self {
        Self {
            kind: Kind::Scalar,
            depth: 0,
            size: size.max(1),
            span: (0, 0),
        }
    }

    fn container(kind: Kind, children: &[Item]) -> Self {
        let deepest = children.iter().map(|c| c.depth).max().unwrap_or(0);
        Self {
            kind,
            depth: deepest + 1,
            size: 1,
            span: (0, 0),
        }
    }
}

/// How an opcode's argument is laid out after it.
#[derive(Debug, Clone, Copy)]
enum Arg {
    None,
    Fixed(usize),
    /// Text up to the next `\n`.
    Line,
    /// Data announced by a little-endian length of 1, 4 or 8 bytes.
    Counted(usize),
}

/// What an opcode does to the stack.
#[derive(Debug, Clone, Copy)]
enum Effect {
    Proto,
    Frame,
    Stop,
    Mark,
    Pop,
    PopMark,
    Memoize,
    Put,
    Get,
    /// Pushes a number, None or a boolean.
    Scalar,
    /// Pushes a string or bytes (its argument).
    Text,
    Empty(Kind),
    /// Builds a tuple from this many items.
    TupleOf(usize),
    /// Builds a container from the items above the mark.
    Collect(Kind),
    /// Adds this many items (1 or 2) to the list or dict below them.
    Add(Kind, usize),
    /// Adds the items above the mark to the list or dict below it.
    AddMarked(Kind),
    /// Not allowed, and why.
    Refused(&'static str),
}

const IMPORTS: &str = "imports a callable";
const CALLS: &str = "calls a callable";
const INSTANTIATES: &str = "builds an instance of a class";
const NOT_DATA: &str = "refers to objects outside the pickle";
const NO_SETS: &str = "builds a set, which no frame of the protocol holds";

/// The name, argument and effect of an opcode; `None` if pickle has no such
/// opcode. Every opcode of protocols 0 to 5 is listed, allowed or not.
fn opcode(op: u8) -> Option<(&'static str, Arg, Effect)> {
    use Arg::{Counted, Fixed, Line};
    use Effect::*;
    Some(match op {
        0x80 => ("PROTO", Fixed(1), Proto),
        0x95 => ("FRAME", Fixed(8), Frame),
        b'.' => ("STOP", Arg::None, Stop),
        b'(' => ("MARK", Arg::None, Mark),
        b'0' => ("POP", Arg::None, Pop),
        b'1' => ("POP_MARK", Arg::None, PopMark),
        b'2' => ("DUP", Arg::None, Refused("copies a value without a bound")),
        0x94 => ("MEMOIZE", Arg::None, Memoize),
        b'p' => ("PUT", Line, Put),
        b'q' => ("BINPUT", Fixed(1), Put),
        b'r' => ("LONG_BINPUT", Fixed(4), Put),
        b'g' => ("GET", Line, Get),
        b'h' => ("BINGET", Fixed(1), Get),
        b'j' => ("LONG_BINGET", Fixed(4), Get),
        b'N' => ("NONE", Arg::None, Scalar),
        0x88 => ("NEWTRUE", Arg::None, Scalar),
        0x89 => ("NEWFALSE", Arg::None, Scalar),
        b'I' => ("INT", Line, Scalar),
        b'J' => ("BININT", Fixed(4), Scalar),
        b'K' => ("BININT1", Fixed(1), Scalar),
        b'M' => ("BININT2", Fixed(2), Scalar),
        b'L' => ("LONG", Line, Scalar),
        0x8a => ("LONG1", Counted(1), Scalar),
        0x8b => ("LONG4", Counted(4), Scalar),
        b'F' => ("FLOAT", Line, Scalar),
        b'G' => ("BINFLOAT", Fixed(8), Scalar),
        b'S' => ("STRING", Line, Text),
        b'T' => ("BINSTRING", Counted(4), Text),
        b'U' => ("SHORT_BINSTRING", Counted(1), Text),
        b'V' => ("UNICODE", Line, Text),
        b'X' => ("BINUNICODE", Counted(4), Text),
        0x8c => ("SHORT_BINUNICODE", Counted(1), Text),
        0x8d => ("BINUNICODE8", Counted(8), Text),
        b'B' => ("BINBYTES", Counted(4), Text),
        b'C' => ("SHORT_BINBYTES", Counted(1), Text),
        0x8e => ("BINBYTES8", Counted(8), Text),
        0x96 => ("BYTEARRAY8", Counted(8), Text),
        b')' => ("EMPTY_TUPLE", Arg::None, Empty(Kind::Tuple)),
        0x85 => ("TUPLE1", Arg::None, TupleOf(1)),
        0x86 => ("TUPLE2", Arg::None, TupleOf(2)),
        0x87 => ("TUPLE3", Arg::None, TupleOf(3)),
        b't' => ("TUPLE", Arg::None, Collect(Kind::Tuple)),
        b']' => ("EMPTY_LIST", Arg::None, Empty(Kind::List)),
        b'l' => ("LIST", Arg::None, Collect(Kind::List)),
        b'a' => ("APPEND", Arg::None, Add(Kind::List, 1)),
        b'e' => ("APPENDS", Arg::None, AddMarked(Kind::List)),
        b'}' => ("EMPTY_DICT", Arg::None, Empty(Kind::Dict)),
        b'd' => ("DICT", Arg::None, Collect(Kind::Dict)),
        b's' => ("SETITEM", Arg::None, Add(Kind::Dict, 2)),
        b'u' => ("SETITEMS", Arg::None, AddMarked(Kind::Dict)),
        0x8f => ("EMPTY_SET", Arg::None, Refused(NO_SETS)),
        0x90 => ("ADDITEMS", Arg::None, Refused(NO_SETS)),
        0x91 => ("FROZENSET", Arg::None, Refused(NO_SETS)),
        b'c' => ("GLOBAL", Line, Refused(IMPORTS)),
        0x93 => ("STACK_GLOBAL", Arg::None, Refused(IMPORTS)),
        b'R' => ("REDUCE", Arg::None, Refused(CALLS)),
        b'b' => ("BUILD", Arg::None, Refused(CALLS)),
        b'i' => ("INST", Line, Refused(INSTANTIATES)),
        b'o' => ("OBJ", Arg::None, Refused(INSTANTIATES)),
        0x81 => ("NEWOBJ", Arg::None, Refused(INSTANTIATES)),
        0x92 => ("NEWOBJ_EX", Arg::None, Refused(INSTANTIATES)),
        b'P' => ("PERSID", Line, Refused(NOT_DATA)),
        b'Q' => ("BINPERSID", Arg::None, Refused(NOT_DATA)),
        0x82 => ("EXT1", Fixed(1), Refused(NOT_DATA)),
        0x83 => ("EXT2", Fixed(2), Refused(NOT_DATA)),
        0x84 => ("EXT4", Fixed(4), Refused(NOT_DATA)),
        0x97 => ("NEXT_BUFFER", Arg::None, Refused(NOT_DATA)),
        0x98 => ("READONLY_BUFFER", Arg::None, Refused(NOT_DATA)),
        _ => return None,
    })
}

/// What [`check`] found: where the pickle ends (just past `STOP`; Python
/// ignores what follows, and so do we) and what the whole value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub end: usize,
    pub top: Kind,
}

/// Checks that `body` is a pickle of plain data within the limits, without
/// building it (see the module's documentation).
pub fn check(body: &[u8]) -> Result<Checked, FrameError> {
    Machine::new(body).run()
}

/// The simulated unpickler.
struct Machine<'a> {
    body: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    /// Stack heights at each open MARK.
    marks: Vec<usize>,
    memo: HashMap<u32, Item>,
    copied: usize,
}

/// The current opcode, for error messages.
#[derive(Clone, Copy)]
struct At {
    name: &'static str,
    pos: usize,
}

impl<'a> Machine<'a> {
    fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            pos: 0,
            stack: Vec::with_capacity(16),
            marks: Vec::new(),
            memo: HashMap::new(),
            copied: 0,
        }
    }

    fn run(mut self) -> Result<Checked, FrameError> {
        loop {
            let pos = self.pos;
            let Some(&op) = self.body.get(pos) else {
                return Err(malformed(format!(
                    "truncated: no STOP opcode in {} bytes",
                    self.body.len()
                )));
            };
            let (name, arg, effect) = opcode(op)
                .ok_or_else(|| malformed(format!("unknown opcode 0x{op:02x} at byte {pos}")))?;
            let at = At { name, pos };
            self.pos += 1;
            let data = self.argument(arg, at)?;
            if let Some(top) = self.apply(effect, data, at)? {
                return Ok(Checked { end: self.pos, top });
            }
        }
    }

    /// Reads an opcode's argument; returns where it lies in the body.
    fn argument(&mut self, arg: Arg, at: At) -> Result<(usize, usize), FrameError> {
        let len = match arg {
            Arg::None => 0,
            Arg::Fixed(n) => n,
            Arg::Line => {
                let rest = &self.body[self.pos..];
                let line = memchr::memchr(b'\n', rest).ok_or_else(|| truncated(at, "a line"))?;
                let span = (self.pos, self.pos + line);
                self.pos += line + 1;
                return Ok(span);
            }
            Arg::Counted(width) => self.announced_length(width, at)?,
        };
        let left = self.body.len() - self.pos;
        if len > left {
            return Err(truncated(at, &format!("{len} bytes, {left} remain")));
        }
        let span = (self.pos, self.pos + len);
        self.pos += len;
        Ok(span)
    }

    /// Reads a little-endian length of `width` bytes, checking that what it
    /// announces is there before anything is made of it.
    fn announced_length(&mut self, width: usize, at: At) -> Result<usize, FrameError> {
        let bytes = self
            .body
            .get(self.pos..self.pos + width)
            .ok_or_else(|| truncated(at, "its length"))?;
        let mut le = [0u8; 8];
        le[..width].copy_from_slice(bytes);
        let announced = u64::from_le_bytes(le);
        self.pos += width;
        let left = self.body.len() - self.pos;
        match usize::try_from(announced) {
            Ok(len) if len <= left => Ok(len),
            _ => Err(truncated(at, &format!("{announced} bytes, {left} remain"))),
        }
    }

    /// Applies one opcode; `Some(kind)` once `STOP` ends the pickle.
    fn apply(
        &mut self,
        effect: Effect,
        data: (usize, usize),
        at: At,
    ) -> Result<Option<Kind>, FrameError> {
        match effect {
            Effect::Proto => self.check_protocol(data)?,
            Effect::Frame | Effect::Put | Effect::Memoize => self.memoize(effect, data, at)?,
            Effect::Stop => return self.top(at).map(|top| Some(top.kind)),
            Effect::Mark => self.marks.push(self.stack.len()),
            Effect::Pop => self.pop_one(at)?,
            Effect::PopMark => drop(self.pop_mark(at)?),
            Effect::Get => self.get(data, at)?,
            Effect::Scalar => {
                check_digits(&self.body[data.0..data.1], at)?;
                self.stack.push(Item::scalar(data.1 - data.0));
            }
            Effect::Text => self.stack.push(Item {
                kind: Kind::Text,
                span: data,
                ..Item::scalar(data.1 - data.0)
            }),
            Effect::Empty(kind) => self.stack.push(Item::container(kind, &[])),
            Effect::TupleOf(n) => {
                let items = self.pop_n(n, at)?;
                self.push_container(Kind::Tuple, &items)?;
            }
            Effect::Collect(kind) => {
                let items = self.pop_mark(at)?;
                self.push_container(kind, &items)?;
            }
            Effect::Add(kind, n) => {
                let items = self.pop_n(n, at)?;
                self.add_to_top(kind, &items, at)?;
            }
            Effect::AddMarked(kind) => {
                let items = self.pop_mark(at)?;
                self.add_to_top(kind, &items, at)?;
            }
            Effect::Refused(why) => return Err(self.refuse(at, why)),
        }
        Ok(None)
    }

    fn check_protocol(&self, data: (usize, usize)) -> Result<(), FrameError> {
        let version = self.body[data.0];
        if version > HIGHEST_PROTOCOL {
            return Err(malformed(format!(
                "unsupported pickle protocol {version} (0 to {HIGHEST_PROTOCOL})"
            )));
        }
        Ok(())
    }

    /// `FRAME` only announces a length (checked by [`Self::argument`]);
    /// `PUT`, `BINPUT`, `LONG_BINPUT` and `MEMOIZE` store the top.
    fn memoize(&mut self, effect: Effect, data: (usize, usize), at: At) -> Result<(), FrameError> {
        if let Effect::Frame = effect {
            return Ok(());
        }
        let top = self.top(at)?;
        let id = match effect {
            Effect::Memoize => u32::try_from(self.memo.len()).unwrap_or(u32::MAX),
            _ => self.memo_id(data, at)?,
        };
        self.memo.insert(id, top);
        Ok(())
    }

    /// Pushes a copy of a memoised value: a scalar, within the copy budget.
    fn get(&mut self, data: (usize, usize), at: At) -> Result<(), FrameError> {
        let id = self.memo_id(data, at)?;
        let item = *self.memo.get(&id).ok_or_else(|| {
            malformed(format!(
                "{} at byte {} refers to memo slot {id}, never stored",
                at.name, at.pos
            ))
        })?;
        if item.kind.is_container() {
            return Err(refused(format!(
                "{} at byte {} refers back to a list, tuple or dict (a shared or recursive structure)",
                at.name, at.pos
            )));
        }
        self.copied += item.size;
        if self.copied > MAX_COPIED {
            return Err(refused(format!(
                "memo references copy more than {MAX_COPIED} bytes"
            )));
        }
        self.stack.push(item);
        Ok(())
    }

    /// A memo slot number: a 1- or 4-byte little-endian argument, or a
    /// decimal line (protocol 0).
    fn memo_id(&self, data: (usize, usize), at: At) -> Result<u32, FrameError> {
        let bytes = &self.body[data.0..data.1];
        let id = match at.name {
            "PUT" | "GET" => std::str::from_utf8(bytes)
                .ok()
                .and_then(|text| text.parse().ok()),
            _ => {
                let mut le = [0u8; 4];
                le[..bytes.len()].copy_from_slice(bytes);
                Some(u32::from_le_bytes(le))
            }
        };
        id.ok_or_else(|| malformed(format!("{} at byte {}: bad memo slot", at.name, at.pos)))
    }

    fn push_container(&mut self, kind: Kind, children: &[Item]) -> Result<(), FrameError> {
        let item = Item::container(kind, children);
        check_depth(item.depth)?;
        self.stack.push(item);
        Ok(())
    }

    /// `APPEND`, `APPENDS`, `SETITEM`, `SETITEMS`: the container below the
    /// items takes them, and gets as deep as its deepest child needs.
    fn add_to_top(&mut self, kind: Kind, items: &[Item], at: At) -> Result<(), FrameError> {
        let Some(top) = self.stack.last_mut() else {
            return Err(underflow(at));
        };
        if top.kind != kind {
            return Err(malformed(format!(
                "{} at byte {} adds to a {:?}, not a {kind:?}",
                at.name, at.pos, top.kind
            )));
        }
        let deepest = items.iter().map(|c| c.depth + 1).max().unwrap_or(0);
        top.depth = top.depth.max(deepest);
        check_depth(top.depth)
    }

    fn top(&self, at: At) -> Result<Item, FrameError> {
        self.above_mark()
            .last()
            .copied()
            .ok_or_else(|| underflow(at))
    }

    /// The items above the innermost open mark.
    fn above_mark(&self) -> &[Item] {
        let base = self.marks.last().copied().unwrap_or(0);
        &self.stack[base..]
    }

    /// `POP`: the top item, or the innermost mark if none is above it (as
    /// Python's unpickler does).
    fn pop_one(&mut self, at: At) -> Result<(), FrameError> {
        if self.above_mark().is_empty() {
            return self.pop_mark(at).map(drop);
        }
        self.stack.pop();
        Ok(())
    }

    fn pop_n(&mut self, n: usize, at: At) -> Result<Vec<Item>, FrameError> {
        if self.above_mark().len() < n {
            return Err(underflow(at));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_mark(&mut self, at: At) -> Result<Vec<Item>, FrameError> {
        let base = self.marks.pop().ok_or_else(|| underflow(at))?;
        Ok(self.stack.split_off(base))
    }

    /// Why a refused opcode is refused, naming what a global would import
    /// (the lab's exploit imports `posix.system`).
    fn refuse(&self, at: At, why: &str) -> FrameError {
        let names = match at.name {
            "STACK_GLOBAL" => self.stack_global_names(),
            "GLOBAL" | "INST" => self.inline_global_names(at.pos + 1),
            _ => None,
        };
        let target = names.map_or_else(String::new, |n| format!(" ({n})"));
        refused(format!(
            "opcode {} at byte {} {why}{target}; nothing is run here",
            at.name, at.pos
        ))
    }

    fn stack_global_names(&self) -> Option<String> {
        let [module, name] = self.above_mark().last_chunk::<2>()?;
        let text = |item: &Item| {
            (item.kind == Kind::Text)
                .then(|| String::from_utf8_lossy(&self.body[item.span.0..item.span.1]))
        };
        Some(shorten(&format!("{}.{}", text(module)?, text(name)?)))
    }

    fn inline_global_names(&self, from: usize) -> Option<String> {
        let mut lines = self.body.get(from..)?.splitn(3, |&b| b == b'\n');
        let module = String::from_utf8_lossy(lines.next()?);
        let name = String::from_utf8_lossy(lines.next()?);
        Some(shorten(&format!("{module}.{name}")))
    }
}

/// Longest name shown in a refusal: a `ko` reason stays one short line.
const NAME_SHOWN: usize = 60;

fn shorten(text: &str) -> String {
    let mut shown: String = text.chars().take(NAME_SHOWN).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    shown.escape_debug().to_string()
}

/// Refuses an integer written with more digits than Python itself reads.
fn check_digits(text: &[u8], at: At) -> Result<(), FrameError> {
    if !matches!(at.name, "INT" | "LONG") {
        return Ok(());
    }
    let digits = text.iter().filter(|b| b.is_ascii_digit()).count();
    if digits > MAX_DIGITS {
        return Err(refused(format!(
            "{} at byte {} has {digits} digits, over {MAX_DIGITS}",
            at.name, at.pos
        )));
    }
    Ok(())
}

fn check_depth(depth: usize) -> Result<(), FrameError> {
    if depth > MAX_NESTING {
        return Err(FrameError::TooDeep {
            format: FORMAT,
            limit: MAX_NESTING,
        });
    }
    Ok(())
}

fn malformed(reason: String) -> FrameError {
    FrameError::Malformed {
        format: FORMAT,
        reason,
    }
}

fn refused(reason: String) -> FrameError {
    FrameError::Refused {
        format: FORMAT,
        reason,
    }
}

fn truncated(at: At, wanted: &str) -> FrameError {
    malformed(format!(
        "truncated: {} at byte {} announces {wanted}",
        at.name, at.pos
    ))
}

fn underflow(at: At) -> FrameError {
    malformed(format!(
        "{} at byte {} finds too few items on the stack",
        at.name, at.pos
    ))
}

/// Checks `body`, then decodes what the check let through: the pickle part
/// of it, which must be a dict.
fn checked_dict(body: &[u8]) -> Result<&[u8], FrameError> {
    let checked = check(body)?;
    if checked.top != Kind::Dict {
        return Err(FrameError::NotAnObject("pickled dict"));
    }
    Ok(&body[..checked.end])
}

/// Reads any frame of the protocol, checked first (see [`check`]).
pub(super) fn envelope(body: &[u8]) -> Result<Envelope<'static>, FrameError> {
    decode(checked_dict(body)?)
}

/// serde-pickle hands out owned strings only, so what it decodes borrows
/// nothing and may live as long as wanted.
fn decode<T: Deserialize<'static>>(pickle: &[u8]) -> Result<T, FrameError> {
    serde_pickle::from_slice(pickle, serde_pickle::DeOptions::new()).map_err(serde_error)
}

fn serde_error(e: serde_pickle::Error) -> FrameError {
    match e {
        serde_pickle::Error::Syntax(serde_pickle::ErrorCode::Structure(reason)) => {
            FrameError::BadField(reason)
        }
        other => malformed(other.to_string()),
    }
}

/// Appends a frame's pickle to `out` (protocol 3, readable by every Python 3).
pub fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Our own frames are maps of strings, lists and strings: nothing that
    // pickling can fail on.
    if let Err(e) = serialize(out, |ser| value.serialize(ser).map_err(|e| e.to_string())) {
        log::error!("cannot pickle a frame: {e}");
    }
}

/// The pickle deserializer for a checked dict, to transcode from.
pub fn with_deserializer<T>(
    body: &[u8],
    use_it: impl FnOnce(&mut serde_pickle::Deserializer<Cursor<&[u8]>>) -> Result<T, String>,
) -> Result<T, FrameError> {
    let pickle = checked_dict(body)?;
    let mut de =
        serde_pickle::Deserializer::new(Cursor::new(pickle), serde_pickle::DeOptions::new());
    use_it(&mut de).map_err(malformed)
}

/// Writes one pickle into `out`: the protocol (3, which every Python 3
/// reads), what `write` serialises, and `STOP`. On error, `out` is left as
/// it was.
pub fn serialize(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut serde_pickle::Serializer<&mut Vec<u8>>) -> Result<(), String>,
) -> Result<(), String> {
    const PROTOCOL_3: [u8; 2] = [0x80, 3];
    let start = out.len();
    out.extend_from_slice(&PROTOCOL_3);
    let written = write(&mut serde_pickle::Serializer::new(
        &mut *out,
        serde_pickle::SerOptions::new(),
    ));
    match written {
        Ok(()) => {
            out.push(b'.');
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Request;

    /// A request read as pickle, whatever its first bytes look like.
    fn decode_request(body: &[u8]) -> Result<Request<'_>, FrameError> {
        Request::from_envelope(envelope(body)?)
    }
    use crate::wire::MessageBody;

    /// `pickle.dumps({"type": "join", "nick": "alice"}, protocol=4)`.
    const JOIN_V4: &[u8] = b"\x80\x04\x95\"\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04type\x94\x8c\x04join\x94\x8c\x04nick\x94\x8c\x05alice\x94u.";
    /// The same, protocol 0.
    const JOIN_V0: &[u8] = b"(dp0\nVtype\np1\nVjoin\np2\nsVnick\np3\nValice\np4\ns.";

    /// `pickle.dumps` of a sealed message, protocols 0 to 5 (Python 3.11):
    /// memo references to a repeated string included.
    const SEALED_ALL_PROTOCOLS: [&[u8]; 6] = [
        b"(dp0\nVtype\np1\nVmessage\np2\nsVnick\np3\nValice\np4\nsg2\n(dp5\nVsalt\np6\nVc2FsdA==\np7\nsVtoken\np8\nVgAAA\np9\nss.",
        b"}q\x00(X\x04\x00\x00\x00typeq\x01X\x07\x00\x00\x00messageq\x02X\x04\x00\x00\x00nickq\x03X\x05\x00\x00\x00aliceq\x04h\x02}q\x05(X\x04\x00\x00\x00saltq\x06X\x08\x00\x00\x00c2FsdA==q\x07X\x05\x00\x00\x00tokenq\x08X\x04\x00\x00\x00gAAAq\x09uu.",
        b"\x80\x02}q\x00(X\x04\x00\x00\x00typeq\x01X\x07\x00\x00\x00messageq\x02X\x04\x00\x00\x00nickq\x03X\x05\x00\x00\x00aliceq\x04h\x02}q\x05(X\x04\x00\x00\x00saltq\x06X\x08\x00\x00\x00c2FsdA==q\x07X\x05\x00\x00\x00tokenq\x08X\x04\x00\x00\x00gAAAq\x09uu.",
        b"\x80\x03}q\x00(X\x04\x00\x00\x00typeq\x01X\x07\x00\x00\x00messageq\x02X\x04\x00\x00\x00nickq\x03X\x05\x00\x00\x00aliceq\x04h\x02}q\x05(X\x04\x00\x00\x00saltq\x06X\x08\x00\x00\x00c2FsdA==q\x07X\x05\x00\x00\x00tokenq\x08X\x04\x00\x00\x00gAAAq\x09uu.",
        b"\x80\x04\x95L\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04type\x94\x8c\x07message\x94\x8c\x04nick\x94\x8c\x05alice\x94h\x02}\x94(\x8c\x04salt\x94\x8c\x08c2FsdA==\x94\x8c\x05token\x94\x8c\x04gAAA\x94uu.",
        b"\x80\x05\x95L\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04type\x94\x8c\x07message\x94\x8c\x04nick\x94\x8c\x05alice\x94h\x02}\x94(\x8c\x04salt\x94\x8c\x08c2FsdA==\x94\x8c\x05token\x94\x8c\x04gAAA\x94uu.",
    ];

    #[test]
    fn reads_every_protocol_python_writes() {
        for body in SEALED_ALL_PROTOCOLS {
            let Ok(Request::Message {
                nick,
                body: MessageBody::Sealed(sealed),
            }) = decode_request(body)
            else {
                panic!("{body:?}");
            };
            assert_eq!(
                (nick.as_str(), sealed.salt.as_ref(), sealed.token.as_ref()),
                ("alice", "c2FsdA==", "gAAA")
            );
        }
    }

    fn reason(body: &[u8]) -> String {
        check(body).unwrap_err().to_string()
    }

    #[test]
    fn reads_python_pickles_of_any_protocol() {
        for body in [JOIN_V4, JOIN_V0] {
            assert_eq!(check(body).unwrap().top, Kind::Dict);
            let request = decode_request(body).unwrap();
            assert!(matches!(request, Request::Join { nick, .. } if nick.as_str() == "alice"));
        }
    }

    #[test]
    fn refuses_the_exploit_and_names_what_it_imports() {
        let exploit = crate::attack::simple_exploit::pickle_payload("touch /tmp/x").unwrap();
        let why = reason(&exploit);
        assert!(why.contains("STACK_GLOBAL"), "{why}");
        assert!(why.contains("posix.system"), "{why}");
        assert!(why.contains("nothing is run"), "{why}");
        assert!(
            reason(b"cposix\nsystem\n(S'ls'\ntR.")
                .contains("GLOBAL at byte 0 imports a callable (posix.system)")
        );
    }

    #[test]
    fn bounds_nesting_lengths_and_copies() {
        let deep = [vec![b']'; 100_000], vec![b'a'; 99_999], vec![b'.']].concat();
        assert!(matches!(
            check(&deep),
            Err(FrameError::TooDeep { limit: 32, .. })
        ));
        let marks = [vec![b'('; 40], vec![b'l'; 40], vec![b'.']].concat();
        assert!(matches!(check(&marks), Err(FrameError::TooDeep { .. })));
        assert!(reason(b"X\xff\xff\xff\xff").contains("announces 4294967295 bytes, 0 remain"));
        assert!(
            reason(b"\x8d\xff\xff\xff\xff\xff\xff\xff\xffab")
                .contains("announces 18446744073709551615 bytes")
        );
        assert!(reason(&JOIN_V4[..20]).contains("truncated"));
        let big = [
            &b"\x80\x04X\x00\x80\x00\x00"[..],
            &[b'a'; 32768],
            b"\x94(",
            &b"h\x00".repeat(3),
            b"l.",
        ]
        .concat();
        assert!(reason(&big).contains("copy more than"));
        let long = [&b"L"[..], &[b'9'; MAX_DIGITS + 1], b"L\n."].concat();
        assert!(reason(&long).contains("4301 digits, over 4300"));
        let shared = b"]\x94(h\x00h\x00l.";
        assert!(reason(shared).contains("refers back to a list"));
        assert!(reason(b"]\x94h\x00a.").contains("refers back"), "recursive");
    }

    #[test]
    fn every_refusal_is_one_short_line() {
        for body in [
            &b"\x80\x06."[..],
            b"\xff",
            b"a.",
            b"(t",
            b"h\x05.",
            b"\x8f.",
            b"N}s.",
            b"NN\x93",
        ] {
            let why = reason(body);
            assert!(!why.contains('\n') && why.len() < 200, "{why}");
        }
        assert!(matches!(
            decode_request(b"]."),
            Err(FrameError::NotAnObject(_))
        ));
    }

    #[test]
    fn transcodes_to_plain_pickle() {
        let mut out = Vec::new();
        with_deserializer(JOIN_V0, |de| {
            serialize(&mut out, |ser| {
                serde_transcode::transcode(de, ser).map_err(|e| e.to_string())
            })
        })
        .unwrap();
        assert_eq!(
            decode_request(&out).unwrap(),
            decode_request(JOIN_V4).unwrap()
        );
        assert!(check(&out).is_ok());
    }
}
