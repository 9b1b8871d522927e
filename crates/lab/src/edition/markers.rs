//! The solution markers, read and replaced.
//!
//! A part a student writes is enclosed in a line `BEGIN SOLUTION (step N:
//! what to write)` and a line `END SOLUTION`, each a comment of the file's
//! language (`//` in Rust, `#` in Python, `<!-- -->` in Markdown). The
//! student edition replaces it by what says what to write and where the lab
//! sheet explains it: `todo!("step N: ...")` in Rust (a whole function body
//! or a whole expression is marked, so the edition still compiles),
//! `raise NotImplementedError(...)` in Python, a line in Markdown.
//!
//! `BEGIN SOLUTION ITEMS (step N: what)` ... `END SOLUTION ITEMS` marks
//! what the edition removes outright: helpers and constants only a
//! solution uses, a test that spells a payload out, a paragraph that gives
//! an answer.
//!
//! A marker is a line of its own, and nothing else is: a line that merely
//! mentions the words (this one) is text.

use std::path::Path;
use std::sync::LazyLock;

use anyhow::{Context, Result, bail};
use regex::Regex;

use crate::steps::{LAB_SHEET, Step};

/// How a file's comments are written, which says how its markers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `// ...`: Rust.
    Slashes,
    /// `# ...`: Python, TOML, the Makefile, shell.
    Hash,
    /// `<!-- ... -->`: Markdown.
    Html,
}

impl Syntax {
    /// The syntax of a file's comments, from its name; `None` for a file
    /// that holds no markers (a data file).
    pub fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let extension = path.extension().and_then(|e| e.to_str());
        match (name, extension) {
            (_, Some("rs")) => Some(Self::Slashes),
            (_, Some("md")) => Some(Self::Html),
            (_, Some("py" | "toml" | "sh" | "txt")) | ("Makefile" | "run", _) => Some(Self::Hash),
            _ => None,
        }
    }
}

/// Which kind of marked part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Replaced by what says what to write.
    Solution,
    /// Removed.
    Items,
}

/// A marker line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker {
    Begin {
        kind: Kind,
        indent: String,
        step: Step,
        what: String,
    },
    End(Kind),
}

/// A marker's shape, whatever the comment syntax around it.
struct Patterns {
    begin: Regex,
    end: Regex,
}

/// Compiled once: every line of every file of an edition is matched
/// against them.
static PATTERNS: LazyLock<Patterns> = LazyLock::new(Patterns::new);

impl Patterns {
    fn new() -> Self {
        // A comment opener, the words, an optional comment closer: the
        // openers are the three syntaxes', checked against the file's after.
        let open = r"(?P<open>//|#|<!--)";
        let begin = format!(
            r"^(?P<indent>\s*){open} BEGIN SOLUTION(?P<items> ITEMS)? \(step (?P<step>\d+): (?P<what>[^()]+)\)(?: -->)?\s*$"
        );
        let end = format!(r"^\s*{open} END SOLUTION(?P<items> ITEMS)?(?: -->)?\s*$");
        Self {
            begin: Regex::new(&begin).unwrap_or_else(|e| unreachable!("a fixed pattern: {e}")),
            end: Regex::new(&end).unwrap_or_else(|e| unreachable!("a fixed pattern: {e}")),
        }
    }

    /// The marker `line` is, if it is one.
    fn read(&self, line: &str) -> Result<Option<(Marker, &'static str)>> {
        let kind = |items: bool| if items { Kind::Items } else { Kind::Solution };
        if let Some(found) = self.begin.captures(line) {
            let number: usize = found["step"].parse()?;
            let step = Step::numbered(number).with_context(|| format!("no step {number}"))?;
            let marker = Marker::Begin {
                kind: kind(found.name("items").is_some()),
                indent: found["indent"].to_owned(),
                step,
                what: found["what"].to_owned(),
            };
            return Ok(Some((marker, opener(&found["open"]))));
        }
        Ok(self.end.captures(line).map(|found| {
            let marker = Marker::End(kind(found.name("items").is_some()));
            (marker, opener(&found["open"]))
        }))
    }
}

