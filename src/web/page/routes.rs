//! What the client's page answers, and to whom: the page and its files,
//! the stream of lines, and the lines it sends. Every request names the
//! site as it is bound (`Host`), proves it is the user's (the token for
//! the page, the cookie for the rest), and one that sends a line comes
//! from the page itself (`Origin`); anything else gets 403, a path the
//! page does not have 404.

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chat::wire::{MAX_LINE, Nick};
use chat::{Layer, Named};

use super::SendInput;
use super::log::PageLog;
use super::watch::Streams;
use crate::input::Input;
use crate::web::assets::{self, Asset};
use crate::web::guard::{Access, Hosts, Proof, same_origin};
use crate::web::http::events::EventStream;
use crate::web::http::{Handler, Request, Response, Status};

/// How often an idle stream looks whether its page is still there.
const TICK: Duration = Duration::from_secs(1);

/// How often an idle stream says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// What the page's parts share with the site.
pub(super) struct Shared {
    pub log: Arc<PageLog>,
    pub streams: Arc<Streams>,
    pub send: Arc<SendInput>,
    pub stopping: Arc<AtomicBool>,
}

/// The client's page, as a site.
pub(super) struct PageSite {
    hosts: Hosts,
    access: Access,
    /// The first event of every stream: who this client is.
    hello: Arc<str>,
    shared: Arc<Shared>,
}

/// What a request asks for.
enum Route {
    Page,
    Asset(&'static Asset),
    Events,
    Send,
}

impl Route {
    fn of(path: &str) -> Option<Self> {
        match path {
            "/" => Some(Self::Page),
            "/events" => Some(Self::Events),
            "/send" => Some(Self::Send),
            path => assets::PAGE
                .iter()
                .find(|a| a.path == path)
                .map(Self::Asset),
        }
    }

    fn method(&self) -> &'static str {
        match self {
            Self::Send => "POST",
            Self::Page | Self::Asset(_) | Self::Events => "GET",
        }
    }
}

impl PageSite {
    pub(super) fn new(
        nick: &Nick,
        layer: Layer,
        hosts: Hosts,
        access: Access,
        shared: Shared,
    ) -> Self {
        let hello = serde_json::json!({
            "nick": nick.as_str(),
            "layer": layer.to_string(),
            "client": crate::client_binary(layer),
            "layer_name": layer.name(),
        });
        Self {
            hosts,
            access,
            hello: Arc::from(hello.to_string()),
            shared: Arc::new(shared),
        }
    }

    fn refused(&self, request: &Request) -> Option<Response> {
        if !self.hosts.allows(request.header("host")) {
            return Some(Response::text(
                Status::FORBIDDEN,
                "this page answers to 127.0.0.1 and localhost only",
            ));
        }
        None
    }

    /// A route, once the request proved it is the user's.
    fn answer(&self, route: Route, proof: Proof, request: &Request) -> Response {
        match route {
            Route::Page => {
                let page = Response::bytes(assets::HTML, assets::PAGE_HTML.as_bytes());
                match proof {
                    Proof::Token => page.with_header("Set-Cookie", self.access.set_cookie()),
                    Proof::Cookie | Proof::None => page,
                }
            }
            Route::Asset(asset) => asset.response(),
            Route::Events => self.events(request),
            Route::Send => self.send(request),
        }
    }

    /// The stream of lines, from the one after the last the page had.
    fn events(&self, request: &Request) -> Response {
        let after = request
            .header("last-event-id")
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        let (shared, hello) = (Arc::clone(&self.shared), Arc::clone(&self.hello));
        Response::event_stream(move |stream| stream_lines(&shared, &hello, stream, after))
    }

    /// A line (or several, pasted) typed in the page, to the client's loop.
    fn send(&self, request: &Request) -> Response {
        if !same_origin(request) {
            return Response::text(Status::FORBIDDEN, "lines are sent from the page only");
        }
        let Ok(text) = std::str::from_utf8(&request.body) else {
            return Response::text(Status::BAD_REQUEST, "a line is UTF-8 text");
        };
        for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
            let input = if line.len() > MAX_LINE {
                Input::TooLong(line.len())
            } else {
                Input::Line(line.to_owned())
            };
            if !(self.shared.send)(input) {
                return Response::text(Status::UNAVAILABLE, "the client has ended");
            }
        }
        Response::empty(Status::NO_CONTENT)
    }
}

impl Handler for PageSite {
    fn handle(&self, request: &Request) -> Response {
        if let Some(refusal) = self.refused(request) {
            return refusal;
        }
        let Some(route) = Route::of(&request.path) else {
            return Response::status(Status::NOT_FOUND);
        };
        if request.method != route.method() {
            return Response::status(Status::METHOD_NOT_ALLOWED)
                .with_header("Allow", route.method().to_owned());
        }
        let proof = self.access.proof(request);
        let admitted = match route {
            Route::Page => proof != Proof::None,
            _ => proof == Proof::Cookie,
        };
        if !admitted {
            return Response::text(
                Status::FORBIDDEN,
                "this page is its user's: open the address the client printed",
            );
        }
        self.answer(route, proof, request)
    }
}

/// Feeds a page the lines after line `after`, then each new one as it
/// comes, until the page leaves or the client ends.
fn stream_lines(shared: &Shared, hello: &str, stream: &TcpStream, mut after: u64) {
    let _open = shared.streams.opened();
    let mut events = EventStream::new(stream);
    events.event("hello", None, hello);
    let mut quiet_since = Instant::now();
    loop {
        let since = shared.log.since(after, TICK);
        if since.not_shown > 0 {
            events.event("line", None, &not_shown(since.not_shown));
        }
        for line in &since.lines {
            events.event("line", Some(line.number), &line.to_json());
            after = line.number;
        }
        let idle = since.lines.is_empty();
        if since.ended && idle {
            events.event("end", None, "");
            let _ = events.flush();
            return;
        }
        if idle && (events.peer_gone() || shared.stopping.load(Ordering::SeqCst)) {
            return;
        }
        if idle && quiet_since.elapsed() >= HEARTBEAT {
            events.comment();
        }
        if events.pending() > 0 {
            quiet_since = Instant::now();
        }
        if events.flush().is_err() {
            return;
        }
    }
}

/// The line that stands for lines a page missed and can no longer get.
fn not_shown(count: u64) -> String {
    let text = format!("[info] {count} lines not shown");
    serde_json::json!({"kind": "info", "own": false, "text": text}).to_string()
}
