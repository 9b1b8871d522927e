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
//! The table's columns are the layers ([`Layer`]) in a trust model, its rows
//! the attacks, the rogue server's own ([`RogueAttack`]) among them: adding
//! a layer or a rogue attack is one enum arm, which the compiler then asks
//! for in [`expected`] and in the scenes.

mod narration;
mod scene;
mod table;

use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;

use clap::builder::PossibleValue;
use clap::{Parser, ValueEnum};
use unsecured_chat::Layer;
use unsecured_chat::server::TrustModel;
use unsecured_chat::server::rogue_server::Attack as RogueAttack;
use unsecured_chat::wire::Wire;

pub use narration::{INDENT, Shell, WIDTH, quote, wrap};
use table::summary;
pub use table::{Cell, Verdict, table};

/// Password of the demo's encrypted clients.
pub const PASSWORD: &str = "s3cret";

/// Where the pickle exploit's payload lands. A third target, the Python
/// original's own server under `make compare`, is one more arm here, which
/// [`expected`] and the exploit's scene then ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Target {
    /// A server that unpickles what it receives, as the Python original
    /// did: played by Python's own `pickle.load`.
    PickleReader,
    /// This project's servers, which parse JSON into typed frames.
    Ours,
}

/// What a member who knows the password forges (`insider_forge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Forgery {
    /// A message that claims another member's nick.
    Nick,
    /// The same, in the victim's session, numbered 2^63.
    Counter,
}

/// A row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Row {
    Eavesdrop,
    Evict,
    Flood,
    Exploit(Target),
    /// `Rogue(SubstituteKey)` is the substitution before first contact.
    Rogue(RogueAttack),
    /// The rogue server's key substitution, to a receiver that had pinned
    /// the sender's key before.
    KeyPinned,
    RoomReplay,
    StaleToken,
    Insider(Forgery),
}

impl Row {
    /// Every row, in the table's order.
    pub fn all() -> Vec<Row> {
        Attack::value_variants()
            .iter()
            .flat_map(|attack| attack.rows())
            .collect()
    }

    /// The attack this row belongs to, as `--only` names it.
    pub fn attack(self) -> Attack {
        match self {
            Self::Eavesdrop => Attack::Eavesdrop,
            Self::Evict => Attack::Evict,
            Self::Flood => Attack::Flood,
            Self::Exploit(_) => Attack::Exploit,
            Self::Rogue(attack) => Attack::Rogue(attack),
            Self::KeyPinned => Attack::Rogue(RogueAttack::SubstituteKey),
            Self::RoomReplay => Attack::RoomReplay,
            Self::StaleToken => Attack::StaleToken,
            Self::Insider(_) => Attack::Insider,
        }
    }

