//! `make demo`: the whole lab in one command. Every attack of the lab is
//! played against every layer, in this process, on free loopback ports:
//! servers through the library's `ServerHandle`, clients as the library's
//! `SimpleClient`, attacks as the library's attack functions. Each scene
//! prints the commands a person would run to play it by hand, narrates what
//! happened, and the run ends with the attack/defence table: for each cell
//! the outcome expected, the one observed, and whether they agree.
//!
//! Outcomes are judged from values: what the victims' clients deliver
//! (accepted or rejected messages, warnings), the server's `list`, the
//! attack functions' reports, a file that should not exist. Nothing is read
//! back from printed lines.
//!
//! The table is data: [`TABLE`], one [`Lesson`] per [`Row`] (the type of
//! the table says how many), each with the outcome the lab expects in each
//! [`Column`], or one outcome for a row no layer changes. The demo, its
//! tests and the grade read it. Columns are the layers ([`Layer`]) in a
//! trust model, and a new layer makes every row's list of outcomes one too
//! short: the compiler asks for each. A new row is one arm of [`Row`], its
//! line in [`TABLE`], and its scene, which the compiler asks for too.

mod narration;
mod scene;
mod table;
mod teacher;

use std::any::Any;
use std::fmt;
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};

use chat::server::TrustModel;
use chat::wire::Wire;
use chat::{Layer, Named, named_enum};
use clap::Parser;
use unsecured_chat::flags::choice;

pub use narration::{Binaries, INDENT, PROJECT_BINARIES, Shell, WIDTH, quote, wrap};
use table::summary;
pub use table::{Cell, Verdict, table};

/// Password of the demo's encrypted clients.
pub const PASSWORD: &str = "s3cret";

named_enum! {
    /// A row of the table: one attack of the lab, named as the tests and the
    /// grade name it, titled as the table shows it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Row {
        Eavesdrop = "eavesdrop", "eavesdropping",
        Evict = "evict", "eviction (dos)",
        Flood = "flood", "flood (dos)",
        PickleReader = "pickle-reader", "pickle exploit, pickle-reading server",
        PickleOurs = "pickle-ours", "pickle exploit, our server",
        Tamper = "tamper", "tamper",
        Impersonate = "impersonate", "impersonate",
        Replay = "replay", "replay",
        Drop = "drop", "drop",
        KeyFirstContact = "key-first-contact", "key substituted before first contact",
        KeyPinned = "key-pinned", "key substituted after pinning",
        RoomReplay = "room-replay", "replay into another room",
        StaleToken = "stale-token", "stale token (45 s)",
        ForgeNick = "forge-nick", "insider forges a nick",
        PoisonCounter = "poison-counter", "insider poisons a counter",
    }
}

impl Row {
    /// The row's line of [`TABLE`], which lists the rows in their order
    /// (a test checks it), one per row (its type says so).
    pub fn lesson(self) -> &'static Lesson {
        &TABLE[self as usize]
    }

    /// Its title, as the table shows it.
    pub fn title(self) -> &'static str {
        self.about()
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

named_enum! {
    /// An attack of the lab, as `--only` names it: one row of the table, or
    /// two (the exploit against each kind of server, the key substitution
    /// before and after pinning, the insider's two forgeries).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Attack {
        Eavesdrop = "eavesdrop", "Read every message without joining",
        Evict = "evict", "Send `leave` for someone else's nick",
        Flood = "flood", "Join nicks until the chat is full of ghosts",
        Exploit = "exploit", "The pickle payload, against each deserialiser",
        Tamper = "tamper", "Alter the token (or the text) of every message relayed",
        Impersonate = "impersonate", "Relay every message under another nick",
        Replay = "replay", "Relay every message a second time, later",
        Drop = "drop", "Relay only every other message of each sender",
        SubstituteKey = "substitute-key",
            "Put the server's own key and signature in each signed message (needs the password)",
        RoomReplay = "room-replay", "A frame captured in one chat, sent into another",
        StaleToken = "stale-token", "A message sealed 45 s ago",
        Insider = "insider", "A member who knows the password speaks as another",
    }
}

