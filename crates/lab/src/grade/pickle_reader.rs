//! A pickle reader: Python's `pickle.load`, as the original's server read
//! every request, run in a scratch folder of its own, with an audit hook
//! that tells each command the bytes made it run (`os.system`, a
//! subprocess, an `exec` of a program), whatever that command is.

use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use crate::prerequisite::PYTHON3;
use crate::process::Process;
use crate::scratch::Scratch;

/// How long the reader may run: a command that does not return (a reverse
/// shell) has been told of by then.
const READING: Duration = Duration::from_secs(5);

/// How long the reader's last lines may take to arrive once it is gone.
const SETTLE: Duration = Duration::from_secs(1);

/// What each line the hook writes starts with.
const RAN: &str = "ran: ";

/// The reader: an audit hook on the events that run a command, then
/// `pickle.load` of stdin.
const READER: &str = r#"
import pickle, sys
RUNS = ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn")
def hook(event, args):
    if event in RUNS:
        sys.stderr.write("ran: %s %r\n" % (event, args[:2]))
        sys.stderr.flush()
sys.addaudithook(hook)
try:
    pickle.load(sys.stdin.buffer)
except Exception as error:
    sys.stderr.write("pickle.load raised %r\n" % (error,))
"#;

/// What reading some bytes did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The commands run, as the hook saw them.
    pub ran: Vec<String>,
    /// What the scratch folder held afterwards.
    pub left: Vec<String>,
}

/// Feeds `bytes` to the reader, in a scratch folder of its own.
pub fn read(bytes: &[u8]) -> Result<Read> {
    let scratch = Scratch::new("chat-grade-pickle")?;
    let mut command = Command::new(PYTHON3);
    command.args(["-c", READER]).current_dir(scratch.path());
    let mut python = Process::start(command)?;
    python.feed(bytes)?;
    python.wait(READING);
    python.kill();
    // Until the stream ends, or a command still running holds it open.
    python.stderr.find(SETTLE, |_| false);
    Ok(Read {
        ran: python
            .stderr
            .all()
            .into_iter()
            .filter_map(|line| line.strip_prefix(RAN).map(str::to_owned))
            .collect(),
        left: scratch.entries()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prerequisite;

    #[test]
    fn plain_data_runs_nothing() {
        if !prerequisite::python3("the pickle reader") {
            return;
        }
        let read = read(b"\x80\x04}\x94.").unwrap();
        assert_eq!(
            read,
            Read {
                ran: vec![],
                left: vec![]
            }
        );
    }
}
