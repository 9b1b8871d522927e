//! Property-based tests of the ZeroMQ wire's readers, which meet bytes from
//! the network first: whatever a peer sends, and however the network splits
//! it into reads, they must not panic; frames must come out whole and in
//! order; valid frames must survive a round trip through either codec and
//! through what a server relays.

use std::io::{self, Read, Write};

use crate::wire::body::pickle;
use crate::wire::zmtp::{self, MAX_BODY, MessageReader, SocketType};
use crate::wire::{Codec, MessageBody, Nick, Request, Sealed};
use proptest::prelude::*;

/// A stream handed out in reads of the given sizes; writes are dropped.
struct Scripted {
    data: Vec<u8>,
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let n = size.max(1).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data.drain(..n);
        Ok(n)
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn nick() -> impl Strategy<Value = Nick> {
    "[a-zA-Zé_0-9]{1,20}".prop_map(|n| Nick::new(n).unwrap())
}

fn request() -> impl Strategy<Value = Request<'static>> {
    let text = any::<String>().prop_map(|t| MessageBody::Text(t.into()));
    let sealed = ("[A-Za-z0-9+/=]{0,30}", "[A-Za-z0-9_=-]{0,80}").prop_map(|(salt, token)| {
        MessageBody::Sealed(Sealed {
            salt: salt.into(),
            token: token.into(),
        })
    });
    prop_oneof![
        nick().prop_map(|nick| Request::Join {
            nick,
            subscriber: None
        }),
        nick().prop_map(|nick| Request::Leave { nick }),
        (nick(), prop_oneof![text, sealed])
            .prop_map(|(nick, body)| Request::Message { nick, body }),
        Just(Request::List),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic_a_reader(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        for codec in [Codec::Pickle, Codec::Msgpack] {
            let _ = codec.decode_request(&body);
            let _ = codec.decode_broadcast(&body);
            let _ = codec.decode_response(&body);
            if let Ok(relayed) = codec.relayed(&body) {
                prop_assert!(codec.decode_request(&relayed).is_ok() || codec.decode_request(&body).is_err());
            }
            if let Ok((_, relaying)) = codec.decode_request_to_relay(&body) {
                prop_assert_eq!(codec.relayed_as(&body, relaying).ok(), codec.relayed(&body).ok());
            }
        }
    }

    #[test]
    fn requests_survive_both_codecs_and_the_relay(request in request()) {
        for codec in [Codec::Pickle, Codec::Msgpack] {
            let bytes = codec.request_bytes(&request);
            prop_assert_eq!(&codec.decode_request(&bytes).unwrap(), &request);
            for house in [Codec::Pickle, Codec::Msgpack] {
                let relayed = house.relayed(&bytes).unwrap();
                prop_assert_eq!(&house.decode_request(&relayed).unwrap(), &request);
                // A server relays what it learnt reading the frame: the same.
                let (_, relaying) = house.decode_request_to_relay(&bytes).unwrap();
                prop_assert_eq!(house.relayed_as(&bytes, relaying).unwrap(), relayed);
            }
        }
        let pickled = Codec::Pickle.request_bytes(&request);
        prop_assert!(pickle::check(&pickled).is_ok());
    }

    #[test]
    fn messages_come_out_whole_however_the_reads_split_them(
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 1..8),
        sizes in proptest::collection::vec(1usize..700, 1..6),
    ) {
        let mut data = Vec::new();
        for body in &bodies {
            zmtp::push_delimiter(&mut data);
            zmtp::push_frame_with(&mut data, 0, |out| out.extend_from_slice(body));
        }
        let mut reader = MessageReader::new(Scripted { data, sizes, turn: 0 }, SocketType::Rep);
        for body in &bodies {
            prop_assert_eq!(reader.read_message().unwrap(), Some(&body[..]));
        }
        prop_assert_eq!(reader.read_message().unwrap(), None);
    }

    #[test]
    fn arbitrary_streams_never_panic_the_message_reader(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
        sizes in proptest::collection::vec(1usize..300, 1..6),
    ) {
        let mut reader = MessageReader::new(Scripted { data, sizes, turn: 0 }, SocketType::Rep);
        while let Ok(Some(body)) = reader.read_message() {
            prop_assert!(body.len() <= MAX_BODY);
        }
    }
}
