"""Reliability S12: a photo sent at 2G speed and a hundred slow or idle connections, while others are timed.

`run(Scenario(...))` drives it against a server URL (the proxy of `make run` in front of gunicorn) and returns the
Figures; bench/s12_slow_links.py (its own server, a 20 MB photo) and tests/live/test_slow_links.py (the shared
live server, a 1 MB photo) both call it. Everything is plain sockets and urllib, as a phone on a weak link would be.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from schemas.form_definition import form_definition_schema
from survey_forms import loader
from tools import formfill

CHUNK_SECONDS = 0.1  # the photo goes out in ten small writes a second


@dataclass(frozen=True)
class Scenario:
    url: str
    username: str
    password: str
    village_code: str  # a natural village in the user's scope, for the household visit the photo belongs to
    photo_bytes: int = 1024 * 1024
    bytes_per_second: int = 25_000  # 2G: 25 kB/s
    slow_connections: int = 100  # half trickle their headers, half their bodies
    trickle_every: float = 5.0  # seconds between two trickled lines or bytes


@dataclass
class Figures:
    photo_status: int | None = None
    photo_seconds: float = 0.0
    photo_stored_whole: bool = False
    health_ms: list[float] = field(default_factory=list)
    push_ms: list[float] = field(default_factory=list)
    health_failures: int = 0
    push_failures: int = 0
    slow_open_at_end: int = 0  # slow connections the server still held when the photo was done

    def lines(self) -> list[str]:
        worst = max(self.health_ms, default=0.0)
        return [
            f"S12: slow photo stored: {'yes' if self.photo_stored_whole else 'no'} (HTTP {self.photo_status}, "
            f"{self.photo_seconds:.0f} s); worst /healthz latency under slow connections: {worst:.0f} ms "
            f"({len(self.health_ms)} probes, {self.health_failures} failed); worst push from another device: "
            f"{max(self.push_ms, default=0.0):.0f} ms ({len(self.push_ms)} pushes, {self.push_failures} failed); "
            f"slow connections still open at the end: {self.slow_open_at_end}",
        ]


def run(scenario: Scenario) -> Figures:
    figures = Figures()
    photo = random.Random(12).randbytes(scenario.photo_bytes)  # noqa: S311 - test data
    digest = hashlib.sha256(photo).hexdigest()
    slow_token = _sign_in(scenario, "s12-slow-phone")
    probe_token = _sign_in(scenario, "s12-probe-phone")
    data = _household_data(scenario.village_code)
    item = _item(scenario.village_code, data, [{"name": "house_front.jpg", "sha256": digest, "size": len(photo),
                                                "content_type": "image/jpeg"}])
    status, answer = _push(scenario.url, slow_token, "s12-slow-phone", [item])
    if status != 200 or answer["results"][0]["status"] != "accepted":
        raise RuntimeError(f"the visit for the photo was not accepted: {status} {answer}")
    _push(scenario.url, probe_token, "s12-probe-phone", [_item(scenario.village_code, data)])  # warm, untimed

    done = threading.Event()
    slow = [threading.Thread(target=_trickle, args=(scenario, index % 2 == 0, slow_token, item["uuid"], done),
                             daemon=True) for index in range(scenario.slow_connections)]
    for thread in slow:
        thread.start()
    probes = threading.Thread(target=_probe, args=(scenario, probe_token, data, figures, done), daemon=True)
    probes.start()
    started = time.monotonic()
    figures.photo_status, body = _put_slowly(scenario, slow_token, item["uuid"], photo, digest)
    figures.photo_seconds = time.monotonic() - started
    figures.photo_stored_whole = figures.photo_status == 201 and body.get("complete") is True
    figures.slow_open_at_end = sum(thread.is_alive() for thread in slow)
    done.set()
    probes.join()
    for thread in slow:
        thread.join(timeout=scenario.trickle_every + 5)
    return figures


def _sign_in(scenario: Scenario, device_id: str) -> str:
    status, body = _call(f"{scenario.url}/api/v1/auth/device-tokens", "POST", {
        "username": scenario.username, "password": scenario.password, "device_id": device_id})
    if status != 201:
        raise RuntimeError(f"sign-in failed: {status} {body}")
    return body["token"]


def _household_data(village_code: str) -> dict[str, Any]:
    definition = next(d for d in loader.load_all(form_definition_schema()) if d.form_id == "household_visit")
    return {"version": definition.version,
            "data": formfill.fill(definition, random.Random(12), members=4,  # noqa: S311 - test data
                                  overrides={"natural_village_code": village_code})}


def _item(village_code: str, data: dict[str, Any], attachments: list[dict] | None = None) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "form_id": "household_visit", "form_version": data["version"],
            "subject": {"type": "household", "id": None, "area_code": village_code}, "base_version": None,
            "started_at": "2026-11-20T09:00:00+08:00", "collected_at": "2026-11-20T09:40:00+08:00",
            "gps": {"lat": 25.67, "lon": 99.95, "accuracy_m": 8.0}, "data": data["data"], "supersedes": None,
            "attachments": attachments or []}


def _push(url: str, token: str, device_id: str, items: list[dict]) -> tuple[int, Any]:
    return _call(f"{url}/api/v1/sync/submissions", "POST", {"device_id": device_id, "submissions": items},
                 {"Authorization": f"Bearer {token}"})


def _call(url: str, method: str, body: Any, headers: dict[str, str] | None = None,
          timeout: float = 30) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,  # noqa: S310 - our server
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # nosec B310  # noqa: S310 - the server under test
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _connect(scenario: Scenario) -> socket.socket:
    address = urlsplit(scenario.url)
    return socket.create_connection((address.hostname, address.port), timeout=60)


def _put_slowly(scenario: Scenario, token: str, submission_uuid: str, photo: bytes, digest: str) -> tuple[int, dict]:
    """The photo at the scenario's rate, in small writes, as a phone on 2G sends it; the status and JSON answer."""
    head = (f"PUT /api/v1/submissions/{submission_uuid}/attachments/house_front.jpg HTTP/1.1\r\n"
            f"Host: {urlsplit(scenario.url).netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: image/jpeg\r\nX-Content-SHA256: {digest}\r\nContent-Length: {len(photo)}\r\n"
            f"Connection: close\r\n\r\n").encode()
    chunk = max(1, int(scenario.bytes_per_second * CHUNK_SECONDS))
    with _connect(scenario) as connection:
        connection.sendall(head)
        next_at = time.monotonic()
        for start in range(0, len(photo), chunk):
            connection.sendall(photo[start:start + chunk])
            next_at += CHUNK_SECONDS
            time.sleep(max(0.0, next_at - time.monotonic()))
        answer = b""
        while chunk_in := connection.recv(65536):
            answer += chunk_in
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    status = int(status_line.split()[1]) if status_line else 0
    try:
        return status, json.loads(body or b"{}")
    except ValueError:
        return status, {}