impl Attack {
    /// Its rows, in the table's order.
    pub fn rows(self) -> impl Iterator<Item = Row> {
        TABLE
            .iter()
            .filter(move |lesson| lesson.attack == self)
            .map(|lesson| lesson.row)
    }
}

/// A column of the table: a layer, and the server's trust model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub layer: Layer,
    pub trust: TrustModel,
}

/// How many columns the table has: each layer in the original's trust
/// model, and the plain layer guarded.
pub const COLUMNS: usize = Layer::ALL.len() + 1;

impl Column {
    /// The plain layer in the original's trust model: where a row that no
    /// layer changes is played.
    pub const PLAIN: Column = Column {
        layer: Layer::Plain,
        trust: TrustModel::Open,
    };

    /// A layer's columns: the layer in the original's trust model, and for
    /// the layer without keys, the same guarded. The guard answers the
    /// denial of service whatever the layer, so one column shows it.
    pub fn of(layer: Layer) -> impl Iterator<Item = Column> {
        let open = Column {
            layer,
            trust: TrustModel::Open,
        };
        let guarded = Column {
            trust: TrustModel::Guarded,
            ..open
        };
        std::iter::once(open).chain((!layer.encrypted()).then_some(guarded))
    }

    /// Every column, in the table's order.
    pub fn all() -> impl Iterator<Item = Column> {
        Self::of_layers(Layer::ALL)
    }

    /// The columns of these layers, in the table's order.
    pub fn of_layers(layers: &[Layer]) -> impl Iterator<Item = Column> + '_ {
        layers.iter().flat_map(|&layer| Self::of(layer))
    }

    /// The flags its servers take.
    pub fn server_flags(self) -> &'static [&'static str] {
        match self.trust {
            TrustModel::Open => &[],
            TrustModel::Guarded => &["--guard"],
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.trust {
            TrustModel::Open => write!(f, "{}", self.layer),
            TrustModel::Guarded => write!(f, "{} --guard", self.layer),
        }
    }
}

/// Where a cell is played: in a column, or once for every layer (a row
/// whose outcome no layer changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Column(Column),
    AnyLayer,
}

impl Place {
    /// The column whose servers and clients play the cell.
    pub fn column(self) -> Column {
        match self {
            Self::Column(column) => column,
            Self::AnyLayer => Column::PLAIN,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Column(column) => column.fmt(f),
            Self::AnyLayer => f.write_str("any layer"),
        }
    }
}

/// What the lab expects of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// An outcome per column, in the order of [`Column::all`].
    Each([Outcome; COLUMNS]),
    /// One outcome whatever the layer: the row is played once.
    AnyLayer(Outcome),
}

/// A row of the table, as data: the one list that the demo plays, its tests
/// check and the grade reads.
#[derive(Debug, Clone, Copy)]
pub struct Lesson {
    pub row: Row,
    /// The `--only` word that plays it.
    pub attack: Attack,
    pub expected: Expected,
    /// What the row shows, in a sentence or two.
    pub teaches: &'static str,
}

impl Lesson {
    /// The row's cells, each with its expected outcome: one per column of
    /// `columns`, or one for every layer.
    pub fn cells(&self, columns: &[Column]) -> Vec<(Place, Outcome)> {
        match self.expected {
            Expected::AnyLayer(outcome) => vec![(Place::AnyLayer, outcome)],
            Expected::Each(outcomes) => Column::all()
                .zip(outcomes)
                .filter(|(column, _)| columns.contains(column))
                .map(|(column, outcome)| (Place::Column(column), outcome))
                .collect(),
        }
    }

    /// What the lab expects in `column`.
    pub fn expected_in(&self, column: Column) -> Option<Outcome> {
        self.cells(&[column]).first().map(|&(_, outcome)| outcome)
    }
}

use Outcome::{Detected, NotApplicable, Stopped, Succeeds};

