//! The opcode table the pre-scan runs on: every opcode of pickle protocols
//! 0 to 5, allowed or not, with the layout of its argument and what it does
//! to the stack. One table, so that what is refused, and why, reads at a
//! glance, and an opcode a future Python adds is refused until listed.

use super::Kind;

/// How an opcode's argument is laid out after it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Arg {
    None,
    Fixed(usize),
    /// Text up to the next `\n`.
    Line,
    /// Data announced by a little-endian length of 1, 4 or 8 bytes.
    Counted(usize),
}

/// What an opcode does to the stack.
#[derive(Debug, Clone, Copy)]
pub(super) enum Effect {
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
pub(super) fn opcode(op: u8) -> Option<(&'static str, Arg, Effect)> {
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
