"""A plain member of the chat: joins, says hello, lists, and leaves. It
attacks nothing; the tests of `make grade STEP=... CMD=...` judge it not
yet solved for any step.
"""

import logging
import os
import pickle
import time

import zmq

HOST = os.environ.get("CHAT_HOST", "localhost")
PORT = int(os.environ.get("CHAT_PORT", "6666"))
NICK = "carol"
STAY = 2.0


def main():
    context = zmq.Context()
    req = context.socket(zmq.REQ)
    req.connect(f"tcp://{HOST}:{PORT}")
    for frame in (
        {"type": "join", "nick": NICK},
        {"type": "message", "nick": NICK, "message": "hello"},
        {"type": "list"},
    ):
        req.send(pickle.dumps(frame))
        logging.info("%s: %r", frame["type"], pickle.loads(req.recv()))
    time.sleep(STAY)
    req.send(pickle.dumps({"type": "leave", "nick": NICK}))
    req.recv()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
