//! The project's binaries as child processes, for the tools that stage a
//! whole chat (the benchmark, the demo): a server on free ports, and
//! clients driven through their stdin and read through their stdout and
//! stderr. Every child is killed when its handle drops, so nothing outlives
//! the tool, whatever path it leaves by.

use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to print its "listening on" line.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A child process that failed to do what was expected of it.
#[derive(Debug)]
pub struct ProcessError(pub String);

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProcessError {}

/// Where the binaries are: next to the running executable, as cargo builds them.
#[derive(Debug, Clone)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory of the running executable.
    pub fn beside_current_exe() -> Self {
        let dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Lines of a child's output stream, read on a thread of their own.
pub struct Lines {
    rx: Receiver<String>,
    /// Lets a paused reader start (see [`Stderr::Paused`]).
    resume: Option<Sender<()>>,
}

impl Lines {
    fn spawn(stream: impl Read + Send + 'static) -> Self {
        Self::spawn_gated(stream, None)
    }

    /// A reader that reads nothing until `gate` says go (or is dropped).
    fn spawn_gated(stream: impl Read + Send + 'static, gate: Option<Receiver<()>>) -> Self {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            if let Some(gate) = gate {
                let _ = gate.recv();
            }
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self { rx, resume: None }
    }

    fn paused(stream: impl Read + Send + 'static) -> Self {
        let (go, gate) = mpsc::channel();
        let mut lines = Self::spawn_gated(stream, Some(gate));
        lines.resume = Some(go);
        lines
    }

    /// Starts reading a stream that was left unread until now: until then
    /// the child's writes to it block once the pipe is full.
    pub fn resume(&mut self) {
        if let Some(go) = self.resume.take() {
            let _ = go.send(());
        }
    }

    /// The next line, if one comes within `timeout` (`None` also when the
    /// stream ended).
    pub fn next(&self, timeout: Duration) -> Option<String> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The next line matching `pred` within `timeout`; lines before it are
    /// consumed.
    pub fn find(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left) {
                Ok(line) if pred(&line) => return Some(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

/// What becomes of a child's stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stderr {
    /// Read line by line as it comes.
    Read,
    /// A pipe nobody reads until [`Lines::resume`]: the child's writes
    /// block once it is full, as with a terminal paused by Ctrl-S.
    Paused,
}

/// A running child process with piped stdin, stdout and stderr.
pub struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    pub stdout: Lines,
    pub stderr: Lines,
}

impl Process {
    pub fn spawn<I, S>(binary: &Path, args: I, envs: &[(&str, &str)]) -> Result<Self, ProcessError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::spawn_with(binary, args, envs, Stderr::Read)
    }

    /// [`spawn`](Self::spawn), choosing what becomes of stderr.
    pub fn spawn_with<I, S>(
        binary: &Path,
        args: I,
        envs: &[(&str, &str)],
        stderr: Stderr,
    ) -> Result<Self, ProcessError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(binary);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .map_err(|e| ProcessError(format!("cannot start {}: {e}", binary.display())))?;
        let (Some(stdout), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(ProcessError("child has no stdout or stderr".into()));
        };
        Ok(Self {
            stdin: child.stdin.take(),
            child,
            stdout: Lines::spawn(stdout),
            stderr: match stderr {
                Stderr::Read => Lines::spawn(err),
                Stderr::Paused => Lines::paused(err),
            },
        })
    }

    /// Writes one line to the child's stdin.
    pub fn send_line(&mut self, line: &str) -> Result<(), ProcessError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| ProcessError("stdin already closed".into()))?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| ProcessError(format!("cannot write to the child: {e}")))
    }

    /// Closes stdin: the child sees the end of its input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `timeout` for the child to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server binary running on ports the system chose.
pub struct ServerProcess {
    pub process: Process,
    pub port: u16,
    pub broadcast_port: u16,
}

impl ServerProcess {
    /// Starts `binary --port 0 --broadcast-port 0 ARGS` and reads which
    /// ports it got from its "listening on" line.
    pub fn start(
        binary: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<Self, ProcessError> {
        Self::start_with(binary, args, envs, Stderr::Read)
    }

    /// [`start`](Self::start), choosing what becomes of stderr.
    pub fn start_with(
        binary: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        stderr: Stderr,
    ) -> Result<Self, ProcessError> {
        let all_args = ["--port", "0", "--broadcast-port", "0"].iter().chain(args);
        let process = Process::spawn_with(binary, all_args, envs, stderr)?;
        let line = process.stdout.next(SERVER_START_TIMEOUT).ok_or_else(|| {
            ProcessError(format!("{} printed no listening line", binary.display()))
        })?;
        let (port, broadcast_port) = parse_listening_line(&line)
            .ok_or_else(|| ProcessError(format!("unexpected server output: {line:?}")))?;
        Ok(Self {
            process,
            port,
            broadcast_port,
        })
    }

    /// `--port P --broadcast-port B`, for clients and tools.
    pub fn client_args(&self) -> Vec<String> {
        vec![
            "--port".into(),
            self.port.to_string(),
            "--broadcast-port".into(),
            self.broadcast_port.to_string(),
        ]
    }

    /// Resident and peak resident memory, in KiB (Linux `/proc`).
    pub fn memory_kib(&self) -> (Option<u64>, Option<u64>) {
        let pid = self.process.id();
        (status_field(pid, "VmRSS:"), status_field(pid, "VmHWM:"))
    }
}

/// The two ports of `listening on H:P (requests) and H:B (broadcast)`.
pub fn parse_listening_line(line: &str) -> Option<(u16, u16)> {
    let rest = line.strip_prefix("listening on ")?;
    let mut ports = rest
        .split_whitespace()
        .filter_map(|word| word.rsplit_once(':').and_then(|(_, p)| p.parse().ok()));
    Some((ports.next()?, ports.next()?))
}

/// A numeric field of a process's `/proc/PID/status` (Linux), such as
/// `VmRSS:` in KiB or `Threads:`; a trailing unit is dropped.
pub fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_field(&status, field)
}

fn parse_status_field(status: &str, field: &str) -> Option<u64> {
    let value = status.lines().find_map(|l| l.strip_prefix(field))?;
    value.trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_listening_line() {
        let line = "listening on 127.0.0.1:4000 (requests) and [::1]:4001 (broadcast)";
        assert_eq!(parse_listening_line(line), Some((4000, 4001)));
        assert_eq!(parse_listening_line("listening on nothing"), None);
        assert_eq!(parse_listening_line("hello 1.2.3.4:5 6.7.8.9:10"), None);
    }

    #[test]
    fn reads_memory_fields() {
        let status = "Name:\tx\nVmHWM:\t  5120 kB\nVmRSS:\t  4096 kB\n";
        assert_eq!(parse_status_field(status, "VmRSS:"), Some(4096));
        assert_eq!(parse_status_field(status, "VmHWM:"), Some(5120));
        assert_eq!(parse_status_field(status, "VmSwap:"), None);
        assert!(status_field(std::process::id(), "Threads:").is_some_and(|n| n >= 1));
    }
}
