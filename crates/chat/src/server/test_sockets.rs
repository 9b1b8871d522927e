//! Sockets for the server's unit tests: real TCP connections on loopback,
//! on ports the system picks.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};

/// A connected pair: the server's end, and the peer's.
pub(crate) fn socket_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    (listener.accept().unwrap().0, client)
}

/// The next `n` lines `reader` receives, each with its `\n`.
pub(crate) fn read_lines(reader: &mut BufReader<TcpStream>, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            line
        })
        .collect()
}
