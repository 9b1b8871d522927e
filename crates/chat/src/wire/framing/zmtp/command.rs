//! Commands, ZMTP's control frames: a name of at most 255 bytes, then data.
//! The handshake exchanges them (READY, ERROR); between messages a peer may
//! send more (PING, SUBSCRIBE, CANCEL, ERROR). Whatever they announce is
//! checked against the bytes that hold it before it is read.

use super::{COMMAND, ZmtpError, push_frame_with};

/// A command's name and the data after it.
pub(super) fn split_command(body: &[u8]) -> Result<(&[u8], &[u8]), ZmtpError> {
    let (&len, rest) = body.split_first().ok_or(ZmtpError::BadCommand("empty"))?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(ZmtpError::BadCommand("name longer than the command"));
    }
    Ok(rest.split_at(len))
}

pub(super) fn error_reason(data: &[u8]) -> String {
    match data.split_first() {
        Some((&len, rest)) => shown(&rest[..usize::from(len).min(rest.len())]),
        None => String::new(),
    }
}

pub(super) fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]);
    text.escape_debug().to_string()
}

/// A property of READY's metadata: its name and value.
pub(super) type Property<'a> = (&'a [u8], &'a [u8]);

/// READY's metadata: names of 1-byte length, values of 4-byte length.
pub(super) fn properties(mut data: &[u8]) -> Result<Vec<Property<'_>>, ZmtpError> {
    const BAD: ZmtpError = ZmtpError::BadCommand("property runs past the command");
    let mut found = Vec::new();
    while let Some((&name_len, rest)) = data.split_first() {
        let name_len = usize::from(name_len);
        let name = rest.get(..name_len).ok_or(BAD)?;
        let len_bytes = rest.get(name_len..name_len + 4).ok_or(BAD)?;
        let value_len = u32::from_be_bytes(len_bytes.try_into().map_err(|_| BAD)?) as usize;
        let value_at = name_len + 4;
        let value = rest
            .get(value_at..value_at.saturating_add(value_len))
            .ok_or(BAD)?;
        found.push((name, value));
        data = &rest[value_at + value_len..];
    }
    Ok(found)
}

/// Appends a command frame: its name, then properties (name, value).
pub(super) fn push_command(out: &mut Vec<u8>, name: &[u8], properties: &[Property<'_>]) {
    push_frame_with(out, COMMAND, |out| {
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        for (key, value) in properties {
            out.push(key.len() as u8);
            out.extend_from_slice(key);
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        }
    });
}
