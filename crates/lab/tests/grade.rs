//! `chat_grade`, the score board (`make grade`): on the project every step
//! is solved; the Python lab's scripts, written here in the lab's style
//! (tests/scripts/), are judged solved for their step, and a plain client
//! is judged not yet for each. The scripts need pyzmq, which the interop
//! environment has: `make grade-check` makes it, then runs them
//! (`-- --ignored`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chat::Named;
use chat_lab::prerequisite;
use chat_lab::steps::Step;

/// Seconds a script that attacks nothing is given before it is judged not
/// yet (a solved one is judged as soon as its effect shows).
const SHORT_DEADLINE: &str = "8";

fn grade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chat_grade"))
        .args(args)
        .output()
        .expect("cannot run chat_grade")
}

fn text(output: &Output) -> String {
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    format!("{out}\n--- stderr ---\n{err}")
}

#[test]
fn every_step_of_the_project_is_solved() {
    let output = grade(&["--expect", "all"]);
    let board = text(&output);
    assert!(output.status.success(), "{board}");
    let total = Step::ALL.len();
    assert!(
        board.contains(&format!("{total} of {total} solved")),
        "{board}"
    );
    for step in Step::ALL {
        let row = format!("{:<4}  {:22}  solved", step.number(), step.title());
        assert!(board.contains(&row), "no row {row:?} in\n{board}");
    }
    assert!(!board.contains("next: step"), "{board}");
}

/// The interop environment's Python (pyzmq, as the lab's scripts import),
/// if it is made (`make interop` makes it).
fn python_with_pyzmq() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let python = target.join("interop-venv/bin/python");
    if !python.exists() {
        prerequisite::skip(&format!(
            "no {} with pyzmq (make target/interop-venv/.installed makes it)",
            python.display()
        ));
        return None;
    }
    if !prerequisite::python3("the pickle reader") {
        return None;
    }
    Some(python)
}

/// Judges the test script `script` for `step`, on free ports; its output.
fn judge_script(step: &str, python: &Path, script: &str, deadline: &str) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(script);
    let command = format!("'{}' '{}'", python.display(), path.display());
    let ports = ["--port", "0", "--broadcast-port", "0"];
    let args = [
        &["--step", step, "--cmd", &command, "--deadline", deadline][..],
        &ports,
    ]
    .concat();
    grade(&args)
}

fn assert_solved(step: &str, script: &str) {
    let Some(python) = python_with_pyzmq() else {
        return;
    };
    let output = judge_script(step, &python, script, "30");
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.lines().any(|l| l == "solved"), "{said}");
}

fn assert_not_yet(step: &str) {
    let Some(python) = python_with_pyzmq() else {
        return;
    };
    let output = judge_script(step, &python, "simple_client.py", SHORT_DEADLINE);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.lines().any(|l| l.starts_with("not yet: ")), "{said}");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn a_python_big_brother_is_judged_solved() {
    assert_solved("bigbrother", "simple_bigbrother.py");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn a_python_denial_of_service_is_judged_solved() {
    assert_solved("dos", "simple_dos.py");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn a_python_pickle_exploit_is_judged_solved_by_what_its_bytes_run() {
    assert_solved("exploit", "simple_exploite.py");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn a_python_msgpack_server_is_judged_solved() {
    assert_solved("msgpack-server", "AEServer.py");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn a_python_rogue_server_is_judged_solved() {
    assert_solved("rogue", "rogue_server.py");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn an_honest_server_is_no_rogue_server() {
    let Some(python) = python_with_pyzmq() else {
        return;
    };
    let output = judge_script("rogue", &python, "AEServer.py", SHORT_DEADLINE);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("not yet: bob received"), "{said}");
    assert!(said.contains("no attack reached him"), "{said}");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn a_plain_client_is_no_big_brother() {
    assert_not_yet("bigbrother");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn a_plain_client_denies_no_service() {
    assert_not_yet("dos");
}

#[test]
#[ignore = "needs pyzmq (target/interop-venv): make grade-check runs it"]
fn a_plain_client_exploits_nothing() {
    assert_not_yet("exploit");
}

#[test]
fn a_step_that_shows_only_inside_a_program_is_refused_for_a_script() {
    let output = grade(&["--step", "ae", "--cmd", "true"]);
    let said = text(&output);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains("does not show from outside a program"),
        "{said}"
    );
}
