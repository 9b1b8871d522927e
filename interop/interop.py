#!/usr/bin/env python3
"""Interoperability check: the Rust clients against the lab's Python crypto.

The lab's scheme is PBKDF2-HMAC-SHA256 (100 iterations, 32 bytes, a fresh
16-byte salt per message sent in clear as standard base64) and a Fernet token
under that key. The project's second scheme (`--kdf hkdf`) derives one master
key per room with PBKDF2, then each message's key with HKDF-SHA256 of the
master and the message's salt (docs/PROTOCOL.md). This script does both with
Python's `cryptography`, as the lab's AEClient and AEADClient do, and checks
both directions against the real binaries on free local ports, for each
scheme:

  AE    Rust -> Python: a frame sent by ae_client decrypts to its text here;
        Python -> Rust: a frame made here is printed by ae_client.
  AEAD  the same with aead_client, whose plaintext is {"nick", "message",
        "room", ...}; a Python frame relabelled with another nick is
        rejected, and so is one sealed for another room.
  signed  signed_client's frame: its Ed25519 signature verifies with
        cryptography over the fields as docs/PROTOCOL.md encodes them; a
        frame signed here is printed; one whose signature is not over its
        fields is rejected, and so is one from the same nick under another
        key, with both fingerprints as computed here.
  rule  the signature rule's edge cases (small-order keys and R, mixed
        order, non-canonical encodings), built here with Ed25519 arithmetic
        of our own and sent to signed_client, which accepts exactly what
        ed25519-dalek's verify_strict does: on every canonical vector,
        cryptography (OpenSSL) decides the same, except the small-order
        cases OpenSSL accepts, printed as KNOWN DIFFERENCE lines (the
        helper here, verified_by_python, refuses small-order points before
        it asks OpenSSL, so it agrees with signed_client on every vector).

Usage: interop.py BIN_DIR   (the directory holding ae_server and the
clients). Prints one PASS or FAIL line per check and exits non-zero if any
check fails. Every process it starts is killed, and every file it writes
removed, before it exits.
"""

import base64
import hashlib
import json
import os
import queue
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# The lab's parameters (PROTOCOL.md section 3.2).
ITERATIONS = 100
KEY_LEN = 32
SALT_LEN = 16

# The hkdf scheme's constants (docs/PROTOCOL.md, crates/chat/src/layer/keys/kdf.rs):
# the master key's salt is the prefix, the chat's 16-byte id, then the room.
MASTER_SALT_PREFIX = b"tp-unsecured-chat/hkdf-v2/chat:"
MASTER_SALT_ROOM = b"/room:"
MESSAGE_KEY_INFO = b"tp-unsecured-chat/hkdf-v2/fernet"
# This run's chat id, handed to the Rust clients as --chat-id, as whoever
# starts a chat hands it out with the password.
CHAT_ID = os.urandom(16)

# The room the Rust clients are in (their default), and another one.
ROOM = "lobby"
OTHER_ROOM = "elsewhere"

PASSWORD = "interop-s3cret"
HOST = "127.0.0.1"
# Failure guard: how long anything that should happen promptly may take.
TIMEOUT_SECS = 20.0
# Nicks of the two sides.
RUST_NICK = "rust"
PYTHON_NICK = "python"
# Nick a Python frame is relabelled with, as a rogue server would.
RELABEL_NICK = "mallory"
# Nick that sends the markers of wait_until_subscribed, and how long to wait
# for one before sending another (a polling interval, not an expectation).
SYNC_NICK = "sync-probe"
SYNC_RETRY_SECS = 0.05

# The signed layer (docs/PROTOCOL.md, crates/chat/src/layer/signed_client/mod.rs): what
# every signed message starts with, and the bytes of a fingerprint.
SIGNATURE_CONTEXT = b"tp-unsecured-chat/signed-v1"
FINGERPRINT_BYTES = 16
# The session and counter of Python's signed messages.
PYTHON_SESSION = "pyInterop001"
# Where the signed client keeps its identity: a folder of this run's.
SCRATCH = tempfile.mkdtemp(prefix="interop-")


# --- The two key schemes, with Python's cryptography ---------------------


