#!/usr/bin/env python3
"""`make compare`: the Python original and the Rust rendition, side by side,
on the original's wire (PROTOCOL.md section 9).

It starts the original's SimpleServer (the class, imported from ORIGINAL_DIR,
on free ports: its __main__ has fixed ones), then the Rust simple_server with
--wire zmq, and runs the same work against each with the project's tools and
the original's own BaseClient:

  the chat      join, message, list, a nick already joined, a message from a
                nick not joined, leave (simple_client, simple_bigbrother);
  the attacks   bigbrother, evict and flood (simple_dos), the pickle exploit
                and hostile bodies (simple_exploit), a malformed body;
  BaseClient    the original's client, pickled frames, joins, lists,
                messages, receives and leaves;
  the page      the original's own pywebio client (its simple_client.py,
                served with cdn=False), driven in headless Chromium: it
                chats both ways with our terminal client and leaves when
                closed (interop/pywebio_page.py; skipped, saying why, where
                pywebio, names_generator or Chromium is missing);
  the speed     the benchmark's three configurations, the same chat_bench
                against both servers, in this run.

It prints one table: each check, what the original did, what ours did, and
whether that is what the lab expects; then the speeds and their ratio. Exits
non-zero if a check is not as expected or a benchmark lost a delivery.

Usage: compare.py ORIGINAL_DIR BIN_DIR
"""

import contextlib
import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time

import zmq

import pywebio_page
from interop import TIMEOUT_SECS, Process

HOST = "127.0.0.1"
# The benchmark's configurations (PROTOCOL.md section 7): subscribers,
# senders, messages; 64-byte messages, each sender waiting for its answer.
BENCHES = ((10, 1, 20_000), (100, 1, 5_000), (10, 4, 40_000))
# How often to retry something that may race the subscription of a SUB
# socket (ZeroMQ's "slow joiner"), and how many times.
RETRY_SECS = 0.1
RETRIES = 50

# The original's server, started from its own class: the lab's files are
# imported, never copied. Ports 0 let the system pick; the bound endpoints
# are read back from the sockets.
LAUNCH_ORIGINAL = r"""
import logging, sys, zmq
sys.path.insert(0, sys.argv[1])
logging.basicConfig(level=logging.WARNING)
from simple_server import SimpleServer
server = SimpleServer(0, 0)
ports = [s.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1]
         for s in (server._server._incoming_socket, server._server._broadcast_socket)]
print(f"listening on 127.0.0.1:{ports[0]} (requests) and 127.0.0.1:{ports[1]} (broadcast)", flush=True)
while True:
    server.update()
"""


class Server:
    """One of the two servers, its ports, and how to reach it."""

    def __init__(self, name: str, args: list, env: dict = None):
        self.name = name
        self.process = Process(args, env=env)
        line = self.process.wait_for("stdout", lambda l: l.startswith("listening on "))
        self.ports = [int(w.rsplit(":", 1)[1]) for w in line.split() if ":" in w]

    def flags(self) -> list:
        return ["--wire", "zmq", "--host", HOST,
                "--port", str(self.ports[0]), "--broadcast-port", str(self.ports[1])]

    def stop(self):
        self.process.kill()


def start(which: str, original_dir: str, bin_dir: str) -> Server:
    if which == "original":
        return Server(which, [sys.executable, "-c", LAUNCH_ORIGINAL, original_dir])
    env = dict(os.environ, RUST_LOG="warn")
    return Server(which, [os.path.join(bin_dir, "simple_server"), "--wire", "zmq",
                          "--host", HOST, "--port", "0", "--broadcast-port", "0"], env=env)


# --- The checks: each returns a short outcome -----------------------------


def tool(bin_dir: str, server: Server, name: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(bin_dir, name), *server.flags(), *args],
                          capture_output=True, text=True, timeout=TIMEOUT_SECS * 3)


def request(server: Server, frame) -> str:
    """Sends one body (a dict is pickled) on a REQ socket, as the original's
    client does; returns the answer, shortly."""
    body = frame if isinstance(frame, bytes) else pickle.dumps(frame)
    with zmq.Context() as ctx, ctx.socket(zmq.REQ) as req:
        req.RCVTIMEO = int(TIMEOUT_SECS * 1000)
        req.LINGER = 0
        req.connect(f"tcp://{HOST}:{server.ports[0]}")
        req.send(body)
        answer = req.recv()
    if not answer:
        return "empty answer"
    response = pickle.loads(answer)
    return "ko" if response.get("response") == "ko" else str(response.get("response"))


