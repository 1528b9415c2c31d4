"""Builders for push tests: the small test form published, and submission items made from it."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from server.services import forms
from tests.server.conftest import areas, make_user, sign_in  # noqa: F401 (fixtures shared with the server tests)
from tests.survey_forms.helpers import VALID_SUBMISSION, small_form

AREA = "532922100"  # in 漾濞 (532922), the enumerator's county


@pytest.fixture
def published(db_session):
    forms.publish(db_session, [small_form()], actor="test")
    db_session.commit()


def item(**changes: Any) -> dict[str, Any]:
    base = {
        "uuid": str(uuid.uuid4()), "form_id": "small_household", "form_version": 1,
        "subject": {"type": "household", "id": None, "area_code": AREA}, "base_version": None,
        "started_at": "2026-11-20T09:00:00+08:00", "collected_at": "2026-11-20T09:40:00+08:00",
        "gps": {"lat": 25.67, "lon": 99.95, "accuracy_m": 8.0, "altitude_m": 1650},
        "data": copy.deepcopy(VALID_SUBMISSION), "supersedes": None,
        "attachments": [{"name": "house_front.jpg", "sha256": "a" * 64, "size": 412345, "content_type": "image/jpeg"}],
    }
    base.update(changes)
    return base


def batch(items: list[dict[str, Any]], sent_at: str = "2026-11-22T09:30:00+08:00") -> dict[str, Any]:
    return {"device_id": "phone-1", "sent_at": sent_at, "submissions": items}
