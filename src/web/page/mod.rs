//! The client's page (`--web`): the same client, its screen a page instead
//! of the terminal, as the original's client was a pywebio page.
//!
//! The client's loop does not change: the `Screen` writes every line it
//! would print to a numbered [`PageLog`], which the page's event streams
//! read, and a line sent from the page (`POST /send`) goes into the same
//! channel as a typed line would. Keys, checks and commands all stay in
//! this process: the page only shows text and sends text.
//!
//! The page is its user's alone (the token, then the cookie: see
//! [`guard`](super::guard)), and closing it leaves the chat, as closing the
//! original's page did: once no page has been open for [`CLOSE_GRACE`]
//! (long enough for a reload), the client ends as on end of input.

mod log;
mod open;
mod routes;
mod watch;

use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chat::Layer;
use chat::wire::Nick;

pub use log::{KEPT_BYTES, KEPT_LINES, LineKind, PageLog};

use super::PageFlags;
use super::guard::{Access, Hosts, TOKEN_PARAM};
use super::http::{self, Limits, Served};
use crate::input::Input;
use open::RedirectFile;
use routes::{PageSite, Shared};
use watch::Streams;

/// How long the client waits, once the last page has closed, before it
/// leaves the chat: a reload reconnects well within it.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Connections to the page at once: one stream per open tab, a few
/// requests, the browser's spare connections; far below what would cost.
pub const MAX_CONNECTIONS: usize = 32;

/// Bytes a line sent from the page may have on the wire: four times what
/// fits in a frame, so that a line too long to send is answered as the
/// terminal answers it, not with 413.
const MAX_BODY: usize = 4 * chat::wire::MAX_LINE;

/// How long the client, ending, lets the pages read their last lines.
const FINISH_WAIT: Duration = Duration::from_secs(2);

/// What a line sent from the page is handed to: the client's event channel.
pub type SendInput = Box<dyn Fn(Input) -> bool + Send + Sync>;

/// The page, served for as long as the client runs; dropping it tells the
/// pages the client has ended and stops serving.
pub struct Page {
    log: Arc<PageLog>,
    streams: Arc<Streams>,
    url: String,
    port: u16,
    _served: Served,
    /// The redirect file `--open` wrote, removed with the page.
    redirect: Option<RedirectFile>,
}

impl Page {
    /// Serves the page of `nick`'s chat in `layer` on 127.0.0.1. Lines sent
    /// from the page go to `send`; when the last page has been closed for
    /// [`CLOSE_GRACE`], so does `Input::End`. The client's screen writes
    /// to its [`log`](Self::log).
    pub fn start(
        nick: &Nick,
        layer: Layer,
        flags: &PageFlags,
        send: SendInput,
    ) -> io::Result<Self> {
        let port = flags.web_port.unwrap_or(0);
        let listener = http::bind("page", &Ipv4Addr::LOCALHOST.to_string(), port)?;
        let port = listener.local_addr()?.port();
        let access = Access::new(port)?;
        let url = format!(
            "http://127.0.0.1:{port}/?{TOKEN_PARAM}={}",
            access.token().as_str()
        );
        let log = PageLog::new();
        let send: Arc<SendInput> = Arc::new(send);
        let streams = Streams::watch(Arc::clone(&send))?;
        let stopping = Arc::new(AtomicBool::new(false));
        let shared = Shared {
            log: Arc::clone(&log),
            streams: Arc::clone(&streams),
            send,
            stopping: Arc::clone(&stopping),
        };
        let site = PageSite::new(nick, layer, Hosts::loopback(port), access, shared);
        let limits = Limits {
            max_connections: MAX_CONNECTIONS,
            max_body: MAX_BODY,
        };
        let served = http::serve(listener, limits, Arc::new(site), stopping)?;
        Ok(Self {
            log,
            streams,
            url,
            port,
            _served: served,
            redirect: None,
        })
    }

    /// The page's address, with its token: the user's alone.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The numbered lines the page shows.
    pub fn log(&self) -> Arc<PageLog> {
        Arc::clone(&self.log)
    }

    /// Opens the page in the user's browser, through an owner-only
    /// redirect file (never with the token on a command line); the file
    /// goes when the page does.
    pub fn open_in_browser(&mut self) -> io::Result<()> {
        self.redirect = Some(open::open_in_browser(&self.url, self.port)?);
        Ok(())
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.log.end();
        self.streams.wait_closed(FINISH_WAIT);
    }
}
