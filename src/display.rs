//! How peer text is shown: the one place that turns what came from the
//! network into lines for a terminal, for every client and tool (the chat
//! clients, big brother, simple_dos, simple_exploit, the demo's narration).
//!
//! Frames come from the network, and a rogue server or client could
//! otherwise forge extra lines, drive the terminal or reorder what it shows
//! (Trojan Source): every text goes through [`printable`] and every nick
//! through [`nick`] before it is shown (PROTOCOL.md section 4).

use std::borrow::Cow;
use std::fmt::Write as _;

use chat::attack::insider_forge::Report as ForgeReport;
use chat::attack::simple_bigbrother::Overheard;
use chat::attack::simple_dos::{Eviction, Flood, Report as DosReport};
use chat::attack::simple_exploit::{DEFAULT_COMMAND, Report as ExploitReport, Verdict};
use chat::client::Delivery;
use chat::wire::{ClaimedNick, Response};
use chat::wire::{MAX_NICK_CHARS, Refused};

/// What stands for the nick of a frame that names no one.
pub const UNKNOWN_NICK: &str = "?";

/// What follows a quoted text that was cut.
const CUT_MARK: &str = "...";

/// Text as it may safely go to a terminal: one line, shown in the order it
/// was written. Every character a terminal acts on instead of showing is
/// escaped as Rust writes it (`\n`, `\u{202e}`): controls, format
/// characters (bidirectional overrides and isolates, zero-width ones) and
/// the line and paragraph separators.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_shown(&mut out, c);
    }
    Cow::Owned(out)
}

/// Whether a terminal would act on `c` rather than show it.
fn acts_on_terminal(c: char) -> bool {
    Refused::of(c).is_some_and(Refused::acts_on_terminal)
}

fn push_shown(out: &mut String, c: char) {
    if acts_on_terminal(c) {
        let _ = write!(out, "{}", c.escape_default());
    } else {
        out.push(c);
    }
}

/// A nick a frame claims, as printed: a valid nick as it is (nothing in it
/// needs escaping); anything else [`quoted`], so that it never passes for
/// somebody's name nor, however long, pushes text to where a line of its
/// own would seem to start.
pub fn nick(claimed: &ClaimedNick) -> Cow<'_, str> {
    match claimed {
        ClaimedNick::Valid(nick) => Cow::Borrowed(nick.as_str()),
        ClaimedNick::Invalid(invalid) => Cow::Owned(quoted(&invalid.text)),
        ClaimedNick::Missing => Cow::Borrowed(UNKNOWN_NICK),
    }
}

/// `"TEXT"`: escaped as [`printable`] does, quotes and backslashes too, and
/// cut to [`MAX_NICK_CHARS`] characters between the quotes, then `...`.
pub fn quoted(text: &str) -> String {
    let mut inside = String::new();
    let mut shown = 0;
    let mut cut = false;
    for c in text.chars() {
        let mut piece = String::new();
        match c {
            '"' | '\\' => piece.extend(['\\', c]),
            c => push_shown(&mut piece, c),
        }
        let width = piece.chars().count();
        if shown + width > MAX_NICK_CHARS {
            cut = true;
            break;
        }
        shown += width;
        inside.push_str(&piece);
    }
    format!("\"{inside}\"{}", if cut { CUT_MARK } else { "" })
}

/// The one line a client prints for a broadcast (PROTOCOL.md section 4):
/// `NICK : TEXT`, `[rejected] NICK: REASON`, or the server's last words.
pub fn delivery(delivery: &Delivery) -> String {
    match delivery {
        Delivery::Accepted { nick, opened } => {
            format!("{nick} : {}", printable(&opened.text))
        }
        Delivery::Rejected { nick, reason } => {
            format!(
                "[rejected] {}: {}",
                self::nick(nick),
                printable(&reason.to_string())
            )
        }
        Delivery::Notice(reason) => format!("server: {}", printable(reason.as_str())),
    }
}

/// A layer's warning about a message, for stderr.
pub fn warning(warning: &str) -> String {
    format!("[warning] {}", printable(warning))
}

/// The answer to `/list`: `joined (N): A, B`, or `joined (N, M more not
/// shown): A, B` when the server left `M` nicks out to fit its line. Each
/// nick is judged and shown as [`nick`] does: a rogue server sends anything.
pub fn nicks(nicks: &[String], more: usize) -> String {
    let shown: Vec<String> = nicks
        .iter()
        .map(|n| self::nick(&ClaimedNick::check(n.as_str())).into_owned())
        .collect();
    let count = match more {
        0 => shown.len().to_string(),
        more => format!("{}, {more} more not shown", shown.len()),
    };
    format!("joined ({count}): {}", shown.join(", "))
}

