//! Pages (PROTOCOL.md section 10): the client's page (`--web` on every
//! client), as the original's client was a pywebio page, and the teacher's
//! view (`--dashboard` on every server), which shows the room what the
//! server sees.
//!
//! - [`http`]: a small blocking HTTP server with a cap on connections and
//!   threads;
//! - [`guard`]: who may ask what (the `Host`, the `Origin`, the page's
//!   token and cookie);
//! - `assets`: the pages' HTML, CSS and JavaScript, embedded;
//! - [`page`]: the client's page, whose screen is a numbered line log;
//! - [`dashboard`]: the teacher's view, fed by the server's tap.
//!
//! Peer text, nicks included, is only ever text on both pages: the scripts
//! set `textContent` and never write HTML, and every response carries a
//! Content-Security-Policy that forbids inline scripts and anything from
//! elsewhere, should a bug let markup through.

mod assets;
pub mod dashboard;
pub mod guard;
pub mod http;
pub mod page;

use clap::Args;

/// The client's page: the flags every client takes.
#[derive(Debug, Clone, Default, Args)]
pub struct PageFlags {
    /// Serve the chat as a page on 127.0.0.1 instead of using the terminal
    /// (as the original's pywebio client); its address, with a secret
    /// token, is printed on stdout. Closing the page leaves the chat
    #[arg(long)]
    pub web: bool,
    /// The page's port [default: a free one]
    #[arg(long, value_name = "N", requires = "web")]
    pub web_port: Option<u16>,
    /// Also open the page in the default browser ($BROWSER, else
    /// xdg-open), through an owner-only file: the token is never on a
    /// command line
    #[arg(long, requires = "web")]
    pub open: bool,
}

/// The teacher's view: the flags every server takes.
#[derive(Debug, Clone, Args)]
pub struct DashboardFlags {
    /// Serve the teacher's view: a read-only page showing, live, who is in
    /// the chat, every message as this server holds it (the words in clear,
    /// only a salt and a token once encrypted), what it refused and why,
    /// its connections, and what a rogue server does to each message. Its
    /// address is printed on stderr
    #[arg(long)]
    pub dashboard: bool,
    /// Address the teacher's view listens on (0.0.0.0: the classroom's
    /// network; it shows what the server sees, to whoever opens it)
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1",
        requires = "dashboard"
    )]
    pub dashboard_host: String,
    /// Port of the teacher's view (0: a free one)
    #[arg(long, value_name = "N", default_value_t = 0, requires = "dashboard")]
    pub dashboard_port: u16,
}
