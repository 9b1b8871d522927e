//! The edition's manifest (`classroom/edition.toml`): for every file the
//! project tracks, what the student edition does with it, and why.
//!
//! Rules are tried in order and the first whose paths match a file decides
//! for it. A file no rule matches, or a rule that matches no file, stops
//! the edition: a new file is classified before an edition is made, and a
//! rule that outlived its file is noticed.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::steps::Step;

/// Where the manifest is, in the project.
pub const MANIFEST: &str = "classroom/edition.toml";

/// The manifest, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
}

/// What becomes of the files a rule matches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Paths from the project's root; `*` stands for any characters but
    /// `/`, `**` for any.
    pub paths: Vec<String>,
    pub action: Action,
    /// Why: what the file gives away, or why it is fine as it is.
    pub why: String,
    /// The steps that what the rule drops or ignores needs.
    #[serde(default)]
    pub needs: Vec<usize>,
    /// `swap`: the project's file that takes its place.
    #[serde(default)]
    pub with: Option<String>,
    /// `swap`: where that file goes in the edition.
    #[serde(default)]
    pub to: Option<String>,
    /// `keep`: the tests marked ignored in the edition (they need a step
    /// solved): `"all"`, or a list of test functions.
    #[serde(default)]
    pub ignore: Option<Ignore>,
    /// `keep`: text rewritten, each `find` found exactly once.
    #[serde(default)]
    pub edit: Vec<Edit>,
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Copied, its markers replaced, its tests ignored and its text
    /// rewritten as the rule says.
    Keep,
    /// Left out.
    Drop,
    /// Left out, another file in its place.
    Swap,
}

/// The tests a rule marks ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Ignore {
    /// `"all"`.
    All(String),
    Named(Vec<String>),
}

/// A rewrite: `find` becomes `with`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub find: String,
    pub with: String,
}

impl Manifest {
    /// Reads the manifest at `path` and checks what can be checked alone.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the manifest {}", path.display()))?;
        let manifest: Self =
            toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        manifest.rules.iter().try_for_each(Rule::check)?;
        Ok(manifest)
    }

    /// The rule that decides for `path`, and its index.
    pub fn rule_for(&self, path: &str) -> Option<(usize, &Rule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.paths.iter().any(|glob| matches(glob, path)))
    }

    /// Decides for every file of `tracked`: each with its rule; an error
    /// names the files no rule matches and the rules no file does.
    pub fn decide<'m, 'f>(&'m self, tracked: &'f [String]) -> Result<Vec<(&'f str, &'m Rule)>> {
        let mut used = BTreeSet::new();
        let mut unmatched = Vec::new();
        let mut decided = Vec::new();
        for path in tracked {
            match self.rule_for(path) {
                Some((index, rule)) => {
                    used.insert(index);
                    decided.push((path.as_str(), rule));
                }
                None => unmatched.push(path.as_str()),
            }
        }
        if !unmatched.is_empty() {
            bail!(
                "no rule of {MANIFEST} says what to do with: {}",
                unmatched.join(", ")
            );
        }
        let stale: Vec<String> = (0..self.rules.len())
            .filter(|i| !used.contains(i))
            .map(|i| self.rules[i].paths.join(" "))
            .collect();
        if !stale.is_empty() {
            bail!(
                "rules of {MANIFEST} that match no file: {}",
                stale.join("; ")
            );
        }
        Ok(decided)
    }
}

impl Rule {
    /// What the rule must say, for its action.
    fn check(&self) -> Result<()> {
        let named = || self.paths.join(" ");
        for &number in &self.needs {
            Step::numbered(number).with_context(|| format!("{}: no step {number}", named()))?;
        }
        let swaps = self.with.is_some() || self.to.is_some();
        let keeps = self.ignore.is_some() || !self.edit.is_empty();
        match self.action {
            Action::Swap if self.with.is_none() || self.to.is_none() || keeps => {
                bail!("{}: a swap says `with` and `to`, and nothing else", named())
            }
            Action::Keep if swaps => bail!("{}: `with` and `to` are for swaps", named()),
            Action::Drop if swaps || keeps => bail!("{}: a drop says only why", named()),
            _ => {}
        }
        match &self.ignore {
            Some(Ignore::All(word)) if word != "all" => {
                bail!("{}: ignore is \"all\" or a list of tests", named())
            }
            Some(_) if self.needs.is_empty() => {
                bail!("{}: ignored tests say which steps they need", named())
            }
            _ => Ok(()),
        }
    }

