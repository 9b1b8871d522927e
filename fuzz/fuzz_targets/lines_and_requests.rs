//! Fuzzes what the server does with bytes from the network: the line reader
//! (fed in reads of varying sizes), then every frame parser on each line.
//! Any panic, or a line that breaks the reader's contract, is a finding.

#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use unsecured_chat::wire::Codec;
use unsecured_chat::wire::framing::{LineReader, MAX_LINE};
use unsecured_chat::wire::json::check_nesting;

/// Hands out the input in reads whose sizes cycle through `sizes`.
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

fuzz_target!(|input: &[u8]| {
    // The first byte says how many of the next bytes are read sizes.
    let Some((&count, rest)) = input.split_first() else {
        return;
    };
    let (sizes, data) = rest.split_at(usize::from(count % 16).min(rest.len()));
    let mut reader = LineReader::new(Chunked {
        data,
        sizes,
        turn: 0,
    });
    while let Ok(Some(line)) = reader.read_line() {
        assert!(line.len() <= MAX_LINE && !line.contains(&b'\n'));
        let _ = Codec::Json.decode_request(line);
        let _ = Codec::Json.decode_broadcast(line);
        let _ = Codec::Json.decode_response(line);
        let _ = check_nesting(line);
    }
});
