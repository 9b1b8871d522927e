//! How the demo speaks: its narration fitted to [`WIDTH`] columns without
//! cutting a word in two, and the commands a person would type to play a
//! scene by hand, quoted so that each pastes into a shell as it is, the
//! project's binaries named by where they are ([`Binaries`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Columns of every line the demo prints.
pub const WIDTH: usize = 80;

/// Where a scene's lines start, and where their continuations do.
pub const INDENT: &str = "    ";
const HANGING: &str = "      ";

/// A line of narration, as lines of at most [`WIDTH`] columns.
pub fn narration(text: &str) -> Vec<String> {
    wrap(text, INDENT, HANGING)
}

/// `text` cut at spaces into lines of at most [`WIDTH`] columns, the first
/// starting with `first`, the others with `rest`. A word longer than a whole
/// line (a token, a path) is shortened with `...`: no word that carries a
/// lesson is that long.
pub fn wrap(text: &str, first: &str, rest: &str) -> Vec<String> {
    let longest = WIDTH - first.len().max(rest.len());
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut start = line.len();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let word = shortened(word, longest);
        if line.len() > start && columns(&line) + 1 + columns(&word) > WIDTH {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            start = line.len();
        }
        if line.len() > start {
            line.push(' ');
        }
        line.push_str(&word);
    }
    lines.push(line);
    lines
}

fn columns(text: &str) -> usize {
    text.chars().count()
}

fn shortened(word: &str, longest: usize) -> Cow<'_, str> {
    if columns(word) <= longest {
        return Cow::Borrowed(word);
    }
    let kept: String = word.chars().take(longest - 3).collect();
    Cow::Owned(kept + "...")
}

/// The project's binaries, as the demo's commands name them.
pub const PROJECT_BINARIES: [&str; 13] = [
    "simple_server",
    "simple_client",
    "simple_bigbrother",
    "simple_dos",
    "simple_exploit",
    "ae_server",
    "ae_client",
    "aead_client",
    "rogue_server",
    "signed_client",
    "insider_forge",
    "chat_bench",
    "chat_demo",
];

/// Where the project's binaries are, for the commands the demo prints: not
/// on `PATH`, but in the folder cargo builds every binary of the workspace
/// into, the running demo's own (`target/release` for `make demo`, under
/// `CARGO_TARGET_DIR` if set; `target/debug` for the tests, whose harness
/// runs from its `deps` folder).
#[derive(Debug, Clone)]
pub struct Binaries {
    absolute: PathBuf,
    /// The folder as seen from where the demo runs, if it is under it.
    relative: Option<PathBuf>,
}

impl Binaries {
    /// The running demo's.
    pub fn here() -> &'static Binaries {
        static HERE: OnceLock<Binaries> = OnceLock::new();
        HERE.get_or_init(|| {
            let exe = std::env::current_exe().unwrap_or_default();
            let cwd = std::env::current_dir().unwrap_or_default();
            Self::of(&exe, &cwd)
        })
    }

    /// Those beside the executable `exe`, seen from the folder `cwd`.
    pub fn of(exe: &Path, cwd: &Path) -> Self {
        let mut folder = exe.parent().unwrap_or(Path::new(".")).to_path_buf();
        if folder.file_name().is_some_and(|name| name == "deps") {
            folder.pop();
        }
        let relative = folder.strip_prefix(cwd).ok().map(Path::to_path_buf);
        Self {
            absolute: folder,
            relative: relative.filter(|r| !r.as_os_str().is_empty()),
        }
    }

    /// Where `name` is, as typed in the demo's folder, or (`anywhere`)
    /// from any folder.
    pub fn path(&self, name: &str, anywhere: bool) -> String {
        let folder = match &self.relative {
            Some(relative) if !anywhere => relative,
            _ => &self.absolute,
        };
        folder.join(name).display().to_string()
    }
}

/// The command that makes a scratch folder the current one.
const INTO_SCRATCH: &str = r#"cd "$(mktemp -d)""#;

/// A command line a person would type: commands piped one into the next,
/// and a comment.
#[derive(Debug, Clone)]
pub struct Shell {
    stages: Vec<String>,
    comment: Option<&'static str>,
}