    /// The steps it names, in words, for an ignore's reason.
    pub fn needed(&self) -> String {
        let steps: Vec<String> = self
            .needs
            .iter()
            .filter_map(|&n| Step::numbered(n))
            .map(|step| format!("step {} ({})", step.number(), step.title()))
            .collect();
        steps.join(", ")
    }
}

/// Whether `path` matches `glob`: `**` any characters, `*` any but `/`.
pub fn matches(glob: &str, path: &str) -> bool {
    match glob.strip_prefix("**") {
        Some(rest) => (0..=path.len())
            .filter(|&i| path.is_char_boundary(i))
            .any(|i| matches(rest, &path[i..])),
        None => match glob.strip_prefix('*') {
            Some(rest) => (0..=path.len())
                .filter(|&i| path.is_char_boundary(i) && !path[..i].contains('/'))
                .any(|i| matches(rest, &path[i..])),
            None => match (glob.chars().next(), path.chars().next()) {
                (None, None) => true,
                (Some(g), Some(p)) if g == p => {
                    matches(&glob[g.len_utf8()..], &path[p.len_utf8()..])
                }
                _ => false,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_documented() {
        assert!(matches("docs/ANSWERS.md", "docs/ANSWERS.md"));
        assert!(matches("tests/*.rs", "tests/ae_layer.rs"));
        assert!(!matches("tests/*.rs", "tests/common/mod.rs"));
        assert!(matches("tests/**", "tests/common/mod.rs"));
        assert!(matches("**", "anything/at/all"));
        assert!(matches("crates/**/tests/*.rs", "crates/chat/tests/x.rs"));
        assert!(!matches("docs/*.md", "docs/x.txt"));
    }

    fn manifest(text: &str) -> Result<Manifest> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.rules.iter().try_for_each(Rule::check)?;
        Ok(manifest)
    }

    #[test]
    fn every_file_has_one_rule_and_every_rule_a_file() {
        let rules = manifest(
            r#"
            [[rule]]
            paths = ["a/x.rs"]
            action = "drop"
            why = "gives step 3 away"
            [[rule]]
            paths = ["a/*"]
            action = "keep"
            why = "plumbing"
            "#,
        )
        .unwrap();
        let files = vec!["a/x.rs".to_owned(), "a/y.rs".to_owned()];
        let decided = rules.decide(&files).unwrap();
        assert_eq!(decided[0].1.action, Action::Drop);
        assert_eq!(decided[1].1.action, Action::Keep);
        let error = rules.decide(&["b".to_owned()]).unwrap_err().to_string();
        assert!(error.contains("no rule") && error.contains('b'), "{error}");
        let error = rules
            .decide(&["a/y.rs".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("match no file: a/x.rs"), "{error}");
    }

    #[test]
    fn a_rule_says_what_its_action_needs() {
        for (text, why) in [
            ("action = \"swap\"\nwith = \"q\"", "a swap says"),
            (
                "action = \"drop\"\nignore = \"all\"\nneeds = [1]",
                "a drop says only",
            ),
            ("action = \"keep\"\nignore = \"all\"", "say which steps"),
            (
                "action = \"keep\"\nignore = \"some\"\nneeds = [1]",
                "\"all\" or a list",
            ),
            ("action = \"keep\"\nneeds = [9]", "no step 9"),
        ] {
            let text = format!("[[rule]]\npaths = [\"p\"]\nwhy = \"w\"\n{text}\n");
            let error = format!("{:#}", manifest(&text).unwrap_err());
            assert!(error.contains(why), "{text}: {error}");
        }
    }
}