def pbkdf2(password: str, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=KEY_LEN, salt=salt, iterations=ITERATIONS
    )
    return kdf.derive(password.encode())


def derive_key_from_password(password: str, salt: bytes) -> bytes:
    """The lab's key: PBKDF2-HMAC-SHA256, as a Fernet key (URL-safe base64)."""
    return base64.urlsafe_b64encode(pbkdf2(password, salt))


def chat_id_text() -> str:
    """The chat id as --chat-id takes it: URL-safe base64, no padding."""
    return base64.urlsafe_b64encode(CHAT_ID).decode().rstrip("=")


def hkdf_message_key(password: str, room: str, salt: bytes) -> bytes:
    """The hkdf scheme's key: HKDF-SHA256 of the chat and room's master key
    and the message salt, as a Fernet key."""
    master = pbkdf2(password, MASTER_SALT_PREFIX + CHAT_ID + MASTER_SALT_ROOM + room.encode())
    key = HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=salt,
               info=MESSAGE_KEY_INFO).derive(master)
    return base64.urlsafe_b64encode(key)


def message_key(kdf: str, password: str, salt: bytes) -> bytes:
    if kdf == "hkdf":
        return hkdf_message_key(password, ROOM, salt)
    return derive_key_from_password(password, salt)


def encrypt_message(kdf: str, password: str, plaintext: bytes) -> dict:
    """The `message` field the lab's client sends: {"salt", "token"}."""
    salt = os.urandom(SALT_LEN)
    token = Fernet(message_key(kdf, password, salt)).encrypt(plaintext)
    return {"salt": base64.b64encode(salt).decode(), "token": token.decode()}


def decrypt_message(kdf: str, password: str, sealed: dict) -> bytes:
    """Opens a {"salt", "token"} field; raises if it cannot be verified."""
    salt = base64.b64decode(sealed["salt"], validate=True)
    if len(salt) != SALT_LEN:
        raise ValueError(f"salt of {len(salt)} bytes, expected {SALT_LEN}")
    return Fernet(message_key(kdf, password, salt)).decrypt(sealed["token"])


# --- The signed layer, with cryptography's Ed25519 ---------------------------


def signed_bytes(nick: str, room: str, session: str, seq: int, sent_at: int, text: str) -> bytes:
    """What a signature covers: the context, nick, room and session, each
    as its length (8 bytes, big-endian) and bytes, the counter and the date
    as 8 bytes each, then the text as its length and bytes."""
    def field(data: bytes) -> bytes:
        return struct.pack(">Q", len(data)) + data
    return (field(SIGNATURE_CONTEXT) + field(nick.encode()) + field(room.encode())
            + field(session.encode()) + struct.pack(">QQ", seq, sent_at) + field(text.encode()))


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    """The first 16 bytes of the key's SHA-256, in hex, in groups of four."""
    digest = hashlib.sha256(public).hexdigest()[:2 * FINGERPRINT_BYTES]
    return "-".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def signed_message(kdf: str, nick: str, text: str, key: Ed25519PrivateKey, seq: int = 0,
                   signed_text: str = None) -> dict:
    """The `message` field of the signed layer: the plaintext signed by
    `key` over its fields (over `signed_text` instead of the text, for a
    forgery), in a token dated the second it was signed."""
    sent_at = int(time.time())
    over = signed_bytes(nick, ROOM, PYTHON_SESSION, seq, sent_at,
                        text if signed_text is None else signed_text)
    plaintext = json.dumps({
        "nick": nick, "message": text, "room": ROOM, "seq": seq, "session": PYTHON_SESSION,
        "key": base64.b64encode(raw_public(key)).decode(),
        "signature": base64.b64encode(key.sign(over)).decode(),
    }).encode()
    salt = os.urandom(SALT_LEN)
    token = Fernet(message_key(kdf, PASSWORD, salt)).encrypt_at_time(plaintext, sent_at)
    return {"salt": base64.b64encode(salt).decode(), "token": token.decode()}


