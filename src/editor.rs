//! The line editor a person types into: a prompt (`NICK> `), history, and
//! what arrives printed above the line being typed. It runs on a thread of
//! its own and hands every line to the main thread.
//!
//! Every line read is a message (PROTOCOL.md section 4), however it came:
//! typed key by key, pasted with its Enter, or several pasted at once. The
//! editor (reedline) reads every key that has arrived before it waits, so
//! a line and its Enter arriving in one burst is sent at once; a bracketed
//! paste holding line breaks is sent line by line ([`PasteSends`]), its
//! last unfinished line left to edit.
//!
//! The editor prints what other threads show ([`EditorQueue`]) only while
//! it waits for a key, so it is also the one to stop: when the client
//! leaves, [`EditorSession`]'s drop asks it to; it takes its prompt off the
//! screen and hands the terminal back as it was, and what is still queued
//! then goes straight out.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use reedline::{
    Color, EditCommand, EditMode, Emacs, ExternalPrinter, Prompt, PromptEditMode,
    PromptHistorySearch, Reedline, ReedlineEvent, ReedlineRawEvent, Signal, SimpleMatchHighlighter,
};

use crate::display;
use crate::input::{Input, TerminalRestore};
use crate::screen::{EditorQueue, Screen};
use chat::wire::MAX_LINE;

/// How often the editor, waiting for a key, looks for a line to show and
/// for the client leaving: a line shows at most this late.
const TURN: Duration = Duration::from_millis(20);

/// Lines handed to the editor's printer on one turn: one. reedline 0.49
/// counts the rows it prints on a turn before the terminal has them, and
/// from two rows on takes its prompt for scrolled away and pushes the whole
/// screen up (later versions measure instead, but need a newer Rust than
/// the workspace's). One row a turn is 50 a second; the rest wait in the
/// [`EditorQueue`].
const LINES_PER_TURN: usize = 1;

/// How long a leaving client waits for the editor to take its prompt off
/// the screen (it does so within a [`TURN`]).
const STOP_PATIENCE: Duration = Duration::from_secs(2);

/// Erases the row the cursor is on, prompt and all.
const ERASE_ROW: &str = "\r\x1b[2K";

/// The line editor, started: the screen that prints through it, and the
/// session that stops it when dropped.
pub struct Editor {
    pub screen: Screen,
    pub session: EditorSession,
}

/// Starts the line editor on a thread, with `NICK> ` as its prompt; each
/// line read goes to `send`, which returns false once nobody listens.
pub fn spawn(nick: &str, send: impl Fn(Input) -> bool + Send + 'static) -> io::Result<Editor> {
    let restore = TerminalRestore::save()?;
    let queue = Arc::new(EditorQueue::default());
    let carry = Arc::new(Mutex::new(Carry::default()));
    let editor = reedline(&queue, &carry);
    let prompt = NickPrompt(display::printable(nick).into_owned());
    let (done, stopped) = mpsc::channel();
    let lines = Lines {
        carry,
        queue: Arc::clone(&queue),
        send: Box::new(send),
    };
    thread::Builder::new()
        .name("line-editor".into())
        .spawn(move || {
            lines.edit(editor, &prompt);
            let _ = done.send(());
        })?;
    Ok(Editor {
        screen: Screen::editor(Arc::clone(&queue), nick),
        session: EditorSession {
            queue,
            stopped,
            _restore: restore,
        },
    })
}

/// The editor, configured: Emacs keys whose pastes send their lines,
/// history, bracketed paste, and a printer fed from `queue` on every turn,
/// which is also when it learns that the client is leaving.
fn reedline(queue: &Arc<EditorQueue>, carry: &Arc<Mutex<Carry>>) -> Reedline {
    let printer = ExternalPrinter::<String>::new(LINES_PER_TURN);
    let sender = printer.sender();
    let leave = Arc::new(AtomicBool::new(false));
    let (lines, carried, stop) = (Arc::clone(queue), Arc::clone(carry), Arc::clone(&leave));
    let on_turn = move || {
        lock(&carried).between_batches();
        let offer = |line| sender.try_send(line).map_err(|e| e.into_inner());
        if lines.hand_over(offer) {
            stop.store(true, Ordering::Relaxed);
        }
    };
    Reedline::create()
        .with_edit_mode(Box::new(PasteSends {
            keys: Emacs::default(),
            carry: Arc::clone(carry),
        }))
        // The line as typed, in the terminal's own colours (the default
        // highlighter paints it white, unreadable on a light background).
        .with_highlighter(Box::<SimpleMatchHighlighter>::default())
        .with_external_printer(printer)
        .with_idle_callback(Box::new(on_turn))
        .with_break_signal(leave)
        .with_poll_interval(TURN)
        .use_bracketed_paste(true)
        .with_ansi_colors(crate::screen::colour())
}

