//! The lab's simple_dos.py: denying the chat to its users by abusing the
//! original's trust model, in which the server believes whatever nick a
//! request names.
//!
//! - Evict: any client may send `leave` for any nick, so the victim is
//!   dropped and its next message is refused until it joins again.
//! - Flood: any client may join as many nicks as it likes, and on the
//!   original's model they stay joined after it goes, crowding the chat with
//!   ghosts and taking the names others wanted.
//!
//! A server started with `--guard` stops both: a nick belongs to the request
//! connection that joined it (someone else's `leave` gets `ko`), one
//! connection holds at most [`MAX_NICKS_PER_CONNECTION`] nicks, and they are
//! freed when it closes.
//!
//! [`MAX_NICKS_PER_CONNECTION`]: crate::simple_server::MAX_NICKS_PER_CONNECTION

use std::fmt;
use std::process::ExitCode;

use crate::base_client::{ClientError, RequestChannel};
use crate::cli::{Endpoint, fail};
use crate::frame::{Nick, OutgoingRequest, Response};
use crate::names;
use crate::simple_client::printable;
use crate::terminal::print_stdout;

/// Names tried for one nick before giving up: a refused join may only be a
/// collision with a nick already joined, and the random names are few enough
/// (about 86,000) for a large flood to meet some.
pub const JOIN_ATTEMPTS: usize = 8;

/// The two attacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attack {
    /// Send `leave` for someone else's nick.
    Evict(Nick),
    /// Join this many random nicks on one connection.
    Flood(usize),
}

/// Runs one attack on a request connection of its own, and succeeds only if
/// the attack did what it says.
pub fn run(endpoint: &Endpoint, attack: &Attack) -> ExitCode {
    let outcome = RequestChannel::connect(&endpoint.host, endpoint.port)
        .and_then(|mut requests| perform(&mut requests, attack));
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(&e),
    }
}

/// Performs an attack and prints what the server answered; whether it worked.
pub fn perform(requests: &mut RequestChannel, attack: &Attack) -> Result<bool, ClientError> {
    match attack {
        Attack::Evict(victim) => {
            let answer = evict(requests, victim)?;
            let eviction = Eviction { victim, answer };
            print_stdout(&eviction.to_string());
            Ok(eviction.succeeded())
        }
        Attack::Flood(count) => {
            let flood = flood(requests, *count)?;
            print_stdout(&flood.to_string());
            Ok(flood.succeeded())
        }
    }
}

/// Python's `leave`, for a nick that is not ours: the original's server
/// never asks who is sending it.
pub fn evict(requests: &mut RequestChannel, victim: &Nick) -> Result<Response, ClientError> {
    let nick = victim.as_str();
    requests.request(&OutgoingRequest::Leave { nick })
}

/// The server's answer to an eviction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eviction<'a> {
    pub victim: &'a Nick,
    pub answer: Response,
}

impl Eviction<'_> {
    pub fn succeeded(&self) -> bool {
        self.answer == Response::Ok
    }
}

impl fmt::Display for Eviction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let victim = printable(self.victim.as_str());
        match &self.answer {
            Response::Ok => write!(
                f,
                "evict '{victim}': server answered ok: '{victim}' is out, its next message will be refused"
            ),
            Response::Ko(reason) => {
                write!(
                    f,
                    "evict '{victim}': server answered ko: {}",
                    printable(reason)
                )
            }
            Response::Nicks(_) => write!(f, "evict '{victim}': server answered with a nick list"),
        }
    }
}

/// How far a flood got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flood {
    /// Nicks asked for.
    pub wanted: usize,
    /// Nicks joined, in order.
    pub joined: Vec<Nick>,
    /// Why the server stopped the flood, if it did.
    pub refusal: Option<String>,
}

impl Flood {
    pub fn succeeded(&self) -> bool {
        self.joined.len() == self.wanted
    }
}

impl fmt::Display for Flood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "flood: {}/{} nicks joined",
            self.joined.len(),
            self.wanted
        )?;
        match &self.refusal {
            Some(reason) => write!(f, "; server answered ko: {}", printable(reason)),
            None => Ok(()),
        }
    }
}

/// Joins `count` random nicks on one connection, stopping at the first nick
/// the server keeps refusing.
pub fn flood(requests: &mut RequestChannel, count: usize) -> Result<Flood, ClientError> {
    let mut flood = Flood {
        wanted: count,
        joined: Vec::new(),
        refusal: None,
    };
    while flood.joined.len() < count {
        match join_random(requests)? {
            Joined::As(nick) => flood.joined.push(nick),
            Joined::Refused(reason) => {
                flood.refusal = Some(reason);
                break;
            }
        }
    }
    Ok(flood)
}

/// What the server decided about a join.
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
        let join = OutgoingRequest::Join {
            nick: nick.as_str(),
            subscriber: None,
        };
        match requests.request(&join)? {
            Response::Ok => return Ok(Joined::As(nick)),
            Response::Ko(reason) => refusal = reason,
            Response::Nicks(_) => refusal = "join answered with a nick list".into(),
        }
    }
    Ok(Joined::Refused(refusal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }

    #[test]
    fn reports_say_what_the_server_answered() {
        let bob = nick("bob");
        let done = Eviction {
            victim: &bob,
            answer: Response::Ok,
        };
        assert!(done.succeeded());
        assert!(
            done.to_string()
                .starts_with("evict 'bob': server answered ok")
        );
        let refused = Eviction {
            victim: &bob,
            answer: Response::ko("nick 'bob' belongs to another connection"),
        };
        assert!(!refused.succeeded());
        assert_eq!(
            refused.to_string(),
            "evict 'bob': server answered ko: nick 'bob' belongs to another connection"
        );
    }

    #[test]
    fn a_flood_succeeds_only_if_every_nick_joined() {
        let mut flood = Flood {
            wanted: 2,
            joined: vec![nick("a")],
            refusal: Some("this connection already holds 16 nicks".into()),
        };
        assert!(!flood.succeeded());
        assert_eq!(
            flood.to_string(),
            "flood: 1/2 nicks joined; server answered ko: this connection already holds 16 nicks"
        );
        flood.joined.push(nick("b"));
        flood.refusal = None;
        assert!(flood.succeeded());
        assert_eq!(flood.to_string(), "flood: 2/2 nicks joined");
    }
}
