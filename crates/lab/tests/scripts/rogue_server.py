"""The rogue server: the AE server, turned against its users. It cannot
read a token, but it can alter one, relay it under another nick, and send
it again.

Written in the lab's style for the tests of `make grade STEP=rogue
CMD=...`, on the AE server of this folder.
"""

import base64
import logging

from AEServer import AEServer, BROADCAST_PORT, PORT

IMPERSONATED = "mallory"
ATTACKS = ("tamper", "impersonate", "replay")


def tamper(packet: dict) -> dict:
    """Flips a bit of the ciphertext: the token keeps its shape."""
    token = bytearray(base64.urlsafe_b64decode(packet["message"]["token"]))
    token[-40] ^= 0x01
    message = dict(packet["message"], token=base64.urlsafe_b64encode(bytes(token)).decode())
    return dict(packet, message=message)


class RogueServer(AEServer):
    """Relays each message attacked, one attack after the other."""

    def __init__(self, port: int, broadcast_port: int):
        super().__init__(port, broadcast_port)
        self._count = 0

    def on_message(self, packet: dict):
        attack = ATTACKS[self._count % len(ATTACKS)]
        self._count += 1
        logging.info("%s: %r", attack, packet["nick"])
        if attack == "tamper":
            return tamper(packet), "ok"
        if attack == "impersonate":
            return dict(packet, nick=IMPERSONATED), "ok"
        self._pub.send(self._serial_function(packet))
        return packet, "ok"


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    RogueServer(PORT, BROADCAST_PORT).run()
