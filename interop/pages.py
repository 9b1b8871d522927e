#!/usr/bin/env python3
"""The pages (PROTOCOL.md section 10) in a real browser: Debian's Chromium,
headless, driven through its ChromeDriver by Selenium.

Each check stages its own chat from the real binaries on free local ports
(servers with --port 0, clients with --web), drives the pages as a student
or a teacher would, and judges what the browser shows:

  chat both ways      a client's page and a terminal client chat, each
                      way, by Enter and by the button; /list answers on
                      the page; accents, CJK and emoji arrive intact
  encrypted pages     the AE, AEAD and signed clients' pages: a message
                      accepted, and a forgery (a rogue server's tamper,
                      its relabelling, an insider's forgery) shown as
                      rejected, marked and coloured
  who may ask         no token: 403; the token sets an HttpOnly,
                      SameSite=Strict cookie named after the port that
                      scripts cannot read; a name rebound to 127.0.0.1
                      (DNS rebinding) is refused
  two pages           two clients' pages in one browser: each keeps its
                      own session and chats
  hostile text        a nick and a message made of HTML and script show as
                      those characters on the page; nothing runs
  reload              a reload shows every line again, and the lines sent
                      meanwhile, in order, and does not leave the chat
  closing             closing the page leaves the chat and ends the client
  offline             nothing is loaded from anywhere but the page's own
                      address
  dashboard (plain)   the teacher's view: members, each message's words,
                      refusals and counts; a hostile nick and message inert
  dashboard (AE)      only salts and tokens, never the words
  dashboard (rogue)   what a rogue server did to each message

Usage: pages.py BIN_DIR   (the directory holding the release binaries).
CHROMIUM and CHROMEDRIVER name the browser and its driver (default: Debian's
/usr/bin/chromium and /usr/bin/chromedriver). Prints one PASS or FAIL line
per check and exits non-zero if any fails. Every process it starts is
killed, and every file it writes removed (in a scratch folder of its own),
before it exits; nothing is written into the project's tree.
"""

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
HOST = "127.0.0.1"
# Failure guard: how long anything that should happen promptly may take.
TIMEOUT_SECS = 20.0
PASSWORD = "pages-s3cret"
# A name the browser is told resolves to 127.0.0.1, as DNS rebinding would.
REBOUND_NAME = "rebound.test"
# What a hostile peer sends: markup and script that must stay characters.
HOSTILE_NICK = "<img src=x onerror=window.__pwned=1>"
HOSTILE_TEXT = ('<img src=x onerror="window.__pwned=2"><script>window.__pwned=3</script>'
                '<b>bold</b><style>body{display:none}</style>')
# Text with accents, CJK and an emoji (typed through JavaScript: the driver
# types characters of the BMP only).
WORLD_TEXT = "héllo, 世界 🦀"

# Chromium as root needs --no-sandbox; on a machine with no network it must
# not try to reach Google's services.
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,800",
    f"--host-resolver-rules=MAP {REBOUND_NAME} 127.0.0.1",
]

CHECKS = []
PASSES = []
FAILURES = []


def check(name):
    """Registers a check: a function of a Lab."""
    def register(function):
        CHECKS.append((name, function))
        return function
    return register


# --- Processes ---------------------------------------------------------------