/// The attack/defence table: every row, in order, with the outcome the lab
/// expects in each column:
///
/// ```text
///                   plain     plain --guard  AE        AEAD      signed
/// ```
pub const TABLE: [Lesson; Row::ALL.len()] = [
    Lesson {
        row: Row::Eavesdrop,
        attack: Attack::Eavesdrop,
        expected: Expected::Each([Succeeds, Succeeds, Stopped, Stopped, Stopped]),
        teaches: "simple_bigbrother reads the broadcast port without joining: whoever reaches the server reads everything not encrypted.",
    },
    Lesson {
        row: Row::Evict,
        attack: Attack::Evict,
        expected: Expected::Each([Succeeds, Stopped, Succeeds, Succeeds, Succeeds]),
        teaches: "In the original's trust model anyone may `leave` any nick: simple_dos --evict throws a user out.",
    },
    Lesson {
        row: Row::Flood,
        attack: Attack::Flood,
        expected: Expected::Each([Succeeds, Stopped, Succeeds, Succeeds, Succeeds]),
        teaches: "simple_dos --flood joins nicks until the server is full of ghosts.",
    },
    Lesson {
        row: Row::PickleReader,
        attack: Attack::Exploit,
        expected: Expected::AnyLayer(Succeeds),
        teaches: "The original unpickled every request, and unpickling runs what the payload names: the command runs wherever pickle reads it, whatever the layer (encryption covers the message, not the server's parser). Python's pickle.load plays that server, in a scratch folder.",
    },
    Lesson {
        row: Row::PickleOurs,
        attack: Attack::Exploit,
        expected: Expected::AnyLayer(Stopped),
        teaches: "Ours parses JSON into typed frames: the same bytes are invalid input, answered ko; nothing runs, and the server goes on serving, whatever the layer.",
    },
    Lesson {
        row: Row::Tamper,
        attack: Attack::Tamper,
        expected: Expected::Each([Succeeds, Succeeds, Stopped, Stopped, Stopped]),
        teaches: "A rogue server alters what it relays.",
    },
    Lesson {
        row: Row::Impersonate,
        attack: Attack::Impersonate,
        expected: Expected::Each([Succeeds, Succeeds, Succeeds, Stopped, Stopped]),
        teaches: "A rogue server relabels a message with another nick: Fernet does not cover the clear nick.",
    },
    Lesson {
        row: Row::Replay,
        attack: Attack::Replay,
        expected: Expected::Each([Succeeds, Succeeds, Succeeds, Stopped, Stopped]),
        teaches: "A rogue server relays a message again later.",
    },
    Lesson {
        row: Row::Drop,
        attack: Attack::Drop,
        expected: Expected::Each([Succeeds, Succeeds, Succeeds, Detected, Detected]),
        teaches: "A rogue server relays only every other message: nobody can prevent it, at best detect it.",
    },
    Lesson {
        row: Row::KeyFirstContact,
        attack: Attack::SubstituteKey,
        expected: Expected::Each([
            NotApplicable,
            NotApplicable,
            NotApplicable,
            NotApplicable,
            Succeeds,
        ]),
        teaches: "A rogue server that knows the password signs each message again with its own key. A receiver that never saw the sender's key cannot tell, and pins the server's (trust on first use).",
    },
    Lesson {
        row: Row::KeyPinned,
        attack: Attack::SubstituteKey,
        expected: Expected::Each([
            NotApplicable,
            NotApplicable,
            NotApplicable,
            NotApplicable,
            Stopped,
        ]),
        teaches: "The same substitution, to a receiver that pinned the sender's key before (an earlier chat, through an honest server): the key changed, and it says so, with both fingerprints. That is why people compare fingerprints once.",
    },
    Lesson {
        row: Row::RoomReplay,
        attack: Attack::RoomReplay,
        expected: Expected::Each([Succeeds, Succeeds, Succeeds, Stopped, Stopped]),
        teaches: "A frame captured in one chat is sent, byte for byte, into another chat that shares the password: nothing in the lab's tokens says which chat they were sealed for. AEAD seals the room (--room).",
    },
    Lesson {
        row: Row::StaleToken,
        attack: Attack::StaleToken,
        expected: Expected::Each([NotApplicable, NotApplicable, Succeeds, Stopped, Stopped]),
        teaches: "The lab's TTL experiment: a sender whose clock is 45 s behind (or an old message replayed).",
    },
    Lesson {
        row: Row::ForgeNick,
        attack: Attack::Insider,
        expected: Expected::Each([Succeeds, Stopped, Succeeds, Succeeds, Stopped]),
        teaches: "A member who knows the password speaks as another: under AEAD it seals the victim's nick with the shared password, as the victim would. Only a key of each member's own stops it (or, through an honest server, the guard: a nick belongs to the connection that joined it).",
    },
    Lesson {
        row: Row::PoisonCounter,
        attack: Attack::Insider,
        expected: Expected::Each([Succeeds, Stopped, Succeeds, Succeeds, Stopped]),
        teaches: "The insider also puts the victim's session and a counter of 2^63 in its forgery: AEAD receivers then take every genuine message of the victim's as late.",
    },
];