/// A response, as a short phrase: `ok`, `ko: REASON`, a nick list.
pub fn response(response: &Response) -> String {
    match response {
        Response::Ok => "ok".to_owned(),
        Response::Ko(reason) => format!("ko: {}", printable(reason.as_str())),
        Response::Nicks { nicks: list, more } => nicks(list, *more),
    }
}

/// Big brother's line: `NICK : M`, or what else the port said.
pub fn overheard(overheard: &Overheard) -> String {
    match overheard {
        Overheard::Message { nick, message } => {
            format!("{} : {}", self::nick(nick), printable(message))
        }
        Overheard::Notice(reason) => format!("server: {}", printable(reason.as_str())),
        Overheard::Garbled(e) => {
            format!("unreadable broadcast: {}", printable(&e.to_string()))
        }
    }
}

/// What `simple_dos` prints.
pub fn dos_report(report: &DosReport) -> String {
    match report {
        DosReport::Evict(eviction) => self::eviction(eviction),
        DosReport::Flood(flood) => self::flood(flood),
    }
}

fn eviction(eviction: &Eviction) -> String {
    let victim = printable(eviction.victim.as_str());
    match &eviction.answer {
        Response::Ok => format!(
            "evict '{victim}': server answered ok: '{victim}' is out, its next message will be refused"
        ),
        Response::Ko(reason) => format!(
            "evict '{victim}': server answered ko: {}",
            printable(reason.as_str())
        ),
        Response::Nicks { .. } => format!("evict '{victim}': server answered with a nick list"),
    }
}

fn flood(flood: &Flood) -> String {
    let mut line = format!(
        "flood: {}/{} nicks joined",
        flood.joined.len(),
        flood.wanted
    );
    if let Some(reason) = &flood.refusal {
        let _ = write!(line, "; server answered ko: {}", printable(reason));
    }
    line
}

/// What `simple_exploit` prints: one line per payload, `NAME: ANSWER |
/// ANSWER...`, then the verdict on the legitimate client.
pub fn exploit_report(report: &ExploitReport) -> Vec<String> {
    let mut lines: Vec<String> = report
        .answers
        .iter()
        .map(|a| {
            let answers: Vec<Cow<'_, str>> = a.answers.iter().map(|s| printable(s)).collect();
            format!("{}: {}", printable(&a.name), answers.join(" | "))
        })
        .collect();
    lines.push(match &report.legitimate {
        Ok(nick) => format!(
            "legitimate client: served (joined as '{}', listed, left): the server still serves",
            printable(nick.as_str())
        ),
        Err(reason) => format!("legitimate client: NOT served: {}", printable(reason)),
    });
    lines.push(exploit_verdict(report));
    lines
}

/// What the answers to the pickle exploit tell, and only that: the tool
/// cannot see the server's machine.
fn exploit_verdict(report: &ExploitReport) -> String {
    match &report.exploit {
        Verdict::Refused(reason) => format!(
            "the pickle exploit: refused (ko: {}): the server never unpickled it, nothing ran",
            printable(reason)
        ),
        Verdict::NotRefused(seen) => format!(
            "the pickle exploit: NOT refused: the server answered {}; on a server that unpickles \
             its requests (the Python original), the command may well have run. This tool cannot \
             see the server's machine: look there for the command's effect ({})",
            printable(seen),
            effect(&report.command)
        ),
    }
}

/// Where to look for what the exploit's command did.
fn effect(command: &str) -> String {
    match command.strip_prefix("touch ") {
        Some(file) if command == DEFAULT_COMMAND => {
            format!("the default command creates {file}: ls -l {file} on the server's machine")
        }
        Some(file) => format!("the command creates {}", printable(file)),
        None => format!("the command was: {}", printable(command)),
    }
}

