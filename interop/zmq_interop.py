#!/usr/bin/env python3
"""Interoperability on the original's wire (`--wire zmq`, PROTOCOL.md section
8): the Rust binaries against libzmq peers as they are (pyzmq), with the
original's serialisations (pickle, and msgpack for the AE layers) and Python's
`cryptography` tokens. No file of the original is needed.

  plain   a pyzmq REQ client with pickled frames joins, lists, messages and
          leaves on simple_server, and a pyzmq SUB socket gets the broadcast,
          which unpickles to plain data only; pickles of protocols 0 to 5;
          the exploit's bytes and each hostile input get their answer, and a
          well-behaved pyzmq client is served throughout;
  client  simple_client chats through a pyzmq REP+PUB server;
  AE      ae_server, ae_client, aead_client and signed_client with msgpack
          frames and cryptography tokens (and Ed25519 signatures), both ways.

Usage: zmq_interop.py BIN_DIR. One PASS or FAIL line per check; exits
non-zero if any fails. Every process it starts is killed before it exits.
"""

import collections
import io
import os
import pickle
import shutil
import pickletools
import socket
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import interop
from interop import (PASSWORD, ROOM, bin_dir_argument, PYTHON_NICK, RELABEL_NICK, RUST_NICK,
                     TIMEOUT_SECS, Process, aead_plaintext, ae_plaintext, check, client_files,
                     decrypt_message, encrypt_message, sealed_fields, signed_message,
                     signed_plaintext, verified_by_python)

# The key scheme of these checks: the lab's.
KDF = "lab"

HOST = "127.0.0.1"
CTX = zmq.Context()
# Polling interval while waiting out ZeroMQ's slow joiner (a SUB socket's
# subscription reaches a PUB socket some time after it connects).
RETRY_SECS = 0.05
# Opcodes of plain data: what a Python subscriber may be sent.
PLAIN_OPCODES = {
    "PROTO", "FRAME", "STOP", "MARK", "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT",
    "GET", "BINGET", "LONG_BINGET", "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT",
    "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
    "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES",
    "SHORT_BINBYTES", "BINBYTES8", "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2",
    "TUPLE3", "EMPTY_LIST", "LIST", "APPEND", "APPENDS", "EMPTY_DICT", "DICT",
    "SETITEM", "SETITEMS",
}