class Chat:
    """simple_client as alice, and simple_bigbrother listening, on one server."""

    def __init__(self, bin_dir: str, server: Server):
        self.bin_dir, self.server = bin_dir, server
        self.spy = Process([os.path.join(bin_dir, "simple_bigbrother"), *server.flags()])
        self.alice = Process([os.path.join(bin_dir, "simple_client"), *server.flags(),
                              "--nick", "alice"])

    def joined(self) -> str:
        line = self.alice.wait_for("stderr", lambda l: "joined as" in l or "error" in l)
        return "joined" if "joined as" in line else line

    def overheard(self) -> str:
        """Alice speaks until big brother hears her (a SUB socket's
        subscription reaches the original's PUB socket some time after it
        connects, and ZeroMQ drops what comes before)."""
        for attempt in range(RETRIES):
            self.alice.send_line(f"hello {attempt}")
            with contextlib.suppress(TimeoutError):
                line = self.spy.wait_for("stdout", lambda l: l.startswith("alice : "),
                                         timeout=RETRY_SECS)
                return f"read '{line}' without joining"
        return "heard nothing"

    def listed(self) -> str:
        self.alice.send_line("/list")
        line = self.alice.wait_for("stdout", lambda l: l.startswith("joined ("))
        return "alice listed" if "alice" in line else line

    def second_alice(self) -> str:
        run = tool(self.bin_dir, self.server, "simple_client", "--nick", "alice")
        return "refused" if run.returncode != 0 and "cannot join" in run.stderr else "joined"

    def evicted(self) -> str:
        run = tool(self.bin_dir, self.server, "simple_dos", "--evict", "alice")
        if run.returncode != 0:
            return f"not evicted: {run.stdout.strip()}"
        self.alice.send_line("still here?")
        line = self.alice.wait_for("stderr", lambda l: "refused" in l or "error" in l)
        return "evicted: her next message refused" if "refused" in line else line

    def stop(self):
        self.alice.kill()
        self.spy.kill()


def flooded(bin_dir: str, server: Server) -> str:
    run = tool(bin_dir, server, "simple_dos", "--flood", "50")
    return run.stdout.strip().split(" (")[0] if run.stdout else run.stderr.strip()


def exploited(bin_dir: str, server: Server) -> tuple:
    """Runs simple_exploit; returns whether its command ran (a file appears)
    and whether a legitimate client was served after every payload."""
    with tempfile.TemporaryDirectory() as scratch:
        proof = os.path.join(scratch, "pwned")
        run = tool(bin_dir, server, "simple_exploit", "--command", f"touch {proof}")
        time.sleep(0.2)
        ran = os.path.exists(proof)
    first = run.stdout.splitlines()[0] if run.stdout else run.stderr.strip()
    answer = answered(first.split(": ", 1)[-1])
    verdict = "command ran (file created)" if ran else "nothing ran"
    served = "served" if run.returncode == 0 else "NOT served"
    return f"{verdict}; answered {answer}", served


def answered(shown: str) -> str:
    """simple_exploit's answer (decoded, as JSON), shortly."""
    if shown.startswith("(an empty body"):
        return "empty (its handler raised)"
    try:
        response = json.loads(shown)
    except ValueError:
        return shown
    reason = response.get("error", "")
    return f"ko ({reason.split(';')[0]})" if reason else str(response.get("response"))


def base_client(original_dir: str, server: Server) -> str:
    """The original's BaseClient, with pickled frames as its SimpleClient
    sends them: join, list, message (received back through update), leave."""
    sys.path.insert(0, original_dir)
    from base_client import BaseClient  # the lab's file, imported
    client = BaseClient(HOST, server.ports[0], server.ports[1])
    received = []
    try:
        steps = [pickle.loads(client.send(pickle.dumps({"type": "join", "nick": "py-original"})))]
        steps.append(pickle.loads(client.send(pickle.dumps({"type": "list"}))))
        for attempt in range(RETRIES):
            frame = {"type": "message", "nick": "py-original", "message": f"from BaseClient {attempt}"}
            steps.append(pickle.loads(client.send(pickle.dumps(frame))))
            time.sleep(RETRY_SECS)
            client.update(lambda packet: received.append(pickle.loads(packet)))
            if received:
                break
        steps.append(pickle.loads(client.send(pickle.dumps({"type": "leave", "nick": "py-original"}))))
    finally:
        client.close()
    answers = [s["response"] for s in steps]
    listed = isinstance(answers[1], list) and "py-original" in answers[1]
    ok = answers[0] == answers[-1] == "ok" and listed and received
    return "joined, listed, sent, received, left" if ok else f"answers {answers}, received {received}"


# --- Running it all ----------------------------------------------------------


