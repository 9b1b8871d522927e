//! The project's binaries as child processes, for whatever stages them (the
//! tests of the command-line contract, the benchmark, the soak test): a
//! server on free ports, clients driven through their stdin and read through
//! their stdout and stderr, tools run to their end, and what Linux's `/proc`
//! says of a process. Every child is killed when its handle drops, so
//! nothing outlives the caller, whatever path it leaves by.
//!
//! Timeouts here are failure guards, never expectations of speed.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chat::client::{Endpoint, RequestChannel};
use chat::wire::Request;
use unsecured_chat::PASSWORD_ENV;

/// How long to wait for anything that should happen promptly: the one
/// failure guard of the lab and of the tests, generous on purpose, since
/// an unoptimised build on a loaded machine takes seconds for one PBKDF2
/// derivation at 600,000 iterations (an encrypted client's first line).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How long to wait before concluding that something did *not* happen (no
/// more lines, no notice): a pause, never a guard.
pub const QUIET: Duration = Duration::from_millis(500);

/// How often a wait that polls (a child, `/proc`, a condition) looks again.
pub const POLL: Duration = Duration::from_millis(10);

/// Where the servers started here listen: `--host`'s default.
const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

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

/// Lines of a child's output stream, read on a thread of their own; every
/// line seen so far is kept, for error messages and for assertions that
/// something never appeared.
pub struct Lines {
    rx: Receiver<String>,
    seen: Arc<Mutex<Vec<String>>>,
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
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            if let Some(gate) = gate {
                let _ = gate.recv();
            }
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { return };
                lock(&log).push(line.clone());
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            rx,
            seen,
            resume: None,
        }
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

    /// The next line not yet taken, if one comes within `timeout` (`None`
    /// also once the stream has ended).
    pub fn next(&self, timeout: Duration) -> Option<String> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The next line matching `pred` within `timeout`; lines before it are
    /// taken.
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

    /// The next line matching `pred` within [`PATIENCE`]; the error says
    /// `what` was awaited and every line seen.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> Result<String> {
        self.find(PATIENCE, pred)
            .ok_or_else(|| anyhow!("no line {what} within {PATIENCE:?}; saw: {:#?}", self.all()))
    }

    /// The next line, whatever it is, within [`PATIENCE`]; the error says
    /// `what` was awaited.
    pub fn wait_next(&self, what: &str) -> Result<String> {
        self.wait_for(what, |_| true)
    }

    /// The next line equal to `expected`, within [`PATIENCE`].
    pub fn wait_for_line(&self, expected: &str) -> Result<String> {
        self.wait_for(&format!("equal to {expected:?}"), |l| l == expected)
    }

    /// Every line seen so far, taken or not.
    pub fn all(&self) -> Vec<String> {
        lock(&self.seen).clone()
    }

    /// Waits until the stream ends (the child closed it, or exited), then
    /// returns every line it carried, taken or not.
    pub fn until_closed(&self) -> Result<Vec<String>> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(self.all()),
                Err(RecvTimeoutError::Timeout) => {
                    bail!(
                        "stream still open after {PATIENCE:?}; saw: {:#?}",
                        self.all()
                    )
                }
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
    /// Starts `binary ARGS` with `envs` added to an environment that holds
    /// no chat password (a child is given one, or has none).
    pub fn spawn<I, S>(binary: &Path, args: I, envs: &[(&str, &str)]) -> Result<Self>
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
    ) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(binary);
        command.args(args).env_remove(PASSWORD_ENV);
        command.envs(envs.iter().copied());
        Self::start_with(command, stderr)
    }

    /// Starts a command the caller prepared (its folder, say), its three
    /// streams piped.
    pub fn start(command: Command) -> Result<Self> {
        Self::start_with(command, Stderr::Read)
    }

    fn start_with(mut command: Command, stderr: Stderr) -> Result<Self> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        let (Some(stdout), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            bail!("{program} has no stdout or stderr");
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

    /// Starts a chat client (`simple_client`, `ae_client`, `aead_client`)
    /// and waits until it says it has joined.
    pub fn chat_client<S: AsRef<OsStr>>(binary: &Path, args: &[S]) -> Result<Self> {
        Self::chat_client_with(binary, args, &[])
    }

    /// [`chat_client`](Self::chat_client), with `envs` added (a password,
    /// a log level).
    pub fn chat_client_with<S: AsRef<OsStr>>(
        binary: &Path,
        args: &[S],
        envs: &[(&str, &str)],
    ) -> Result<Self> {
        let client = Self::spawn(binary, args, envs)?;
        client
            .stderr
            .wait_for("announcing the join", |l| l.starts_with("joined as "))?;
        Ok(client)
    }

    /// Writes one line to the child's stdin.
    pub fn send_line(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin already closed")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .context("cannot write to the child")
    }

    /// Writes `bytes` to the child's stdin, then closes it.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<()> {
        let mut stdin = self.stdin.take().context("stdin already closed")?;
        stdin.write_all(bytes).context("cannot write to the child")
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
            thread::sleep(POLL);
        }
    }

    /// Waits up to [`PATIENCE`] for the child to exit; the error holds what
    /// it said on stderr.
    pub fn exit_status(&mut self) -> Result<ExitStatus> {
        self.wait(PATIENCE).ok_or_else(|| {
            anyhow!(
                "still running after {PATIENCE:?}; stderr: {:#?}",
                self.stderr.all()
            )
        })
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

/// What a tool run to its end left: its exit status and both streams.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `binary ARGS` to its end with empty input and no chat password.
pub fn run<S: AsRef<OsStr>>(binary: &Path, args: &[S]) -> Result<Finished> {
    let output = Command::new(binary)
        .args(args)
        .env_remove(PASSWORD_ENV)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    Ok(Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
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
    pub fn start(binary: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<Self> {
        Self::start_with(binary, args, envs, Stderr::Read)
    }

    /// [`start`](Self::start), choosing what becomes of stderr.
    pub fn start_with(
        binary: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        stderr: Stderr,
    ) -> Result<Self> {
        let all_args = ["--port", "0", "--broadcast-port", "0"].iter().chain(args);
        let process = Process::spawn_with(binary, all_args, envs, stderr)?;
        let line = process.stdout.next(PATIENCE).with_context(|| {
            format!(
                "{} printed no listening line; stderr: {:?}",
                binary.display(),
                process.stderr.all()
            )
        })?;
        let (port, broadcast_port) = parse_listening_line(&line)
            .with_context(|| format!("unexpected server output: {line:?}"))?;
        Ok(Self {
            process,
            port,
            broadcast_port,
        })
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(LOOPBACK.to_string(), self.port, self.broadcast_port)
    }

    pub fn request_addr(&self) -> SocketAddr {
        (LOOPBACK, self.port).into()
    }

    pub fn broadcast_addr(&self) -> SocketAddr {
        (LOOPBACK, self.broadcast_port).into()
    }

    /// `--port P --broadcast-port B`, for clients and tools.
    pub fn client_args(&self) -> Vec<String> {
        endpoint_args(&self.endpoint())
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Resident and peak resident memory, in KiB (Linux `/proc`).
    pub fn memory_kib(&self) -> (Option<u64>, Option<u64>) {
        let pid = self.pid();
        (status_field(pid, "VmRSS:"), status_field(pid, "VmHWM:"))
    }

    /// Threads of the server when no connection is open. It runs a fixed
    /// number of threads plus one per open connection; serving one request
    /// connection and watching its thread go proves the fixed ones are all
    /// running by then.
    pub fn idle_threads(&self) -> Result<usize> {
        let mut requests = RequestChannel::connect(&self.endpoint())?;
        requests.request(&Request::List)?;
        let threads = || thread_count(self.pid()).context("the server has no thread count");
        let busy = threads()?;
        drop(requests);
        wait_until("the server notices a closed connection", || {
            Ok(threads()? < busy)
        })?;
        Ok(busy - 1)
    }
}

/// `--host H --port P --broadcast-port B`: where a client or tool connects.
pub fn endpoint_args(endpoint: &Endpoint) -> Vec<String> {
    vec![
        "--host".into(),
        endpoint.host.clone(),
        "--port".into(),
        endpoint.port.to_string(),
        "--broadcast-port".into(),
        endpoint.broadcast_port.to_string(),
    ]
}

/// The two ports of `listening on H:P (requests) and H:B (broadcast)`.
pub fn parse_listening_line(line: &str) -> Option<(u16, u16)> {
    let rest = line.strip_prefix("listening on ")?;
    let mut ports = rest
        .split_whitespace()
        .filter_map(|word| word.rsplit_once(':').and_then(|(_, p)| p.parse().ok()));
    Some((ports.next()?, ports.next()?))
}

/// Proves that broadcast listeners are subscribed to a server one cannot
/// look into (a process): a connection is established before the server
/// registers it, and nothing on the wire tells when that happens. So `say`
/// broadcasts numbered markers (`sync 0`, `sync 1`...) until `heard`, which
/// may wait a little, says every listener has received one; an error if
/// that takes longer than `timeout`, or if `say` or `heard` fails.
pub fn until_heard(
    timeout: Duration,
    mut say: impl FnMut(&str) -> Result<()>,
    mut heard: impl FnMut(&str) -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut attempt = 0u64;
    loop {
        let marker = format!("{SYNC_PREFIX}{attempt}");
        say(&marker)?;
        if heard(&marker)? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("listeners did not all hear a marker within {timeout:?}");
        }
        attempt += 1;
    }
}

/// Polls `cond` until it holds; an error if it does not within
/// [`PATIENCE`], or if `cond` fails.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    while !cond()? {
        if Instant::now() > deadline {
            bail!("timed out waiting until {what}");
        }
        thread::sleep(POLL);
    }
    Ok(())
}

/// How every marker [`until_heard`] sends starts, so listeners can skip them.
pub const SYNC_PREFIX: &str = "sync ";

/// A numeric field of a process's `/proc/PID/status` (Linux), such as
/// `VmRSS:` in KiB or `Threads:`; a trailing unit is dropped.
pub fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_field(&status, field)
}

/// Resident memory of a process, in KiB (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

/// Threads of a process (Linux).
pub fn thread_count(pid: u32) -> Option<usize> {
    status_field(pid, "Threads:").and_then(|n| usize::try_from(n).ok())
}

fn parse_status_field(status: &str, field: &str) -> Option<u64> {
    let value = status.lines().find_map(|l| l.strip_prefix(field))?;
    value.trim().trim_end_matches("kB").trim().parse().ok()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
        assert!(thread_count(std::process::id()).is_some_and(|n| n >= 1));
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }

    #[test]
    fn markers_go_out_until_one_is_heard() {
        let mut said = Vec::new();
        let heard = |marker: &str| Ok(marker.ends_with('2'));
        until_heard(
            PATIENCE,
            |m| {
                said.push(m.to_owned());
                Ok(())
            },
            heard,
        )
        .unwrap();
        assert_eq!(said, ["sync 0", "sync 1", "sync 2"]);
    }
}
