//! Who may ask what of a site: the rules both pages keep before any route
//! is looked at.
//!
//! - The `Host` header must name the site as it is bound: a page on
//!   127.0.0.1 answers only to `127.0.0.1:N` and `localhost:N`, so that a
//!   hostile site whose name is made to resolve to 127.0.0.1 (DNS
//!   rebinding) is refused; a dashboard bound to every address answers to
//!   any address written as numbers (which no DNS can rebind) on its port.
//! - A request that changes something must come from the page itself: its
//!   `Origin` is the site's own.
//! - The client's page is its user's alone ([`Access`]): a secret token in
//!   the address it prints, then a cookie of a random session value, named
//!   after the port because browsers do not keep cookies apart by port
//!   (alice's and bob's pages in one browser must not overwrite each
//!   other's).

use std::fmt::Write as _;
use std::net::SocketAddr;

use rand::TryRngCore;
use rand::rngs::OsRng;

use super::http::Request;

/// The names a site answers to.
#[derive(Debug, Clone)]
pub enum Hosts {
    /// Exactly these `host:port` values (lower case).
    Named(Vec<String>),
    /// Any address written as numbers, or `localhost`, on this port: a site
    /// bound to every address, reached by whichever one the room uses.
    AnyAddress { port: u16 },
}

impl Hosts {
    /// A site on loopback: `127.0.0.1:N` and `localhost:N`.
    pub fn loopback(port: u16) -> Self {
        Self::Named(vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
        ])
    }

    /// The names of a site bound to `addr`.
    pub fn bound_to(addr: SocketAddr) -> Self {
        let port = addr.port();
        match addr.ip() {
            ip if ip.is_unspecified() => Self::AnyAddress { port },
            ip if ip.is_loopback() => {
                let mut names = Self::loopback_names(port);
                names.push(SocketAddr::new(ip, port).to_string());
                Self::Named(names)
            }
            ip => Self::Named(vec![SocketAddr::new(ip, port).to_string()]),
        }
    }

    /// The same, answering to `name` too (the name the site was bound by:
    /// a machine's name on the classroom's network).
    pub fn and_name(self, name: &str, port: u16) -> Self {
        match self {
            Self::Named(mut names) => {
                names.push(format!("{}:{port}", name.to_ascii_lowercase()));
                Self::Named(names)
            }
            any @ Self::AnyAddress { .. } => any,
        }
    }

    fn loopback_names(port: u16) -> Vec<String> {
        match Self::loopback(port) {
            Self::Named(names) => names,
            Self::AnyAddress { .. } => Vec::new(),
        }
    }

    /// Whether a request naming `host` is for this site.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Some(host) = host.map(str::to_ascii_lowercase) else {
            return false;
        };
        match self {
            Self::Named(names) => names.contains(&host),
            Self::AnyAddress { port } => match host.parse::<SocketAddr>() {
                Ok(addr) => addr.port() == *port,
                Err(_) => host == format!("localhost:{port}"),
            },
        }
    }
}

/// Whether `request` comes from a page of the site it names (its `Origin`
/// is `http://` and its `Host`): what a request that changes state needs.
pub fn same_origin(request: &Request) -> bool {
    match (request.header("origin"), request.header("host")) {
        (Some(origin), Some(host)) => origin.eq_ignore_ascii_case(&format!("http://{host}")),
        _ => false,
    }
}

/// 128 random bits from the operating system, written in hex.
#[derive(Clone)]
pub struct Secret(String);

/// Bytes of a [`Secret`]: 128 bits.
const SECRET_BYTES: usize = 16;