/// What became of an attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The attack did what it set out to do.
    Succeeds,
    /// The layer prevented it.
    Stopped,
    /// It happened, but the victim was told.
    Detected,
    /// The attack has no meaning against this layer.
    NotApplicable,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Succeeds => "succeeds",
            Self::Stopped => "stopped",
            Self::Detected => "detected",
            Self::NotApplicable => "n/a",
        })
    }
}

/// What playing a cell showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Outcome(Outcome),
    /// The cell could not be played here, for this reason.
    Skipped(&'static str),
    /// The scene broke down before it could tell.
    Failed(String),
}

impl From<Outcome> for Observed {
    fn from(outcome: Outcome) -> Self {
        Self::Outcome(outcome)
    }
}

/// Plays one cell, telling its story line by line (each within [`WIDTH`]
/// columns) to `narrate`. A step of the lab not written yet (a `todo!` of
/// the student edition) that panics in this thread makes the cell one that
/// could not be played, and the demo goes on with the others.
pub fn play(row: Row, place: Place, wire: Wire, narrate: &mut dyn FnMut(&str)) -> Observed {
    let played = panic::catch_unwind(AssertUnwindSafe(|| {
        scene::play(row, place.column(), wire, narrate)
    }));
    played.unwrap_or_else(|panic| Observed::Failed(format!("it panicked: {}", panic_text(&*panic))))
}

/// What a panic said, when it said it in words.
pub fn panic_text(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        return (*text).to_owned();
    }
    match panic.downcast_ref::<String>() {
        Some(text) => text.clone(),
        None => "(no message)".to_owned(),
    }
}

/// The whole lab in one command: every attack against every layer, judged.
///
/// Plays every attack of the lab (eavesdropping, eviction and flood, the
/// pickle exploit, a rogue server's tamper, impersonate, replay, drop and key
/// substitution, a frame replayed into another room, a stale token, an
/// insider's forgeries) against every layer (plain, plain --guard, AE, AEAD,
/// signed), in process on free local ports, on either wire. Each scene prints
/// the commands that play it
/// by hand and narrates what happened; the run ends with the attack/defence
/// table. Exits non-zero if an observed outcome differs from the expected one.
#[derive(Debug, Parser)]
#[command(name = "chat_demo", version)]
pub struct Flags {
    /// Only the table, without the narration
    #[arg(long)]
    pub quiet: bool,
    /// Play only these attacks (comma-separated, or the flag repeated)
    #[arg(long, value_parser = choice::<Attack>(), value_delimiter = ',', value_name = "ATTACK")]
    pub only: Vec<Attack>,
    /// Play only these layers' columns (plain has two: open and --guard)
    #[arg(long, value_parser = choice::<Layer>(), value_delimiter = ',', value_name = "LAYER")]
    pub layer: Vec<Layer>,
    /// The wire every server, client and tool speaks: JSON lines, or the
    /// Python original's ZeroMQ (pickle and msgpack bodies)
    #[arg(long, value_parser = choice::<Wire>(), default_value = "json")]
    pub wire: Wire,
    /// The teacher's view of every scene's servers (its address on stderr;
    /// the demo starts once it is open, or after a while)
    #[command(flatten)]
    pub dashboard: unsecured_chat::web::DashboardFlags,
    /// Seconds to wait after each scene, for the room to read the view
    #[arg(long, default_value_t = 0.0, value_name = "SECS", value_parser = teacher::seconds)]
    pub pause: f64,
}