fn opener(text: &str) -> &'static str {
    match text {
        "//" => "//",
        "#" => "#",
        _ => "<!--",
    }
}

impl Syntax {
    fn opener(self) -> &'static str {
        match self {
            Self::Slashes => "//",
            Self::Hash => "#",
            Self::Html => "<!--",
        }
    }
}

/// What replacing the markers of one file did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub text: String,
    /// Each marked part replaced, by step.
    pub solutions: Vec<Step>,
    /// Each marked part removed, by step.
    pub items: Vec<Step>,
}

/// Whether a line is a marker of any syntax: none may be left in an
/// edition.
pub fn is_marker(line: &str) -> bool {
    let patterns = &*PATTERNS;
    patterns.begin.is_match(line) || patterns.end.is_match(line)
}

/// `text`, a file at `path` written in `syntax`, with each marked part
/// replaced or removed.
pub fn replace(text: &str, path: &Path, syntax: Syntax) -> Result<Replaced> {
    let patterns = &*PATTERNS;
    let mut out = Replaced::default();
    let mut open: Option<(usize, Marker)> = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        let Some((marker, opener)) = patterns.read(line).with_context(at)? else {
            if open.is_none() {
                out.text.push_str(line);
            }
            continue;
        };
        if opener != syntax.opener() {
            bail!("{}: a marker written as a {opener} comment", at());
        }
        match (marker, open.take()) {
            (begin @ Marker::Begin { .. }, None) => open = Some((i, begin)),
            (Marker::Begin { .. }, Some((line, _))) => {
                bail!(
                    "{}: a marker opened inside the one of line {}",
                    at(),
                    line + 1
                )
            }
            (Marker::End(kind), Some((_, begin))) => close(&mut out, begin, kind, path, syntax)
                .with_context(|| format!("{}: closing marker", at()))?,
            (Marker::End(_), None) => bail!("{}: a marker closed that was never opened", at()),
        }
    }
    if let Some((line, _)) = open {
        bail!("{}:{}: a marker never closed", path.display(), line + 1);
    }
    Ok(out)
}

/// Writes what replaces a marked part, once it is closed.
fn close(out: &mut Replaced, begin: Marker, end: Kind, path: &Path, syntax: Syntax) -> Result<()> {
    let Marker::Begin {
        kind,
        indent,
        step,
        what,
    } = begin
    else {
        unreachable!("only a BEGIN marker is kept open");
    };
    if kind != end {
        bail!("it closes a {kind:?} marker with a {end:?} one");
    }
    match kind {
        Kind::Items => out.items.push(step),
        Kind::Solution => {
            out.text
                .push_str(&placeholder(&indent, step, &what, path, syntax)?);
            out.solutions.push(step);
        }
    }
    Ok(())
}

/// The line that stands for a marked part in the edition.
fn placeholder(
    indent: &str,
    step: Step,
    what: &str,
    path: &Path,
    syntax: Syntax,
) -> Result<String> {
    if what.contains(['"', '\\']) {
        bail!("what to write may hold no quote or backslash: {what}");
    }
    let todo = step.todo(what);
    Ok(match syntax {
        Syntax::Slashes => format!("{indent}todo!(\"{todo}\")\n"),
        Syntax::Hash if path.extension().is_some_and(|e| e == "py") => {
            format!("{indent}raise NotImplementedError(\"{todo}\")\n")
        }
        Syntax::Hash => bail!("only Python, Rust and Markdown parts are written by students"),
        Syntax::Html => format!(
            "{indent}*Left for you to write: step {}, {what} (see [the lab sheet]({}#{})).*\n",
            step.number(),
            lab_sheet_from(path),
            step.anchor()
        ),
    })
}

