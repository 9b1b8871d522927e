//! The lab's simple_bigbrother.py, the plain chat's first lesson: the
//! broadcast port pushes every accepted message to whoever connects, with no
//! join and no password, so the server, and anyone who can reach that port,
//! reads every conversation.
//!
//! Big brother connects to the broadcast port only. It never joins, so `list`
//! does not show it and no one in the chat can tell it is there. Guarded mode
//! changes nothing to this: it protects nicks, not what they say. Only the
//! encrypted layers do, and then big brother sees salts and tokens.

use std::fmt;
use std::process::ExitCode;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::base_client::BroadcastChannel;
use crate::cli::{Endpoint, fail};
use crate::frame::BroadcastLine;
use crate::simple_client::printable;
use crate::terminal::print_stdout;

/// What one broadcast line tells an eavesdropper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overheard {
    /// A relayed message: who the frame says sent it, and `M` as received.
    Message { nick: String, message: String },
    /// The server's last words before it closes the connection.
    Notice(String),
    /// A line that is not a message frame (a rogue server may send anything).
    Garbled(String),
}

/// `NICK : M`, safe for a terminal: the one stdout line per broadcast.
impl fmt::Display for Overheard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message { nick, message } => {
                write!(f, "{} : {}", printable(nick), printable(message))
            }
            Self::Notice(reason) => write!(f, "server: {}", printable(reason)),
            Self::Garbled(reason) => write!(f, "unreadable broadcast line: {}", printable(reason)),
        }
    }
}

/// Reads one broadcast line as big brother sees it.
pub fn overhear(line: &[u8]) -> Overheard {
    match BroadcastLine::parse(line) {
        Ok(BroadcastLine::Message { nick, message }) => Overheard::Message {
            nick: nick.into_owned(),
            message: message_as_received(message),
        },
        Ok(BroadcastLine::Notice(reason)) => Overheard::Notice(reason),
        Err(e) => Overheard::Garbled(e.to_string()),
    }
}

/// `M` as it travelled: a plain message's text, and anything else (the salt
/// and token of an encrypted one) as compact JSON, since that is all there
/// is to read.
fn message_as_received(raw: &RawValue) -> String {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => raw.get().to_owned(),
    }
}

/// Listens until the server goes away: each message to stdout and to the
/// timestamped log, anything else to the log only.
pub fn run(endpoint: &Endpoint) -> ExitCode {
    let mut broadcasts = match BroadcastChannel::connect(&endpoint.host, endpoint.broadcast_port) {
        Ok(broadcasts) => broadcasts,
        Err(e) => return fail(&e),
    };
    log::info!(
        "listening to every conversation on {}:{}, without joining",
        endpoint.host,
        endpoint.broadcast_port
    );
    loop {
        match broadcasts.next_line() {
            Ok(line) => report(&overhear(line)),
            Err(e) => return fail(&e),
        }
    }
}

fn report(overheard: &Overheard) {
    match overheard {
        Overheard::Message { .. } => {
            print_stdout(&overheard.to_string());
            log::info!("{overheard}");
        }
        Overheard::Notice(_) | Overheard::Garbled(_) => log::warn!("{overheard}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_plain_text_and_sealed_bodies_as_received() {
        let plain = br#"{"type":"message","nick":"alice","message":"meet at noon"}"#;
        assert_eq!(overhear(plain).to_string(), "alice : meet at noon");
        let sealed =
            br#"{"type":"message","nick":"bob","message":{ "salt" : "c2FsdA==", "token":"gAAA"}}"#;
        assert_eq!(
            overhear(sealed).to_string(),
            r#"bob : {"salt":"c2FsdA==","token":"gAAA"}"#
        );
    }

    #[test]
    fn forged_lines_stay_on_one_line() {
        let line = br#"{"type":"message","nick":"eve\n","message":"a\nmallory : b\u001b[2J"}"#;
        assert_eq!(
            overhear(line).to_string(),
            "eve\\n : a\\nmallory : b\\u{1b}[2J"
        );
    }

    #[test]
    fn notices_and_garbage_are_not_messages() {
        let notice = br#"{"response":"ko","error":"too slow"}"#;
        assert_eq!(overhear(notice), Overheard::Notice("too slow".into()));
        assert!(matches!(overhear(b"\xff"), Overheard::Garbled(_)));
    }
}