    /// What the row is about, in a sentence or two.
    pub fn lesson(self) -> &'static str {
        match self {
            Self::Eavesdrop => {
                "simple_bigbrother reads the broadcast port without joining: whoever reaches the server reads everything not encrypted."
            }
            Self::Evict => {
                "In the original's trust model anyone may `leave` any nick: simple_dos --evict throws a user out."
            }
            Self::Flood => "simple_dos --flood joins nicks until the server is full of ghosts.",
            Self::Exploit(Target::PickleReader) => {
                "The original unpickled every request, and unpickling runs what the payload names: the command runs wherever pickle reads it, whatever the layer (encryption covers the message, not the server's parser). Python's pickle.load plays that server, in a scratch folder."
            }
            Self::Exploit(Target::Ours) => {
                "Ours parses JSON into typed frames: the same bytes are invalid input, answered ko; nothing runs, and the server goes on serving."
            }
            Self::Rogue(RogueAttack::Tamper) => "A rogue server alters what it relays.",
            Self::Rogue(RogueAttack::Impersonate) => {
                "A rogue server relabels a message with another nick: Fernet does not cover the clear nick."
            }
            Self::Rogue(RogueAttack::Replay) => "A rogue server relays a message again later.",
            Self::Rogue(RogueAttack::Drop) => {
                "A rogue server relays only every other message: nobody can prevent it, at best detect it."
            }
            Self::Rogue(RogueAttack::SubstituteKey) => {
                "A rogue server that knows the password signs each message again with its own key. A receiver that never saw the sender's key cannot tell, and pins the server's (trust on first use)."
            }
            Self::KeyPinned => {
                "The same substitution, to a receiver that pinned the sender's key before (an earlier chat, through an honest server): the key changed, and it says so, with both fingerprints. That is why people compare fingerprints once."
            }
            Self::RoomReplay => {
                "A frame captured in one chat is sent, byte for byte, into another chat that shares the password: nothing in the lab's tokens says which chat they were sealed for. AEAD seals the room (--room)."
            }
            Self::StaleToken => {
                "The lab's TTL experiment: a sender whose clock is 45 s behind (or an old message replayed)."
            }
            Self::Insider(Forgery::Nick) => {
                "A member who knows the password speaks as another: under AEAD it seals the victim's nick with the shared password, as the victim would. Only a key of each member's own stops it (or, through an honest server, the guard: a nick belongs to the connection that joined it)."
            }
            Self::Insider(Forgery::Counter) => {
                "The insider also puts the victim's session and a counter of 2^63 in its forgery: AEAD receivers then take every genuine message of the victim's as late."
            }
        }
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eavesdrop => "eavesdropping",
            Self::Evict => "eviction (dos)",
            Self::Flood => "flood (dos)",
            Self::Exploit(Target::PickleReader) => "pickle exploit, pickle-reading server",
            Self::Exploit(Target::Ours) => "pickle exploit, our server",
            Self::Rogue(RogueAttack::Tamper) => "tamper",
            Self::Rogue(RogueAttack::Impersonate) => "impersonate",
            Self::Rogue(RogueAttack::Replay) => "replay",
            Self::Rogue(RogueAttack::Drop) => "drop",
            Self::Rogue(RogueAttack::SubstituteKey) => "key substituted before first contact",
            Self::KeyPinned => "key substituted after pinning",
            Self::RoomReplay => "replay into another room",
            Self::StaleToken => "stale token (45 s)",
            Self::Insider(Forgery::Nick) => "insider forges a nick",
            Self::Insider(Forgery::Counter) => "insider poisons a counter",
        })
    }
}

/// An attack of the lab, as `--only` names it: one row of the table, or the
/// exploit's row per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attack {
    Eavesdrop,
    Evict,
    Flood,
    Exploit,
    Rogue(RogueAttack),
    RoomReplay,
    StaleToken,
    Insider,
}

impl Attack {
    /// Its rows, in the table's order.
    pub fn rows(self) -> Vec<Row> {
        match self {
            Self::Eavesdrop => vec![Row::Eavesdrop],
            Self::Evict => vec![Row::Evict],
            Self::Flood => vec![Row::Flood],
            Self::Exploit => Target::value_variants()
                .iter()
                .map(|&target| Row::Exploit(target))
                .collect(),
            Self::Rogue(RogueAttack::SubstituteKey) => {
                vec![Row::Rogue(RogueAttack::SubstituteKey), Row::KeyPinned]
            }
            Self::Rogue(attack) => vec![Row::Rogue(attack)],
            Self::RoomReplay => vec![Row::RoomReplay],
            Self::StaleToken => vec![Row::StaleToken],
            Self::Insider => Forgery::value_variants()
                .iter()
                .map(|&forgery| Row::Insider(forgery))
                .collect(),
        }
    }
}

