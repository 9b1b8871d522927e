//! The client's page (`--web`, PROTOCOL.md section 10) over raw TCP: the
//! rules of who may ask what (token, cookie, Host, Origin), the limits
//! (404, 413, the cap on connections and threads under a slowloris), the
//! line stream (every line, in order; a reconnect resumes where it left
//! off, or says how many lines it cannot show), and the page's life
//! (closing it leaves the chat; a reload does not). The browser tests
//! (interop/pages.py) drive the same pages in Chromium.

mod web;

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;

use chat_lab::process::{Process, ServerProcess, thread_count};
use unsecured_chat::web::page::{CLOSE_GRACE, KEPT_LINES, MAX_CONNECTIONS};
use web::{CONNECTION_THREAD, PageClient, beyond, raw, request, threads_named, wait_until};

fn server() -> ServerProcess {
    ServerProcess::start(&exe!("simple_server"), &[], &[]).unwrap()
}

fn alice(server: &ServerProcess) -> PageClient {
    PageClient::start(&exe!("simple_client"), server, "alice", &[])
}

/// A terminal client, reading its lines from the test.
fn terminal(server: &ServerProcess, nick: &str) -> Process {
    let mut args = server.client_args();
    args.extend(["--nick", nick].map(String::from));
    Process::chat_client(&exe!("simple_client"), &args).unwrap()
}

