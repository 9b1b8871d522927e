//! Fuzzes what a server of the ZeroMQ wire does with bytes from the network:
//! the ZMTP message reader (fed in reads of varying sizes), then the pickle
//! and msgpack readers on each body. Any panic is a finding, and so is a
//! body that passes the pre-scan but relays as something that does not.

#![no_main]

use std::io::{self, Read, Write};

use libfuzzer_sys::fuzz_target;
use unsecured_chat::wire::zmtp::{MAX_BODY, MessageReader, SocketType};
use unsecured_chat::wire::{Codec, pickle};

/// Hands out the input in reads whose sizes cycle through `sizes`; what the
/// reader writes back (PONGs) is dropped.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes.get(self.turn % self.sizes.len().max(1)).copied();
        self.turn += 1;
        let n = usize::from(size.unwrap_or(u8::MAX))
            .max(1)
            .min(buf.len())
            .min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for Chunked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn bodies(body: &[u8]) {
    for codec in [Codec::Pickle, Codec::Msgpack] {
        let _ = codec.decode_request(body);
        let _ = codec.decode_broadcast(body);
        let _ = codec.decode_response(body);
        if let Ok(relayed) = codec.relayed(body) {
            assert!(codec.decode_request(&relayed).is_ok() || codec.decode_request(body).is_err());
        }
    }
    let _ = pickle::check(body);
}

fuzz_target!(|input: &[u8]| {
    // The first byte says how many of the next bytes are read sizes; the
    // rest is fed both as a ZMTP stream and as one body.
    let Some((&count, rest)) = input.split_first() else {
        return;
    };
    let (sizes, data) = rest.split_at(usize::from(count % 16).min(rest.len()));
    bodies(data);
    let stream = Chunked { data, sizes, turn: 0 };
    let mut reader = MessageReader::new(stream, SocketType::Rep);
    while let Ok(Some(body)) = reader.read_message() {
        assert!(body.len() <= MAX_BODY);
        bodies(body);
    }
});
