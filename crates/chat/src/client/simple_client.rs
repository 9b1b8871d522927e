//! The chat client, as Python's `SimpleClient`: `join`, `leave`,
//! `message(text)`, `list`, and [`on_recv`] for each broadcast frame.
//!
//! Python's `AEClient(SimpleClient)` overrode `message` and `on_recv` to add
//! encryption. Here the client is composed with a security layer instead:
//! a [`Seal`] turns text into the `message` field on the way out, and an
//! [`Open`] turns a received one back into text, or rejects it. The client's
//! logic is written once, and returns values; printing them is the
//! command-line app's business.

use std::net::SocketAddr;

use super::base_client::{ClientError, RequestChannel};
use super::names;
use crate::layer::{Open, Opened, Rejection, Seal, Verdict};
use crate::wire::{
    Broadcast, ClaimedNick, Codec, FrameError, MessageBody, Nick, Reason, Request, Response,
};

/// What became of one broadcast frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// `NICK : TEXT`: only ever from a valid nick.
    Accepted { nick: Nick, opened: Opened },
    /// `[rejected] NICK: REASON`
    Rejected {
        nick: ClaimedNick,
        reason: Rejection,
    },
    /// The server's last words on the broadcast port (not a message).
    Notice(Reason),
}

/// Python's `on_recv(packet)`: what a broadcast frame means to this client.
/// A frame whose nick breaks the rules an honest server enforces comes from
/// a rogue one, and is rejected before any layer sees it.
pub fn on_recv<O: Open + ?Sized>(opener: &mut O, codec: Codec, frame: &[u8]) -> Delivery {
    match read(codec.decode_broadcast(frame)) {
        Read::Decided(delivery) => delivery,
        Read::Message(nick, body) => {
            let opened = opener.open(nick.as_str(), &body);
            delivered(nick, opened)
        }
    }
}

