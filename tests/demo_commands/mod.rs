//! The commands the demo prints, taken back from its story and checked
//! as a shell runs them.
//!
//! How a command is checked without running it: it goes to `sh -c` as
//! printed, with a folder of stand-ins first on `PATH`, one per binary of
//! the project, each running the real binary with `--help` added after the
//! command's own arguments. clap reads the arguments in order and checks
//! each one, the flag's name and its value (its type, its range, an enum's
//! names, a negative number where one is allowed), before it reaches
//! `--help`, which then prints the help and exits 0: the binary parsed the
//! command and did nothing. An unknown flag, a bad value or a word left
//! unquoted fails with clap's usage error instead. (What `--help` cuts
//! short is only the check that a required flag is there, or that two
//! exclusive ones are not.) `python3` stands in as a sink, so that the
//! pickle, which is help text here, is not unpickled.
//!
//! Before that, each program a command runs must be found as printed from
//! where the demo ran (the checkout): the project's binaries are not on
//! `PATH`, so the demo names them by their paths, which must lead to them.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use chat_lab::demo::PROJECT_BINARIES;
use chat_lab::scratch::Scratch;

/// Each binary of the project, and where cargo built it.
pub const BINARIES: [(&str, &str); 11] = [
    ("simple_server", env!("CARGO_BIN_EXE_simple_server")),
    ("simple_client", env!("CARGO_BIN_EXE_simple_client")),
    ("simple_bigbrother", env!("CARGO_BIN_EXE_simple_bigbrother")),
    ("simple_dos", env!("CARGO_BIN_EXE_simple_dos")),
    ("simple_exploit", env!("CARGO_BIN_EXE_simple_exploit")),
    ("ae_server", env!("CARGO_BIN_EXE_ae_server")),
    ("ae_client", env!("CARGO_BIN_EXE_ae_client")),
    ("aead_client", env!("CARGO_BIN_EXE_aead_client")),
    ("rogue_server", env!("CARGO_BIN_EXE_rogue_server")),
    ("signed_client", env!("CARGO_BIN_EXE_signed_client")),
    ("insider_forge", env!("CARGO_BIN_EXE_insider_forge")),
];

/// The folder of files the tests may write, under cargo's target folder.
fn test_tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// The commands in a story, as a shell would read them pasted: a line
/// `$ COMMAND`, with the lines after it while one ends in `\`.
pub fn commands(story: &[String]) -> Vec<String> {
    let mut commands = Vec::new();
    let mut lines = story.iter().map(|l| l.trim_start());
    while let Some(line) = lines.next() {
        let Some(first) = line.strip_prefix("$ ") else {
            continue;
        };
        let mut command = first.to_owned();
        while command.ends_with('\\') {
            let next = lines.next().expect("a command ends in a `\\`");
            command = format!("{command}\n{next}");
        }
        commands.push(command);
    }
    commands
}

/// Asserts that each program `command` runs is found as printed, from the
/// folder the demo ran in (the tests' own, the checkout): each of the
/// project's binaries by a path to it, anything else on `PATH`.
pub fn assert_resolves(command: &str) {
    for program in programs(command) {
        let name = Path::new(program).file_name().and_then(|n| n.to_str());
        let name = name.unwrap_or(program);
        if !PROJECT_BINARIES.contains(&name) {
            assert!(on_path(program), "{program} is not on PATH: {command}");
            continue;
        }
        assert!(
            program.contains('/'),
            "{program} is not on PATH, a path must lead to it: {command}"
        );
        let mode = fs::metadata(program).map(|m| m.permissions().mode());
        assert!(
            mode.is_ok_and(|mode| mode & 0o111 != 0),
            "{program} is no executable from the checkout: {command}"
        );
    }
}

/// The program each part of a command's pipeline runs: its first word
/// after its `NAME=VALUE` assignments (no quoted argument of the demo holds
/// a `|`).
fn programs(command: &str) -> Vec<&str> {
    command
        .split('|')
        .filter_map(|part| {
            part.split_whitespace()
                .find(|w| !w.contains('=') && *w != "\\")
        })
        .collect()
}

/// Whether the shell finds `program` (a builtin, or on `PATH`); `python3`
/// may be missing, and the scenes that need it say so and skip.
fn on_path(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status();
    program == "python3" || found.is_ok_and(|s| s.success())
}

/// `command` with each path to one of the project's binaries cut to the
/// binary's name, which the stand-ins answer to.
fn by_name(command: &str) -> String {
    let mut bare = command.to_owned();
    for program in programs(command) {
        let name = Path::new(program).file_name().and_then(|n| n.to_str());
        if let Some(name) = name.filter(|n| PROJECT_BINARIES.contains(n)) {
            bare = bare.replace(program, name);
        }
    }
    bare
}

/// Asserts that the programs `command` runs are found as printed, and that
/// the project's binaries among them accept their arguments.
pub fn assert_parses(command: &str) {
    assert_resolves(command);
    let command = &by_name(command);
    let run = Scratch::under(test_tmp(), "demo-command").unwrap();
    let calls = run.path().join("calls");
    let output = Command::new("sh")
        .args(["-c", command])
        .env("OLDPWD", run.path())
        .env("PATH", search_path(stand_ins()))
        .env("TMPDIR", run.path())
        .env("STAND_IN_CALLS", &calls)
        .current_dir(run.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command}\n{stderr}");
    let calls = fs::read_to_string(&calls).unwrap_or_default();
    let expected: Vec<String> = binaries_named(command)
        .into_iter()
        .map(|name| format!("{name} 0"))
        .collect();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        expected,
        "{command}\n{stderr}"
    );
}

/// Our binaries a command runs, in order: the first word of each part of
/// its pipeline after its `NAME=VALUE` assignments (no quoted argument of
/// the demo holds a `|`).
fn binaries_named(command: &str) -> Vec<&str> {
    command
        .split('|')
        .filter_map(|part| part.split_whitespace().find(|w| !w.contains('=')))
        .filter(|word| BINARIES.iter().any(|(name, _)| name == word))
        .collect()
}

/// `PATH` with `first` before the rest.
pub fn search_path(first: &Path) -> String {
    let rest = std::env::var("PATH").unwrap_or_default();
    format!("{}:{rest}", first.display())
}

/// The folder of stand-ins, made once per test run.
fn stand_ins() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let folder = test_tmp().join("demo-stand-ins");
        fs::create_dir_all(&folder).unwrap();
        for (name, real) in BINARIES {
            let script = format!(
                "#!/bin/sh\n\"{real}\" \"$@\" --help > /dev/null\nstatus=$?\n\
                 echo \"{name} $status\" >> \"$STAND_IN_CALLS\"\nexit $status\n"
            );
            write_script(&folder, name, &script);
        }
        write_script(&folder, "python3", "#!/bin/sh\ncat > /dev/null\n");
        folder
    })
}

/// Writes an executable script, whole or not at all (another test run may
/// be reading the same folder).
fn write_script(folder: &Path, name: &str, text: &str) {
    let draft = folder.join(format!(".{name}.{}", std::process::id()));
    fs::write(&draft, text).unwrap();
    fs::set_permissions(&draft, fs::Permissions::from_mode(0o755)).unwrap();
    fs::rename(&draft, folder.join(name)).unwrap();
}