impl Flags {
    /// The rows to play, in the table's order.
    pub fn rows(&self) -> Vec<&'static Lesson> {
        let chosen = |lesson: &&Lesson| self.only.is_empty() || self.only.contains(&lesson.attack);
        TABLE.iter().filter(chosen).collect()
    }

    /// The columns to play, in the table's order.
    pub fn columns(&self) -> Vec<Column> {
        let chosen = |column: &Column| self.layer.is_empty() || self.layer.contains(&column.layer);
        Column::all().filter(chosen).collect()
    }
}

const INTRO: &str = "Each scene shows the commands that play it by hand, each in a terminal of its own, opened where the demo runs (they name the binaries by their paths: they are not on PATH); the demo plays them in this process, on free local ports.";

/// Plays the cells `flags` choose, narrated unless `--quiet`, then prints
/// the table and what it says; returns the cells.
pub fn run(flags: &Flags, out: &mut dyn Write) -> io::Result<Vec<Cell>> {
    if !flags.quiet {
        print_lines(out, &wrap(INTRO, "", ""))?;
    }
    let teacher = teacher::View::open(flags)?;
    let columns = flags.columns();
    let mut cells = Vec::new();
    for lesson in flags.rows() {
        if !flags.quiet {
            print_lines(out, &header(lesson))?;
        }
        for (place, expected) in lesson.cells(&columns) {
            teacher.scene(&format!("{} against {place}", lesson.row));
            cells.push(play_cell(lesson.row, place, expected, flags, out)?);
            teacher.pause();
        }
    }
    writeln!(out)?;
    out.write_all(table(&cells).as_bytes())?;
    out.write_all(summary(&cells).as_bytes())?;
    out.flush()?;
    teacher.close();
    Ok(cells)
}

/// The lines that open a row's scenes: a blank line, its title, its lesson.
pub fn header(lesson: &Lesson) -> Vec<String> {
    let mut lines = vec![String::new(), format!("=== {} ===", lesson.row)];
    lines.extend(wrap(lesson.teaches, "", ""));
    lines
}

/// Plays one cell, its story (unless `--quiet`) and its verdict to `out`.
fn play_cell(
    row: Row,
    place: Place,
    expected: Outcome,
    flags: &Flags,
    out: &mut dyn Write,
) -> io::Result<Cell> {
    let quiet = flags.quiet;
    if !quiet {
        writeln!(out, "--- {row} against {place}")?;
    }
    let mut failed = Ok(());
    let mut narrate = |line: &str| {
        if !quiet && failed.is_ok() {
            failed = writeln!(out, "{line}");
        }
    };
    let observed = play(row, place, flags.wire, &mut narrate);
    failed?;
    let cell = Cell {
        row,
        place,
        expected,
        observed,
    };
    if !quiet {
        print_lines(out, &wrap(&verdict_line(&cell), INDENT, "       "))?;
    }
    Ok(cell)
}

fn verdict_line(cell: &Cell) -> String {
    let expected = cell.expected;
    match &cell.observed {
        Observed::Outcome(outcome) if cell.verdict() == Verdict::Agrees => {
            format!("=> {outcome} (expected: {expected}) ok")
        }
        Observed::Outcome(outcome) => format!("=> {outcome} (expected: {expected}) MISMATCH"),
        Observed::Skipped(why) => format!("=> skipped: {why}"),
        Observed::Failed(e) => format!("=> could not be played: {e}"),
    }
}

fn print_lines(out: &mut dyn Write, lines: &[String]) -> io::Result<()> {
    lines.iter().try_for_each(|line| writeln!(out, "{line}"))
}

#[cfg(test)]
mod tests {
    use super::table::ROW_WIDTH;
    use super::*;
    use chat::server::rogue_server::Attack as RogueAttack;

    fn column(layer: Layer, trust: TrustModel) -> Column {
        Column { layer, trust }
    }

    fn expected(row: Row, column: Column) -> Option<Outcome> {
        row.lesson().expected_in(column)
    }

    #[test]
    fn the_table_lists_every_row_once_in_order() {
        let rows: Vec<Row> = TABLE.iter().map(|lesson| lesson.row).collect();
        assert_eq!(rows, Row::ALL);
        for &row in Row::ALL {
            assert_eq!(row.lesson().row, row);
            assert!(row.title().len() <= ROW_WIDTH, "{row}");
        }
    }

