"""The PII keyring: key ids on every ciphertext, values from before key ids still open, deterministic phone seals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.pii import PiiKeyError, Protector, UnreadableSeal, key_id

KEY_A, KEY_B = b"A" * 32, b"B" * 32
CONTEXT = b"the row's id"


def _before_key_ids(key: bytes, plain: str, context: bytes) -> bytes:
    """A ciphertext as core.pii made it before key ids: nonce + AES-GCM, the key derived the same way."""
    nonce = os.urandom(12)
    return nonce + AESGCM(hmac.digest(key, b"survey pii encryption", hashlib.sha256)).encrypt(nonce, plain.encode(), context)


def test_a_key_id_is_derived_from_the_key_and_names_every_ciphertext():
    a = Protector(KEY_A)
    assert re.fullmatch(r"[0-9a-f]{8}", a.key_id) and a.key_id == key_id(KEY_A) != key_id(KEY_B)
    sealed = a.seal("11010519491231002X", CONTEXT)
    assert re.fullmatch(rf"enc:{a.key_id}:[A-Za-z0-9+/]+=*", sealed) and "1101051949" not in sealed
    encrypted = a.encrypt("11010519491231002X", CONTEXT)
    assert encrypted[0] == 1 and encrypted[1:5].hex() == a.key_id and a.key_id_of(encrypted) == a.key_id
    assert a.open(sealed, CONTEXT) == a.decrypt(encrypted, CONTEXT) == "11010519491231002X"
    with pytest.raises(UnreadableSeal):
        a.open(sealed, b"another row")  # bound to its row: it cannot be moved


def test_old_keys_open_what_they_sealed_and_nothing_opens_without_them():
    a, rotating, b = Protector(KEY_A), Protector(KEY_B, [KEY_A]), Protector(KEY_B)
    sealed, encrypted = a.seal("13800138000", CONTEXT), a.encrypt("13800138000", CONTEXT)
    assert rotating.open(sealed, CONTEXT) == rotating.decrypt(encrypted, CONTEXT) == "13800138000"
    assert rotating.key_id == b.key_id and rotating.old_key_ids == {a.key_id}
    assert rotating.seal("x", CONTEXT).startswith(f"enc:{b.key_id}:")  # new values under the current key only
    with pytest.raises(UnreadableSeal, match=a.key_id):
        b.open(sealed, CONTEXT)
    with pytest.raises(UnreadableSeal, match=a.key_id):
        b.decrypt(encrypted, CONTEXT)


def test_values_made_before_key_ids_still_open_with_whichever_key_made_them():
    legacy = _before_key_ids(KEY_A, "11010519491231002X", CONTEXT)
    text = "enc:" + base64.b64encode(legacy).decode()
    for protector in (Protector(KEY_A), Protector(KEY_B, [KEY_A])):
        assert protector.decrypt(legacy, CONTEXT) == protector.open(text, CONTEXT) == "11010519491231002X"
        assert protector.key_id_of(legacy) is None
    with pytest.raises(UnreadableSeal):
        Protector(KEY_B).open(text, CONTEXT)


def test_a_phone_seals_to_the_same_text_under_the_same_key_and_property_only():
    a, b = Protector(KEY_A), Protector(KEY_B, [KEY_A])
    sealed = a.seal_value("household.phone", "13800138000")
    assert re.fullmatch(rf"pii:{a.key_id}:[A-Za-z0-9+/]+=*", sealed) and "13800138000" not in sealed
    assert sealed == a.seal_value("household.phone", "13800138000") != a.seal_value("household.phone", "13800138001")
    assert sealed != a.seal_value("village.contact_phone", "13800138000")  # the property is associated data
    assert a.open_value(sealed) == b.open_value(sealed) == "13800138000"
    assert [a.open_value(v) for v in ("plain", 42, None, "hash:ab")] == ["plain", 42, None, "hash:ab"]
    resealed = b.reseal_value(sealed)
    assert resealed == b.seal_value("household.phone", "13800138000") and resealed.startswith(f"pii:{b.key_id}:")
    with pytest.raises(UnreadableSeal):
        Protector(KEY_B).open_value(sealed)
    with pytest.raises(UnreadableSeal):
        a.open_value(sealed[:-6] + "AAAA==")  # altered
    with pytest.raises(ValueError, match="not sealed deterministically"):
        a.seal_value("household.householder_name", "杨建华")


def test_the_matching_hash_depends_on_the_key_and_a_rotation_can_find_the_old_one():
    a, b = Protector(KEY_A), Protector(KEY_B, [KEY_A])
    assert a.keyed_hash("11010519491231002x ") == a.keyed_hash("11010519491231002X") != b.keyed_hash("11010519491231002X")
    assert set(b.keyed_hashes("11010519491231002X")) == {a.keyed_hash("11010519491231002X"),
                                                         b.keyed_hash("11010519491231002X")}


def test_configured_keys_are_checked():
    text_a, text_b = base64.b64encode(KEY_A).decode(), base64.b64encode(KEY_B).decode()
    assert Protector.from_base64(text_b, f" {text_a} ,").old_key_ids == {key_id(KEY_A)}
    assert Protector.from_base64(text_b, "").old_key_ids == frozenset()
    with pytest.raises(PiiKeyError, match="PII_OLD_KEYS is not valid base64"):
        Protector.from_base64(text_b, "not base64!")
    with pytest.raises(PiiKeyError, match="32 random bytes"):
        Protector.from_base64(text_b, base64.b64encode(b"short").decode())