/// The editor's thread: reads lines until the user or the client ends it.
struct Lines {
    carry: Arc<Mutex<Carry>>,
    queue: Arc<EditorQueue>,
    send: Box<dyn Fn(Input) -> bool + Send>,
}

impl Lines {
    fn edit(&self, mut editor: Reedline, prompt: &NickPrompt) {
        while self.next(&mut editor, prompt) {}
        // Nothing prints through the editor from now on: what is still
        // queued, and whatever comes next, goes straight out.
        self.queue.stop();
    }

    /// Reads one line, or a paste's lines; whether to read on.
    fn next(&self, editor: &mut Reedline, prompt: &NickPrompt) -> bool {
        let input = match editor.read_line(prompt) {
            Ok(Signal::Success(buffer)) => return self.lines(editor, buffer),
            Ok(Signal::ExternalBreak(buffer)) => {
                // The client is leaving: its prompt goes with it.
                end_row(buffer.is_empty());
                return false;
            }
            // The editor has ended the line, as it does for Enter.
            Ok(Signal::CtrlC) => Input::Interrupted,
            Ok(Signal::CtrlD) => Input::End,
            Ok(other) => stopped(&format!("{other:?}")),
            Err(e) => stopped(&e.to_string()),
        };
        (self.send)(input);
        false
    }

    /// Sends each line of what was submitted, and of what a paste carried
    /// past it; a last unfinished line is left in the editor.
    fn lines(&self, editor: &mut Reedline, buffer: String) -> bool {
        let carried = lock(&self.carry).take();
        let text = format!("{buffer}\n{}", carried.unwrap_or_default());
        let mut lines: Vec<&str> = text.split('\n').collect();
        let unfinished = lines.pop().unwrap_or_default();
        if !unfinished.is_empty() {
            editor.run_edit_commands(&[EditCommand::InsertString(unfinished.to_owned())]);
        }
        lines.into_iter().all(|line| (self.send)(input(line)))
    }
}

/// The editor stopped for a reason of its own: the line ends there, and
/// so does the input.
fn stopped(why: &str) -> Input {
    log::warn!("the line editor stopped: {why}");
    end_row(false);
    Input::End
}

/// A line read, or its length if no frame could hold it.
fn input(line: &str) -> Input {
    if line.len() > MAX_LINE {
        Input::TooLong(line.len())
    } else {
        Input::Line(line.to_owned())
    }
}

/// Ends the editor's last row: erased if only the prompt is on it (the
/// shell's prompt takes its place), else closed with a newline.
fn end_row(erase: bool) {
    let mut out = io::stdout().lock();
    let end = if erase { ERASE_ROW } else { "\r\n" };
    let _ = out.write_all(end.as_bytes()).and_then(|()| out.flush());
}

/// Dropped when the chat session ends: asks the editor to stop, waits for
/// it to take its prompt away (what is queued then goes straight out), then
/// puts the terminal's settings back as they were.
pub struct EditorSession {
    queue: Arc<EditorQueue>,
    stopped: Receiver<()>,
    _restore: TerminalRestore,
}

impl Drop for EditorSession {
    fn drop(&mut self) {
        self.queue.leave();
        if self.stopped.recv_timeout(STOP_PATIENCE) == Err(mpsc::RecvTimeoutError::Timeout) {
            log::warn!("the line editor did not stop; the terminal is put back as it was");
        }
    }
}

/// What a paste that submitted lines carried past its last line break: the
/// start of the next line, and any key that came in the same burst.
#[derive(Default)]
struct Carry {
    /// Some from a paste with a line break until the editor returns.
    text: Option<String>,
}

impl Carry {
    fn take(&mut self) -> Option<String> {
        self.text.take()
    }

