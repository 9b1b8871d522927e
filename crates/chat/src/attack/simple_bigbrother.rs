//! The lab's simple_bigbrother.py, the plain chat's first lesson: the
//! broadcast port pushes every accepted message to whoever connects, with no
//! join and no password, so the server, and anyone who can reach that port,
//! reads every conversation.
//!
//! Big brother connects to the broadcast port only. It never joins, so `list`
//! does not show it and no one in the chat can tell it is there. Guarded mode
//! changes nothing to this: it protects nicks, not what they say. Only the
//! encrypted layers do, and then big brother sees salts and tokens.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::client::{BroadcastChannel, ClientError, Endpoint};
use crate::wire::{Broadcast, ClaimedNick, Codec, FrameError, MessageBody, Reason};

/// What one broadcast frame tells an eavesdropper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overheard {
    /// A relayed message: who the frame says sent it (judged by the nick
    /// rules, so that an impossible nick is shown for what it is), and `M`
    /// as received.
    Message { nick: ClaimedNick, message: String },
    /// The server's last words before it closes the connection.
    Notice(Reason),
    /// A frame that is not a message (a rogue server may send anything).
    Garbled(FrameError),
}

/// What big brother shows of a `message` field of no shape of the protocol.
pub const UNREADABLE: &str = "(a message field of no known shape)";

/// Reads one broadcast frame as big brother sees it.
pub fn overhear(codec: Codec, frame: &[u8]) -> Overheard {
    match codec.decode_broadcast(frame) {
        Ok(Broadcast::Message { nick, body }) => Overheard::Message {
            nick: ClaimedNick::check(nick),
            message: body
                .as_ref()
                .map_or_else(|| UNREADABLE.to_owned(), as_received),
        },
        Ok(Broadcast::Notice(reason)) => Overheard::Notice(reason),
        Err(e) => Overheard::Garbled(e),
    }
}

/// `M` as it travelled: a plain message's text, and the salt and token of
/// an encrypted one as compact JSON, since that is all there is to read.
fn as_received(body: &MessageBody<'_>) -> String {
    match body {
        MessageBody::Text(text) => text.clone().into_owned(),
        MessageBody::Sealed(sealed) => {
            serde_json::to_string(sealed).unwrap_or_else(|_| UNREADABLE.to_owned())
        }
    }
}

/// A listener on the broadcast port that never joins.
pub struct BigBrother {
    broadcasts: BroadcastChannel,
}

impl BigBrother {
    /// Connects to the broadcast port, and to nothing else: no join, so
    /// `list` never shows it.
    pub fn connect(endpoint: &Endpoint) -> Result<Self, ClientError> {
        // BEGIN SOLUTION (step 1: big brother connects to the broadcast port, and only to it)
        Ok(Self {
            broadcasts: BroadcastChannel::connect(endpoint)?,
        })
        // END SOLUTION
    }

    /// The next thing overheard; an error once the server is gone.
    pub fn overhear_next(&mut self) -> Result<Overheard, ClientError> {
        // BEGIN SOLUTION (step 1: big brother reads the next broadcast frame and tells what it says)
        let codec = self.broadcasts.codec();
        self.broadcasts
            .next_frame()
            .map(|frame| overhear(codec, frame))
        // END SOLUTION
    }

    /// Its broadcast connection's address, as the server sees it: whoever
    /// stages a chat waits for the server to register it before anyone
    /// speaks.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.broadcasts.local_addr()
    }

    /// How long [`overhear_next`](Self::overhear_next) waits for a frame
    /// (`None`: for ever, as the tool does).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.broadcasts.set_read_timeout(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(frame: &[u8]) -> Overheard {
        overhear(Codec::Json, frame)
    }

    #[test]
    fn hears_plain_text_and_sealed_bodies_as_received() {
        let plain = br#"{"type":"message","nick":"alice","message":"meet at noon"}"#;
        assert_eq!(
            heard(plain),
            Overheard::Message {
                nick: ClaimedNick::check("alice"),
                message: "meet at noon".into()
            }
        );
        let sealed =
            br#"{"type":"message","nick":"bob","message":{ "salt" : "c2FsdA==", "token":"gAAA"}}"#;
        assert_eq!(
            heard(sealed),
            Overheard::Message {
                nick: ClaimedNick::check("bob"),
                message: r#"{"salt":"c2FsdA==","token":"gAAA"}"#.into()
            }
        );
    }

    #[test]
    fn notices_and_garbage_are_not_messages() {
        let notice = br#"{"response":"ko","error":"too slow"}"#;
        assert_eq!(heard(notice), Overheard::Notice(Reason::new("too slow")));
        assert!(matches!(heard(b"\xff"), Overheard::Garbled(_)));
    }
}
