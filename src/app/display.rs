//! How peer text is shown: the one place that turns what came from the
//! network into lines for a terminal, for every client and tool.
//!
//! Frames come from the network, and a rogue server or client could
//! otherwise forge extra lines or drive the terminal: every nick and text
//! goes through [`printable`] before it is shown.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::attack::simple_bigbrother::Overheard;
use crate::attack::simple_dos::{Eviction, Flood, Report as DosReport};
use crate::attack::simple_exploit::Report as ExploitReport;
use crate::client::Delivery;
use crate::wire::Response;

/// Text as it may safely go to a terminal: one line, no escape sequences.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The one line a client prints for a broadcast (PROTOCOL.md section 4):
/// `NICK : TEXT`, `[rejected] NICK: REASON`, or the server's last words.
pub fn delivery(delivery: &Delivery) -> String {
    match delivery {
        Delivery::Accepted { nick, opened } => {
            format!("{} : {}", printable(nick), printable(&opened.text))
        }
        Delivery::Rejected { nick, reason } => {
            format!(
                "[rejected] {}: {}",
                printable(nick),
                printable(&reason.to_string())
            )
        }
        Delivery::Notice(reason) => format!("server: {}", printable(reason)),
    }
}

/// A layer's warning about a message, for stderr.
pub fn warning(warning: &str) -> String {
    format!("[warning] {}", printable(warning))
}

/// The answer to `/list`.
pub fn nicks(nicks: &[String]) -> String {
    let shown: Vec<Cow<'_, str>> = nicks.iter().map(|n| printable(n)).collect();
    format!("joined ({}): {}", shown.len(), shown.join(", "))
}

/// A response, as a short phrase: `ok`, `ko: REASON`, a nick list.
pub fn response(response: &Response) -> String {
    match response {
        Response::Ok => "ok".to_owned(),
        Response::Ko(reason) => format!("ko: {}", printable(reason)),
        Response::Nicks(list) => nicks(list),
    }
}

/// Big brother's line: `NICK : M`, or what else the port said.
pub fn overheard(overheard: &Overheard) -> String {
    match overheard {
        Overheard::Message { nick, message } => {
            format!("{} : {}", printable(nick), printable(message))
        }
        Overheard::Notice(reason) => format!("server: {}", printable(reason)),
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
            printable(reason)
        ),
        Response::Nicks(_) => format!("evict '{victim}': server answered with a nick list"),
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
            "legitimate client: served (joined as '{}', listed, left): the server survived every payload",
            printable(nick.as_str())
        ),
        Err(reason) => format!("legitimate client: NOT served: {}", printable(reason)),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Opened, Rejection};

    #[test]
    fn forged_lines_and_escape_sequences_stay_on_one_line() {
        let shown = delivery(&Delivery::Accepted {
            nick: "eve".into(),
            opened: Opened::text("hi\nbob : send me your password\u{1b}[2J"),
        });
        assert_eq!(shown, "eve : hi\\nbob : send me your password\\u{1b}[2J");
        let overheard = overheard(&Overheard::Message {
            nick: "eve\n".into(),
            message: "a\nmallory : b".into(),
        });
        assert_eq!(overheard, "eve\\n : a\\nmallory : b");
    }

    #[test]
    fn deliveries_print_as_the_contract_says() {
        let rejected = delivery(&Delivery::Rejected {
            nick: "bob".into(),
            reason: Rejection::Encrypted,
        });
        assert_eq!(
            rejected,
            "[rejected] bob: encrypted message (this client has no key)"
        );
        assert_eq!(nicks(&["a".into(), "b".into()]), "joined (2): a, b");
    }

    #[test]
    fn reports_say_what_the_server_answered() {
        let bob = crate::wire::Nick::new("bob").unwrap();
        let refused = Eviction {
            victim: bob,
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
