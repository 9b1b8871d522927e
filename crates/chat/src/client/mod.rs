//! The clients: the transport (`base_client`), the chat client composed
//! with a security layer (`simple_client`), the receive pipeline that
//! reads broadcasts apart from opening them (`inbox`), and random readable
//! nicks (`names`).

pub(crate) mod base_client;
pub(crate) mod inbox;
pub(crate) mod names;
pub(crate) mod simple_client;

pub use base_client::{BaseClient, BroadcastChannel, ClientError, Endpoint, RequestChannel};
pub use inbox::{Inbox, Received, Verifier};
pub use names::random_nick;
pub use simple_client::{Delivery, SimpleClient, on_recv, on_recv_all};
