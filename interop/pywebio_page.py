"""`make compare`'s page row: the lab's own client, the pywebio page of the
original's simple_client.py, served with cdn=False (nothing fetched from a
CDN) and driven in headless Chromium as interop/pages.py drives ours, chats
through the server being compared (the original's, or ours on --wire zmq)
with our terminal client: a line typed in the page (accents, CJK, an emoji)
reaches the terminal, a line typed in the terminal shows on the page, and
closing the page leaves the chat.

The lab's file is run as it is, as its own __main__, never copied: only
where it connects and where it serves are steered, from outside. Its two
ZeroMQ sockets are sent to the compared server's ports (by socket type:
REQ to the request port, SUB to the broadcast port), and pywebio's server
to a free port on 127.0.0.1 with cdn=False (script mode, which pywebio
serves without a CDN already, to that port too).

The row runs where pywebio and names_generator (the original's own
imports), selenium and Chromium are installed and ORIGINAL_DIR holds
simple_client.py; elsewhere it says why it was skipped, on both servers
alike.
"""

import importlib.util
import os
import pickle
import socket
import sys
import time

import zmq

from interop import TIMEOUT_SECS, Process

HOST = "127.0.0.1"
PEER = "rust-peer"
# What the page types (the driver types characters of the BMP only, so the
# emoji is set through JavaScript), and what our terminal client answers.
FROM_PAGE = "héllo from the page, 世界 🦀"
FROM_TERMINAL = "hi from the terminal, ça va? 🎉"
# How often to look again at something that should happen soon.
POLL_SECS = 0.1

# Runs the lab's simple_client.py as its own __main__, steered from outside.
LAUNCH = r"""
import os, runpy, sys
import zmq
original_dir, request_port, broadcast_port, page_port = sys.argv[1:5]
sys.path.insert(0, original_dir)
connect = zmq.Socket.connect
def steered(self, endpoint):
    port = {zmq.REQ: request_port, zmq.SUB: broadcast_port}.get(self.getsockopt(zmq.TYPE))
    if port and endpoint.startswith("tcp://"):
        endpoint = f"tcp://127.0.0.1:{port}"
    return connect(self, endpoint)
zmq.Socket.connect = steered
import webbrowser
webbrowser.open = lambda *args, **kwargs: True
import pywebio, pywebio.platform, pywebio.platform.tornado
serve = pywebio.platform.tornado.start_server
def start_server(applications, *args, **kwargs):
    kwargs.update(port=int(page_port), host="127.0.0.1", cdn=False, auto_open_webbrowser=False)
    return serve(applications, **kwargs)
for module in (pywebio, pywebio.platform, pywebio.platform.tornado):
    module.start_server = start_server
os.environ["PYWEBIO_SCRIPT_MODE_PORT"] = page_port
runpy.run_path(os.path.join(original_dir, "simple_client.py"), run_name="__main__")
"""


def missing(original_dir: str) -> str:
    """Why the row cannot run here, or an empty string."""
    for module in ("pywebio", "names_generator", "selenium"):
        if importlib.util.find_spec(module) is None:
            return f"skipped: no {module} in the environment"
    if not os.path.exists(os.path.join(original_dir, "simple_client.py")):
        return "skipped: no simple_client.py in ORIGINAL_DIR"
    from pages import CHROMEDRIVER, CHROMIUM
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        return "skipped: no Chromium"
    return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def listed(ports: list) -> list:
    """The nicks the server lists, asked as the original's clients ask."""
    context = zmq.Context.instance()
    requests = context.socket(zmq.REQ)
    requests.setsockopt(zmq.LINGER, 0)
    requests.setsockopt(zmq.RCVTIMEO, int(TIMEOUT_SECS * 1000))
    try:
        requests.connect(f"tcp://{HOST}:{ports[0]}")
        requests.send(pickle.dumps({"type": "list"}))
        answer = pickle.loads(requests.recv())
    finally:
        requests.close()
    return answer.get("response") or []


def until(what: str, condition):
    deadline = time.monotonic() + TIMEOUT_SECS
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(POLL_SECS)
    raise AssertionError(f"no {what} within {TIMEOUT_SECS} s")


def page_input(driver):
    """The text field of the pywebio page, once it shows one."""
    from selenium.webdriver.common.by import By
    fields = driver.find_elements(By.CSS_SELECTOR, "input[type=text], input:not([type]), textarea")
    return next((f for f in fields if f.is_displayed() and f.is_enabled()), None)


def run(original_dir: str, bin_dir: str, ports: list) -> str:
    """The row's outcome against the server on `ports` (the original's wire)."""
    why = missing(original_dir)
    if why:
        return why
    from pages import Lab
    from selenium.webdriver.common.keys import Keys
    page_port = free_port()
    before = set(listed(ports))
    page = Process([sys.executable, "-c", LAUNCH, original_dir, str(ports[0]), str(ports[1]),
                    str(page_port)])
    lab = Lab(bin_dir)
    try:
        until("page being served", lambda: connectable(page_port))
        driver = lab.browser()
        driver.get(f"http://{HOST}:{page_port}/")
        field = until("text field on the page", lambda: page_input(driver))
        peer = lab.spawn("simple_client", ["--wire", "zmq", "--host", HOST, "--port", str(ports[0]),
                                            "--broadcast-port", str(ports[1]), "--nick", PEER])
        peer.wait_for("stderr", lambda l: l.startswith("joined as "))
        nick = until("nick for the page", lambda: next(
            (n for n in listed(ports) if n not in before and n != PEER), None))
        driver.execute_script("arguments[0].value = arguments[1];", field, FROM_PAGE)
        field.send_keys(Keys.ENTER)
        peer.wait_for("stdout", lambda l: l == f"{nick} : {FROM_PAGE}")
        peer.send_line(FROM_TERMINAL)
        until("terminal's line on the page",
              lambda: f"{PEER} : {FROM_TERMINAL}" in driver.execute_script(
                  "return document.body.innerText;"))
        driver.quit()
        lab.browsers.remove(driver)
        until("page's nick to leave once it closed", lambda: nick not in listed(ports))
        return "chatted both ways (accents, CJK, emoji); left when the page closed"
    except Exception as error:
        return f"failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    finally:
        lab.close()
        page.kill()


def connectable(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False