def _trickle(scenario: Scenario, headers_only: bool, token: str, submission_uuid: str, done: threading.Event) -> None:
    """A slowloris: headers one line at a time, or a declared body a byte at a time, until told to stop."""
    try:
        with _connect(scenario) as connection:
            if headers_only:
                connection.sendall(b"POST /api/v1/sync/submissions HTTP/1.1\r\nHost: slow\r\n")
            else:
                connection.sendall((f"PUT /api/v1/submissions/{submission_uuid}/attachments/house_front.jpg HTTP/1.1\r\n"
                                    f"Host: slow\r\nAuthorization: Bearer {token}\r\nContent-Type: image/jpeg\r\n"
                                    f"Content-Length: 1000000\r\n\r\n").encode())
            while not done.wait(scenario.trickle_every):
                connection.sendall(b"X-Slow: 1\r\n" if headers_only else b"x")
    except OSError:
        return  # the server closed it: for a connection this slow, that is allowed


def _probe(scenario: Scenario, token: str, data: dict[str, Any], figures: Figures, done: threading.Event) -> None:
    """/healthz four times a second and a one-visit push from another phone once a second, each timed."""
    tick = 0
    while not done.is_set():
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{scenario.url}/healthz", timeout=10) as answer:  # nosec B310  # noqa: S310 - the server under test
                answer.read()
            figures.health_ms.append((time.monotonic() - started) * 1000)
        except OSError:
            figures.health_failures += 1
        if tick % 4 == 0:
            started = time.monotonic()
            try:
                status, _ = _push(scenario.url, token, "s12-probe-phone", [_item(scenario.village_code, data)])
                figures.push_ms.append((time.monotonic() - started) * 1000)
                figures.push_failures += status != 200
            except OSError:
                figures.push_failures += 1
        tick += 1
        done.wait(0.25)