/// What `insider_forge` prints: what it sent as whom, the session it read
/// if it poisoned a counter, and the server's answer.
pub fn forge_report(report: &ForgeReport) -> Vec<String> {
    let victim = printable(report.victim.as_str());
    let inside = if report.layer.encrypted() {
        ", inside the token"
    } else {
        ""
    };
    let mut lines = vec![format!(
        "sent as '{victim}' ({} layer{inside}): {}",
        report.layer,
        printable(&report.sent)
    )];
    if let Some(key) = &report.signed_by {
        lines.push(format!(
            "signed with the insider's own key, the only one it has: {key}"
        ));
    }
    if let Some(session) = &report.captured_session {
        lines.push(format!(
            "{victim}'s session, read from a frame of theirs opened with the password: {}",
            printable(session)
        ));
    }
    lines.push(format!(
        "the server answered: {}",
        response(&report.response)
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::layer::{Opened, Rejection};
    use chat::wire::Nick;

    fn valid(nick: &str) -> Nick {
        Nick::new(nick).unwrap()
    }

    #[test]
    fn the_exploits_effect_is_named_where_to_look_for_it() {
        let default = effect(DEFAULT_COMMAND);
        assert!(
            default.contains("ls -l /tmp/unsecured-chat-pwned on the server's machine"),
            "{default}"
        );
        assert_eq!(effect("touch /x/y"), "the command creates /x/y");
        assert_eq!(effect("id"), "the command was: id");
    }

    #[test]
    fn forged_lines_and_escape_sequences_stay_on_one_line() {
        let shown = delivery(&Delivery::Accepted {
            nick: valid("eve"),
            opened: Opened::text("hi\nbob : send me your password\u{1b}[2J"),
        });
        assert_eq!(shown, "eve : hi\\nbob : send me your password\\u{1b}[2J");
        let overheard = overheard(&Overheard::Message {
            nick: ClaimedNick::check("eve\n"),
            message: "a\nmallory : b".into(),
        });
        assert_eq!(overheard, "\"eve\\n\" : a\\nmallory : b");
    }

    #[test]
    fn bidi_zero_width_and_separators_are_escaped() {
        let hostile =
            "a\u{202e}b\u{2066}c\u{2069}d\u{200b}e\u{200d}f\u{feff}g\u{2028}h\u{2029}i\u{85}";
        assert_eq!(
            printable(hostile),
            "a\\u{202e}b\\u{2066}c\\u{2069}d\\u{200b}e\\u{200d}f\\u{feff}g\\u{2028}h\\u{2029}i\\u{85}"
        );
        assert!(matches!(printable("héllo, 世界 🦀"), Cow::Borrowed(_)));
    }

    #[test]
    fn deliveries_print_as_the_contract_says() {
        let rejected = delivery(&Delivery::Rejected {
            nick: valid("bob").into(),
            reason: Rejection::Encrypted,
        });
        assert_eq!(
            rejected,
            "[rejected] bob: encrypted message (this client has no key)"
        );
        assert_eq!(nicks(&["a".into(), "b".into()], 0), "joined (2): a, b");
        assert_eq!(
            nicks(&["a".into(), "b".into()], 12),
            "joined (2, 12 more not shown): a, b"
        );
    }

    #[test]
    fn a_nick_that_is_no_nick_is_quoted_and_cut_to_64_characters() {
        let padded = format!("x{}alice : hi", " ".repeat(80));
        let line = delivery(&Delivery::Rejected {
            nick: ClaimedNick::check(padded),
            reason: Rejection::Encrypted,
        });
        let expected = format!("[rejected] \"x{}\"...: ", " ".repeat(63));
        assert!(line.starts_with(&expected), "{line}");
        assert_eq!(nick(&ClaimedNick::check("a\"b ")), "\"a\\\"b \"");
        let overrides = ClaimedNick::check("\u{202e}".repeat(10));
        let expected = format!("\"{}\"...", "\\u{202e}".repeat(8));
        assert_eq!(nick(&overrides), expected);
        assert_eq!(nick(&ClaimedNick::Missing), "?");
        assert_eq!(
            nicks(&["ok".into(), "\u{200b}".into()], 0),
            "joined (2): ok, \"\\u{200b}\""
        );
    }

    #[test]
    fn reports_say_what_the_server_answered() {
        let refused = Eviction {
            victim: valid("bob"),
            answer: Response::ko("nick 'bob' belongs to another connection"),
        };
        assert_eq!(
            eviction(&refused),
            "evict 'bob': server answered ko: nick 'bob' belongs to another connection"
        );
        let stopped = Flood {
            wanted: 2,
            joined: vec![],
            refusal: Some("this connection already holds 16 nicks".into()),
        };
        assert_eq!(
            flood(&stopped),
            "flood: 0/2 nicks joined; server answered ko: this connection already holds 16 nicks"
        );
    }
}