def behaviour(original_dir: str, bin_dir: str, server: Server) -> dict:
    outcomes = {}
    chat = Chat(bin_dir, server)
    try:
        outcomes["join (simple_client)"] = chat.joined()
        outcomes["bigbrother reads alice's message"] = chat.overheard()
        outcomes["list"] = chat.listed()
        outcomes["join as a nick already joined"] = chat.second_alice()
        outcomes["message from a nick not joined"] = request(
            server, {"type": "message", "nick": "ghost", "message": "boo"})
        outcomes["evict alice (simple_dos)"] = chat.evicted()
    finally:
        chat.stop()
    outcomes["flood 50 nicks (simple_dos)"] = flooded(bin_dir, server)
    outcomes["malformed body"] = request(server, b"not a pickle")
    ran, served = exploited(bin_dir, server)
    outcomes["pickle exploit (simple_exploit)"] = ran
    outcomes["a client served after every payload"] = served
    outcomes["the original's BaseClient"] = base_client(original_dir, server)
    outcomes["the lab's pywebio page (simple_client.py, cdn=False)"] = pywebio_page.run(
        original_dir, bin_dir, server.ports)
    return outcomes


# What the lab expects of each check: the same outcome on both servers,
# except where the Rust rendition is meant to differ (and how).
EXPECTED_DIFFERENT = {
    "pickle exploit (simple_exploit)": lambda o, r: o.startswith("command ran") and r.startswith("nothing ran"),
    "malformed body": lambda o, r: o == "empty answer" and r == "ko",
}


def as_expected(check: str, original: str, ours: str) -> bool:
    judge = EXPECTED_DIFFERENT.get(check, lambda o, r: o == r)
    return judge(original, ours)


def bench(bin_dir: str, server: Server, subscribers: int, senders: int, messages: int) -> dict:
    run = subprocess.run([os.path.join(bin_dir, "chat_bench"), *server.flags(),
                          "--subscribers", str(subscribers), "--senders", str(senders),
                          "--messages", str(messages)],
                         capture_output=True, text=True, timeout=600)
    lines = [l for l in run.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"msgs_per_s": 0.0, "lost": -1, "error": run.stderr.strip()}
    return json.loads(lines[-1])


def run_against(which: str, original_dir: str, bin_dir: str) -> tuple:
    print(f"compare: running the checks against the {which} server", file=sys.stderr, flush=True)
    server = start(which, original_dir, bin_dir)
    try:
        outcomes = behaviour(original_dir, bin_dir, server)
    finally:
        server.stop()
    speeds = []
    for config in BENCHES:
        print(f"compare: benchmark {config} against the {which} server", file=sys.stderr, flush=True)
        server = start(which, original_dir, bin_dir)
        try:
            speeds.append(bench(bin_dir, server, *config))
        finally:
            server.stop()
    return outcomes, speeds


def table(original: tuple, ours: tuple) -> tuple:
    """One table (PROTOCOL.md section 9): a row per check or configuration,
    the original's outcome or figure, ours, and whether they agree (for
    speed, the ratio); and how many rows are not as expected."""
    failures = 0
    rows = ["| check or configuration | original (Python) | ours (Rust, --wire zmq) | as the lab expects, or ours / original |",
            "|---|---|---|---|"]
    for check, theirs in original[0].items():
        mine = ours[0].get(check, "not run")
        fine = as_expected(check, theirs, mine)
        failures += not fine
        rows.append(f"| {check} | {theirs} | {mine} | {'yes' if fine else 'NO'} |")
    for (subs, senders, _), theirs, mine in zip(BENCHES, original[1], ours[1]):
        ratio = mine["msgs_per_s"] / theirs["msgs_per_s"] if theirs["msgs_per_s"] else 0.0
        failures += mine["lost"] != 0
        rows.append(f"| speed: {subs} subscribers, {senders} sender{'s' if senders > 1 else ''}, "
                    f"64-byte messages | {speed(theirs)} | {speed(mine)} | × {ratio:.1f} |")
    return "\n".join(rows), failures


def speed(report: dict) -> str:
    return f"{report['msgs_per_s']:,.0f} msg/s, {report['lost']} lost"


def main() -> int:
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} ORIGINAL_DIR BIN_DIR", file=sys.stderr)
        return 2
    original_dir, bin_dir = os.path.abspath(sys.argv[1]), sys.argv[2]
    missing = [f for f in ("base_server.py", "base_client.py", "simple_server.py")
               if not os.path.exists(os.path.join(original_dir, f))]
    if missing:
        print(f"compare: {original_dir} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    original = run_against("original", original_dir, bin_dir)
    ours = run_against("ours", original_dir, bin_dir)
    text, failures = table(original, ours)
    print(text)
    print(f"compare: {failures} not as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
