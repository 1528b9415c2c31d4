"""Personal data at rest: ID-card numbers encrypted by the application (AES-GCM) and a keyed hash for matching.

The key lives outside the database (PII_KEY, server/config.py), so a dump of the database shows no ID number, and
the keyed hash lets reconciliation find the same person again without decrypting anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
SEALED = "enc:"  # how a sealed value starts in a stored payload; an ID number (18 characters of [0-9X]) never does


class PiiKeyError(ValueError):
    """The configured key is not 32 bytes of base64."""


class Protector:
    def __init__(self, key: bytes):
        if len(key) != 32:
            raise PiiKeyError("PII_KEY must be 32 random bytes, base64-encoded (e.g. `openssl rand -base64 32`).")
        # One secret, two uses: separate keys derived for encryption and for hashing.
        self._cipher = AESGCM(hmac.digest(key, b"survey pii encryption", hashlib.sha256))
        self._hash_key = hmac.digest(key, b"survey pii matching", hashlib.sha256)

    @classmethod
    def from_base64(cls, text: str) -> Protector:
        try:
            return cls(base64.b64decode(text, validate=True))
        except ValueError as error:
            raise PiiKeyError(f"PII_KEY is not valid base64: {error}") from error

    def encrypt(self, plain: str, context: bytes = b"") -> bytes:
        """nonce + ciphertext; `context` (e.g. the person's id) binds it to its row, so it cannot be moved."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher.encrypt(nonce, plain.encode(), context)

    def decrypt(self, sealed: bytes, context: bytes = b"") -> str:
        return self._cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context).decode()

    def seal(self, plain: str, context: bytes) -> str:
        """encrypt() as text for a JSON document: "enc:" and base64."""
        return SEALED + base64.b64encode(self.encrypt(plain, context)).decode()

    def open(self, value: str, context: bytes) -> str:
        """The clear text of a sealed value; any other value as it is."""
        return self.decrypt(base64.b64decode(value[len(SEALED):]), context) if value.startswith(SEALED) else value

    def keyed_hash(self, plain: str) -> bytes:
        """The same value always gives the same hash; without the key it cannot be guessed from a list of IDs."""
        return hmac.digest(self._hash_key, plain.strip().upper().encode(), hashlib.sha256)


def mask_id_card(number: str | None) -> str | None:
    """All but the last four characters hidden, for roles without the personal-data grant."""
    if not number:
        return number
    return "*" * max(0, len(number) - 4) + number[-4:]