/// The rogue server's attacks are `--only` values under their own
/// `--attack` names.
impl ValueEnum for Attack {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<Attack>> = OnceLock::new();
        ALL.get_or_init(|| {
            let rogue = RogueAttack::value_variants()
                .iter()
                .map(|&a| Self::Rogue(a));
            let before = [Self::Eavesdrop, Self::Evict, Self::Flood, Self::Exploit];
            before
                .into_iter()
                .chain(rogue)
                .chain([Self::RoomReplay, Self::StaleToken, Self::Insider])
                .collect()
        })
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let (name, help) = match self {
            Self::Rogue(attack) => return attack.to_possible_value(),
            Self::Eavesdrop => ("eavesdrop", "Read every message without joining"),
            Self::Evict => ("evict", "Send `leave` for someone else's nick"),
            Self::Flood => ("flood", "Join nicks until the chat is full of ghosts"),
            Self::Exploit => ("exploit", "The pickle payload, against each deserialiser"),
            Self::RoomReplay => (
                "room-replay",
                "A frame captured in one chat, sent into another",
            ),
            Self::StaleToken => ("stale-token", "A message sealed 45 s ago"),
            Self::Insider => (
                "insider",
                "A member who knows the password speaks as another",
            ),
        };
        Some(PossibleValue::new(name).help(help))
    }
}

/// A column of the table: a layer, and the server's trust model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub layer: Layer,
    pub trust: TrustModel,
}

impl Column {
    /// Every column, in the table's order.
    pub fn all() -> Vec<Column> {
        Self::of_layers(Layer::value_variants())
    }

    /// The columns of these layers, in the table's order.
    pub fn of_layers(layers: &[Layer]) -> Vec<Column> {
        layers.iter().flat_map(|&layer| Self::of(layer)).collect()
    }

