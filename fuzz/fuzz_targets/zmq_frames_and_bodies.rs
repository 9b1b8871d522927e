//! Fuzzes what a server of the ZeroMQ wire does with bytes from the network:
//! the ZMTP message reader (fed in reads of varying sizes), then the pickle
//! and msgpack readers on each body. Any panic is a finding, and so is a
//! body that passes the pre-scan but relays as something that does not.

#![no_main]

mod chunked;

use chunked::Chunked;
use libfuzzer_sys::fuzz_target;
use chat::fuzzing::check_pickle;
use chat::wire::Codec;
use chat::wire::zmtp::{MAX_BODY, MessageReader, SocketType};

fn bodies(body: &[u8]) {
    for codec in [Codec::Pickle, Codec::Msgpack] {
        let _ = codec.decode_request(body);
        let _ = codec.decode_broadcast(body);
        let _ = codec.decode_response(body);
        if let Ok(relayed) = codec.relayed(body) {
            assert!(codec.decode_request(&relayed).is_ok() || codec.decode_request(body).is_err());
        }
    }
    let _ = check_pickle(body);
}

fuzz_target!(|input: &[u8]| {
    // The data is fed both as one body and as a ZMTP stream.
    let Some((sizes, data)) = Chunked::split(input) else {
        return;
    };
    bodies(data);
    let stream = Chunked { data, sizes, turn: 0 };
    let mut reader = MessageReader::new(stream, SocketType::Rep);
    while let Ok(Some(body)) = reader.read_message() {
        assert!(body.len() <= MAX_BODY);
        bodies(body);
    }
});