impl Secret {
    /// A fresh secret; an error if the system has no randomness to give.
    pub fn new() -> std::io::Result<Self> {
        let mut bytes = [0u8; SECRET_BYTES];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| std::io::Error::other(format!("no randomness for a secret: {e}")))?;
        let mut hex = String::with_capacity(2 * SECRET_BYTES);
        for byte in bytes {
            let _ = write!(hex, "{byte:02x}");
        }
        Ok(Self(hex))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this secret, in a time that does not depend on
    /// where they first differ.
    pub fn matches(&self, given: &str) -> bool {
        let (ours, theirs) = (self.0.as_bytes(), given.as_bytes());
        ours.len() == theirs.len()
            && ours
                .iter()
                .zip(theirs)
                .fold(0u8, |differ, (a, b)| differ | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// How a request to the client's page proves it is its user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The token of the printed address: the page is served and sets the
    /// cookie.
    Token,
    /// The cookie the page set.
    Cookie,
    /// Neither: 403.
    None,
}

/// The client page's secrets: the token it prints and the session its
/// cookie holds, new each run.
#[derive(Debug, Clone)]
pub struct Access {
    token: Secret,
    session: Secret,
    cookie_name: String,
}

/// The query parameter that carries the token.
pub const TOKEN_PARAM: &str = "token";

/// What every page cookie's name starts with; the port follows.
const COOKIE_PREFIX: &str = "unsecured_chat_";

impl Access {
    /// Fresh secrets for the page served on `port`.
    pub fn new(port: u16) -> std::io::Result<Self> {
        Ok(Self {
            token: Secret::new()?,
            session: Secret::new()?,
            cookie_name: format!("{COOKIE_PREFIX}{port}"),
        })
    }

    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// What `request` proves.
    pub fn proof(&self, request: &Request) -> Proof {
        if request
            .cookie(&self.cookie_name)
            .is_some_and(|v| self.session.matches(v))
        {
            Proof::Cookie
        } else if request
            .query_param(TOKEN_PARAM)
            .is_some_and(|v| self.token.matches(v))
        {
            Proof::Token
        } else {
            Proof::None
        }
    }

    /// The `Set-Cookie` value that gives the page its session: sent back
    /// only to this site, never readable by a script, never sent along
    /// with a request another site makes.
    pub fn set_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie_name,
            self.session.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::http::request::read_request;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    fn request(head: &str) -> Request {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.write_all(head.as_bytes()).unwrap();
        let (server, _) = listener.accept().unwrap();
        read_request(&server, 0, Duration::from_secs(20)).unwrap()
    }

    #[test]
    fn a_loopback_site_answers_to_its_own_names_only() {
        let hosts = Hosts::loopback(4000);
        assert!(hosts.allows(Some("127.0.0.1:4000")));
        assert!(hosts.allows(Some("LOCALHOST:4000")));
        for foreign in [
            "evil.example:4000",
            "127.0.0.1:4001",
            "127.0.0.1",
            "localhost",
        ] {
            assert!(!hosts.allows(Some(foreign)), "{foreign}");
        }
        assert!(!hosts.allows(None));
    }

    #[test]
    fn a_site_on_every_address_answers_to_numbers_not_names() {
        let hosts = Hosts::bound_to("0.0.0.0:8080".parse().unwrap());
        assert!(hosts.allows(Some("192.168.1.20:8080")));
        assert!(hosts.allows(Some("[::1]:8080")));
        assert!(hosts.allows(Some("localhost:8080")));
        assert!(!hosts.allows(Some("192.168.1.20:8081")));
        assert!(!hosts.allows(Some("rebound.example:8080")));
        let one = Hosts::bound_to("10.0.0.5:80".parse().unwrap());
        assert!(one.allows(Some("10.0.0.5:80")));
        assert!(!one.allows(Some("localhost:80")));
        let named = one.and_name("Teacher.local", 80);
        assert!(named.allows(Some("teacher.local:80")));
        assert!(!named.allows(Some("student.local:80")));
    }

    #[test]
    fn secrets_are_128_random_bits_and_compare_whole() {
        let (a, b) = (Secret::new().unwrap(), Secret::new().unwrap());
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(&a.as_str()[..31]));
        assert!(!a.matches(b.as_str()));
        assert_eq!(format!("{a:?}"), "Secret(..)");
    }

    #[test]
    fn the_token_or_the_cookie_of_this_port_proves_access() {
        let access = Access::new(4000).unwrap();
        let token = access.token().as_str().to_owned();
        let with_token = request(&format!("GET /?token={token} HTTP/1.1\r\n\r\n"));
        assert_eq!(access.proof(&with_token), Proof::Token);
        let cookie = access.set_cookie();
        let (pair, attributes) = cookie.split_once(';').unwrap();
        assert!(pair.starts_with("unsecured_chat_4000="));
        assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"));
        let with_cookie = request(&format!(
            "GET /x HTTP/1.1\r\nCookie: other=1; {pair}\r\n\r\n"
        ));
        assert_eq!(access.proof(&with_cookie), Proof::Cookie);
        let other_port = pair.replace("_4000=", "_4001=");
        let foreign = request(&format!("GET /x HTTP/1.1\r\nCookie: {other_port}\r\n\r\n"));
        assert_eq!(access.proof(&foreign), Proof::None);
        let wrong = request("GET /?token=00000000000000000000000000000000 HTTP/1.1\r\n\r\n");
        assert_eq!(access.proof(&wrong), Proof::None);
    }

    #[test]
    fn only_the_site_s_own_origin_is_the_same_origin() {
        let own =
            request("POST / HTTP/1.1\r\nHost: 127.0.0.1:9\r\nOrigin: http://127.0.0.1:9\r\n\r\n");
        assert!(same_origin(&own));
        let foreign =
            request("POST / HTTP/1.1\r\nHost: 127.0.0.1:9\r\nOrigin: http://evil.example\r\n\r\n");
        assert!(!same_origin(&foreign));
        assert!(!same_origin(&request(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n"
        )));
    }
}
