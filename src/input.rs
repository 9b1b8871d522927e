//! Where the terminal client's lines come from: stdin read line by line when
//! it is not a terminal, the line editor (`crate::editor`: prompt, history,
//! the typed line kept intact while messages arrive) when a person is at
//! the keyboard. Either runs on a thread of its own and hands each line to
//! the main thread.

use std::io::{self, BufRead, IsTerminal};
use std::os::fd::AsFd;
use std::thread;

use nix::sys::termios::{self, SetArg, Termios};

use chat::wire::MAX_LINE;

/// What the input thread hands to the main thread.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// A line of this many bytes: too long to send whatever the layer, so
    /// it was not even kept.
    TooLong(usize),
    /// End of input (Ctrl-D at the prompt).
    End,
    /// Ctrl-C at the prompt.
    Interrupted,
}

/// Whether a person is at the keyboard: both stdin and stdout are terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// Reads stdin line by line on a thread; `send` returning false stops it.
/// A line longer than any frame may be is not kept, only measured.
pub fn spawn_lines(send: impl Fn(Input) -> bool + Send + 'static) -> io::Result<()> {
    thread::Builder::new().name("stdin".into()).spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buf = Vec::new();
        while let Ok(Some(bytes)) = read_bounded_line(&mut stdin, &mut buf, MAX_LINE) {
            let input = if bytes > MAX_LINE {
                Input::TooLong(bytes)
            } else {
                let line = String::from_utf8_lossy(&buf);
                Input::Line(line.trim_end_matches('\r').to_owned())
            };
            if !send(input) {
                return;
            }
        }
        send(Input::End);
    })?;
    Ok(())
}

/// Reads one line into `buf`, without its `\n`, keeping at most `limit`
/// bytes of it: a longer line is read to its end but not kept, so a huge
/// paste costs no memory. Returns the line's whole length (over `limit`:
/// `buf` holds only its start), or `None` at the end of input.
fn read_bounded_line(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Option<usize>> {
    buf.clear();
    let mut length = 0;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok((length > 0).then_some(length));
        }
        let newline = memchr::memchr(b'\n', available);
        let piece = &available[..newline.unwrap_or(available.len())];
        let room = (limit + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&piece[..piece.len().min(room)]);
        length += piece.len();
        let consumed = piece.len() + usize::from(newline.is_some());
        input.consume(consumed);
        if newline.is_some() {
            return Ok(Some(length));
        }
    }
}

/// The terminal's settings when the client started. The line editor puts
/// the terminal in raw mode while it waits for a line; if the client must
/// exit then (the server went away), dropping this puts the terminal back,
/// so the shell gets a usable terminal.
pub struct TerminalRestore {
    saved: Termios,
}

impl TerminalRestore {
    pub fn save() -> nix::Result<Self> {
        Ok(Self {
            saved: termios::tcgetattr(io::stdin().as_fd())?,
        })
    }
}

impl Drop for TerminalRestore {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_keeping_at_most_the_limit() {
        let mut input = io::Cursor::new(b"short\r\nfar too long\n\nlast".to_vec());
        let mut buf = Vec::new();
        let mut next = || read_bounded_line(&mut input, &mut buf, 6).unwrap();
        assert_eq!(next(), Some(6));
        assert_eq!(next(), Some(12));
        assert_eq!(next(), Some(0));
        assert_eq!(next(), Some(4));
        assert_eq!(next(), None);
        let mut input = io::Cursor::new(b"far too long\n".to_vec());
        read_bounded_line(&mut input, &mut buf, 6).unwrap();
        assert_eq!(buf, b"far too");
    }
}