impl Shell {
    /// `program ARGS`, each argument quoted for the shell where it must be.
    pub fn run<S: AsRef<str>>(program: &str, args: &[S]) -> Self {
        let words = std::iter::once(quote(program)).chain(args.iter().map(|a| quote(a.as_ref())));
        Self::raw(&words.collect::<Vec<_>>().join(" "))
    }

    /// Makes a new scratch folder the current one, as a scene does before
    /// it leaves files behind.
    pub fn into_scratch(comment: &'static str) -> Self {
        Self::raw(INTO_SCRATCH).comment(comment)
    }

    /// Whether this command leaves the folder the demo runs in: after it,
    /// a scene names the binaries by absolute paths.
    pub fn leaves_folder(&self) -> bool {
        self.stages.iter().any(|stage| stage.starts_with("cd "))
    }

    /// The command with each of the project's binaries it runs named by
    /// where it is (`binaries`, seen from any folder if `anywhere`): a
    /// person pastes it into a shell, where they are not on `PATH`.
    pub fn located(&self, binaries: &Binaries, anywhere: bool) -> Self {
        let stages = self.stages.iter().map(|stage| {
            let words = shell_words(stage);
            let program = words.iter().find(|w| !w.contains('='));
            match program.filter(|p| PROJECT_BINARIES.contains(p)) {
                Some(&name) => {
                    let at = name.as_ptr() as usize - stage.as_ptr() as usize;
                    let path = quote(&binaries.path(name, anywhere)).into_owned();
                    format!("{}{path}{}", &stage[..at], &stage[at + name.len()..])
                }
                None => stage.clone(),
            }
        });
        Self {
            stages: stages.collect(),
            comment: self.comment,
        }
    }

    /// A command written out as the shell reads it.
    pub fn raw(text: &str) -> Self {
        Self {
            stages: vec![text.to_owned()],
            comment: None,
        }
    }

    /// The command with `name=value` in its environment, as a shell
    /// prefix: how the demo gives clients their password (a command-line
    /// `--password` is visible to every user of the machine).
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        if let Some(first) = self.stages.first_mut() {
            *first = format!("{name}={} {first}", quote(value));
        }
        self
    }

    /// This command's output piped into `next`.
    pub fn pipe(mut self, next: Shell) -> Self {
        self.stages.extend(next.stages);
        self
    }

    pub fn comment(mut self, comment: &'static str) -> Self {
        self.comment = Some(comment);
        self
    }

    /// The command as the demo prints it: `$ COMMAND  # COMMENT` on one line
    /// if it fits in [`WIDTH`], else broken before each `|`, and before the
    /// words that would pass the width, each break ending in a `\`, so that
    /// the lines still paste as one command.
    pub fn lines(&self) -> Vec<String> {
        let comment = self.comment.map(|c| format!("  # {c}")).unwrap_or_default();
        let one_line = format!("{INDENT}$ {}{comment}", self.stages.join(" | "));
        if columns(&one_line) <= WIDTH {
            return vec![one_line];
        }
        let mut lines = Vec::new();
        if let Some(comment) = self.comment {
            lines.push(format!("{INDENT}# {comment}"));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            let lead = if i == 0 { "$ " } else { "    | " };
            lines.extend(continued(&format!("{INDENT}{lead}"), stage));
        }
        let last = lines.len() - 1;
        for line in &mut lines[usize::from(self.comment.is_some())..last] {
            line.push_str(" \\");
        }
        lines
    }
}

/// `stage` after `lead`, its words filled into lines that leave room for a
/// trailing ` \`; a line after the first is indented under the command.
fn continued(lead: &str, stage: &str) -> Vec<String> {
    const ROOM_FOR_BACKSLASH: usize = 2;
    let indent = format!("{}    ", " ".repeat(columns(lead)));
    let mut lines = vec![lead.to_owned()];
    for word in shell_words(stage) {
        let line = lines.last_mut().expect("one line at least");
        let fresh = line.ends_with(' ') && columns(line.trim_end()) <= columns(lead.trim_end());
        if fresh || columns(line) + 1 + columns(word) + ROOM_FOR_BACKSLASH <= WIDTH {
            if !line.ends_with(' ') {
                line.push(' ');
            }
            line.push_str(word);
        } else {
            lines.push(format!("{indent}{word}"));
        }
    }
    lines
}

