//! The pre-scan: one pass over a pickle's opcodes that simulates the
//! unpickler's stack without building anything, so that a pickle is judged
//! by what it would build before serde-pickle builds it. Each value on the
//! simulated stack is only its kind, its depth and what a copy of it costs.

use std::collections::HashMap;

use super::opcode::{Arg, Effect, opcode};
use super::{FORMAT, malformed, refused};
use crate::wire::body::MAX_NESTING;
use crate::wire::frame::FrameError;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::body::pickle::tests::JOIN_V4;

    fn reason(body: &[u8]) -> String {
        check(body).unwrap_err().to_string()
    }

    #[test]
    fn refuses_the_exploit_and_names_what_it_imports() {
        let exploit = crate::attack::simple_exploit::pickle_payload("touch /tmp/x").unwrap();
        let why = reason(&exploit);
        assert!(why.contains("STACK_GLOBAL"), "{why}");
        assert!(why.contains("posix.system"), "{why}");
        assert!(why.contains("nothing is run"), "{why}");
        // BEGIN SOLUTION ITEMS (step 3: the payload in protocol 0)
        assert!(
            reason(b"cposix\nsystem\n(S'ls'\ntR.")
                .contains("GLOBAL at byte 0 imports a callable (posix.system)")
        );
        // END SOLUTION ITEMS
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
    }
}