    /// The editor finished a batch of keys without returning the paste's
    /// lines (it was searching its history, say): they are typed text, not
    /// carried any more.
    fn between_batches(&mut self) {
        self.text = None;
    }
}

/// A key of the same burst as a paste that submitted: it is part of the
/// text that follows. Keys that edit are dropped.
fn carried_key(event: &Event, text: &mut String) {
    match event {
        Event::Paste(pasted) => text.push_str(&one_break(pasted)),
        Event::Key(KeyEvent {
            code, modifiers, ..
        }) if *modifiers == KeyModifiers::NONE || *modifiers == KeyModifiers::SHIFT => match code {
            KeyCode::Char(c) => text.push(*c),
            KeyCode::Enter => text.push('\n'),
            KeyCode::Tab => text.push('\t'),
            _ => {}
        },
        _ => {}
    }
}

/// A paste's line breaks as `\n`, whichever the terminal sent.
fn one_break(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Emacs keys, except that a paste holding a line break submits its lines,
/// as if typed: the editor's own would insert them into one message.
struct PasteSends {
    keys: Emacs,
    carry: Arc<Mutex<Carry>>,
}

impl EditMode for PasteSends {
    fn parse_event(&mut self, event: ReedlineRawEvent) -> ReedlineEvent {
        let event = Event::from(event);
        let mut carry = lock(&self.carry);
        if let Some(mut text) = carry.text.take() {
            carried_key(&event, &mut text);
            carry.text = Some(text);
            return ReedlineEvent::None;
        }
        match event {
            Event::Paste(pasted) => paste(&one_break(&pasted), &mut carry),
            other => match ReedlineRawEvent::try_from(other) {
                Ok(raw) => self.keys.parse_event(raw),
                Err(()) => ReedlineEvent::None,
            },
        }
    }

    fn edit_mode(&self) -> PromptEditMode {
        self.keys.edit_mode()
    }
}

/// A paste: inserted as it is if it holds no line break; else its lines
/// are inserted and submitted, and what follows the last break is carried
/// to the next line.
fn paste(text: &str, carry: &mut Carry) -> ReedlineEvent {
    let Some((lines, rest)) = text.rsplit_once('\n') else {
        return ReedlineEvent::Edit(vec![EditCommand::InsertString(text.to_owned())]);
    };
    carry.text = Some(rest.to_owned());
    ReedlineEvent::Multiple(vec![
        ReedlineEvent::Edit(vec![EditCommand::InsertString(lines.to_owned())]),
        ReedlineEvent::Submit,
    ])
}

/// `NICK> `, in the terminal's own colours, as the client always showed it.
struct NickPrompt(String);

impl Prompt for NickPrompt {
    fn render_prompt_left(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }

    fn render_prompt_right(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }

    fn render_prompt_indicator(&self, _: PromptEditMode) -> Cow<'_, str> {
        Cow::Borrowed("> ")
    }

    fn render_prompt_multiline_indicator(&self) -> Cow<'_, str> {
        Cow::Borrowed("  ")
    }

    fn render_prompt_history_search_indicator(&self, search: PromptHistorySearch) -> Cow<'_, str> {
        Cow::Owned(format!("(search: {}) ", search.term))
    }

    fn get_prompt_color(&self) -> Color {
        Color::Reset
    }

    fn get_indicator_color(&self) -> Color {
        Color::Reset
    }
}

/// A lock that a panicking holder does not poison for the others.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paste_with_line_breaks_submits_its_lines_and_carries_the_rest() {
        let mut carry = Carry::default();
        let event = paste(&one_break("one\r\ntwo\rthr"), &mut carry);
        let ReedlineEvent::Multiple(events) = event else {
            panic!("not submitted: {event:?}");
        };
        assert_eq!(
            events[0],
            ReedlineEvent::Edit(vec![EditCommand::InsertString("one\ntwo".into())])
        );
        assert_eq!(events[1], ReedlineEvent::Submit);
        assert_eq!(carry.take().as_deref(), Some("thr"));
    }

    #[test]
    fn a_paste_without_a_line_break_is_only_inserted() {
        let mut carry = Carry::default();
        let event = paste("word", &mut carry);
        let inserted = ReedlineEvent::Edit(vec![EditCommand::InsertString("word".into())]);
        assert_eq!(event, inserted);
        assert_eq!(carry.take(), None);
    }
}
