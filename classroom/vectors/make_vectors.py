"""Makes classroom/vectors/ae.json: the AE step's reference, made once by
Python's cryptography, as the lab's AEClient makes its frames.

The score board (make grade) checks a student's AE functions against these:
its decrypt_message opens each token with the password and refuses the one
made under another, and the keys its derive_key_from_password makes open
them too. Run it again only to change the vectors:

    target/interop-venv/bin/python classroom/vectors/make_vectors.py > classroom/vectors/ae.json

(the interop environment, `make interop`, has cryptography).
"""

import base64
import json
import os
import sys

import cryptography
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

ITERATIONS = 100
PASSWORD = "correct horse battery staple"
OTHER_PASSWORD = "s3cret"
MESSAGES = ["hello", "meet me at noon", "élève, ça marche ✓"]


def derive_key_from_password(password: str, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=salt, iterations=ITERATIONS
    )
    return base64.urlsafe_b64encode(kdf.derive(password.encode()))


def sealed(password: str, message: str) -> dict:
    salt = os.urandom(16)
    key = derive_key_from_password(password, salt)
    return {
        "salt": base64.b64encode(salt).decode(),
        "key": key.decode(),
        "message": message,
        "token": Fernet(key).encrypt(message.encode()).decode(),
    }


def main() -> int:
    vectors = {
        "made_by": f"classroom/vectors/make_vectors.py, cryptography {cryptography.__version__}",
        "iterations": ITERATIONS,
        "password": PASSWORD,
        "tokens": [sealed(PASSWORD, message) for message in MESSAGES],
        "other_password": dict(sealed(OTHER_PASSWORD, "not for you"), password=OTHER_PASSWORD),
    }
    json.dump(vectors, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
