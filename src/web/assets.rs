//! The pages' files, embedded in the binary: plain HTML, CSS and
//! JavaScript written by hand, with no build step and nothing loaded from
//! elsewhere, so a page works offline. The script and the styles are files
//! of their own, never inline, so that the Content-Security-Policy can
//! forbid every inline script and style.

use super::http::Response;

/// The type of an HTML page.
pub const HTML: &str = "text/html; charset=utf-8";

/// The client's page.
pub const PAGE_HTML: &str = include_str!("assets/page.html");

/// The teacher's view.
pub const DASHBOARD_HTML: &str = include_str!("assets/dashboard.html");

/// A file a page loads.
pub struct Asset {
    pub path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

impl Asset {
    pub fn response(&self) -> Response {
        Response::bytes(self.content_type, self.body.as_bytes())
    }
}

const FAVICON: Asset = Asset {
    path: "/favicon.svg",
    content_type: "image/svg+xml",
    body: include_str!("assets/favicon.svg"),
};

/// The files the client's page loads.
pub const PAGE: &[Asset] = &[
    Asset {
        path: "/page.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/page.js"),
    },
    Asset {
        path: "/page.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/page.css"),
    },
    FAVICON,
];

/// The files the teacher's view loads.
pub const DASHBOARD: &[Asset] = &[
    Asset {
        path: "/dashboard.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/dashboard.js"),
    },
    Asset {
        path: "/dashboard.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/dashboard.css"),
    },
    FAVICON,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `html` runs or styles anything of its own inline: the
    /// policy would block it, so the page would break.
    fn has_inline_code(html: &str) -> bool {
        html.contains("<script>")
            || html.contains("<style")
            || html.contains(" style=")
            || html.contains(" on")
    }

    #[test]
    fn the_pages_load_only_their_own_files() {
        for (html, assets) in [(PAGE_HTML, PAGE), (DASHBOARD_HTML, DASHBOARD)] {
            assert!(!has_inline_code(html));
            assert!(!html.contains("http:") && !html.contains("https:") && !html.contains("//"));
            for asset in assets {
                assert!(html.contains(asset.path), "{}", asset.path);
            }
        }
    }

    #[test]
    fn the_scripts_never_write_html() {
        for asset in PAGE
            .iter()
            .chain(DASHBOARD)
            .filter(|a| a.path.ends_with(".js"))
        {
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!asset.body.contains(sink), "{} uses {sink}", asset.path);
            }
        }
    }
}
