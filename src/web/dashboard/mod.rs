//! The teacher's view (`--dashboard` on every server): a read-only page
//! that shows the room, live, what the server sees: who is in the chat,
//! each message as the server holds it (the words of a plain chat, only a
//! salt and a token once the layers encrypt), what it refused and why (the
//! guard's refusals among them), its connections, and what a rogue server
//! did to each message.
//!
//! Its data is the server's [`Tap`], which the server records into without
//! ever waiting: one thread (the `feed`) follows it for every reader, and
//! each open view reads the feed at its own pace, in coalesced pushes. The
//! view faces the whole room, so it keeps the client page's rules (peer
//! text, nicks included, only as text; the Content-Security-Policy; nothing
//! from elsewhere) under a cap on connections and threads that a slowloris
//! or a crowd of readers cannot grow.

mod feed;
mod routes;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chat::server::Tap;

pub use feed::KEPT_ITEMS;

use super::DashboardFlags;
use super::guard::Hosts;
use super::http::{self, Limits, Served};
use feed::Feed;
use routes::DashboardSite;

/// Shortest time between two pushes to one reader.
pub const PUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Items one push carries at most: the newest; the others are counted.
/// The feed turns no more than this of a batch into items.
pub const MAX_PER_PUSH: usize = 200;

/// Connections to the view at once: a classroom's worth of readers and
/// their requests. Its threads are as many, plus the accept loop and the
/// feed.
pub const MAX_CONNECTIONS: usize = 64;

/// The view takes no body: a request with one is refused.
const MAX_BODY: usize = 0;

/// The teacher's view, being served; dropping it stops it.
pub struct Dashboard {
    feed: Arc<Feed>,
    viewers: Arc<AtomicUsize>,
    served: Served,
    host: String,
}

impl Dashboard {
    /// Serves the view where `flags` say, titled `title` (the server's
    /// name), following no tap yet.
    pub fn start(flags: &DashboardFlags, title: &str) -> io::Result<Self> {
        let listener = http::bind("dashboard", &flags.dashboard_host, flags.dashboard_port)?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let feed = Feed::start(Arc::clone(&stopping))?;
        let hello = serde_json::json!({"title": title}).to_string();
        let viewers = Arc::new(AtomicUsize::new(0));
        let site = DashboardSite {
            viewers: Arc::clone(&viewers),
            hosts: Hosts::bound_to(addr).and_name(&flags.dashboard_host, addr.port()),
            feed: Arc::clone(&feed),
            hello: Arc::from(hello),
            stopping: Arc::clone(&stopping),
        };
        let limits = Limits {
            max_connections: MAX_CONNECTIONS,
            max_body: MAX_BODY,
        };
        let served = http::serve(listener, limits, Arc::new(site), stopping)?;
        Ok(Self {
            feed,
            viewers,
            served,
            host: flags.dashboard_host.clone(),
        })
    }

    /// Shows what `tap` records from now on (beside the taps followed
    /// already).
    pub fn follow(&self, tap: &Tap) {
        self.feed.follow(tap);
    }

    /// Starts a new scene (the demo's): the taps followed so far are let
    /// go, and the view says `title`.
    pub fn scene(&self, title: &str) {
        self.feed.scene(title);
    }

    /// Views open now.
    pub fn viewers(&self) -> usize {
        self.viewers.load(Ordering::SeqCst)
    }

    pub fn addr(&self) -> SocketAddr {
        self.served.addr()
    }

    /// The view's address, as the servers print it: `http://HOST:N/`,
    /// HOST as given.
    pub fn url(&self) -> String {
        let host = match self.host.parse::<std::net::IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, self.addr().port()).to_string(),
            Err(_) => format!("{}:{}", self.host, self.addr().port()),
        };
        format!("http://{host}/")
    }
}
