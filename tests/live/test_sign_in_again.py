"""A device whose token expired or is unknown, against a live gunicorn: it signs in again only when that helps."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import Engine, text

from tests.live.conftest import ENUMERATOR, LiveServer
from tools.simulate import Client, Device, DeviceSettings, HttpError


def _device(live_server: LiveServer, device_id: str, seed: int) -> Device:
    device = Device(Client(live_server.url), DeviceSettings(ENUMERATOR.username, ENUMERATOR.password, device_id, batch=4),
                    random.Random(seed))
    device.login()
    device.pull()
    device.refresh_forms()
    return device


def _stored(live_db: Engine, device_id: str) -> Counter[str]:
    with live_db.connect() as connection:
        return Counter(connection.scalars(text("select uuid::text from submission where device_id = :device"),
                                          {"device": device_id}))


def test_an_expired_token_signs_in_again_and_every_submission_arrives_once(live_server, live_db):
    device = _device(live_server, "drawer-phone", 7101)
    device.collect(6)
    assert device.sync() == Counter(accepted=6)
    old_token, old_token_id = device.client.token, device.token_id
    # The phone lies in a drawer past DEVICE_TOKEN_IDLE_DAYS (30): its token was last used, and made, 31 days ago.
    with live_db.begin() as connection:
        connection.execute(text("update device_token set created_at = now() - interval '31 days', "
                                "last_seen_at = now() - interval '31 days' where id = cast(:id as uuid)"),
                           {"id": old_token_id})
    stale = Client(live_server.url)
    stale.token = old_token
    with pytest.raises(HttpError) as refused:
        stale.request("GET", "/api/v1/me")
    assert (refused.value.status, refused.value.code) == (401, "token_expired")

    device.collect(7)  # made offline while the token was dead: 7 in the outbox, in two batches
    assert len(device.outbox) == 7
    assert device.sync() == Counter(accepted=7)
    assert device.stats.signed_in_again == Counter(token_expired=1)  # once, then the new token served both batches
    assert device.client.token != old_token and device.token_id != old_token_id
    assert device.outbox == {} and device.held == {} and device.accounting_problems() == []
    assert device.stats.http_errors == Counter()
    assert _stored(live_db, "drawer-phone") == Counter({uid: 1 for uid in device.made})  # all 13, each once
    assert device.verify() == []  # every acknowledgement holds: resent, each is answered duplicate
    with live_db.connect() as connection:
        device_ids = set(connection.scalars(text("select device_id from device_token where id = any(cast(:ids as uuid[]))"),
                                            {"ids": [old_token_id, device.token_id]}))
    assert device_ids == {"drawer-phone"}  # signed in again as the same device


def test_an_unknown_token_is_not_answered_by_signing_in_again(live_server):
    device = _device(live_server, "forged-phone", 7102)
    device.collect(3)
    device.client.token = "not-a-token-this-server-gave"
    assert device.sync() == Counter()  # 401 token_invalid: signing in again would not be the answer
    assert device.stats.signed_in_again == Counter()
    assert device.stats.http_errors == Counter({"push 401 token_invalid": 1})
    assert len(device.outbox) == 3 and device.ledger == {}  # nothing dropped, nothing acknowledged