class Process:
    """A binary whose stdout and stderr are read line by line on threads."""

    def __init__(self, args, env=None):
        self.args = args
        self.proc = subprocess.Popen(
            args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self.lines = {"stdout": queue.Queue(), "stderr": queue.Queue()}
        self.seen = {"stdout": [], "stderr": []}
        for name in ("stdout", "stderr"):
            stream = getattr(self.proc, name)
            threading.Thread(target=self._pump, args=(stream, self.lines[name]),
                             daemon=True).start()

    @staticmethod
    def _pump(stream, lines):
        for line in stream:
            lines.put(line.rstrip("\n"))

    def wait_for(self, stream, wanted, timeout=TIMEOUT_SECS):
        """The first line on `stream` (not taken yet) for which `wanted` holds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines[stream].get(timeout=left)
            except queue.Empty:
                break
            self.seen[stream].append(line)
            if wanted(line):
                return line
        raise AssertionError(f"{os.path.basename(self.args[0])}: no such line on {stream}; "
                             f"saw {self.seen[stream]}")

    def send_line(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def exited(self, timeout=TIMEOUT_SECS):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT_SECS)


class Server:
    def __init__(self, process, port, broadcast_port, dashboard):
        self.process = process
        self.port = port
        self.broadcast_port = broadcast_port
        self.dashboard = dashboard

    def args(self):
        return ["--host", HOST, "--port", str(self.port),
                "--broadcast-port", str(self.broadcast_port)]

    def request(self, frame):
        """One request on a connection of its own; the response."""
        with socket.create_connection((HOST, self.port), timeout=TIMEOUT_SECS) as sock:
            sock.sendall(json.dumps(frame).encode() + b"\n")
            return json.loads(sock.makefile("rb").readline())

    def listed(self):
        return self.request({"type": "list"})["response"]


class Page:
    """A client started with --web: its process and its page's address."""

    def __init__(self, process, url):
        self.process = process
        self.url = url
        self.port = int(url.split(":")[2].split("/")[0])
        self.token = url.split("token=")[1]


class Lab:
    """One check's chat: its processes, its scratch folder, its browsers."""

    def __init__(self, bin_dir):
        self.bin_dir = bin_dir
        self.scratch = tempfile.mkdtemp(prefix="pages-")
        self.processes = []
        self.browsers = []

    def close(self):
        for browser in self.browsers:
            try:
                browser.quit()
            except Exception:
                pass
        for process in self.processes:
            process.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def env(self):
        """The clients' environment: the password, and the signed layer's
        files in this check's own folder."""
        return dict(os.environ, CHAT_PASSWORD=PASSWORD,
                    XDG_DATA_HOME=os.path.join(self.scratch, "data"), BROWSER="true")

    def spawn(self, binary, args):
        process = Process([os.path.join(self.bin_dir, binary)] + args, env=self.env())
        self.processes.append(process)
        return process

    def server(self, binary="simple_server", flags=(), dashboard=False):
        args = ["--host", HOST, "--port", "0", "--broadcast-port", "0"] + list(flags)
        if dashboard:
            args += ["--dashboard", "--dashboard-port", "0"]
        process = self.spawn(binary, args)
        line = process.wait_for("stdout", lambda l: l.startswith("listening on "))
        ports = [int(w.rsplit(":", 1)[1]) for w in line.split() if ":" in w]
        url = None
        if dashboard:
            said = process.wait_for("stderr", lambda l: "dashboard: http://" in l)
            url = said[said.index("http://"):].strip()
        return Server(process, ports[0], ports[1], url)

    def page(self, server, nick, binary="simple_client", extra=()):
        process = self.spawn(binary, server.args() + ["--nick", nick, "--web"] + list(extra))
        line = process.wait_for("stdout", lambda l: l.startswith("page: "))
        return Page(process, line[len("page: "):])

    def terminal(self, server, nick, binary="simple_client", extra=()):
        process = self.spawn(binary, server.args() + ["--nick", nick] + list(extra))
        process.wait_for("stderr", lambda l: l.startswith("joined as "))
        return process

    def browser(self):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        profile = tempfile.mkdtemp(prefix="profile-", dir=self.scratch)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.browsers.append(driver)
        return driver


# --- What a page shows ---------------------------------------------------------


def wait(driver, what, condition, timeout=TIMEOUT_SECS):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
            lambda d: condition(d))
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}; the page shows {lines(driver)}")


def lines(driver):
    """The lines of a client's page: (kind, own, text), in order."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#messages .line')).map(function (e) {
          var kinds = ['message', 'rejected', 'warning', 'info'].filter(function (k) {
            return e.classList.contains(k); });
          return [kinds.join(' '), e.classList.contains('own'), e.textContent];
        });""")


def texts(driver):
    return [text for _, _, text in lines(driver)]


def wait_line(driver, text):
    """Waits until the page shows a line whose text is `text`; its kind."""
    def shown(d):
        found = [kind for kind, _, t in lines(d) if t == text]
        return found[0] if found else None
    return wait(driver, f"the line {text!r}", shown)


def open_page(driver, page):
    driver.get(page.url)
    wait(driver, "the page to connect", lambda d: d.find_element(By.ID, "status").text == "connected")


def type_line(driver, text, enter=True):
    box = driver.find_element(By.ID, "message")
    box.send_keys(text)
    if enter:
        box.send_keys(Keys.ENTER)
    else:
        driver.find_element(By.ID, "send").click()


def type_by_script(driver, text):
    """Types `text` (emoji included) as the box's value, then presses the button."""
    driver.execute_script("document.getElementById('message').value = arguments[0];", text)
    driver.find_element(By.ID, "send").click()


def colour(driver, text):
    """The computed colour of the line whose text is `text`."""
    return driver.execute_script("""
        var wanted = arguments[0];
        var line = Array.from(document.querySelectorAll('#messages .line')).find(function (e) {
          return e.textContent === wanted; });
        return line ? getComputedStyle(line).color : null;""", text)


