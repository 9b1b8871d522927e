//! A reader of the teacher's view (`--dashboard`), for the benchmark: it
//! opens the view's event stream and reads every byte of it without
//! rendering anything, as a browser at the projector would read it, so
//! that a run measures what a dashboard costs the chat (PROTOCOL.md
//! section 10 says its request path never waits for it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread::{self, JoinHandle};

use anyhow::{Context, Result, bail};

use crate::process::PATIENCE;

/// What a server prints on stderr before the view's address.
pub const DASHBOARD_PREFIX: &str = "dashboard: http://";

/// An attached reader; dropping it hangs up.
pub struct DashboardReader {
    stream: TcpStream,
    thread: Option<JoinHandle<u64>>,
}

impl DashboardReader {
    /// Opens the stream of the view a server announced in `line`
    /// (`dashboard: http://HOST:N/`), and reads it on a thread of its own
    /// once its first event has come.
    pub fn attach(line: &str) -> Result<Self> {
        let address = line
            .strip_prefix(DASHBOARD_PREFIX)
            .and_then(|rest| rest.strip_suffix('/'))
            .with_context(|| format!("not a dashboard's address: {line:?}"))?;
        let mut stream = TcpStream::connect(address).context("cannot reach the dashboard")?;
        stream.set_read_timeout(Some(PATIENCE))?;
        let request = format!("GET /events HTTP/1.1\r\nHost: {address}\r\n\r\n");
        stream.write_all(request.as_bytes())?;
        let mut reader = BufReader::new(stream.try_clone()?);
        await_first_event(&mut reader)?;
        stream.set_read_timeout(None)?;
        let thread = thread::Builder::new()
            .name("dashboard-reader".into())
            .spawn(move || read_to_end(reader))?;
        Ok(Self {
            stream,
            thread: Some(thread),
        })
    }

    /// Hangs up; the bytes it read.
    pub fn detach(mut self) -> u64 {
        self.hang_up()
    }

    fn hang_up(&mut self) -> u64 {
        let _ = self.stream.shutdown(Shutdown::Both);
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or(0)
    }
}

impl Drop for DashboardReader {
    fn drop(&mut self) {
        self.hang_up();
    }
}

/// Reads the response's head and the stream up to its first event.
fn await_first_event(reader: &mut BufReader<TcpStream>) -> Result<()> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200") {
        bail!("the dashboard answered {line:?}");
    }
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("the dashboard closed its stream");
        }
        if line.starts_with("event: ") {
            return Ok(());
        }
    }
}

/// Reads and drops every byte until the stream ends; how many.
fn read_to_end(mut reader: BufReader<TcpStream>) -> u64 {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    total
}