    /// A layer's columns. The guard answers the denial of service whatever
    /// the layer, so one column shows it: the plain layer's.
    pub fn of(layer: Layer) -> Vec<Column> {
        let open = Column {
            layer,
            trust: TrustModel::Open,
        };
        match layer {
            Layer::Plain => vec![
                open,
                Column {
                    trust: TrustModel::Guarded,
                    ..open
                },
            ],
            Layer::Ae | Layer::Aead | Layer::Signed => vec![open],
        }
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

/// The lab's answer for each cell.
pub fn expected(row: Row, column: Column) -> Outcome {
    use Outcome::*;
    let Column { layer, trust } = column;
    match row {
        Row::Eavesdrop => match layer {
            Layer::Plain => Succeeds,
            Layer::Ae | Layer::Aead | Layer::Signed => Stopped,
        },
        Row::Evict | Row::Flood => match trust {
            TrustModel::Open => Succeeds,
            TrustModel::Guarded => Stopped,
        },
        Row::Exploit(Target::PickleReader) => Succeeds,
        Row::Exploit(Target::Ours) => Stopped,
        Row::Rogue(attack) => against_rogue(attack, layer),
        Row::RoomReplay => match layer {
            Layer::Plain | Layer::Ae => Succeeds,
            Layer::Aead | Layer::Signed => Stopped,
        },
        Row::KeyPinned => match layer {
            Layer::Plain | Layer::Ae | Layer::Aead => NotApplicable,
            Layer::Signed => Stopped,
        },
        Row::StaleToken => match layer {
            Layer::Plain => NotApplicable,
            Layer::Ae => Succeeds,
            Layer::Aead | Layer::Signed => Stopped,
        },
        Row::Insider(_) => match (layer, trust) {
            (_, TrustModel::Guarded) | (Layer::Signed, _) => Stopped,
            (Layer::Plain | Layer::Ae | Layer::Aead, TrustModel::Open) => Succeeds,
        },
    }
}

/// What a layer makes of a rogue server's attack: AE stops tampering only;
/// AEAD and signed stop relabelling and replays too, and report drops; only
/// signed messages carry a key to substitute, and before first contact
/// nothing tells the substitute from the real one.
fn against_rogue(attack: RogueAttack, layer: Layer) -> Outcome {
    use Outcome::*;
    use RogueAttack::{Drop, Impersonate, Replay, SubstituteKey, Tamper};
    match (attack, layer) {
        (SubstituteKey, Layer::Plain | Layer::Ae | Layer::Aead) => NotApplicable,
        (SubstituteKey, Layer::Signed) => Succeeds,
        (Tamper | Impersonate | Replay | Drop, Layer::Plain) => Succeeds,
        (Tamper, Layer::Ae | Layer::Aead | Layer::Signed) => Stopped,
        (Impersonate | Replay | Drop, Layer::Ae) => Succeeds,
        (Impersonate | Replay, Layer::Aead | Layer::Signed) => Stopped,
        (Drop, Layer::Aead | Layer::Signed) => Detected,
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
/// columns) to `narrate`.
pub fn play(row: Row, column: Column, wire: Wire, narrate: &mut dyn FnMut(&str)) -> Observed {
    scene::play(row, column, wire, narrate)
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
    #[arg(long, value_enum, value_delimiter = ',', value_name = "ATTACK")]
    pub only: Vec<Attack>,
    /// Play only these layers' columns (plain has two: open and --guard)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LAYER")]
    pub layer: Vec<Layer>,
    /// The wire every server, client and tool speaks: JSON lines, or the
    /// Python original's ZeroMQ (pickle and msgpack bodies)
    #[arg(long, value_enum, default_value_t = Wire::Json)]
    pub wire: Wire,
}

impl Flags {
    /// The rows to play, in the table's order.
    pub fn rows(&self) -> Vec<Row> {
        let chosen = |row: &Row| self.only.is_empty() || self.only.contains(&row.attack());
        Row::all().into_iter().filter(chosen).collect()
    }

    /// The columns to play, in the table's order.
    pub fn columns(&self) -> Vec<Column> {
        let chosen = |layer: &&Layer| self.layer.is_empty() || self.layer.contains(layer);
        let layers: Vec<Layer> = Layer::value_variants()
            .iter()
            .filter(chosen)
            .copied()
            .collect();
        Column::of_layers(&layers)
    }
}

const INTRO: &str = "Each scene shows the commands that play it by hand, each in a terminal of its own; the demo plays them in this process, on free local ports.";

/// Plays the cells `flags` choose, narrated unless `--quiet`, then prints
/// the table and what it says; returns the cells.
pub fn run(flags: &Flags, out: &mut dyn Write) -> io::Result<Vec<Cell>> {
    if !flags.quiet {
        print_lines(out, &wrap(INTRO, "", ""))?;
    }
    let mut cells = Vec::new();
    for row in flags.rows() {
        if !flags.quiet {
            print_lines(out, &header(row))?;
        }
        for column in flags.columns() {
            cells.push(play_cell(row, column, flags, out)?);
        }
    }
    writeln!(out)?;
    out.write_all(table(&cells).as_bytes())?;
    out.write_all(summary(&cells).as_bytes())?;
    Ok(cells)
}

/// The lines that open a row's scenes: a blank line, its name, its lesson.
pub fn header(row: Row) -> Vec<String> {
    let mut lines = vec![String::new(), format!("=== {row} ===")];
    lines.extend(wrap(row.lesson(), "", ""));
    lines
}

/// Plays one cell, its story (unless `--quiet`) and its verdict to `out`.
fn play_cell(row: Row, column: Column, flags: &Flags, out: &mut dyn Write) -> io::Result<Cell> {
    let quiet = flags.quiet;
    if !quiet {
        writeln!(out, "--- {row} against {column}")?;
    }
    let mut failed = Ok(());
    let mut narrate = |line: &str| {
        if !quiet && failed.is_ok() {
            failed = writeln!(out, "{line}");
        }
    };
    let observed = play(row, column, flags.wire, &mut narrate);
    failed?;
    let cell = Cell {
        row,
        column,
        expected: expected(row, column),
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

    fn column(layer: Layer, trust: TrustModel) -> Column {
        Column { layer, trust }
    }

    #[test]
    fn only_aead_stops_the_rogue_server_and_only_the_guard_stops_the_dos() {
        let ae = column(Layer::Ae, TrustModel::Open);
        let aead = column(Layer::Aead, TrustModel::Open);
        let guarded = column(Layer::Plain, TrustModel::Guarded);
        let impersonate = Row::Rogue(RogueAttack::Impersonate);
        assert_eq!(expected(impersonate, ae), Outcome::Succeeds);
        assert_eq!(expected(impersonate, aead), Outcome::Stopped);
        assert_eq!(expected(Row::Evict, aead), Outcome::Succeeds);
        assert_eq!(expected(Row::Evict, guarded), Outcome::Stopped);
        assert_eq!(
            expected(Row::Rogue(RogueAttack::Drop), aead),
            Outcome::Detected
        );
        assert_eq!(
            expected(Row::Exploit(Target::PickleReader), guarded),
            Outcome::Succeeds
        );
        assert_eq!(expected(Row::Exploit(Target::Ours), ae), Outcome::Stopped);
    }

    #[test]
    fn only_the_signed_layer_stops_the_insider_and_only_after_pinning() {
        let aead = column(Layer::Aead, TrustModel::Open);
        let signed = column(Layer::Signed, TrustModel::Open);
        for forgery in [Forgery::Nick, Forgery::Counter] {
            assert_eq!(expected(Row::Insider(forgery), aead), Outcome::Succeeds);
            assert_eq!(expected(Row::Insider(forgery), signed), Outcome::Stopped);
        }
        let before = Row::Rogue(RogueAttack::SubstituteKey);
        assert_eq!(expected(before, signed), Outcome::Succeeds);
        assert_eq!(expected(Row::KeyPinned, signed), Outcome::Stopped);
        assert_eq!(expected(Row::KeyPinned, aead), Outcome::NotApplicable);
        let flags = Flags::parse_from(["chat_demo", "--only", "insider,substitute-key"]);
        assert_eq!(
            flags.rows(),
            [
                before,
                Row::KeyPinned,
                Row::Insider(Forgery::Nick),
                Row::Insider(Forgery::Counter)
            ]
        );
    }

    #[test]
    fn the_table_has_every_attack_against_every_column() {
        let rows = Row::all();
        assert_eq!(rows.len(), 15);
        assert_eq!(rows[3], Row::Exploit(Target::PickleReader));
        assert_eq!(rows[4], Row::Exploit(Target::Ours));
        assert_eq!(
            rows[9..11],
            [Row::Rogue(RogueAttack::SubstituteKey), Row::KeyPinned]
        );
        assert_eq!(
            rows[13..],
            [Row::Insider(Forgery::Nick), Row::Insider(Forgery::Counter)]
        );
        let columns: Vec<String> = Column::all().iter().map(ToString::to_string).collect();
        assert_eq!(columns, ["plain", "plain --guard", "AE", "AEAD", "signed"]);
        for row in rows {
            assert!(row.to_string().len() <= ROW_WIDTH, "{row}");
            assert!(Row::all().contains(&row) && row.attack().rows().contains(&row));
        }
    }

    #[test]
    fn only_and_layer_choose_rows_and_columns() {
        let flags = Flags::parse_from(["chat_demo", "--only", "exploit,drop", "--layer", "plain"]);
        assert_eq!(
            flags.rows(),
            [
                Row::Exploit(Target::PickleReader),
                Row::Exploit(Target::Ours),
                Row::Rogue(RogueAttack::Drop)
            ]
        );
        let columns: Vec<String> = flags.columns().iter().map(ToString::to_string).collect();
        assert_eq!(columns, ["plain", "plain --guard"]);
        assert!(Flags::try_parse_from(["chat_demo", "--only", "sniff"]).is_err());
    }
}
