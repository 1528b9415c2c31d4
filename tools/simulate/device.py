"""One simulated phone: signs in, pulls what it may see, fills forms offline into an outbox, and syncs it."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from survey_forms.definition import FormDefinition
from tools.simulate import photos
from tools.simulate.client import Client, HttpError, Response
from tools.simulate.knowledge import Knowledge, ProtocolError
from tools.simulate.make import PHOTO_BYTES, Made, make_item
from tools.simulate.plan import Mix, plan
from tools.simulate.stats import Stats

API = "/api/v1"
CHINA = timezone(timedelta(hours=8))
ACKNOWLEDGED = ("accepted", "duplicate")
HELD = ("invalid", "conflict")
# The 401s after which signing in again helps (protocol.md, Authentication); any other 401 (an unknown token, a disabled
# user) would only fail again, so it stops the device like any other refusal.
SIGN_IN_AGAIN = ("token_expired", "token_revoked")


@dataclass(frozen=True)
class DeviceSettings:
    username: str
    password: str
    device_id: str
    label: str = "simulated phone"
    batch: int = 100  # submissions per push request (the server takes at most 200)
    page: int = 500  # changes per pull request
    compress: bool = True  # gzip push bodies, as phones on slow networks do
    members: int | None = None  # household members per household visit; None: formfill's realistic 1-7
    invalid_share: float = 0.0  # share of submissions broken on purpose by a formfill mutation
    mix: Mix = field(default_factory=Mix)
    photo_bytes: tuple[int, int] = PHOTO_BYTES
    uploads: bool = True  # False: push only, as the sync benchmark measures submissions alone
    team: int = 0  # which natural village is its own (tools.simulate.plan)


@dataclass(frozen=True)
class Held:
    """A submission the server stored but did not accept (invalid) or refused to overwrite (conflict)."""

    status: str
    errors: list[dict[str, Any]]


class Device:
    def __init__(self, client: Client, settings: DeviceSettings, rng: random.Random):
        self.client = client
        self.settings = settings
        self.rng = rng
        self.scope: list[str] = []
        self.token_id: str | None = None
        self.knowledge = Knowledge()
        self.definitions: dict[tuple[str, int], FormDefinition] = {}
        self.made: dict[str, Made] = {}  # every submission this device made, kept for resends
        self.outbox: dict[str, dict[str, Any]] = {}  # waiting for an acknowledgement, oldest first
        self.ledger: dict[str, str] = {}  # acknowledged UUIDs and their first answer (accepted or duplicate)
        self.held: dict[str, Held] = {}
        self.uploaded: set[tuple[str, str]] = set()  # (uuid, file name) the server confirmed
        self.complete: set[str] = set()  # submissions the server said have every declared file
        self.stats = Stats()
        self.unaccounted: list[str] = []  # set by verify()
        self._forms_etag: str | None = None
        self.clock: datetime | None = None  # when the last visit made on this phone was collected

    def login(self) -> None:
        answer = self.client.send_json("POST", f"{API}/auth/device-tokens", {
            "username": self.settings.username, "password": self.settings.password,
            "device_id": self.settings.device_id, "device_label": self.settings.label,
        }).json()
        self.client.token, self.token_id, self.scope = answer["token"], answer["token_id"], answer["scope"]

    def pull(self) -> int:
        """Follows the cursor until has_more is false; returns how many changes came."""
        before = self.knowledge.changes
        while True:
            query = {"limit": self.settings.page} | ({"cursor": self.knowledge.cursor} if self.knowledge.cursor else {})
            page = self._call("GET", f"{API}/sync/changes?{urlencode(query)}").json()
            for change in page["changes"]:
                self.knowledge.apply(change)
            if page["has_more"] and not page["changes"] and page.get("cursor") == self.knowledge.cursor:
                raise ProtocolError("the pull says has_more but neither sends changes nor moves the cursor")
            self.knowledge.cursor = page.get("cursor") or self.knowledge.cursor
            if not page["has_more"]:
                return self.knowledge.changes - before

    def refresh_forms(self) -> None:
        """Learns the published forms (GET /forms with its ETag) and fetches the definitions it lacks."""
        headers = {"If-None-Match": self._forms_etag} if self._forms_etag else {}
        answer = self._call("GET", f"{API}/forms", headers=headers)
        if answer.status == 200:
            self._forms_etag = answer.headers.get("ETag")
            for summary in answer.json():
                self.knowledge.learn_form(summary)
        for summary in self.knowledge.forms.values():
            key = (summary["form_id"], summary["version"])
            if key not in self.definitions:
                self.definitions[key] = self._fetch_definition(summary)

    def collect(self, count: int) -> list[Made]:
        """Fills `count` submissions offline, about what the device knows, and puts them in the outbox."""
        forms = [self.definitions[(f["form_id"], f["version"])] for f in self.knowledge.forms.values()
                 if (f["form_id"], f["version"]) in self.definitions]
        made = []
        for form, subject in plan(self.knowledge, forms, self.rng, count, self.settings.mix, self.settings.team):
            broken = self.rng.random() < self.settings.invalid_share
            one = make_item(form, subject, self.rng, members=self.settings.members, broken=broken,
                            photo_bytes=self.settings.photo_bytes, not_before=self.clock)
            self.clock = datetime.fromisoformat(one.item["collected_at"])
            self.made[one.uuid] = one
            self.outbox[one.uuid] = one.item
            made.append(one)
        return made

    def sync(self) -> Counter[str]:
        """One pass over the outbox in batches; returns the per-item results of this pass.

        Raises:
            GaveUp: the server stayed out of reach; what is left stays in the outbox.
        """
        tally: Counter[str] = Counter()
        for uid in list(self.ledger):  # files an earlier pass could not upload
            self._upload(self.made[uid].item, None)
        waiting = list(self.outbox.values())
        for start in range(0, len(waiting), self.settings.batch):
            for item, result in self._push(waiting[start:start + self.settings.batch]):
                self._settle(item, result, tally)
        return tally

    def requeue(self, uuids: list[str]) -> None:
        """Puts submissions made earlier back in the outbox, as a phone that lost its sent marks would."""
        for uid in uuids:
            self.outbox[uid] = self.made[uid].item

    def verify(self) -> list[str]:
        """Sends every acknowledged submission again: the UUIDs not answered `duplicate` are unaccounted for."""
        items = [self.made[uid].item for uid in self.ledger]
        unaccounted = []
        for start in range(0, len(items), self.settings.batch):
            batch = items[start:start + self.settings.batch]
            answered = {item["uuid"]: result for item, result in self._push(batch)}
            unaccounted += [i["uuid"] for i in batch if answered.get(i["uuid"], {}).get("status") != "duplicate"]
        self.unaccounted = unaccounted
        return unaccounted

    def accounting_problems(self) -> list[str]:
        """Every submission made is in exactly one place: acknowledged, held aside, or still in the outbox."""
        acked, held, waiting = self.ledger.keys(), self.held.keys(), self.outbox.keys()
        problems = [f"{uid} is acknowledged and still in the outbox" for uid in acked & waiting]
        problems += [f"{uid} is acknowledged and held as {self.held[uid].status}" for uid in acked & held]
        problems += [f"{uid} was made and is nowhere" for uid in self.made.keys() - acked - held - waiting]
        return problems

    def _push(self, items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(item, result) for each item the server answered; a 413 splits the batch in two."""
        body = {"device_id": self.settings.device_id, "sent_at": datetime.now(CHINA).isoformat(timespec="seconds"),
                "submissions": items}
        try:
            answer = self._call("POST", f"{API}/sync/submissions", payload=body)
        except HttpError as error:
            if error.status == 413 and len(items) > 1:
                half = len(items) // 2
                return self._push(items[:half]) + self._push(items[half:])
            self.stats.http_errors[f"push {error.status} {error.code}"] += 1
            return []
        results = answer.json()["results"]
        self.stats.push_requests += 1
        self.stats.pushed += len(items)
        self.stats.latencies.append(answer.seconds)
        if [r.get("uuid") for r in results] != [i["uuid"] for i in items]:
            self.stats.protocol_errors.append(f"a push of {len(items)} items got {len(results)} results, not one each in order")
        by_uuid = {r.get("uuid"): r for r in results}
        return [(item, by_uuid[item["uuid"]]) for item in items if item["uuid"] in by_uuid]

    def _settle(self, item: dict[str, Any], result: dict[str, Any], tally: Counter[str]) -> None:
        uid, status = item["uuid"], result.get("status")
        tally[status] += 1
        self.stats.statuses[status] += 1
        broken = self.made[uid].broken if uid in self.made else None
        if status in ACKNOWLEDGED:
            self.ledger.setdefault(uid, status)
            self.outbox.pop(uid, None)
            self.held.pop(uid, None)
            if broken:
                self.stats.surprises.append(f"{uid} broken by {broken} was answered {status}")
            self._upload(item, result.get("missing_attachments") if status == "accepted" else None)
        elif status in HELD:
            self.outbox.pop(uid, None)
            self.held[uid] = Held(status, result.get("errors", []))
            if status == "invalid" and not broken:
                self.stats.surprises.append(f"{uid} meant valid was answered invalid: {result.get('errors')}")
        else:
            self.stats.protocol_errors.append(f"{uid}: unknown status {status!r}")

    def _upload(self, item: dict[str, Any], missing: list[str] | None) -> None:
        """PUTs the declared files the server lacks (all not yet confirmed, when it did not say)."""
        if not self.settings.uploads:
            return
        uid = item["uuid"]
        declared = {a["name"]: a for a in item.get("attachments") or []}
        for name in declared if missing is None else missing:
            if (uid, name) in self.uploaded or name not in declared:
                continue
            spec = declared[name]
            headers = {"Content-Type": spec["content_type"], "X-Content-SHA256": spec["sha256"]}
            try:
                answer = self._call("PUT", f"{API}/submissions/{uid}/attachments/{quote(name, safe='')}",
                                    body=photos.file_bytes(uid, name, spec["size"]), headers=headers)
            except HttpError as error:
                self.stats.http_errors[f"attachment {error.status} {error.code}"] += 1
                continue
            self.uploaded.add((uid, name))
            if answer.status == 201:
                self.stats.files_stored += 1
            else:
                self.stats.files_again += 1
            if answer.json().get("complete"):
                self.complete.add(uid)

    def _fetch_definition(self, summary: dict[str, Any]) -> FormDefinition:
        answer = self._call("GET", f"{API}/forms/{quote(summary['form_id'], safe='')}/versions/{summary['version']}")
        if hashlib.sha256(answer.body).hexdigest() != summary["sha256"]:
            raise ProtocolError(f"{summary['form_id']} v{summary['version']}: the definition's bytes differ from its sha256")
        return FormDefinition.from_document(json.loads(answer.body))

    def _call(self, method: str, path: str, *, payload: Any = None, body: bytes = b"",
              headers: dict[str, str] | None = None) -> Response:
        """One request; a 401 token_revoked or token_expired signs in again (same device_id) and sends it once more.

        The outbox is not touched here: what was acknowledged stays in the ledger, what was not stays to be sent.
        """
        try:
            return self._send(method, path, payload, body, headers)
        except HttpError as error:
            if error.status != 401 or error.code not in SIGN_IN_AGAIN:
                raise
            self.stats.signed_in_again[error.code] += 1
        self.login()
        return self._send(method, path, payload, body, headers)

    def _send(self, method: str, path: str, payload: Any, body: bytes, headers: dict[str, str] | None) -> Response:
        if payload is not None:
            return self.client.send_json(method, path, payload, compress=self.settings.compress)
        return self.client.request(method, path, body=body, headers=headers)