    #[test]
    fn every_attack_plays_a_row_and_every_rogue_attack_is_an_attack() {
        for &attack in Attack::ALL {
            assert!(attack.rows().next().is_some(), "{}", attack.name());
        }
        for &rogue in RogueAttack::ALL {
            let attack: Attack = rogue.name().parse().unwrap();
            assert_eq!(attack.about(), rogue.about());
        }
    }

    #[test]
    fn the_columns_are_each_layer_and_the_guard() {
        let columns: Vec<String> = Column::all().map(|c| c.to_string()).collect();
        assert_eq!(columns, ["plain", "plain --guard", "AE", "AEAD", "signed"]);
        assert_eq!(columns.len(), COLUMNS);
    }

    #[test]
    fn only_aead_stops_the_rogue_server_and_only_the_guard_stops_the_dos() {
        let ae = column(Layer::Ae, TrustModel::Open);
        let aead = column(Layer::Aead, TrustModel::Open);
        let guarded = column(Layer::Plain, TrustModel::Guarded);
        assert_eq!(expected(Row::Impersonate, ae), Some(Outcome::Succeeds));
        assert_eq!(expected(Row::Impersonate, aead), Some(Outcome::Stopped));
        assert_eq!(expected(Row::Evict, aead), Some(Outcome::Succeeds));
        assert_eq!(expected(Row::Evict, guarded), Some(Outcome::Stopped));
        assert_eq!(expected(Row::Drop, aead), Some(Outcome::Detected));
        assert_eq!(
            Row::PickleReader.lesson().expected,
            Expected::AnyLayer(Outcome::Succeeds)
        );
        assert_eq!(expected(Row::PickleOurs, ae), Some(Outcome::Stopped));
    }

    #[test]
    fn only_the_signed_layer_stops_the_insider_and_only_after_pinning() {
        let aead = column(Layer::Aead, TrustModel::Open);
        let signed = column(Layer::Signed, TrustModel::Open);
        for forgery in [Row::ForgeNick, Row::PoisonCounter] {
            assert_eq!(expected(forgery, aead), Some(Outcome::Succeeds));
            assert_eq!(expected(forgery, signed), Some(Outcome::Stopped));
        }
        assert_eq!(
            expected(Row::KeyFirstContact, signed),
            Some(Outcome::Succeeds)
        );
        assert_eq!(expected(Row::KeyPinned, signed), Some(Outcome::Stopped));
        assert_eq!(expected(Row::KeyPinned, aead), Some(Outcome::NotApplicable));
        let flags = Flags::parse_from(["chat_demo", "--only", "insider,substitute-key"]);
        let rows: Vec<Row> = flags.rows().iter().map(|lesson| lesson.row).collect();
        assert_eq!(
            rows,
            [
                Row::KeyFirstContact,
                Row::KeyPinned,
                Row::ForgeNick,
                Row::PoisonCounter
            ]
        );
    }

    #[test]
    fn a_row_no_layer_changes_is_played_once() {
        let columns: Vec<Column> = Column::all().collect();
        let cells = Row::PickleOurs.lesson().cells(&columns);
        assert_eq!(cells, [(Place::AnyLayer, Outcome::Stopped)]);
        assert_eq!(Row::Tamper.lesson().cells(&columns).len(), COLUMNS);
        let cells: usize = TABLE.iter().map(|l| l.cells(&columns).len()).sum();
        assert_eq!(cells, 13 * COLUMNS + 2);
    }

    #[test]
    fn only_and_layer_choose_rows_and_columns() {
        let flags = Flags::parse_from(["chat_demo", "--only", "exploit,drop", "--layer", "plain"]);
        let rows: Vec<Row> = flags.rows().iter().map(|lesson| lesson.row).collect();
        assert_eq!(rows, [Row::PickleReader, Row::PickleOurs, Row::Drop]);
        let columns: Vec<String> = flags.columns().iter().map(ToString::to_string).collect();
        assert_eq!(columns, ["plain", "plain --guard"]);
        assert!(Flags::try_parse_from(["chat_demo", "--only", "sniff"]).is_err());
    }
}
