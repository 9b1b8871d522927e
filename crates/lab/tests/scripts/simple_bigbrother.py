"""Big brother: reads every conversation of the chat without joining it.

The chat's server publishes every message on its broadcast port to whoever
subscribes; nothing asks who is listening. Written in the lab's style, for
the tests of `make grade STEP=bigbrother CMD=...`.
"""

import logging
import os
import pickle

import zmq

HOST = os.environ.get("CHAT_HOST", "localhost")
BROADCAST_PORT = int(os.environ.get("CHAT_BROADCAST_PORT", "6667"))


class SimpleBigBrother:
    """A subscriber and nothing else: it never sends a request."""

    def __init__(self, host: str, broadcast_port: int):
        self._context = zmq.Context()
        self._sub = self._context.socket(zmq.SUB)
        self._sub.connect(f"tcp://{host}:{broadcast_port}")
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")

    def run(self):
        while True:
            packet = pickle.loads(self._sub.recv())
            print(f"{packet['nick']} : {packet['message']}", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    SimpleBigBrother(HOST, BROADCAST_PORT).run()