fn listed(server: &ServerProcess) -> Vec<String> {
    let mut requests = chat::client::RequestChannel::connect(&server.endpoint()).unwrap();
    match requests.request(&chat::Request::List).unwrap() {
        chat::Response::Nicks { nicks, .. } => nicks,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_page_line_is_the_only_stdout_line_and_names_a_fresh_128_bit_token() {
    let server = server();
    let (first, second) = (
        alice(&server),
        PageClient::start(&exe!("simple_client"), &server, "bob", &[]),
    );
    for page in [&first, &second] {
        assert_eq!(page.token.len(), 32);
        assert!(page.token.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert_ne!(first.token, second.token);
    assert_ne!(first.port, second.port);
    let cookie = first.cookie();
    assert_eq!(first.send(&cookie, "hello").status, 204);
    let mut events = first.events(&cookie, None);
    events.lines_until("alice : hello");
    assert_eq!(
        first.process.stdout.all().len(),
        1,
        "{:?}",
        first.process.stdout.all()
    );
}

#[test]
fn without_the_token_or_the_cookie_every_path_is_forbidden() {
    let server = server();
    let page = alice(&server);
    for path in [
        "/",
        "/?token=",
        "/?token=0123456789abcdef0123456789abcdef",
        "/page.js",
        "/page.css",
        "/events",
    ] {
        assert_eq!(page.get(path, &[]).status, 403, "{path}");
    }
    let forged = [("Cookie", "unsecured_chat_1=00")];
    assert_eq!(page.get("/page.js", &forged).status, 403);
    let token = format!("/page.js?token={}", page.token);
    assert_eq!(
        page.get(&token, &[]).status,
        403,
        "the token opens the page only"
    );
    assert_eq!(page.send("", "hi").status, 403);
}

#[test]
fn the_token_sets_a_strict_http_only_cookie_named_after_the_port_that_opens_the_rest() {
    let server = server();
    let page = alice(&server);
    let answer = page.get(&format!("/?token={}", page.token), &[]);
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("id=\"messages\""));
    let set = answer.header("set-cookie").unwrap();
    assert!(
        set.starts_with(&format!("unsecured_chat_{}=", page.port)),
        "{set}"
    );
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = page.cookie();
    let value = cookie.split_once('=').unwrap().1;
    assert_eq!(value.len(), 32);
    assert_ne!(value, page.token);
    for path in ["/", "/page.js", "/page.css", "/favicon.svg"] {
        let got = page.get(path, &[("Cookie", cookie.as_str())]);
        assert_eq!(got.status, 200, "{path}");
        let policy = got.header("content-security-policy").unwrap();
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"));
        assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    }
}

#[test]
fn a_foreign_host_is_refused_and_localhost_is_not() {
    let server = server();
    let page = alice(&server);
    let path = format!("/?token={}", page.token);
    let port = page.port;
    for host in [
        "evil.example",
        "rebound.example:{port}",
        "127.0.0.1:1",
        "",
        "LOCALHOST",
    ] {
        let host = host.replace("{port}", &port.to_string());
        assert_eq!(
            request(port, "GET", &path, &host, &[], b"").status,
            403,
            "{host:?}"
        );
    }
    let local = request(port, "GET", &path, &format!("localhost:{port}"), &[], b"");
    assert_eq!(local.status, 200);
}

#[test]
fn a_line_is_taken_only_from_the_page_s_own_origin_and_then_chats_with_the_terminal() {
    let server = server();
    let page = alice(&server);
    let mut bob = terminal(&server, "bob");
    let cookie = page.cookie();
    let host = page.host();
    let foreign = [
        ("Cookie", cookie.as_str()),
        ("Origin", "http://evil.example"),
    ];
    let refused = request(
        page.port,
        "POST",
        "/send",
        &host,
        &foreign,
        b"from elsewhere",
    );
    assert_eq!(refused.status, 403);
    let no_origin = [("Cookie", cookie.as_str())];
    assert_eq!(
        request(page.port, "POST", "/send", &host, &no_origin, b"no origin").status,
        403
    );
    assert_eq!(page.send(&cookie, "hello from the page").status, 204);
    bob.stdout
        .wait_for_line("alice : hello from the page")
        .unwrap();
    bob.send_line("hello from the terminal").unwrap();
    let mut events = page.events(&cookie, None);
    let seen = events.lines_until("bob : hello from the terminal");
    assert!(
        !seen
            .iter()
            .any(|l| l.contains("from elsewhere") || l.contains("no origin"))
    );
    assert!(
        seen.contains(&"alice : hello from the page".to_owned()),
        "{seen:?}"
    );
}

#[test]
fn commands_typed_in_the_page_answer_on_the_page() {
    let server = server();
    let page = alice(&server);
    let cookie = page.cookie();
    let mut events = page.events(&cookie, None);
    page.send(&cookie, "/list");
    events.lines_until("joined (1): alice");
    page.send(&cookie, "/whois bob");
    let said = events.next_line().unwrap();
    assert_eq!(said.json()["kind"], "info");
    assert!(said.text().contains("signed_client"), "{said:?}");
}

#[test]
fn unknown_paths_are_404_wrong_methods_405_and_oversized_requests_413() {
    let server = server();
    let page = alice(&server);
    let cookie = page.cookie();
    let with_cookie = [("Cookie", cookie.as_str())];
    assert_eq!(page.get("/nope", &with_cookie).status, 404);
    assert_eq!(page.get("/../etc/passwd", &with_cookie).status, 404);
    assert_eq!(page.get("/send", &with_cookie).status, 405);
    let huge_head = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nX: {}\r\n\r\n",
        page.host(),
        "a".repeat(20_000)
    );
    assert_eq!(raw(page.port, huge_head.as_bytes()).status, 413);
    let announced = format!(
        "POST /send HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nContent-Length: 999999999\r\n\r\n",
        page.host()
    );
    assert_eq!(raw(page.port, announced.as_bytes()).status, 413);
    assert_eq!(
        raw(page.port, b"\x16\x03\x01 not http at all\r\n\r\n").status,
        400
    );
    assert!(page.process.stdout.all().len() == 1);
}

#[test]
fn a_line_too_long_to_send_is_answered_on_the_page_as_in_the_terminal() {
    let server = server();
    let page = alice(&server);
    let cookie = page.cookie();
    let mut events = page.events(&cookie, None);
    let long = "x".repeat(chat::wire::MAX_LINE + 1);
    assert_eq!(page.send(&cookie, &long).status, 204);
    page.send(&cookie, "/list");
    let seen = events.lines_until("joined (1): alice");
    let note = format!("message not sent: {} bytes", long.len());
    assert!(seen.iter().any(|l| l.starts_with(&note)), "{seen:?}");
}

#[test]
fn the_stream_sends_every_line_in_order_and_a_reconnect_resumes_after_the_last() {
    let server = server();
    let page = alice(&server);
    let cookie = page.cookie();
    let mut first = page.events(&cookie, None);
    let hello = first.next().unwrap();
    assert_eq!(
        (hello.name.as_str(), hello.json()["nick"].as_str()),
        ("hello", Some("alice"))
    );
    for i in 0..20 {
        page.send(&cookie, &format!("line {i}"));
    }
    let seen = first.lines_until("alice : line 9");
    let last = seen.len() as u64;
    drop(first);
    let mut again = page.events(&cookie, Some(last));
    let mut ids = Vec::new();
    let rest: Vec<String> = std::iter::from_fn(|| again.next_line())
        .inspect(|e| ids.push(e.id))
        .map(|e| e.text())
        .take(10)
        .collect();
    let expected: Vec<String> = (10..20).map(|i| format!("alice : line {i}")).collect();
    assert_eq!(rest, expected);
    let numbers: Vec<u64> = ids.iter().map(|id| id.unwrap()).collect();
    assert_eq!(numbers, (last + 1..=last + 10).collect::<Vec<_>>());
}

#[test]
fn a_page_that_missed_more_than_is_kept_is_told_how_many_lines_it_does_not_see() {
    let server = server();
    let page = alice(&server);
    let cookie = page.cookie();
    let mut bob = terminal(&server, "bob");
    let flood = KEPT_LINES + 50;
    let lines: String = (0..flood).map(|i| format!("flood {i}\n")).collect();
    bob.feed(lines.as_bytes()).unwrap();
    let last = format!("bob : flood {}", flood - 1);
    page.events(&cookie, None).lines_until(&last);
    let mut late = page.events(&cookie, Some(1));
    let first = late.next_line().unwrap();
    assert_eq!(first.id, None);
    let missed = first.text();
    let count: u64 = missed
        .strip_prefix("[info] ")
        .and_then(|t| t.strip_suffix(" lines not shown"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{missed:?}"));
    let next = late.next_line().unwrap();
    assert_eq!(
        next.id,
        Some(1 + count + 1),
        "the first line kept follows the count"
    );
    assert_eq!(first.json()["kind"], "info");
}

#[test]
fn closing_the_page_leaves_the_chat_and_ends_the_client() {
    let server = server();
    let mut page = alice(&server);
    let cookie = page.cookie();
    let mut events = page.events(&cookie, None);
    assert!(events.next().is_some());
    assert_eq!(listed(&server), ["alice"]);
    drop(events);
    let status = page.process.exit_status().unwrap();
    assert!(
        status.success(),
        "{status}; {:?}",
        page.process.stderr.all()
    );
    assert!(listed(&server).is_empty());
}

#[test]
fn a_reload_within_the_grace_period_does_not_leave() {
    let server = server();
    let mut page = alice(&server);
    let cookie = page.cookie();
    let first = page.events(&cookie, None);
    drop(first);
    let mut reloaded = page.events(&cookie, None);
    assert!(reloaded.next().is_some());
    std::thread::sleep(beyond(CLOSE_GRACE));
    assert!(page.process.is_running(), "{:?}", page.process.stderr.all());
    assert_eq!(listed(&server), ["alice"]);
}

#[test]
fn quit_from_the_page_ends_its_stream_with_the_client() {
    let server = server();
    let mut page = alice(&server);
    let cookie = page.cookie();
    let mut events = page.events(&cookie, None);
    page.send(&cookie, "/quit");
    let names: Vec<String> = std::iter::from_fn(|| events.next())
        .map(|e| e.name)
        .collect();
    assert_eq!(names.last().map(String::as_str), Some("end"), "{names:?}");
    assert!(page.process.exit_status().unwrap().success());
    assert!(listed(&server).is_empty());
}

#[test]
fn a_slowloris_never_grows_the_threads_past_the_cap() {
    let server = server();
    let page = alice(&server);
    let cookie = page.cookie();
    // An open stream holds one connection of the cap.
    let _events = page.events(&cookie, None);
    let pid = page.process.id();
    let stalled: Vec<TcpStream> = (0..3 * MAX_CONNECTIONS)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", page.port)).unwrap();
            stream.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
            stream
        })
        .collect();
    // The accept loop takes connections in order: once this one is
    // answered, every stalled one has been admitted or refused.
    let refused = request(page.port, "GET", "/", &page.host(), &[], b"");
    assert_eq!(refused.status, 503);
    let serving = threads_named(pid, CONNECTION_THREAD);
    assert!(serving <= MAX_CONNECTIONS, "{serving} connection threads");
    assert!(thread_count(pid).unwrap() < 2 * MAX_CONNECTIONS);
    drop(stalled);
    wait_until("the page serves again", || {
        request(page.port, "GET", "/", &page.host(), &[], b"").status == 403
    });
}

#[test]
fn a_page_port_in_use_is_one_line_and_the_client_leaves() {
    let server = server();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut args = server.client_args();
    args.extend(["--nick", "alice", "--web", "--web-port", &port].map(String::from));
    let done = chat_lab::process::run(&exe!("simple_client"), &args).unwrap();
    assert!(!done.status.success());
    assert_eq!(done.stdout, "");
    let error = done
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(listed(&server).is_empty(), "alice stayed in the chat");
}

#[test]
fn open_gives_the_browser_an_owner_only_file_and_never_the_token() {
    let scratch = chat_lab::scratch::Scratch::new("web-open").unwrap();
    let record = scratch.path().join("browser-args");
    let copy = scratch.path().join("redirect-copy");
    let browser = scratch.path().join("browser.sh");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > {record:?}\nf=${{1#file://}}\nstat -c %a \"$f\" >> {record:?}\ncp \"$f\" {copy:?}\n"
    );
    fs::write(&browser, script).unwrap();
    fs::set_permissions(&browser, fs::Permissions::from_mode(0o700)).unwrap();
    let server = server();
    let browser = browser.to_string_lossy().into_owned();
    let page = PageClient::start_with_env(
        &exe!("simple_client"),
        &server,
        "alice",
        &["--open"],
        &[("BROWSER", browser.as_str())],
    );
    wait_until("the browser ran", || {
        copy.exists() && fs::read_to_string(&record).is_ok_and(|r| r.lines().count() == 2)
    });
    let said = fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].starts_with("file:///"), "{said}");
    assert!(
        !said.contains(&page.token),
        "the token is on a command line: {said}"
    );
    assert_eq!(lines[1], "600");
    let redirect = fs::read_to_string(&copy).unwrap();
    assert!(redirect.contains(&format!(
        "http://127.0.0.1:{}/?token={}",
        page.port, page.token
    )));
    let args = fs::read_to_string(format!("/proc/{}/cmdline", page.process.id())).unwrap();
    assert!(!args.contains(&page.token));
}