class PlainOnly(pickle.Unpickler):
    """An unpickler that imports nothing: it fails on any global."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"global {module}.{name} refused")


def plain_loads(data: bytes):
    return PlainOnly(io.BytesIO(data)).load()


def start_server(bin_dir: str, name: str, started: list) -> tuple:
    server = Process([os.path.join(bin_dir, name), "--wire", "zmq", "--host", HOST,
                      "--port", "0", "--broadcast-port", "0"])
    started.append(server)
    line = server.wait_for("stdout", lambda l: l.startswith("listening on "))
    ports = [int(word.rsplit(":", 1)[1]) for word in line.split() if ":" in word]
    return ports[0], ports[1]


def req_socket(port: int) -> zmq.Socket:
    sock = CTX.socket(zmq.REQ)
    sock.RCVTIMEO = int(TIMEOUT_SECS * 1000)
    sock.LINGER = 0
    sock.connect(f"tcp://{HOST}:{port}")
    return sock


def sub_socket(port: int) -> zmq.Socket:
    sock = CTX.socket(zmq.SUB)
    sock.RCVTIMEO = int(TIMEOUT_SECS * 1000)
    sock.LINGER = 0
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(f"tcp://{HOST}:{port}")
    return sock


def loads_any(data: bytes):
    """An answer of our server: in the serialisation of its request."""
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return pickle.loads(data)
    return msgpack.unpackb(data)


def ask(sock: zmq.Socket, body, dumps=pickle.dumps, loads=loads_any):
    sock.send(body if isinstance(body, bytes) else dumps(body))
    return loads(sock.recv())


def synced(sock: zmq.Socket, req: zmq.Socket, nick: str, dumps=pickle.dumps, loads=pickle.loads):
    """Sends markers from `nick` until `sock` receives one (slow joiner)."""
    sock.RCVTIMEO = int(RETRY_SECS * 1000)
    deadline = time.monotonic() + TIMEOUT_SECS
    while time.monotonic() < deadline:
        ask(req, {"type": "message", "nick": nick, "message": "sync"}, dumps, loads)
        try:
            while True:
                if loads(sock.recv()).get("nick") == nick:
                    sock.RCVTIMEO = int(TIMEOUT_SECS * 1000)
                    return
        except zmq.Again:
            continue
    raise TimeoutError("the SUB socket never received a broadcast")


# --- Raw ZMTP, for what pyzmq would never send -------------------------------


def greeting(mechanism: bytes = b"NULL") -> bytes:
    return (b"\xff" + b"\x00" * 7 + b"\x01\x7f" + b"\x03\x01"
            + mechanism.ljust(20, b"\x00") + b"\x00" + b"\x00" * 31)


def raw_req(port: int) -> socket.socket:
    """A TCP connection that has done the ZMTP handshake as REQ."""
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT_SECS)
    ready = b"\x05READY\x0bSocket-Type" + (3).to_bytes(4, "big") + b"REQ"
    sock.sendall(greeting() + bytes([4, len(ready)]) + ready)
    read_exactly(sock, 64)
    head = read_exactly(sock, 2)
    read_exactly(sock, head[1])
    return sock


def read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def raw_answer(sock: socket.socket):
    """The body of the next message (after the delimiter), unpickled."""
    frames = []
    while True:
        flags, size = read_exactly(sock, 2)
        if flags & 0x02:
            size = int.from_bytes(bytes([size]) + read_exactly(sock, 7), "big")
        frames.append(read_exactly(sock, size))
        if not flags & 0x01:
            return pickle.loads(frames[-1])


def closed_by_server(sock: socket.socket) -> bool:
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# --- The plain chat against simple_server ------------------------------------


def check_plain(bin_dir: str, started: list):
    ports = start_server(bin_dir, "simple_server", started)
    req, sub = req_socket(ports[0]), sub_socket(ports[1])
    steps = [ask(req, {"type": "join", "nick": "py-alice"})]
    synced(sub, req, "py-alice")
    steps.append(ask(req, {"type": "list"}))
    steps.append(ask(req, {"type": "message", "nick": "py-alice", "message": "hello from pyzmq"}))
    relayed = sub.recv()
    steps.append(ask(req, {"type": "leave", "nick": "py-alice"}))
    check("plain: pyzmq REQ joins, lists, messages, leaves (pickle protocol 4)",
          lambda: ([s["response"] for s in steps], ["ok", ["py-alice"], "ok", "ok"]))
    check("plain: pyzmq SUB receives the broadcast",
          lambda: (pickle.loads(relayed),
                   {"type": "message", "nick": "py-alice", "message": "hello from pyzmq"}))
    check("plain: the broadcast unpickles to plain data only",
          lambda: ({op.name for op, _, _ in pickletools.genops(relayed)} <= PLAIN_OPCODES
                   and plain_loads(relayed) == pickle.loads(relayed), True))
    answers = [ask(req, pickle.dumps({"type": "join", "nick": f"proto-{p}"}, protocol=p))["response"]
               for p in range(6)]
    check("plain: Python's pickles of protocols 0 to 5 are read",
          lambda: (answers, ["ok"] * 6))
    check_exploit(bin_dir, ports, req)
    check_hostile(ports, req)
    req.close()
    sub.close()


def check_exploit(bin_dir: str, ports: tuple, req: zmq.Socket):
    with tempfile.TemporaryDirectory() as scratch:
        proof = os.path.join(scratch, "pwned")
        dump = subprocess.run([os.path.join(bin_dir, "simple_exploit"), "--dump",
                               "--command", f"touch {proof}"], capture_output=True, timeout=TIMEOUT_SECS)
        answer = ask(req, dump.stdout)
        time.sleep(0.2)
        ran = os.path.exists(proof)
    check("plain: the exploit's bytes get ko naming posix.system, and nothing runs",
          lambda: ((answer["response"], "posix.system" in answer.get("error", ""), ran),
                   ("ko", True, False)))


def nested_pickle(depth: int) -> bytes:
    return b"]" * depth + b"a" * (depth - 1) + b"."


# Hostile bodies sent by pyzmq, and a fragment of the expected `ko` reason.
HOSTILE_BODIES = (
    ("a pickle nested 30,000 deep", nested_pickle(30_000), "nested deeper than 32"),
    ("a pickle nested 100,000 deep (over 64 KiB)", nested_pickle(100_000), "over the 65536-byte limit"),
    ("a body over 64 KiB", b"x" * 70_000, "frame of 70000 bytes"),
    ("a truncated pickle", pickle.dumps({"type": "join", "nick": "cut"})[:-6], "truncated"),
    ("a msgpack map announcing 2^32 entries", b"\xdf\xff\xff\xff\xff\xa4type", "8589934590 entries"),
    ("a pickled set", pickle.dumps({"type": "list", "x": {1}}), "builds a set"),
)


def check_hostile(ports: tuple, served: zmq.Socket):
    """Each hostile input gets its answer, and `served`, a well-behaved
    client on a connection of its own, lists after each."""
    for name, body, expected in HOSTILE_BODIES:
        sock = req_socket(ports[0])
        answer = ask(sock, body)
        sock.close()
        check(f"hostile: {name}: ko",
              lambda: ((answer["response"], expected in answer.get("error", "")), ("ko", True)))
        check(f"hostile: {name}: a client is served after it",
              lambda: (type(ask(served, {"type": "list"})["response"]), list))

    sock = raw_req(ports[0])
    sock.sendall(b"\x01\x00" + b"\x02\x80" + b"\x00" * 7)
    answer = raw_answer(sock)
    check("hostile: a frame announcing 2^63 bytes: ko, then the connection closes",
          lambda: ((answer["response"], "9223372036854775808" in answer["error"], closed_by_server(sock)),
                   ("ko", True, True)))
    for name, data in (("an HTTP request", b"GET / HTTP/1.1\r\n\r\n".ljust(64, b" ")),
                       ("the CURVE mechanism", greeting(b"CURVE"))):
        sock = socket.create_connection((HOST, ports[0]), timeout=TIMEOUT_SECS)
        sock.sendall(data)
        check(f"hostile: {name} for a greeting: the connection closes",
              lambda: (closed_by_server(sock), True))
    check("hostile: a client is served after every one",
          lambda: (ask(served, {"type": "list"})["response"][:1], ["proto-0"]))


# --- Our client through a pyzmq REP+PUB server -------------------------------


class PyServer:
    """The original's loop, in a thread: REP answers, PUB relays messages."""

    def __init__(self):
        self.rep, self.pub = CTX.socket(zmq.REP), CTX.socket(zmq.PUB)
        self.rep.LINGER = self.pub.LINGER = 0
        self.ports = (self.rep.bind_to_random_port(f"tcp://{HOST}"),
                      self.pub.bind_to_random_port(f"tcp://{HOST}"))
        self.received = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        poller = zmq.Poller()
        poller.register(self.rep, zmq.POLLIN)
        while self.running:
            if not poller.poll(50):
                continue
            packet = self.rep.recv()
            frame = pickle.loads(packet)
            self.received.append(frame)
            answer = {"response": ["rust"]} if frame["type"] == "list" else {"response": "ok"}
            self.rep.send(pickle.dumps(answer))
            if frame["type"] == "message":
                self.pub.send(packet)

    def publish(self, frame: dict):
        self.pub.send(pickle.dumps(frame))

    def stop(self):
        self.running = False
        self.thread.join(timeout=TIMEOUT_SECS)
        self.rep.close()
        self.pub.close()


