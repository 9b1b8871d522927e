//! The handshake, before any message: greetings both ways, then READY
//! naming each side's socket type, then a SUB socket's subscription. It is
//! read byte-exact, with blocking reads under a timeout, so that nothing of
//! the messages that follow is read here and a silent peer cannot hold a
//! connection's thread.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::command::{error_reason, properties, push_command, shown, split_command};
use super::{COMMAND, LONG, MAX_COMMAND, SocketType, ZmtpError, push_frame_with};

/// Our greeting: ZMTP 3.1, mechanism NULL, not as server.
const GREETING_LEN: usize = 64;
const VERSION_MINOR: u8 = 1;
const MECHANISM: &[u8] = b"NULL";

/// What the handshake learnt of the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// ZMTP minor version: 0 subscribes with messages, 1 with commands.
    pub minor: u8,
}

/// Greets the peer as a `me` socket, reads its greeting and READY, and, for
/// a SUB socket, subscribes to everything. Gives up after `timeout`; the
/// stream has no timeouts afterwards.
pub fn handshake(stream: &TcpStream, me: SocketType, timeout: Duration) -> io::Result<Peer> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let peer = exchange_greetings(stream, me)?;
    if me == SocketType::Sub {
        (&*stream).write_all(&subscribe_all(peer))?;
    }
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    Ok(peer)
}

fn exchange_greetings(mut stream: &TcpStream, me: SocketType) -> io::Result<Peer> {
    let mut ours = greeting().to_vec();
    push_command(
        &mut ours,
        b"READY",
        &[(b"Socket-Type", me.name().as_bytes())],
    );
    stream.write_all(&ours)?;
    let mut theirs = [0u8; GREETING_LEN];
    // The signature first, so a peer of another protocol is told at once.
    stream.read_exact(&mut theirs[..SIGNATURE_LEN])?;
    check_signature(&theirs)?;
    stream.read_exact(&mut theirs[SIGNATURE_LEN..])?;
    let peer = check_greeting(&theirs)?;
    let command = read_command(stream)?;
    check_ready(&command, me)?;
    Ok(peer)
}

/// What a server sends a peer it will not serve (over the connection cap):
/// its greeting, then ERROR in place of READY, as RFC 23 allows.
pub fn refusal(reason: &str) -> Vec<u8> {
    let mut out = greeting().to_vec();
    let reason = &reason.as_bytes()[..reason.len().min(255)];
    push_frame_with(&mut out, COMMAND, |out| {
        out.push(5);
        out.extend_from_slice(b"ERROR");
        out.push(reason.len() as u8);
        out.extend_from_slice(reason);
    });
    out
}

/// Our 64-byte greeting. The signature's padding is libzmq's (it reads as
/// a ZMTP 1.0 length of 1, for old peers to notice).
pub fn greeting() -> [u8; GREETING_LEN] {
    let mut greeting = [0u8; GREETING_LEN];
    greeting[0] = 0xff;
    greeting[8] = 0x01;
    greeting[9] = 0x7f;
    greeting[10] = 3;
    greeting[11] = VERSION_MINOR;
    greeting[12..12 + MECHANISM.len()].copy_from_slice(MECHANISM);
    greeting
}

const SIGNATURE_LEN: usize = 10;

fn check_signature(greeting: &[u8]) -> Result<(), ZmtpError> {
    match greeting {
        [0xff, _, _, _, _, _, _, _, _, last, ..] if last & 0x01 == 1 => Ok(()),
        _ => Err(ZmtpError::BadSignature(
            greeting[..SIGNATURE_LEN.min(greeting.len())].to_vec(),
        )),
    }
}

fn check_greeting(greeting: &[u8; GREETING_LEN]) -> Result<Peer, ZmtpError> {
    check_signature(greeting)?;
    let (major, minor) = (greeting[10], greeting[11]);
    if major < 3 {
        return Err(ZmtpError::Version(major, minor));
    }
    let mechanism = &greeting[12..32];
    let name_len = mechanism
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(mechanism.len());
    if &mechanism[..name_len] != MECHANISM {
        let shown = String::from_utf8_lossy(&mechanism[..name_len]);
        return Err(ZmtpError::Mechanism(shown.escape_debug().to_string()));
    }
    Ok(Peer { minor })
}

/// Reads one command frame during the handshake, byte-exact, so that
/// nothing of what follows is read here.
fn read_command(mut stream: &TcpStream) -> io::Result<Vec<u8>> {
    let mut head = [0u8; 9];
    stream.read_exact(&mut head[..2])?;
    if head[0] & COMMAND == 0 {
        return Err(ZmtpError::NotReady("a message frame".into()).into());
    }
    let size = if head[0] & LONG == 0 {
        u64::from(head[1])
    } else {
        stream.read_exact(&mut head[2..])?;
        u64::from_be_bytes(head[1..9].try_into().unwrap_or_default())
    };
    if size > MAX_COMMAND as u64 {
        return Err(ZmtpError::TooLong {
            size,
            limit: MAX_COMMAND,
        }
        .into());
    }
    let mut body = vec![0u8; size as usize];
    stream.read_exact(&mut body)?;
    Ok(body)
}

fn check_ready(body: &[u8], me: SocketType) -> Result<(), ZmtpError> {
    let (name, data) = split_command(body)?;
    match name {
        b"READY" => {}
        b"ERROR" => return Err(ZmtpError::Peer(error_reason(data))),
        other => return Err(ZmtpError::NotReady(shown(other))),
    }
    let peer_type = properties(data)?
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(b"Socket-Type"))
        .map(|(_, value)| value)
        .ok_or(ZmtpError::BadCommand("READY without Socket-Type"))?;
    if !me.accepts(peer_type) {
        return Err(ZmtpError::Incompatible {
            me: me.name(),
            peer: shown(peer_type),
        });
    }
    Ok(())
}

/// What a SUB socket sends to receive everything: an empty prefix, as a
/// SUBSCRIBE command to a ZMTP 3.1 peer, as a message to a 3.0 one.
fn subscribe_all(peer: Peer) -> Vec<u8> {
    let mut out = Vec::new();
    if peer.minor >= 1 {
        push_frame_with(&mut out, COMMAND, |out| {
            out.push(9);
            out.extend_from_slice(b"SUBSCRIBE");
        });
    } else {
        push_frame_with(&mut out, 0, |out| out.push(1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_checks_signature_version_and_mechanism() {
        assert_eq!(check_greeting(&greeting()), Ok(Peer { minor: 1 }));
        let mut old = greeting();
        old[10] = 2;
        assert_eq!(check_greeting(&old), Err(ZmtpError::Version(2, 1)));
        let mut curve = greeting();
        curve[12..17].copy_from_slice(b"CURVE");
        assert!(matches!(check_greeting(&curve), Err(ZmtpError::Mechanism(m)) if m == "CURVE"));
        let mut http = greeting();
        http[..10].copy_from_slice(b"GET / HTTP");
        assert!(matches!(
            check_greeting(&http),
            Err(ZmtpError::BadSignature(_))
        ));
    }

    #[test]
    fn ready_names_a_compatible_socket_type() {
        let mut frame = Vec::new();
        push_command(
            &mut frame,
            b"READY",
            &[(b"Socket-Type", b"REQ"), (b"Identity", b"")],
        );
        let body = &frame[2..];
        assert_eq!(check_ready(body, SocketType::Rep), Ok(()));
        assert!(matches!(
            check_ready(body, SocketType::Pub),
            Err(ZmtpError::Incompatible { .. })
        ));
        assert!(check_ready(&body[..body.len() - 3], SocketType::Rep).is_err());
    }
}
