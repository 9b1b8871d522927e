//! `chat_edition` (`make student-edition`): a fresh edition of the project
//! holds no solution (none of the fingerprints the project holds), no
//! marker, no git history and no answers, and each part left to write
//! says which step and where the lab sheet explains it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use chat::Named;
use chat_lab::edition;
use chat_lab::scratch::Scratch;
use chat_lab::steps::Step;

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh edition of the project, its crates left out (what they hold is
/// not the project's).
fn fresh_edition(scratch: &Scratch) -> PathBuf {
    let out = scratch.path().join("edition");
    let made = Command::new(env!("CARGO_BIN_EXE_chat_edition"))
        .arg("--out")
        .arg(&out)
        .arg("--project")
        .arg(project())
        .arg("--no-vendor")
        .output()
        .expect("cannot run chat_edition");
    let said =
        String::from_utf8_lossy(&made.stdout).into_owned() + &String::from_utf8_lossy(&made.stderr);
    assert!(made.status.success(), "{said}");
    out
}

#[test]
fn the_project_holds_every_fingerprint_and_a_fresh_edition_none() {
    let project = project();
    let tracked: Vec<PathBuf> = edition::tracked(&project)
        .unwrap()
        .into_iter()
        .map(PathBuf::from)
        .collect();
    let in_project = edition::fingerprints_in(&project, &project, &tracked).unwrap();
    let fingerprints =
        fs::read_to_string(project.join(edition::fingerprints::FINGERPRINTS)).unwrap();
    let written = fingerprints.matches("[[fingerprint]]").count();
    let mut found: Vec<&str> = in_project.iter().map(|f| f.what.as_str()).collect();
    found.sort();
    found.dedup();
    assert_eq!(
        found.len(),
        written,
        "fingerprints the project does not hold: a list that cannot find"
    );
    for step in Step::ALL {
        assert!(
            in_project.iter().any(|f| f.step == *step),
            "no fingerprint of step {step:?}"
        );
    }

    let scratch = Scratch::new("edition-test").unwrap();
    let out = fresh_edition(&scratch);
    let files = edition::files(&out).unwrap();
    let left = edition::fingerprints_in(&project, &out, &files).unwrap();
    assert!(
        left.is_empty(),
        "solutions in a fresh edition:{}",
        edition::describe(&left)
    );
    assert_eq!(
        edition::leftovers(&out, &files).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn a_fresh_edition_asks_the_questions_and_says_what_to_write_where() {
    let scratch = Scratch::new("edition-test").unwrap();
    let out = fresh_edition(&scratch);
    assert!(
        !out.join(".git").exists(),
        "the project's history went along"
    );
    assert!(
        !out.join("docs/ANSWERS.md").exists(),
        "the answers went along"
    );
    assert!(out.join("docs/QUESTIONS.md").exists());
    let files = edition::files(&out).unwrap();
    let mut todos = Vec::new();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
    {
        let text = fs::read_to_string(out.join(path)).unwrap();
        todos.extend(
            text.lines()
                .filter(|l| l.contains("todo!(\"step "))
                .map(str::to_owned),
        );
    }
    for step in Step::ALL {
        let said = format!("todo!(\"step {}: ", step.number());
        let todo = todos.iter().find(|t| t.contains(&said));
        let todo = todo.unwrap_or_else(|| panic!("no todo! for step {step:?} in {todos:#?}"));
        assert!(
            todo.contains(&step.doc()),
            "{todo} names no section of the lab sheet"
        );
    }
}