def check_client(bin_dir: str, started: list):
    server = PyServer()
    try:
        client = Process([os.path.join(bin_dir, "simple_client"), "--wire", "zmq", "--host", HOST,
                          "--port", str(server.ports[0]), "--broadcast-port", str(server.ports[1]),
                          "--nick", RUST_NICK])
        started.append(client)
        client.wait_for("stderr", lambda l: l.startswith("joined as "))
        for attempt in range(int(TIMEOUT_SECS / RETRY_SECS)):
            server.publish({"type": "message", "nick": PYTHON_NICK, "message": f"hi {attempt}"})
            try:
                client.wait_for("stdout", lambda l: l.startswith(f"{PYTHON_NICK} : "), timeout=RETRY_SECS)
                break
            except TimeoutError:
                continue
        client.send_line("hello from Rust")
        own = client.wait_for("stdout", lambda l: l.startswith(f"{RUST_NICK} : "))
        client.send_line("/list")
        listed = client.wait_for("stdout", lambda l: l.startswith("joined ("))
        check("client: simple_client joins, sends, receives and lists through pyzmq REP+PUB",
              lambda: ((server.received[0]["type"], own, listed),
                       ("join", f"{RUST_NICK} : hello from Rust", "joined (1): rust")))
    finally:
        server.stop()


# --- The AE layers: msgpack and cryptography tokens --------------------------


# An encrypted layer as these checks play it: its client, the plaintext of
# its sync markers, the `message` field Python sends as PYTHON_NICK, what
# Python reads of the Rust client's field and what it should read.
Layer = collections.namedtuple("Layer", "client plaintext python_message opened expected")

AE = Layer("ae_client", ae_plaintext,
           lambda text: encrypt_message(KDF, PASSWORD, ae_plaintext(PYTHON_NICK, text)),
           lambda sealed: decrypt_message(KDF, PASSWORD, sealed).decode(),
           lambda text: text)
AEAD = Layer("aead_client", aead_plaintext,
             lambda text: encrypt_message(KDF, PASSWORD, aead_plaintext(PYTHON_NICK, text)),
             lambda sealed: sealed_fields(decrypt_message(KDF, PASSWORD, sealed)),
             lambda text: (RUST_NICK, text, ROOM))
