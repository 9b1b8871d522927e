//! What the teacher's view answers: the page, its files and its stream,
//! to anyone who names the site as it is bound (`Host`); nothing changes
//! anything (every other method is refused), every other path is 404.
//!
//! The stream is coalesced: a push carries everything since the last one
//! and is sent at most every [`PUSH_INTERVAL`], at most [`MAX_PER_PUSH`]
//! items at a time (the newest; the rest counted as not shown), so a busy
//! chat costs a reader a few writes a second, and a reader that cannot
//! keep up misses frames, never slows anyone.

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::feed::{Feed, Update};
use crate::web::assets::{self, Asset};
use crate::web::guard::Hosts;
use crate::web::http::events::EventStream;
use crate::web::http::{Handler, Request, Response, Status};

/// Shortest time between two pushes to one reader.
pub const PUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Items one push carries at most: the newest; the others are counted.
pub const MAX_PER_PUSH: usize = 200;

/// How long an idle stream waits before looking whether its page is
/// still there.
const TICK: Duration = Duration::from_secs(1);

/// How often an idle stream says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// The teacher's view, as a site.
pub(super) struct DashboardSite {
    pub hosts: Hosts,
    pub feed: Arc<Feed>,
    /// The first event of every stream: which server this is.
    pub hello: Arc<str>,
    pub stopping: Arc<AtomicBool>,
    /// Views open now (their streams).
    pub viewers: Arc<AtomicUsize>,
}

impl Handler for DashboardSite {
    fn handle(&self, request: &Request) -> Response {
        if !self.hosts.allows(request.header("host")) {
            return Response::text(Status::FORBIDDEN, "unexpected Host");
        }
        let route = route(&request.path);
        if matches!(route, Route::Unknown) {
            return Response::status(Status::NOT_FOUND);
        }
        if request.method != "GET" {
            return Response::status(Status::METHOD_NOT_ALLOWED)
                .with_header("Allow", "GET".to_owned());
        }
        match route {
            Route::Page => Response::bytes(assets::HTML, assets::DASHBOARD_HTML.as_bytes()),
            Route::Asset(asset) => asset.response(),
            Route::Events => self.events(request),
            Route::Unknown => Response::status(Status::NOT_FOUND),
        }
    }
}

enum Route {
    Page,
    Asset(&'static Asset),
    Events,
    Unknown,
}

fn route(path: &str) -> Route {
    match path {
        "/" => Route::Page,
        "/events" => Route::Events,
        path => assets::DASHBOARD
            .iter()
            .find(|a| a.path == path)
            .map_or(Route::Unknown, Route::Asset),
    }
}

impl DashboardSite {
    /// A stream that starts with what the feed keeps (after the last item
    /// a reconnecting view had), then follows it.
    fn events(&self, request: &Request) -> Response {
        let after = request
            .header("last-event-id")
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        let (feed, hello) = (Arc::clone(&self.feed), Arc::clone(&self.hello));
        let stopping = Arc::clone(&self.stopping);
        let viewers = Arc::clone(&self.viewers);
        Response::event_stream(move |stream| {
            viewers.fetch_add(1, Ordering::SeqCst);
            push_updates(&feed, &hello, &stopping, stream, after);
            viewers.fetch_sub(1, Ordering::SeqCst);
        })
    }
}

/// Feeds a view the items the feed keeps after item `after`, then each
/// push as it comes, until the view leaves or the server stops. Each push
/// is numbered by its last item, which a reconnecting view sends back.
fn push_updates(
    feed: &Feed,
    hello: &str,
    stopping: &AtomicBool,
    stream: &TcpStream,
    mut after: u64,
) {
    let mut events = EventStream::new(stream);
    events.event("hello", None, hello);
    let mut version = 0;
    let mut quiet_since = Instant::now();
    loop {
        let update = feed.since(after, version, TICK);
        let pushed = !update.items.is_empty() || update.snapshot.is_some() || update.not_shown > 0;
        if pushed {
            after = update.items.last().map_or(after, |i| i.n);
            version = update.snapshot.as_ref().map_or(version, |(v, _)| *v);
            events.event("update", Some(after), &update_json(update));
            quiet_since = Instant::now();
        } else if update.ended || stopping.load(Ordering::SeqCst) || events.peer_gone() {
            return;
        } else if quiet_since.elapsed() >= HEARTBEAT {
            events.comment();
            quiet_since = Instant::now();
        }
        if events.flush().is_err() {
            return;
        }
        if pushed {
            thread::sleep(PUSH_INTERVAL);
        }
    }
}

/// One push: `{"snapshot":..,"not_shown":N,"events":[..]}`, with at most
/// [`MAX_PER_PUSH`] items, the newest; N counts the events of the items
/// left out, and those the view missed before.
fn update_json(update: Update) -> String {
    let Update {
        not_shown,
        items,
        snapshot,
        ..
    } = update;
    let skipped = items.len().saturating_sub(MAX_PER_PUSH);
    let left_out: u64 = items[..skipped].iter().map(|i| i.events).sum();
    let shown: Vec<&str> = items[skipped..].iter().map(|i| &*i.json).collect();
    let snapshot = snapshot.map_or_else(|| "null".to_owned(), |(_, s)| s.to_string());
    format!(
        "{{\"snapshot\":{snapshot},\"not_shown\":{},\"events\":[{}]}}",
        not_shown + left_out,
        shown.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::super::feed::Item;
    use super::*;

    #[test]
    fn a_push_carries_the_newest_items_and_counts_the_rest() {
        let items: Vec<Item> = (1..=MAX_PER_PUSH as u64 + 3)
            .map(|n| Item {
                n,
                json: Arc::from(format!("{{\"n\":{n}}}")),
                events: if n == 2 { 40 } else { 1 },
            })
            .collect();
        let update = Update {
            not_shown: 2,
            items,
            snapshot: Some((1, Arc::from("{\"members\":[]}"))),
            ended: false,
        };
        let push: serde_json::Value = serde_json::from_str(&update_json(update)).unwrap();
        assert_eq!(push["not_shown"], 2 + 1 + 40 + 1);
        let events = push["events"].as_array().unwrap();
        assert_eq!(events.len(), MAX_PER_PUSH);
        assert_eq!(events[0]["n"], 4);
        assert_eq!(push["snapshot"]["members"], serde_json::json!([]));
    }
}