/// [`on_recv`] for a burst of frames that arrived together, in order: the
/// layer opens their messages in one go ([`Open::open_all`]), so it may
/// share work between them.
pub fn on_recv_all<O, F>(opener: &mut O, codec: Codec, frames: &[F]) -> Vec<Delivery>
where
    O: Open + ?Sized,
    F: AsRef<[u8]>,
{
    let read: Vec<Read<'_>> = frames
        .iter()
        .map(|frame| read(codec.decode_broadcast(frame.as_ref())))
        .collect();
    let mut burst: Vec<(&str, &MessageBody<'_>)> = Vec::with_capacity(read.len());
    burst.extend(read.iter().filter_map(|r| match r {
        Read::Message(nick, body) => Some((nick.as_str(), body)),
        Read::Decided(_) => None,
    }));
    let mut opened = opener.open_all(&burst).into_iter();
    drop(burst);
    read.into_iter()
        .map(|r| match r {
            Read::Decided(delivery) => delivery,
            Read::Message(nick, _) => match opened.next() {
                Some(result) => delivered(nick, result),
                None => delivered(nick, Err(Rejection::Overloaded)),
            },
        })
        .collect()
}

/// A frame, as far as it can be judged without the layer.
enum Read<'f> {
    Decided(Delivery),
    /// A message from a valid nick, for the layer to open.
    Message(Nick, MessageBody<'f>),
}

fn read(decoded: Result<Broadcast<'_>, FrameError>) -> Read<'_> {
    match decoded {
        Ok(Broadcast::Message { nick, body }) => match Nick::claimed(nick) {
            Ok(nick) => match body {
                Some(body) => Read::Message(nick, body),
                None => Read::Decided(delivered(
                    nick,
                    Err(Rejection::Frame(FrameError::BadMessage)),
                )),
            },
            Err(invalid) => Read::Decided(Delivery::Rejected {
                reason: Rejection::Frame(FrameError::Nick(invalid.why.clone())),
                nick: ClaimedNick::Invalid(invalid),
            }),
        },
        Ok(Broadcast::Notice(reason)) => Read::Decided(Delivery::Notice(reason)),
        Err(e) => Read::Decided(Delivery::Rejected {
            nick: ClaimedNick::Missing,
            reason: Rejection::Frame(e),
        }),
    }
}

/// The layer's verdict on a message from a valid nick.
fn delivered(nick: Nick, opened: Result<Opened, Rejection>) -> Delivery {
    match opened {
        Ok(opened) => Delivery::Accepted { nick, opened },
        Err(reason) => Delivery::Rejected {
            nick: nick.into(),
            reason,
        },
    }
}

/// Python's `SimpleClient`, composed with a sealing layer.
pub struct SimpleClient<S: Seal> {
    requests: RequestChannel,
    nick: Nick,
    sealer: S,
    /// This client's broadcast connection, named in its joins.
    subscriber: Option<SocketAddr>,
}

impl<S: Seal> SimpleClient<S> {
    pub fn new(requests: RequestChannel, nick: Nick, sealer: S) -> Self {
        Self {
            requests,
            nick,
            sealer,
            subscriber: None,
        }
    }

    /// Names this client's broadcast connection in its joins, so that the
    /// server answers a join only once that connection is registered: no
    /// message accepted after the join can be missed.
    pub fn with_subscriber(mut self, addr: SocketAddr) -> Self {
        self.subscriber = Some(addr);
        self
    }

    pub fn nick(&self) -> &Nick {
        &self.nick
    }

    pub fn join(&mut self) -> Result<Response, ClientError> {
        self.requests.request(&Request::Join {
            nick: self.nick.clone(),
            subscriber: self.subscriber,
        })
    }

    pub fn leave(&mut self) -> Result<Response, ClientError> {
        self.requests.request(&Request::Leave {
            nick: self.nick.clone(),
        })
    }

    /// Seals `text` with this client's layer and sends it. The layer then
    /// learns the server's answer ([`Seal::verdict`]), so that a counter is
    /// spent only on a message that was broadcast. (If the connection
    /// fails, no verdict is given: the message's fate is unknown, and the
    /// client is done with this server anyway.)
    pub fn message(&mut self, text: &str) -> Result<Response, ClientError> {
        let body = self.sealer.seal(&self.nick, text)?;
        let response = self.requests.request(&Request::Message {
            nick: self.nick.clone(),
            body,
        })?;
        self.sealer.verdict(Verdict::of(&response));
        Ok(response)
    }

    pub fn list(&mut self) -> Result<Response, ClientError> {
        self.requests.request(&Request::List)
    }
}

/// Names tried for one nick before giving up: a refused join may only be a
/// collision with a nick already joined, and the random names are few enough
/// (about 86,000) for a large flood to meet some.
pub const JOIN_ATTEMPTS: usize = 8;

/// What the server decided about a join under a random name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    As(Nick),
    /// The last refusal's reason, after [`JOIN_ATTEMPTS`] names.
    Refused(String),
}

/// Joins under a random readable name, trying another name after each
/// refusal, up to [`JOIN_ATTEMPTS`] names.
pub fn join_random(requests: &mut RequestChannel) -> Result<Joined, ClientError> {
    let mut refusal = String::from("no attempt made");
    for _ in 0..JOIN_ATTEMPTS {
        let nick = names::random_nick();
        let join = Request::Join {
            nick: nick.clone(),
            subscriber: None,
        };
        match requests.request(&join)? {
            Response::Ok => return Ok(Joined::As(nick)),
            Response::Ko(reason) => refusal = reason.to_string(),
            Response::Nicks { .. } => refusal = "join answered with a nick list".into(),
        }
    }
    Ok(Joined::Refused(refusal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Plain;

    fn delivery(line: &[u8]) -> Delivery {
        on_recv(&mut Plain, Codec::Json, line)
    }

    fn nick(nick: &str) -> Nick {
        Nick::new(nick).unwrap()
    }

    #[test]
    fn plain_deliveries_are_accepted_or_rejected() {
        let line = br#"{"type":"message","nick":"alice","message":"hi there"}"#;
        assert_eq!(
            delivery(line),
            Delivery::Accepted {
                nick: nick("alice"),
                opened: Opened::text("hi there")
            }
        );
        let sealed = br#"{"type":"message","nick":"bob","message":{"salt":"s","token":"t"}}"#;
        assert_eq!(
            delivery(sealed),
            Delivery::Rejected {
                nick: nick("bob").into(),
                reason: Rejection::Encrypted
            }
        );
        assert!(matches!(
            delivery(b"garbage"),
            Delivery::Rejected {
                nick: ClaimedNick::Missing,
                reason: Rejection::Frame(_)
            }
        ));
        let notice = br#"{"response":"ko","error":"too slow"}"#;
        assert_eq!(delivery(notice), Delivery::Notice(Reason::new("too slow")));
    }

    #[test]
    fn a_message_from_a_nick_no_honest_server_relays_is_rejected() {
        let line = "{\"type\":\"message\",\"nick\":\"\u{202e}ecila\",\"message\":\"hi\"}";
        let Delivery::Rejected {
            nick: ClaimedNick::Invalid(invalid),
            reason,
        } = delivery(line.as_bytes())
        else {
            panic!("accepted a message from an invalid nick");
        };
        assert_eq!(invalid.text, "\u{202e}ecila");
        assert!(reason.to_string().contains("format characters"), "{reason}");
    }
}