def verify_signature(key: bytes, signature: bytes, message: bytes):
    """The helper's rule: small-order keys and R refused first, then
    OpenSSL's verification (which accepts some of them); raises if the
    signature does not verify."""
    for point in (key, signature[:32]):
        decoded = point_decode(point)
        if decoded is None or is_small_order(decoded):
            raise ValueError("small-order key or R (refused before OpenSSL)")
    Ed25519PublicKey.from_public_bytes(key).verify(signature, message)


def verified_by_python(kdf: str, sealed: dict) -> tuple:
    """Opens a signed `message` field and verifies its signature (raises if
    it does not verify); its nick, text and room."""
    salt = base64.b64decode(sealed["salt"], validate=True)
    fernet = Fernet(message_key(kdf, PASSWORD, salt))
    plain = json.loads(fernet.decrypt(sealed["token"]))
    sent_at = fernet.extract_timestamp(sealed["token"])
    verify_signature(base64.b64decode(plain["key"]), base64.b64decode(plain["signature"]),
                     signed_bytes(plain["nick"], plain["room"], plain["session"], plain["seq"],
                                  sent_at, plain["message"]))
    return plain["nick"], plain["message"], plain["room"]


# --- Ed25519 arithmetic, for the vectors that separate the rules ----------
# Extended coordinates (RFC 8032 section 5.1.4). Decoding is lenient on
# purpose, as ZIP-215's: a y-coordinate of p or more is reduced, and x = 0
# takes any sign bit, so that non-canonical encodings can be built and
# judged.

FIELD = 2**255 - 19
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
CURVE_D = -121665 * pow(121666, FIELD - 2, FIELD) % FIELD
SQRT_M1 = pow(2, (FIELD - 1) // 4, FIELD)
IDENTITY = (0, 1, 1, 0)


def point_add(p: tuple, q: tuple) -> tuple:
    a = (p[1] - p[0]) * (q[1] - q[0]) % FIELD
    b = (p[1] + p[0]) * (q[1] + q[0]) % FIELD
    c = 2 * p[3] * q[3] * CURVE_D % FIELD
    d = 2 * p[2] * q[2] % FIELD
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % FIELD, g * h % FIELD, f * g % FIELD, e * h % FIELD)


def point_mul(scalar: int, point: tuple) -> tuple:
    result = IDENTITY
    while scalar > 0:
        if scalar & 1:
            result = point_add(result, point)
        point = point_add(point, point)
        scalar >>= 1
    return result


def point_equal(p: tuple, q: tuple) -> bool:
    return ((p[0] * q[2] - q[0] * p[2]) % FIELD == 0
            and (p[1] * q[2] - q[1] * p[2]) % FIELD == 0)


