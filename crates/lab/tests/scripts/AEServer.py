"""The AE server: the simple server, its pickle swapped for msgpack, which
builds data and runs nothing.

A standalone rendition of the lab's SimpleServer (REP for requests, PUB for
broadcasts, a set of nicks), written in the lab's style for the tests of
`make grade STEP=msgpack-server CMD=...`.
"""

import logging
import os

import msgpack
import zmq

HOST = os.environ.get("CHAT_HOST", "localhost")
PORT = int(os.environ.get("CHAT_PORT", "6666"))
BROADCAST_PORT = int(os.environ.get("CHAT_BROADCAST_PORT", "6667"))


class AEServer:
    """Answers join, leave, message and list; relays each message."""

    _serial_function = staticmethod(msgpack.packb)
    _deserial_function = staticmethod(msgpack.unpackb)

    def __init__(self, port: int, broadcast_port: int):
        self._context = zmq.Context()
        self._rep = self._context.socket(zmq.REP)
        self._rep.bind(f"tcp://*:{port}")
        self._pub = self._context.socket(zmq.PUB)
        self._pub.bind(f"tcp://*:{broadcast_port}")
        self._nicks = []
        self._callbacks = {
            "join": self.on_join,
            "leave": self.on_leave,
            "message": self.on_message,
            "list": self.on_list,
        }

    def on_join(self, packet: dict):
        if packet["nick"] in self._nicks:
            return None, "ko"
        self._nicks.append(packet["nick"])
        return None, "ok"

    def on_leave(self, packet: dict):
        if packet["nick"] not in self._nicks:
            return None, "ko"
        self._nicks.remove(packet["nick"])
        return None, "ok"

    def on_message(self, packet: dict):
        logging.info("Client %r sent message %r", packet["nick"], packet["message"])
        return packet, "ok"

    def on_list(self, packet: dict):
        return None, list(self._nicks)

    def run(self):
        while True:
            packet = self._deserial_function(self._rep.recv())
            broadcast, response = self._callbacks[packet["type"]](packet)
            self._rep.send(self._serial_function({"response": response}))
            if broadcast is not None:
                self._pub.send(self._serial_function(broadcast))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    AEServer(PORT, BROADCAST_PORT).run()
