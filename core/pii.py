"""Personal data at rest: sealed by the application under a keyring (PII_KEY, PII_OLD_KEYS), with a keyed matching hash.

The keys live outside the database (server/config.py), so a dump of the database shows no ID or phone number.
Every ciphertext names the key that made it by a key id derived from the key, so a rotation (sync/rekey.py) can
tell what is left to re-seal; values made before key ids (no id) are opened by trying each configured key.

- bytes (person.id_card_encrypted): version byte 1, the 4-byte key id, a 12-byte nonce, AES-GCM ciphertext;
- text in a stored payload: "enc:<key id>:<base64 of nonce + ciphertext>", randomised and bound to its row;
- a compared value (a phone in evidence, properties, history): "pii:<key id>:<base64>", AES-SIV with the property
  name as associated data, so the same number under the same key seals to the same text and merges like clear text;
- an ID number where values are compared: "hash:<hex>", its keyed hash, which no key opens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

NONCE_BYTES = 12
VERSION = 1  # the first byte of a ciphertext that names its key; one made before key ids has no header
KEY_ID_BYTES = 4
HEADER_BYTES = 1 + KEY_ID_BYTES
SEALED = "enc:"  # how a sealed value starts in a stored payload; an ID number (18 characters of [0-9X]) never does
COMPARABLE = "pii:"  # how a deterministic seal starts; a phone number never does
ID_CARD_PROPERTIES = frozenset({"person.id_card_no", "household.householder_id_card_no"})
# Compared and merged by reconciliation, so sealed deterministically wherever they are stored (issue 11).
PHONE_PROPERTIES = frozenset({"household.phone", "village.contact_phone"})


class PiiKeyError(ValueError):
    """A configured key is not 32 bytes of base64."""


class UnreadableSeal(ValueError):
    """No configured key opens this value: its key was removed from the configuration too soon, or it was altered."""


def key_id(secret: bytes) -> str:
    """8 hex characters naming a key; derived, never configured, and telling nothing of the key."""
    return hashlib.sha256(b"survey pii key id\x00" + secret).hexdigest()[:2 * KEY_ID_BYTES]


@dataclass(frozen=True)
class _Key:
    id: str
    cipher: AESGCM
    matching: bytes
    comparable: AESSIV

    @classmethod
    def of(cls, secret: bytes) -> _Key:
        if len(secret) != 32:
            raise PiiKeyError("PII_KEY and PII_OLD_KEYS take 32 random bytes each, base64-encoded "
                              "(e.g. `openssl rand -base64 32`).")

        def derive(label: bytes) -> bytes:  # one secret, separate keys for each use
            return hmac.digest(secret, label, hashlib.sha256)

        return cls(key_id(secret), AESGCM(derive(b"survey pii encryption")), derive(b"survey pii matching"),
                   AESSIV(derive(b"survey pii comparable 1") + derive(b"survey pii comparable 2")))

    @property
    def header(self) -> bytes:
        return bytes([VERSION]) + bytes.fromhex(self.id)


class Protector:
    """The keyring: seals with the current key, opens what any configured key sealed."""

    def __init__(self, key: bytes, old_keys: Iterable[bytes] = ()):
        self._current = _Key.of(key)
        self._keys = {self._current.id: self._current}
        for secret in old_keys:
            old = _Key.of(secret)
            self._keys.setdefault(old.id, old)

    @classmethod
    def from_base64(cls, key: str, old_keys: str = "") -> Protector:
        """The keyring of PII_KEY and PII_OLD_KEYS (comma-separated)."""
        return cls(_decoded("PII_KEY", key), [_decoded("PII_OLD_KEYS", text) for text in old_keys.split(",")
                                              if text.strip()])

    @property
    def key_id(self) -> str:
        """The id of the current key, the one everything is sealed with."""
        return self._current.id

    @property
    def old_key_ids(self) -> frozenset[str]:
        return frozenset(self._keys) - {self._current.id}

    def encrypt(self, plain: str, context: bytes = b"") -> bytes:
        """Header, nonce and ciphertext; `context` (e.g. the person's id) binds it to its row, so it cannot be moved."""
        header, nonce = self._current.header, os.urandom(NONCE_BYTES)
        return header + nonce + self._current.cipher.encrypt(nonce, plain.encode(), header + context)

    def decrypt(self, sealed: bytes, context: bytes = b"") -> str:
        """The clear text of encrypt()'s bytes, or of bytes made before key ids (nonce and ciphertext).

        Raises:
            UnreadableSeal: no configured key opens it.
        """
        named = sealed[1:HEADER_BYTES].hex() if sealed[:1] == bytes([VERSION]) else None
        if named in self._keys:
            try:
                return _open(self._keys[named], sealed[HEADER_BYTES:], sealed[:HEADER_BYTES] + context)
            except InvalidTag:
                pass  # an old value whose random nonce happens to begin like a header
        try:
            return self._open_without_id(sealed, context)
        except UnreadableSeal:
            if named is not None and named not in self._keys:
                self._key(named)  # says which key it needs
            raise

    def key_id_of(self, sealed: bytes) -> str | None:
        """The id of the key that made these bytes, None for bytes made before key ids (or by an unknown key)."""
        key_id = sealed[1:HEADER_BYTES].hex()
        return key_id if sealed[:1] == bytes([VERSION]) and key_id in self._keys else None

    def seal(self, plain: str, context: bytes) -> str:
        """encrypt() as text for a JSON document: "enc:<key id>:<base64>"."""
        return f"{SEALED}{self._current.id}:{_b64(self.encrypt(plain, context)[HEADER_BYTES:])}"

    def open(self, value: str, context: bytes) -> str:
        """The clear text of a sealed value (with or without a key id); any other value as it is.

        Raises:
            UnreadableSeal: no configured key opens it.
        """
        if not value.startswith(SEALED):
            return value
        body = value[len(SEALED):]
        if ":" not in body:  # made before key ids (base64 has no colon)
            return self._open_without_id(_unb64(body), context)
        key = self._key(body.partition(":")[0])
        try:
            return _open(key, _unb64(body.partition(":")[2]), key.header + context)
        except InvalidTag as error:
            raise UnreadableSeal(f"key {key.id} does not open this value: it was altered or moved") from error

    def seal_value(self, name: str, value: Any) -> str:
        """The deterministic seal of a compared property's JSON value: "pii:<key id>:<base64>"."""
        if name not in PHONE_PROPERTIES:
            raise ValueError(f"{name} is not sealed deterministically (core.pii.PHONE_PROPERTIES)")
        plain = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        key = self._current
        return f"{COMPARABLE}{key.id}:{_b64(key.comparable.encrypt(plain, [key.header, name.encode()]))}"

    def open_value(self, value: Any) -> Any:
        """The clear JSON value of a deterministic seal; any other value as it is.

        Raises:
            UnreadableSeal: no configured key opens it.
        """
        if not isinstance(value, str) or not value.startswith(COMPARABLE):
            return value
        return self._open_comparable(value)[1]

    def open_stored(self, value: Any, context: bytes | None = None) -> Any:
        """Any stored value in clear: a randomised seal with the context it is bound to (a submission's uuid), a
        deterministic one by itself, anything else as it is.

        Raises:
            UnreadableSeal: no configured key opens it.
        """
        if context is not None and isinstance(value, str) and value.startswith(SEALED):
            return self.open(value, context)
        return self.open_value(value)

    def reseal_value(self, value: Any) -> Any:
        """A deterministic seal made again with the current key (the same text when it already is); any other value
        as it is.

        Raises:
            UnreadableSeal: no configured key opens it.
        """
        if not isinstance(value, str) or not value.startswith(COMPARABLE):
            return value
        return self.seal_value(*self._open_comparable(value))

    def keyed_hash(self, plain: str) -> bytes:
        """The same value always gives the same hash; without the key it cannot be guessed from a list of IDs."""
        return _hash(self._current, plain)

    def keyed_hashes(self, plain: str) -> list[bytes]:
        """The value's hash under every configured key: what a rotation finds it by before re-keying it."""
        return [_hash(key, plain) for key in self._keys.values()]

    def _open_comparable(self, value: str) -> tuple[str, Any]:
        """The property a deterministic seal was made for, and its clear value."""
        key_id, _, body = value[len(COMPARABLE):].partition(":")
        key, sealed = self._key(key_id), _unb64(body)
        # AES-SIV authenticates the associated data: only the property it was sealed for opens it, so trying the few
        # sealed properties tells which one it is, and open_value needs no name.
        for name in sorted(PHONE_PROPERTIES):
            try:
                return name, json.loads(key.comparable.decrypt(sealed, [key.header, name.encode()]))
            except InvalidTag:
                continue
        raise UnreadableSeal(f"key {key.id} does not open this value: it was altered")

    def _key(self, key_id: str) -> _Key:
        key = self._keys.get(key_id)
        if key is None:
            raise UnreadableSeal(f"sealed under key {key_id!r}, which is neither PII_KEY nor in PII_OLD_KEYS")
        return key

    def _open_without_id(self, sealed: bytes, context: bytes) -> str:
        """Values made before key ids name no key: each configured key is tried, the current one first."""
        for key in self._keys.values():
            try:
                return _open(key, sealed, context)
            except InvalidTag:
                continue
        raise UnreadableSeal("no configured key (PII_KEY, PII_OLD_KEYS) opens this value, made before key ids")


def _open(key: _Key, sealed: bytes, associated: bytes) -> str:
    if len(sealed) <= NONCE_BYTES:
        raise InvalidTag
    return key.cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated).decode()


def _hash(key: _Key, plain: str) -> bytes:
    return hmac.digest(key.matching, plain.strip().upper().encode(), hashlib.sha256)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise UnreadableSeal("a sealed value that is not base64: it was altered") from error


def _decoded(name: str, text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error as error:
        raise PiiKeyError(f"{name} is not valid base64: {error}") from error


def mask_id_card(number: str | None) -> str | None:
    """All but the last four characters hidden, for roles without the personal-data grant."""
    if not number:
        return number
    return "*" * max(0, len(number) - 4) + number[-4:]