def assert_equal(got, expected, what):
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


def assert_inert(driver, where):
    """Nothing a peer sent ran, and no element of theirs was made."""
    pwned = driver.execute_script("return window.__pwned === undefined ? null : window.__pwned;")
    assert_equal(pwned, None, f"a peer's script ran on {where}")
    made = driver.execute_script(
        "return document.querySelectorAll('#messages img, #messages script, #messages b, "
        "#messages style, #traffic img, #traffic script, #traffic b, #traffic style, "
        "#members img, #members script').length;")
    assert_equal(made, 0, f"elements made from a peer's text on {where}")
    assert_equal(driver.execute_script("return getComputedStyle(document.body).display;"),
                 "flex", f"a peer's style applied on {where}")


# --- The client's page ---------------------------------------------------------


@check("chat both ways with a terminal client")
def chat_both_ways(lab):
    server = lab.server()
    alice = lab.page(server, "alice")
    bob = lab.terminal(server, "bob")
    driver = lab.browser()
    open_page(driver, alice)
    assert_equal(driver.find_element(By.ID, "nick").text, "alice", "#nick")
    type_line(driver, "héllo from the page, 世界")
    bob.wait_for("stdout", lambda l: l == "alice : héllo from the page, 世界")
    assert_equal(wait_line(driver, "alice : héllo from the page, 世界"), "message", "own line")
    type_by_script(driver, WORLD_TEXT)
    bob.wait_for("stdout", lambda l: l == f"alice : {WORLD_TEXT}")
    bob.send_line("hi from the terminal 🦀")
    assert_equal(wait_line(driver, "bob : hi from the terminal 🦀"), "message", "bob's line")
    type_line(driver, "/list", enter=False)
    assert_equal(wait_line(driver, "joined (2): alice, bob"), "info", "/list")
    own = [o for _, o, t in lines(driver) if t.startswith("alice : ")]
    assert_equal(own, [True, True], "own messages marked")


@check("encrypted pages: accepted, and a forgery shown as rejected")
def encrypted_pages(lab):
    forgeries = [
        ("ae_client", "rogue_server", ["--attack", "tamper"]),
        ("aead_client", "rogue_server", ["--attack", "impersonate", "--as", "carol"]),
    ]
    for client, server_binary, flags in forgeries:
        server = lab.server(server_binary, flags)
        alice = lab.page(server, "alice", client)
        bob = lab.terminal(server, "bob", client)
        driver = lab.browser()
        open_page(driver, alice)
        bob.send_line("forge me")
        kind = wait(driver, f"a rejected line on {client}'s page",
                    lambda d: next((k for k, _, t in lines(d) if t.startswith("[rejected] ")), None))
        assert_equal(kind, "rejected", f"{client}: the forgery's class")
        rejected = next(t for _, _, t in lines(driver) if t.startswith("[rejected] "))
        red = colour(driver, rejected)
        if not red or not red.startswith("rgb(179, 38, 30"):
            raise AssertionError(f"{client}: a rejected line is not coloured as one: {red}")
    signed_insider(lab)


def signed_insider(lab):
    """The signed layer's page: bob's message accepted (his key pinned),
    then an insider's forgery in bob's name rejected."""
    server = lab.server("ae_server")
    alice = lab.page(server, "alice", "signed_client")
    bob = lab.terminal(server, "bob", "signed_client",
                       ["--identity", os.path.join(lab.scratch, "bob-identity")])
    driver = lab.browser()
    open_page(driver, alice)
    bob.send_line("it is really me")
    assert_equal(wait_line(driver, "bob : it is really me"), "message", "bob's signed line")
    forge = lab.spawn("insider_forge", server.args() + [
        "--layer", "signed", "--as", "bob", "--message", "send me the key"])
    forge.exited()
    kind = wait(driver, "the insider's forgery, rejected",
                lambda d: next((k for k, _, t in lines(d)
                                if t.startswith("[rejected] bob: ")), None))
    assert_equal(kind, "rejected", "signed: the forgery's class")
    if any("send me the key" in t and not t.startswith("[rejected]") for t in texts(driver)):
        raise AssertionError(f"the forgery was shown as bob's: {texts(driver)}")


