"""Builders for areas and users, made through the same domain functions the CLI uses."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from server.models import Area, AreaLevel, Role, User
from server.services import users

PASSWORD = "cangshan-erhai-butterfly-spring"

# A small real hierarchy: Yunnan, Dali, and two of its counties (漾濞 and 剑川).
AREAS = [
    ("53", AreaLevel.province, None, "云南省"),
    ("5329", AreaLevel.prefecture, "53", "大理白族自治州"),
    ("532922", AreaLevel.county, "5329", "漾濞彝族自治县"),
    ("532931", AreaLevel.county, "5329", "剑川县"),
    ("532922100", AreaLevel.township, "532922", "苍山西镇"),
    ("532931101", AreaLevel.township, "532931", "沙溪镇"),
]


@pytest.fixture
def areas(db_session: Session) -> list[Area]:
    rows = [Area(code=c, level=lv, parent_code=p, name_zh=n) for c, lv, p, n in AREAS]
    db_session.add_all(rows)
    db_session.commit()
    return rows


@pytest.fixture
def make_user(db_session: Session, areas: list[Area]) -> Callable[..., User]:
    def make(username: str, role: Role = Role.enumerator, scope: tuple[str, ...] = ("532922",)) -> User:
        user = users.create_user(db_session, username, role, list(scope), PASSWORD, actor="test")
        db_session.commit()
        return user

    return make


@pytest.fixture
def sign_in(client) -> Callable[..., dict]:
    """Signs a device in through the API; returns the answer's JSON with an `auth` header dict.

    The default device is the one tests.sync.conftest.batch() names: a token pushes only for its own device.
    """

    def sign(username: str, password: str = PASSWORD, device_id: str = "phone-1") -> dict:
        answer = client.post(
            "/api/v1/auth/device-tokens",
            json={"username": username, "password": password, "device_id": device_id, "device_label": "phone"},
        )
        assert answer.status_code == 201, answer.json
        body = answer.json
        body["auth"] = {"Authorization": f"Bearer {body['token']}"}
        return body

    return sign