/// The lab sheet's path as a link from the Markdown file at `path`.
fn lab_sheet_from(path: &Path) -> String {
    let depth = path.components().count().saturating_sub(1);
    let up = "../".repeat(depth);
    format!("{up}{LAB_SHEET}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Marker lines are built here, not written: a line of this file that
    // is a marker would be one for the edition too.
    fn begin(open: &str, kind: &str, rest: &str) -> String {
        format!("{open} BEGIN SOLUTION{kind} (step {rest})")
    }

    fn end(open: &str, kind: &str) -> String {
        format!("{open} END SOLUTION{kind}")
    }

    fn rust(lines: &[&str]) -> Result<Replaced> {
        replace(&lines.join("\n"), Path::new("crates/x.rs"), Syntax::Slashes)
    }

    #[test]
    fn a_marked_body_becomes_a_todo_that_says_what_and_where() {
        let (b, e) = (begin("    //", "", "2: evict"), end("    //", ""));
        let replaced = rust(&["fn f() {", &b, "    solved()", &e, "}", ""]).unwrap();
        assert_eq!(
            replaced.text,
            "fn f() {\n    todo!(\"step 2: evict (see docs/LAB.md#step-2-denial-of-service)\")\n}\n"
        );
        assert_eq!(replaced.solutions, [Step::Dos]);
    }

    #[test]
    fn marked_items_are_removed() {
        let (b, e) = (begin("//", " ITEMS", "3: opcodes"), end("//", " ITEMS"));
        let replaced = rust(&["a", &b, "const X: u8 = 1;", &e, "b"]).unwrap();
        assert_eq!(replaced.text, "a\nb");
        assert_eq!(replaced.items, [Step::Exploit]);
    }

    #[test]
    fn markdown_and_python_have_their_own_placeholders() {
        let md = [begin("<!--", "", "7: the plaintext"), " -->".into()].concat();
        let text = format!("x\n{md}\nsecret\n{}\n", end("<!--", "") + " -->");
        let replaced = replace(&text, Path::new("docs/PROTOCOL.md"), Syntax::Html).unwrap();
        assert_eq!(
            replaced.text,
            "x\n*Left for you to write: step 7, the plaintext (see [the lab sheet](../docs/LAB.md#step-7-the-aead-client)).*\n"
        );
        let py = format!(
            "def f():\n{}\n    x\n{}\n",
            begin("    #", "", "5: f"),
            end("    #", "")
        );
        let replaced = replace(&py, Path::new("a.py"), Syntax::Hash).unwrap();
        assert_eq!(
            replaced.text,
            "def f():\n    raise NotImplementedError(\"step 5: f (see docs/LAB.md#step-5-the-ae-client)\")\n"
        );
    }

    #[test]
    fn broken_markers_stop_the_edition() {
        let b = begin("//", "", "1: x");
        let e = end("//", "");
        let items = end("//", " ITEMS");
        for (lines, why) in [
            (vec![b.as_str(), "x"], "never closed"),
            (vec![e.as_str()], "never opened"),
            (vec![b.as_str(), b.as_str(), e.as_str()], "opened inside"),
            (vec![b.as_str(), items.as_str()], "closing marker"),
        ] {
            let error = format!("{:#}", rust(&lines).unwrap_err());
            assert!(error.contains(why), "{error}");
        }
        let nine = begin("//", "", "9: x");
        assert!(format!("{:#}", rust(&[&nine]).unwrap_err()).contains("no step 9"));
        let hashed = [begin("#", "", "1: x"), end("#", "")].join("\n");
        let wrong = replace(&hashed, Path::new("a.rs"), Syntax::Slashes).unwrap_err();
        assert!(format!("{wrong:#}").contains("written as a # comment"));
    }

    #[test]
    fn a_line_that_mentions_a_marker_is_text() {
        let prose = format!("/// write `{}` around it", begin("//", "", "1: x"));
        assert!(!is_marker(&prose));
        assert_eq!(rust(&[&prose]).unwrap().text, prose);
        assert!(is_marker(&begin("  //", " ITEMS", "1: x")));
        assert!(is_marker(&end("#", "")));
    }
}
