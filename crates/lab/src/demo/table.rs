//! The attack/defence table: each cell played, whether it agrees with the
//! lab, and the table and verdict `chat_demo` ends with.

use super::narration::wrap;
use super::{Observed, Outcome, Place, Row};

/// One cell of the table, played.
#[derive(Debug, Clone)]
pub struct Cell {
    pub row: Row,
    pub place: Place,
    pub expected: Outcome,
    pub observed: Observed,
}

/// Whether a cell agrees with the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Agrees,
    Differs,
    Skipped,
}

impl Cell {
    pub fn verdict(&self) -> Verdict {
        match &self.observed {
            Observed::Outcome(outcome) if *outcome == self.expected => Verdict::Agrees,
            Observed::Skipped(_) => Verdict::Skipped,
            Observed::Outcome(_) | Observed::Failed(_) => Verdict::Differs,
        }
    }

    /// The observed outcome and the agreement, as the table shows them.
    fn shown(&self) -> (String, &'static str) {
        match (&self.observed, self.verdict()) {
            (Observed::Outcome(o), Verdict::Agrees) => (o.to_string(), "yes"),
            (Observed::Outcome(o), _) => (o.to_string(), "NO"),
            (Observed::Skipped(_), _) => ("n/a".to_owned(), "-"),
            (Observed::Failed(_), _) => ("error".to_owned(), "NO"),
        }
    }

    /// Why the cell was skipped, or broke down.
    fn reason(&self) -> Option<&str> {
        match &self.observed {
            Observed::Skipped(why) => Some(why),
            Observed::Failed(why) => Some(why),
            Observed::Outcome(_) => None,
        }
    }
}

/// Widths of the table's first two columns: the longest row and column names.
pub(super) const ROW_WIDTH: usize = 38;
const COLUMN_WIDTH: usize = 13;

/// The attack/defence table, one line per cell, then a note for each cell
/// skipped or broken down.
pub fn table(cells: &[Cell]) -> String {
    let mut out = table_line(["attack", "layer", "expected", "observed", "agree"]);
    for cell in cells {
        let (observed, agree) = cell.shown();
        let (row, place, expected) = (cell.row, cell.place, cell.expected);
        out += &table_line([
            row.title(),
            &place.to_string(),
            &expected.to_string(),
            &observed,
            agree,
        ]);
    }
    let notes: Vec<String> = cells
        .iter()
        .filter_map(|c| Some(format!("{} against {}: {}", c.row, c.place, c.reason()?)))
        .flat_map(|note| wrap(&note, "* ", "  "))
        .collect();
    if !notes.is_empty() {
        out += &format!("\n{}\n", notes.join("\n"));
    }
    out
}

fn table_line([row, column, expected, observed, agree]: [&str; 5]) -> String {
    format!("{row:<ROW_WIDTH$} {column:<COLUMN_WIDTH$} {expected:<9} {observed:<9} {agree}\n")
}

/// The last line: whether every cell agrees.
pub(super) fn summary(cells: &[Cell]) -> String {
    let count = |verdict| cells.iter().filter(|c| c.verdict() == verdict).count();
    let (differ, skipped) = (count(Verdict::Differs), count(Verdict::Skipped));
    match (differ, skipped) {
        (0, 0) => "every cell agrees with the lab's expected outcome\n".to_owned(),
        (0, _) => {
            format!("every cell played agrees with the lab's expected outcome; {skipped} skipped\n")
        }
        (_, _) => format!("{differ} cell(s) differ from the lab's expected outcome\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::WIDTH;

    #[test]
    fn a_skipped_cell_is_noted_and_does_not_count_as_a_difference() {
        let cell = Cell {
            row: Row::PickleReader,
            place: Place::AnyLayer,
            expected: Outcome::Succeeds,
            observed: Observed::Skipped("python3 is not on PATH"),
        };
        assert_eq!(cell.verdict(), Verdict::Skipped);
        let table = table(std::slice::from_ref(&cell));
        assert!(table.contains("n/a       -"), "{table}");
        assert!(
            table.contains("* pickle exploit, pickle-reading server against any layer: python3")
        );
        assert!(summary(&[cell]).ends_with("; 1 skipped\n"));
        for line in table.lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
    }
}
