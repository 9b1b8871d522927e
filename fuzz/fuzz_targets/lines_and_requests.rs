//! Fuzzes what the server does with bytes from the network: the line reader
//! (fed in reads of varying sizes), then every frame parser on each line.
//! Any panic, or a line that breaks the reader's contract, is a finding.

#![no_main]

mod chunked;

use chunked::Chunked;
use libfuzzer_sys::fuzz_target;
use unsecured_chat::wire::Codec;
use unsecured_chat::wire::framing::{LineReader, MAX_LINE};
use unsecured_chat::wire::json::check_nesting;

fuzz_target!(|input: &[u8]| {
    let Some((sizes, data)) = Chunked::split(input) else {
        return;
    };
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
