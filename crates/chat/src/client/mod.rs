//! The clients: the transport ([`base_client`]), the chat client composed
//! with a security layer ([`simple_client`]), the receive pipeline that
//! reads broadcasts apart from opening them ([`inbox`]), and random readable
//! nicks ([`names`]).

pub mod base_client;
pub mod inbox;
pub mod names;
pub mod simple_client;

pub use base_client::{BaseClient, BroadcastChannel, ClientError, Endpoint, RequestChannel};
pub use inbox::{Inbox, Received, Verifier};
pub use simple_client::{Delivery, SimpleClient, on_recv, on_recv_all};