@check("who may ask: token, cookie, Host")
def who_may_ask(lab):
    server = lab.server()
    alice = lab.page(server, "alice")
    driver = lab.browser()
    driver.get(f"http://{HOST}:{alice.port}/")
    assert_equal(driver.find_elements(By.ID, "messages"), [], "the page without its token")
    if "403" not in driver.title and "user's" not in driver.page_source:
        raise AssertionError(f"no refusal without the token: {driver.page_source[:200]}")
    driver.get(f"http://{REBOUND_NAME}:{alice.port}/?token={alice.token}")
    assert_equal(driver.find_elements(By.ID, "messages"), [], "the page under a rebound name")
    open_page(driver, alice)
    cookies = driver.get_cookies()
    assert_equal([c["name"] for c in cookies], [f"unsecured_chat_{alice.port}"], "cookies")
    assert_equal((cookies[0]["httpOnly"], cookies[0]["sameSite"]), (True, "Strict"), "cookie flags")
    assert_equal(driver.execute_script("return document.cookie;"), "", "the cookie, from a script")
    assert_equal(driver.execute_script("return location.search;"), "", "the token left in the address")
    driver.refresh()
    wait(driver, "the page, reloaded with its cookie",
         lambda d: d.find_element(By.ID, "status").text == "connected")
    driver.get(f"http://localhost:{alice.port}/?token={alice.token}")
    wait(driver, "the page under localhost", lambda d: d.find_element(By.ID, "nick").text == "alice")


@check("two clients' pages in one browser")
def two_pages(lab):
    server = lab.server()
    alice, bob = lab.page(server, "alice"), lab.page(server, "bob")
    driver = lab.browser()
    open_page(driver, alice)
    alice_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    open_page(driver, bob)
    type_line(driver, "bob here")
    wait_line(driver, "bob : bob here")
    driver.switch_to.window(alice_tab)
    wait_line(driver, "bob : bob here")
    type_line(driver, "alice here")
    wait_line(driver, "alice : alice here")
    assert_equal(driver.find_element(By.ID, "nick").text, "alice", "alice's tab")
    driver.switch_to.window([h for h in driver.window_handles if h != alice_tab][0])
    wait_line(driver, "alice : alice here")
    assert_equal(driver.find_element(By.ID, "nick").text, "bob", "bob's tab")
    names = sorted(c["name"] for c in driver.get_cookies())
    assert_equal(names, sorted([f"unsecured_chat_{alice.port}", f"unsecured_chat_{bob.port}"]),
                 "one cookie per page")


@check("hostile text on the page stays text")
def hostile_page(lab):
    server = lab.server()
    alice = lab.page(server, "alice")
    mallory = lab.terminal(server, HOSTILE_NICK)
    driver = lab.browser()
    open_page(driver, alice)
    mallory.send_line(HOSTILE_TEXT)
    wait_line(driver, f"{HOSTILE_NICK} : {HOSTILE_TEXT}")
    type_line(driver, "/list")
    wait_line(driver, f"joined (2): alice, {HOSTILE_NICK}")
    assert_inert(driver, "the page")


@check("a reload misses nothing and does not leave")
def reload_misses_nothing(lab):
    server = lab.server()
    alice = lab.page(server, "alice")
    bob = lab.terminal(server, "bob")
    driver = lab.browser()
    open_page(driver, alice)
    for i in range(5):
        bob.send_line(f"before {i}")
    wait_line(driver, "bob : before 4")
    before = texts(driver)
    driver.refresh()
    for i in range(5):
        bob.send_line(f"after {i}")
    wait_line(driver, "bob : after 4")
    after = texts(driver)
    assert_equal(after[:len(before)], before, "the lines before the reload")
    assert_equal(after[len(before):], [f"bob : after {i}" for i in range(5)], "the lines since")
    assert_equal(alice.process.proc.poll(), None, "the client after a reload")
    if "alice" not in server.listed():
        raise AssertionError("the reload left the chat")


@check("closing the page leaves the chat")
def closing_leaves(lab):
    server = lab.server()
    alice = lab.page(server, "alice")
    driver = lab.browser()
    open_page(driver, alice)
    if server.listed() != ["alice"]:
        raise AssertionError(f"listed: {server.listed()}")
    driver.quit()
    lab.browsers.remove(driver)
    status = alice.process.exited()
    assert_equal(status, 0, "the client's exit status once its page closed")
    assert_equal(server.listed(), [], "listed once the page closed")


@check("offline: nothing loaded from elsewhere")
def offline(lab):
    server = lab.server()
    alice = lab.page(server, "alice")
    driver = lab.browser()
    open_page(driver, alice)
    origin = f"http://{HOST}:{alice.port}/"
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
    foreign = [url for url in loaded if not url.startswith(origin)]
    assert_equal(foreign, [], "resources from elsewhere")
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert_equal(errors, [], "errors in the console")


# --- The teacher's view ----------------------------------------------------------