PYTHON_KEY = Ed25519PrivateKey.generate()
SIGNED = Layer("signed_client", signed_plaintext,
               lambda text: signed_message(KDF, PYTHON_NICK, text, PYTHON_KEY),
               lambda sealed: verified_by_python(KDF, sealed),
               lambda text: (RUST_NICK, text, ROOM))


def check_layer(bin_dir: str, started: list, layer: Layer):
    client_name = layer.client
    ports = start_server(bin_dir, "ae_server", started)
    req, sub = req_socket(ports[0]), sub_socket(ports[1])
    pack, unpack = msgpack.packb, msgpack.unpackb
    for nick in (PYTHON_NICK, RELABEL_NICK, "sync-probe"):
        ask(req, {"type": "join", "nick": nick}, pack, unpack)
    marker = {"type": "message", "nick": "sync-probe",
              "message": encrypt_message(KDF, PASSWORD, layer.plaintext("sync-probe", "sync"))}
    sub.RCVTIMEO = int(RETRY_SECS * 1000)
    while True:
        ask(req, marker, pack, unpack)
        try:
            unpack(sub.recv())
            break
        except zmq.Again:
            continue
    sub.RCVTIMEO = int(TIMEOUT_SECS * 1000)
    client = Process([os.path.join(bin_dir, client_name), "--wire", "zmq", "--host", HOST,
                      "--port", str(ports[0]), "--broadcast-port", str(ports[1]),
                      "--nick", RUST_NICK] + client_files(client_name, "zmq"),
                     env=dict(os.environ, CHAT_PASSWORD=PASSWORD))
    started.append(client)
    client.wait_for("stderr", lambda l: l.startswith("joined as "))
    name = client_name.split("_")[0].upper()

    text = f"{name} from Rust, é ✓"
    client.send_line(text)

    def rust_frame():
        while True:
            frame = unpack(sub.recv())
            if frame.get("nick") == RUST_NICK:
                return frame["message"]
    sealed = rust_frame()
    check(f"{name}: Rust -> Python: {client_name}'s msgpack frame opens with cryptography",
          lambda: (layer.opened(sealed), layer.expected(text)))

    text = f"{name} from Python"
    frame = {"type": "message", "nick": PYTHON_NICK, "message": layer.python_message(text)}
    check(f"{name}: Python -> Rust: {client_name} prints a msgpack frame of cryptography",
          lambda: ((ask(req, frame, pack, unpack)["response"],
                    client.wait_for("stdout", lambda l: l.startswith(f"{PYTHON_NICK} : "))),
                   ("ok", f"{PYTHON_NICK} : {text}")))
    if client_name == "aead_client":
        relabelled = dict(frame, nick=RELABEL_NICK)
        ask(req, relabelled, pack, unpack)
        check("AEAD: a Python frame relabelled with another nick is rejected",
              lambda: (client.wait_for("stdout", lambda l: l.startswith(f"[rejected] {RELABEL_NICK}:")),
                       f"[rejected] {RELABEL_NICK}: sender mismatch (sealed by {PYTHON_NICK})"))
    if client_name == "signed_client":
        forged = {"type": "message", "nick": PYTHON_NICK,
                  "message": signed_message(KDF, PYTHON_NICK, "pay mallory", PYTHON_KEY, seq=1,
                                            signed_text="pay bob")}
        ask(req, forged, pack, unpack)
        check("SIGNED: a Python frame whose signature is over another text is rejected",
              lambda: (client.wait_for("stdout", lambda l: l.startswith(f"[rejected] {PYTHON_NICK}:")),
                       f"[rejected] {PYTHON_NICK}: bad signature"))
    req.close()
    sub.close()


def main() -> int:
    bin_dir = bin_dir_argument()
    started = []
    parts = (
        ("plain", lambda: check_plain(bin_dir, started)),
        ("client", lambda: check_client(bin_dir, started)),
        ("AE", lambda: check_layer(bin_dir, started, AE)),
        ("AEAD", lambda: check_layer(bin_dir, started, AEAD)),
        ("signed", lambda: check_layer(bin_dir, started, SIGNED)),
    )
    try:
        for name, part in parts:
            try:
                part()
            except Exception as error:  # a broken setup fails its part, not the script
                interop.FAILURES.append(name)
                print(f"FAIL {name}: setup failed: {type(error).__name__}: {error}", flush=True)
    finally:
        for process in started:
            process.kill()
        shutil.rmtree(interop.SCRATCH, ignore_errors=True)
    print(f"zmq interop: {len(interop.PASSES)} passed, {len(interop.FAILURES)} failed")
    return 1 if interop.FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