def point_decode(encoded: bytes):
    """The point 32 bytes encode, leniently; None if no point has that y."""
    y = int.from_bytes(encoded, "little")
    sign, y = y >> 255, (y & ((1 << 255) - 1)) % FIELD
    x2 = (y * y - 1) * pow(CURVE_D * y * y + 1, FIELD - 2, FIELD) % FIELD
    x = pow(x2, (FIELD + 3) // 8, FIELD)
    if (x * x - x2) % FIELD != 0:
        x = x * SQRT_M1 % FIELD
    if (x * x - x2) % FIELD != 0:
        return None
    if x != 0 and (x & 1) != sign:
        x = FIELD - x
    return (x, y, 1, x * y % FIELD)


def point_encode(point: tuple) -> bytes:
    z_inv = pow(point[2], FIELD - 2, FIELD)
    x, y = point[0] * z_inv % FIELD, point[1] * z_inv % FIELD
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def is_small_order(point: tuple) -> bool:
    return point_equal(point_mul(8, point), IDENTITY)


BASE = point_decode(bytes.fromhex("58" + "66" * 31))
# A point of order 8: added to another, it makes a mixed-order point.
TORSION = point_decode(bytes.fromhex(
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"))
# The identity, encoded canonically, and as y = p + 1 (not canonical).
IDENTITY_BYTES = point_encode(IDENTITY)
IDENTITY_NON_CANONICAL = int.to_bytes(FIELD + 1, 32, "little")


def challenge(r: bytes, key: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + key + message).digest(), "little") % GROUP_ORDER


def scalar_bytes(n: int) -> bytes:
    return int.to_bytes(n, 32, "little")


# --- Processes and connections --------------------------------------------


class Process:
    """A binary whose stdout and stderr are read line by line on threads."""

    def __init__(self, args: list, env: dict = None):
        self.args = args
        self.proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.stdout = self._collect(self.proc.stdout)
        self.stderr = self._collect(self.proc.stderr)
        self.seen = {"stdout": [], "stderr": []}

    @staticmethod
    def _collect(stream) -> queue.Queue:
        lines = queue.Queue()

        def pump():
            for line in stream:
                lines.put(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()
        return lines

    def wait_for(self, stream: str, wanted, timeout: float = TIMEOUT_SECS) -> str:
        """The first line on `stream` for which `wanted(line)` holds."""
        lines = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen[stream].append(line)
            if wanted(line):
                return line
        other = "stderr" if stream == "stdout" else "stdout"
        raise TimeoutError(f"{self.args[0]}: no such line on {stream}; saw {self.seen[stream]}, "
                           f"and on {other} {self.seen[other] + self.drain(other)}")

    def drain(self, stream: str) -> list:
        """The lines of `stream` not yet taken, without waiting."""
        lines = self.stdout if stream == "stdout" else self.stderr
        taken = []
        while not lines.empty():
            taken.append(lines.get_nowait())
        self.seen[stream].extend(taken)
        return taken

    def send_line(self, line: str):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT_SECS)


class LineSocket:
    """A raw connection to one of the server's ports: JSON, one per line."""

    def __init__(self, port: int):
        self.sock = socket.create_connection((HOST, port), timeout=TIMEOUT_SECS)
        self.reader = self.sock.makefile("rb")

    def send_json(self, frame: dict) -> dict:
        """Sends a request frame and returns the server's response."""
        self.sock.sendall(json.dumps(frame, separators=(",", ":")).encode() + b"\n")
        return self.read_json()

    def read_json(self) -> dict:
        line = self.reader.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        return json.loads(line)

    def close(self):
        self.reader.close()
        self.sock.close()


def start_server(bin_dir: str, started: list) -> tuple:
    """Starts ae_server on free ports; returns (request port, broadcast port)."""
    server = Process([os.path.join(bin_dir, "ae_server"), "--host", HOST,
                      "--port", "0", "--broadcast-port", "0"])
    started.append(server)
    line = server.wait_for("stdout", lambda l: l.startswith("listening on "))
    # "listening on H:P (requests) and H:B (broadcast)"
    ports = [int(word.rsplit(":", 1)[1]) for word in line.split() if ":" in word]
    return ports[0], ports[1]


def client_files(name: str, kdf: str) -> list:
    """The signed client's files, in a folder of this run's (never the
    user's own identity), one per key scheme: each run pins its own keys."""
    if name != "signed_client":
        return []
    return ["--identity", os.path.join(SCRATCH, kdf, "identity")]


def kdf_flags(kdf: str) -> list:
    """The key scheme's flags: hkdf's chat id, and the same iterations as
    this script's, whatever the scheme's default."""
    flags = ["--kdf", kdf, "--iterations", str(ITERATIONS)]
    return flags + (["--chat-id", chat_id_text()] if kdf == "hkdf" else [])


def start_client(bin_dir: str, name: str, kdf: str, ports: tuple, started: list) -> Process:
    """Starts a Rust client as RUST_NICK, the password in its environment,
    and waits until it has joined."""
    client = Process([os.path.join(bin_dir, name), "--host", HOST,
                      "--port", str(ports[0]), "--broadcast-port", str(ports[1]),
                      "--nick", RUST_NICK] + kdf_flags(kdf) + client_files(name, kdf),
                     env=dict(os.environ, CHAT_PASSWORD=PASSWORD))
    started.append(client)
    client.wait_for("stderr", lambda l: l.startswith("joined as "))
    return client


def expect_ok(response: dict):
    if response != {"response": "ok"}:
        raise AssertionError(f"the server answered {response}")


def wait_until_subscribed(client: Process, python: LineSocket, kdf: str, marker: bytes):
    """Returns once the server has certainly subscribed the client's
    broadcast connection.

    The client connects its broadcast port before it joins, but the server
    subscribes that connection only when its accept thread gets to it, which
    under load can come after the join and a first message (that the client
    then never receives). So markers are sent until the client prints one."""
    expect_ok(python.send_json({"type": "join", "nick": SYNC_NICK}))
    deadline = time.monotonic() + TIMEOUT_SECS
    while time.monotonic() < deadline:
        expect_ok(python.send_json(python_frame(kdf, SYNC_NICK, marker)))
        try:
            client.wait_for("stdout", lambda line: True, timeout=SYNC_RETRY_SECS)
            break
        except TimeoutError:
            continue
    else:
        raise TimeoutError("the client never received a broadcast")
    expect_ok(python.send_json({"type": "leave", "nick": SYNC_NICK}))


# --- The checks ------------------------------------------------------------


# Names of the checks that passed and failed, for the closing line.
PASSES = []
FAILURES = []


def check(name: str, attempt):
    """Runs one check and prints its PASS or FAIL line. `attempt()` returns
    what was observed and what was expected; an exception is a failure too."""
    try:
        observed, expected = attempt()
    except Exception as error:  # one broken check must not hide the others
        observed, expected = f"{type(error).__name__}: {error}", "no error"
    if observed == expected:
        PASSES.append(name)
        print(f"PASS {name}", flush=True)
    else:
        FAILURES.append(name)
        print(f"FAIL {name}: got {observed!r}, expected {expected!r}", flush=True)


def rust_frame(client: Process, listener: LineSocket, text: str) -> dict:
    """Sends `text` through the Rust client; returns its `message` field.

    The listener connected before the client started, and the server
    subscribes connections in the order they arrive: once the client has
    printed its own message, the listener has certainly been sent it too."""
    client.send_line(text)
    client.wait_for("stdout", lambda l: l == f"{RUST_NICK} : {text}")
    while True:
        frame = listener.read_json()
        if frame.get("nick") == RUST_NICK:
            return frame["message"]


def rust_frame_opened_by_python(kdf: str, client: Process, listener: LineSocket,
                                text: str) -> bytes:
    """Sends `text` through the Rust client; returns what Python decrypts."""
    return decrypt_message(kdf, PASSWORD, rust_frame(client, listener, text))


def delivery_from(client: Process, nick: str) -> str:
    """The next line the Rust client prints about a message from `nick`:
    accepted (`NICK : TEXT`) or rejected (`[rejected] NICK: REASON`)."""
    return client.wait_for(
        "stdout", lambda l: l.startswith(f"{nick} : ") or l.startswith(f"[rejected] {nick}:")
    )


def python_frame(kdf: str, nick: str, plaintext: bytes) -> dict:
    """A message frame exactly as the lab's Python client sends it."""
    message = encrypt_message(kdf, PASSWORD, plaintext)
    return {"type": "message", "nick": nick, "message": message}


def printed_for(client: Process, python: LineSocket, frame: dict) -> str:
    """Sends a Python-made frame; returns what the Rust client prints for it."""
    expect_ok(python.send_json(frame))
    return delivery_from(client, frame["nick"])


def check_ae(kdf: str, client: Process, listener: LineSocket, python: LineSocket):
    text = "hello from Rust, é ✓"
    check(f"AE   {kdf:4} Rust -> Python: ae_client's frame decrypts with cryptography",
          lambda: (rust_frame_opened_by_python(kdf, client, listener, text).decode(), text))

    text = "hello from Python, é ✓"
    frame = python_frame(kdf, PYTHON_NICK, ae_plaintext(PYTHON_NICK, text))
    check(f"AE   {kdf:4} Python -> Rust: ae_client prints cryptography's frame",
          lambda: (printed_for(client, python, frame), f"{PYTHON_NICK} : {text}"))


def sealed_fields(plaintext: bytes) -> tuple:
    """The AEAD plaintext's nick, message and room (further fields are
    allowed), and whether it is a JSON object at all."""
    sealed = json.loads(plaintext)
    if not isinstance(sealed, dict):
        return ("not an object", sealed)
    return sealed.get("nick"), sealed.get("message"), sealed.get("room")


def check_aead(kdf: str, client: Process, listener: LineSocket, python: LineSocket):
    text = "sealed by Rust"
    check(f"AEAD {kdf:4} Rust -> Python: aead_client's token holds its nick, text and room",
          lambda: (sealed_fields(rust_frame_opened_by_python(kdf, client, listener, text)),
                   (RUST_NICK, text, ROOM)))

    text = "sealed by Python"
    frame = python_frame(kdf, PYTHON_NICK, aead_plaintext(PYTHON_NICK, text))
    check(f"AEAD {kdf:4} Python -> Rust: aead_client prints cryptography's room-bound frame",
          lambda: (printed_for(client, python, frame), f"{PYTHON_NICK} : {text}"))

    # A rogue server's relabelling: the same token, another nick on the frame.
    relabelled = dict(frame, nick=RELABEL_NICK)
    check(f"AEAD {kdf:4} Python frame relabelled: aead_client rejects it",
          lambda: (printed_for(client, python, relabelled),
                   f"[rejected] {RELABEL_NICK}: sender mismatch (sealed by {PYTHON_NICK})"))

    # A frame sealed for another chat that shares the password (under this
    # chat's key, so that what refuses it is the sealed room; with the hkdf
    # scheme a frame from the other room's own key would not even verify).
    other = aead_plaintext(PYTHON_NICK, "meant for another room", OTHER_ROOM)
    expected = (f"[rejected] {PYTHON_NICK}: sealed for room '{OTHER_ROOM}', "
                f"this client is in '{ROOM}'")
    check(f"AEAD {kdf:4} Python frame for another room: aead_client rejects it",
          lambda: (printed_for(client, python, python_frame(kdf, PYTHON_NICK, other)),
                   expected))

    # The contract wants an object; serde alone would read an array.
    array = json.dumps([PYTHON_NICK, "an array", ROOM]).encode()
    check(f"AEAD {kdf:4} Python array plaintext: aead_client rejects it",
          lambda: (printed_for(client, python, python_frame(kdf, PYTHON_NICK, array)),
                   f"[rejected] {PYTHON_NICK}: sealed content is not a JSON object "
                   "(sent by an AE client?)"))


def check_signed(kdf: str, client: Process, listener: LineSocket, python: LineSocket):
    text = "signed by Rust"
    check(f"SIGN {kdf:4} Rust -> Python: signed_client's signature verifies with cryptography",
          lambda: (verified_by_python(kdf, rust_frame(client, listener, text)),
                   (RUST_NICK, text, ROOM)))

    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    text = "signed by Python"
    frame = {"type": "message", "nick": PYTHON_NICK,
             "message": signed_message(kdf, PYTHON_NICK, text, key)}
    check(f"SIGN {kdf:4} Python -> Rust: signed_client prints cryptography's signed frame",
          lambda: (printed_for(client, python, frame), f"{PYTHON_NICK} : {text}"))

    forged = {"type": "message", "nick": PYTHON_NICK,
              "message": signed_message(kdf, PYTHON_NICK, "pay mallory", key, seq=1,
                                        signed_text="pay bob")}
    check(f"SIGN {kdf:4} Python frame whose signature is over another text: rejected",
          lambda: (printed_for(client, python, forged), f"[rejected] {PYTHON_NICK}: bad signature"))

    changed = {"type": "message", "nick": PYTHON_NICK,
               "message": signed_message(kdf, PYTHON_NICK, "new key, who dis", other, seq=2)}
    expected = (f"[rejected] {PYTHON_NICK}: key changed: pinned {fingerprint(raw_public(key))}, "
                f"got {fingerprint(raw_public(other))}")
    check(f"SIGN {kdf:4} Python frame from a pinned nick under another key: rejected, both fingerprints",
          lambda: (printed_for(client, python, changed), expected))


def signature_vectors(secret: int) -> list:
    """The signature rule's edge cases, each (name, key, R, S of the
    challenge, whether signed_client accepts it, whether it is canonical,
    whether OpenSSL's acceptance is a known difference); `secret` is the
    honest signer's scalar. A mixed-order key's R is None and its "S" says
    whether the challenge is to be a multiple of 8 (vector_frame picks the
    nonce)."""
    public = point_mul(secret, BASE)
    key = point_encode(public)
    cases = []
    # (name, key, R bytes, S given the challenge k, ours accepts, canonical, known difference)
    cases.append(("honest signature", key, point_encode(point_mul(11, BASE)),
                  lambda k: (11 + k * secret) % GROUP_ORDER, True, True, False))
    cases.append(("non-canonical S (S + l)", key, point_encode(point_mul(12, BASE)),
                  lambda k: (12 + k * secret) % GROUP_ORDER + GROUP_ORDER, False, False, False))
    cases.append(("small-order key (the identity)", IDENTITY_BYTES,
                  point_encode(point_mul(13, BASE)), lambda k: 13, False, True, True))
    cases.append(("small-order key, non-canonical (y = p + 1)", IDENTITY_NON_CANONICAL,
                  point_encode(point_mul(14, BASE)), lambda k: 14, False, False, False))
    cases.append(("small-order R (the identity)", key, IDENTITY_BYTES,
                  lambda k: k * secret % GROUP_ORDER, False, True, True))
    cases.append(("small-order R, non-canonical (y = p + 1)", key, IDENTITY_NON_CANONICAL,
                  lambda k: k * secret % GROUP_ORDER, False, False, False))
    cases.append(("small-order R (of order 8)", key, point_encode(TORSION),
                  lambda k: k * secret % GROUP_ORDER, False, True, False))
    cases.append(("mixed-order R", key, point_encode(point_add(point_mul(15, BASE), TORSION)),
                  lambda k: (15 + k * secret) % GROUP_ORDER, False, True, False))
    mixed_key = point_encode(point_add(public, TORSION))
    for multiple, name in ((False, "mixed-order key, challenge not a multiple of 8"),
                           (True, "mixed-order key, challenge a multiple of 8")):
        cases.append((name, mixed_key, None, multiple, multiple, True, False))
    return cases


def vector_frame(kdf: str, nick: str, case: tuple, secret: int) -> tuple:
    """A message frame for one vector, signed over its real fields; what
    OpenSSL and the helper say of its signature."""
    name, key, big_r, s_of, ours, canonical, known = case
    sent_at = int(time.time())
    text = f"vector: {name}"
    signed = signed_bytes(nick, ROOM, PYTHON_SESSION, 0, sent_at, text)
    if big_r is None:  # a mixed-order key: a nonce whose challenge fits
        for r in range(16, 4096):
            big_r = point_encode(point_mul(r, BASE))
            k = challenge(big_r, key, signed)
            if (k % 8 == 0) == s_of:
                s = (r + k * secret) % GROUP_ORDER
                break
    else:
        s = s_of(challenge(big_r, key, signed))
    signature = big_r + scalar_bytes(s)
    plaintext = json.dumps({
        "nick": nick, "message": text, "room": ROOM, "seq": 0, "session": PYTHON_SESSION,
        "key": base64.b64encode(key).decode(), "signature": base64.b64encode(signature).decode(),
    }).encode()
    salt = os.urandom(SALT_LEN)
    token = Fernet(message_key(kdf, PASSWORD, salt)).encrypt_at_time(plaintext, sent_at)
    frame = {"type": "message", "nick": nick,
             "message": {"salt": base64.b64encode(salt).decode(), "token": token.decode()}}
    return frame, judged(lambda: Ed25519PublicKey.from_public_bytes(key).verify(signature, signed)), \
        judged(lambda: verify_signature(key, signature, signed))


def judged(verify) -> bool:
    """Whether `verify()` accepts (returns rather than raises)."""
    try:
        verify()
        return True
    except Exception:  # cryptography raises InvalidSignature or ValueError
        return False


def check_signature_rule(kdf: str, client: Process, listener: LineSocket, python: LineSocket):
    """Each vector from a nick of its own (so each is a first contact):
    what signed_client prints, against what OpenSSL and the helper say."""
    secret = int.from_bytes(os.urandom(32), "little") % GROUP_ORDER
    for i, case in enumerate(signature_vectors(secret)):
        name, _, _, _, ours, canonical, known = case
        nick = f"vector{i}"
        expect_ok(python.send_json({"type": "join", "nick": nick}))
        frame, openssl, helper = vector_frame(kdf, nick, case, secret)
        printed = printed_for(client, python, frame)
        accepted = printed.startswith(f"{nick} : ")
        verdict = lambda yes: "accepts" if yes else "refuses"
        check(f"RULE {name}: signed_client {verdict(ours)} it, as verify_strict",
              lambda: (accepted, ours))
        check(f"RULE {name}: the helper (small order refused first) agrees",
              lambda: (helper, accepted))
        if not canonical:
            print(f"INFO {name}: not canonical; cryptography (OpenSSL) {verdict(openssl)} it",
                  flush=True)
        elif known and openssl and not accepted:
            print(f"KNOWN DIFFERENCE {name}: cryptography (OpenSSL) accepts it, signed_client "
                  "refuses it (dalek's verify_strict); the helper refuses it first", flush=True)
        else:
            check(f"RULE {name}: cryptography (OpenSSL) agrees on this canonical vector",
                  lambda: (openssl, accepted))


# The key the sync markers of the signed layer are signed with.
SYNC_KEY = Ed25519PrivateKey.generate()


def signed_plaintext(nick: str, text: str) -> bytes:
    """A signed plaintext dated now, for the sync markers: a marker whose
    token is dated a second later is rejected, which serves as well."""
    sent_at = int(time.time())
    return json.dumps({
        "nick": nick, "message": text, "room": ROOM, "seq": 0, "session": PYTHON_SESSION,
        "key": base64.b64encode(raw_public(SYNC_KEY)).decode(),
        "signature": base64.b64encode(SYNC_KEY.sign(
            signed_bytes(nick, ROOM, PYTHON_SESSION, 0, sent_at, text))).decode(),
    }).encode()


def ae_plaintext(nick: str, text: str) -> bytes:
    """What the lab's AEClient encrypts: the text alone."""
    return text.encode()


def aead_plaintext(nick: str, text: str, room: str = ROOM) -> bytes:
    """What an AEAD client encrypts: the sender's nick, the text, and the
    room it is meant for (the lab's AEADClient had no room)."""
    return json.dumps({"nick": nick, "message": text, "room": room}).encode()


def run_layer(bin_dir: str, layer: tuple, started: list):
    """One layer's checks against a server and client of their own."""
    client_name, kdf, plaintext, checks = layer
    ports = start_server(bin_dir, started)
    listener = LineSocket(ports[1])
    python = LineSocket(ports[0])
    try:
        client = start_client(bin_dir, client_name, kdf, ports, started)
        for nick in (PYTHON_NICK, RELABEL_NICK):
            expect_ok(python.send_json({"type": "join", "nick": nick}))
        wait_until_subscribed(client, python, kdf, plaintext(SYNC_NICK, "sync marker"))
        checks(kdf, client, listener, python)
    finally:
        listener.close()
        python.close()


def bin_dir_argument() -> str:
    """The one argument, BIN_DIR; exits with the usage without it."""
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} BIN_DIR", file=sys.stderr)
        sys.exit(2)
    return sys.argv[1]


# Each layer: its Rust client, its key scheme, the plaintext for it, and
# its checks.
LAYERS = (
    ("ae_client", "lab", ae_plaintext, check_ae),
    ("aead_client", "lab", aead_plaintext, check_aead),
    ("ae_client", "hkdf", ae_plaintext, check_ae),
    ("aead_client", "hkdf", aead_plaintext, check_aead),
    ("signed_client", "lab", signed_plaintext, check_signed),
    ("signed_client", "hkdf", signed_plaintext, check_signed),
    ("signed_client", "lab", signed_plaintext, check_signature_rule),
)


def main() -> int:
    bin_dir = bin_dir_argument()
    started = []
    try:
        for layer in LAYERS:
            try:
                run_layer(bin_dir, layer, started)
            except Exception as error:  # a broken setup fails its layer, not the script
                FAILURES.append(f"{layer[0]} --kdf {layer[1]}")
                print(f"FAIL {layer[0]} --kdf {layer[1]}: setup failed: "
                      f"{type(error).__name__}: {error}")
    finally:
        for process in started:
            process.kill()
        shutil.rmtree(SCRATCH, ignore_errors=True)
    print(f"interop: {len(PASSES)} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