def frames(driver):
    """The frames of the teacher's view: (nick, text or (salt, token), actions)."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#traffic .frame')).map(function (f) {
          var text = f.querySelector('.held .text');
          var salt = f.querySelector('.held code.salt');
          var token = f.querySelector('.held code.token');
          return [f.querySelector('.nick').textContent,
                  text ? text.textContent : [salt.textContent, token.textContent],
                  Array.from(f.querySelectorAll('.action')).map(function (a) {
                    return a.textContent; })];
        });""")


def members(driver):
    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#members li")]


def open_dashboard(driver, server):
    driver.get(server.dashboard)
    wait(driver, "the view to go live", lambda d: d.find_element(By.ID, "status").text == "live")


def wait_frame(driver, wanted):
    return wait(driver, "a frame", lambda d: next((f for f in frames(d) if wanted(f)), None))


@check("dashboard on a plain server: members, words, refusals; hostile text inert")
def dashboard_plain(lab):
    server = lab.server("simple_server", ["--guard"], dashboard=True)
    driver = lab.browser()
    open_dashboard(driver, server)
    alice = lab.terminal(server, "alice")
    mallory = lab.terminal(server, HOSTILE_NICK)
    wait(driver, "both members", lambda d: sorted(members(d)) == sorted(["alice", HOSTILE_NICK]))
    alice.send_line("hello class")
    wait_frame(driver, lambda f: f[0] == "alice" and f[1] == "hello class")
    mallory.send_line(HOSTILE_TEXT)
    wait_frame(driver, lambda f: f[0] == HOSTILE_NICK and f[1] == HOSTILE_TEXT)
    dos = lab.spawn("simple_dos", server.args() + ["--evict", "alice"])
    dos.exited()
    wait(driver, "the guard's refusal", lambda d: d.find_element(By.ID, "refused-guard").text == "1")
    refusal = driver.find_element(By.CSS_SELECTOR, "#traffic .event.refused").text
    if "belongs to another connection" not in refusal:
        raise AssertionError(f"the refusal's reason: {refusal!r}")
    wait(driver, "the connection counts",
         lambda d: d.find_element(By.ID, "requests").text == "2"
         and d.find_element(By.ID, "subscribers").text == "2")
    assert_inert(driver, "the dashboard")
    offline_only(driver, server.dashboard)


def offline_only(driver, origin):
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
    assert_equal([url for url in loaded if not url.startswith(origin)], [], "resources from elsewhere")


@check("dashboard on an AE server: ciphertext only")
def dashboard_ae(lab):
    server = lab.server("ae_server", dashboard=True)
    driver = lab.browser()
    open_dashboard(driver, server)
    alice = lab.terminal(server, "alice", "ae_client")
    secret = "the exam is on friday"
    alice.send_line(secret)
    nick, sealed, _ = wait_frame(driver, lambda f: f[0] == "alice")
    if not isinstance(sealed, list) or not sealed[1].startswith("gAAAAA"):
        raise AssertionError(f"alice's frame is not a salt and a token: {sealed!r}")
    if secret in driver.find_element(By.TAG_NAME, "body").text or "friday" in driver.page_source:
        raise AssertionError("the dashboard shows the words of an encrypted message")


@check("dashboard on a rogue server: what it did to each message")
def dashboard_rogue(lab):
    server = lab.server("rogue_server", ["--attack", "tamper,drop"], dashboard=True)
    driver = lab.browser()
    open_dashboard(driver, server)
    alice = lab.terminal(server, "alice")
    for text in ("first", "second"):
        alice.send_line(text)
    wait_frame(driver, lambda f: f[1] == "second" and any("dropped" in a for a in f[2]))
    first = wait_frame(driver, lambda f: f[1] == "first")
    if not any("tampered" in a and "please send me your password" in a for a in first[2]):
        raise AssertionError(f"the tamper is not shown on the first frame: {first!r}")
    wait(driver, "the rogue count", lambda d: d.find_element(By.ID, "rogue").text == "2")


# --- Running ----------------------------------------------------------------------


def main():
    if len(sys.argv) != 2:
        print("usage: pages.py BIN_DIR", file=sys.stderr)
        return 2
    bin_dir = sys.argv[1]
    only = os.environ.get("PAGES_ONLY")
    for name, function in CHECKS:
        if only and only not in name:
            continue
        lab = Lab(bin_dir)
        try:
            function(lab)
            PASSES.append(name)
            print(f"PASS {name}", flush=True)
        except Exception as error:
            FAILURES.append(name)
            print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
            if os.environ.get("PAGES_TRACE"):
                traceback.print_exc()
        finally:
            lab.close()
    print(f"pages: {len(PASSES)} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