/// The words of a command as the shell splits them: at spaces outside
/// quotes (a quoted argument holding a space stays one word).
fn shell_words(command: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let (mut start, mut quote) = (0, None);
    for (i, c) in command.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, ' ') => {
                if i > start {
                    words.push(&command[start..i]);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < command.len() {
        words.push(&command[start..]);
    }
    words
}

/// A word as a POSIX shell reads it back unchanged: as is when it holds only
/// characters the shell leaves alone, else in single quotes.
pub fn quote(word: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return Cow::Borrowed(word);
    }
    Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_command_breaks_between_words_with_a_backslash() {
        let long = Shell::run(
            "aead_client",
            &[
                "--port",
                "7666",
                "--broadcast-port",
                "7667",
                "--nick",
                "bob",
                "--room",
                "a b c",
            ],
        )
        .with_env("CHAT_PASSWORD", "s3cret");
        let lines = long.lines();
        assert!(lines.len() > 1, "{lines:?}");
        for line in &lines {
            assert!(columns(line) <= WIDTH, "{line}");
        }
        for line in &lines[..lines.len() - 1] {
            assert!(line.ends_with(" \\"), "{line}");
        }
        let pasted: Vec<&str> = lines
            .iter()
            .map(|l| {
                l.trim_start()
                    .trim_start_matches("$ ")
                    .trim_end_matches(" \\")
            })
            .collect();
        assert_eq!(
            pasted.join(" "),
            "CHAT_PASSWORD=s3cret aead_client --port 7666 --broadcast-port 7667 --nick bob --room 'a b c'"
        );
    }

    #[test]
    fn the_projects_binaries_are_named_by_where_they_are() {
        let binaries = Binaries::of(
            Path::new("/src/chat/target/release/chat_demo"),
            Path::new("/src/chat"),
        );
        let dump = Shell::run("simple_exploit", &["--dump"]).with_env("A", "b c");
        let load = Shell::run("python3", &["-c", "pass"]);
        let command = dump.pipe(load);
        assert_eq!(
            command.located(&binaries, false).lines(),
            ["    $ A='b c' target/release/simple_exploit --dump | python3 -c pass"]
        );
        assert_eq!(
            command.located(&binaries, true).lines(),
            ["    $ A='b c' /src/chat/target/release/simple_exploit --dump | python3 -c pass"]
        );
        let tests = Binaries::of(Path::new("/t/debug/deps/demo-1f"), Path::new("/elsewhere"));
        assert_eq!(tests.path("ae_server", false), "/t/debug/ae_server");
        assert!(Shell::into_scratch("here").leaves_folder());
        assert!(!command.leaves_folder());
    }

    #[test]
    fn wraps_at_spaces_within_the_width() {
        let text = "bob's client prints: [rejected] alice: cannot verify: wrong password or altered message";
        let lines = narration(text);
        assert_eq!(
            lines,
            [
                "    bob's client prints: [rejected] alice: cannot verify: wrong password or",
                "      altered message",
            ]
        );
        let long = format!("token {} end", "x".repeat(100));
        for line in narration(&long) {
            assert!(columns(&line) <= WIDTH, "{line}");
        }
        assert!(narration(&long)[1].ends_with("xxx..."));
    }

    #[test]
    fn quotes_only_what_the_shell_would_change() {
        assert_eq!(quote("--clock-offset"), "--clock-offset");
        assert_eq!(quote("-45"), "-45");
        assert_eq!(quote("touch pwned"), "'touch pwned'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        let client = Shell::run("ae_client", &["--nick", "alice", "--password", "s3cret"]);
        assert_eq!(
            client.comment("another terminal").lines(),
            ["    $ ae_client --nick alice --password s3cret  # another terminal"]
        );
    }

    #[test]
    fn a_long_pipeline_breaks_before_its_pipes() {
        let dump = Shell::run("simple_exploit", &["--dump", "--command", "touch pwned"]);
        let load = Shell::run(
            "python3",
            &["-c", "import pickle,sys; pickle.load(sys.stdin.buffer)"],
        );
        assert_eq!(
            dump.pipe(load).lines(),
            [
                "    $ simple_exploit --dump --command 'touch pwned' \\",
                "        | python3 -c 'import pickle,sys; pickle.load(sys.stdin.buffer)'",
            ]
        );
    }
}
