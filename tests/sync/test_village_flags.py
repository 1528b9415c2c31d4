"""Village flags (domain.md 4.3) on the village: in its read API and its history (issue 13, item 6); the pull feed's
village carries them too (tests/sync/test_pull.py)."""

from __future__ import annotations

import random

from survey_forms.definition import FormDefinition
from tests.sync.conftest import batch, item
from tests.sync.test_cross_checks import VILLAGE, auth, village_form  # noqa: F401 (fixtures)
from tools import formfill

URL = "/api/v1/sync/submissions"


def survey(client, auth, definition: FormDefinition, base_version: int | None, **answers) -> None:  # noqa: F811
    data = formfill.fill(definition, random.Random(11), overrides={  # noqa: S311 - test data
        "natural_village_code": VILLAGE, "households_total": 20, "households_resident": 18, "population_total": 80,
        "population_resident": 70, **answers})
    sent = item(form_id="village_infrastructure", form_version=definition.version, data=data, base_version=base_version,
                subject={"type": "village", "id": None, "area_code": VILLAGE}, attachments=[])
    answer = client.post(URL, json=batch([sent]), headers=auth)
    assert answer.json["results"][0]["status"] == "accepted", answer.json


def test_a_villages_flags_are_on_the_village_and_in_its_history(client, auth, village_form):  # noqa: F811
    survey(client, auth, village_form, None, broadband="none")
    view = client.get(f"/api/v1/villages/{VILLAGE}", headers=auth).json
    assert "no_broadband" in view["risk_flags"]
    assert "no_broadband" in view["history"][-1]["risk_flags"]

    survey(client, auth, village_form, 1, broadband="fibre")  # broadband arrived
    view = client.get(f"/api/v1/villages/{VILLAGE}", headers=auth).json
    assert "no_broadband" not in view["risk_flags"]
    assert ["no_broadband" in version["risk_flags"] for version in view["history"]] == [True, False]
