"""The device's HTTP client retries what a phone should wait out, and nothing else."""

from __future__ import annotations

import random
import socket

import pytest

from tests.live.scripted import CUT, STALL, scripted_server
from tools.simulate import Client, GaveUp, HttpError, RetryPolicy

POLICY = RetryPolicy(attempts=4, base_seconds=0.5, cap_seconds=2.0)


def client(url: str, waits: list[float], timeout: float = 5.0) -> Client:
    return Client(url, timeout=timeout, policy=POLICY, rng=random.Random(1), sleep=waits.append)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_busy_or_unreachable_answers_are_sent_again(status):
    waits: list[float] = []
    with scripted_server((status, {}), (status, {})) as (url, script):
        answer = client(url, waits).request("GET", "/x")
    assert answer.status == 200
    assert len(script.requests) == 3
    assert len(waits) == 2 and all(0 <= w <= POLICY.cap_seconds for w in waits)


def test_retry_after_is_waited_out_before_sending_again():
    waits: list[float] = []
    with scripted_server((503, {"Retry-After": "7"}), (429, {"Retry-After": "3"})) as (url, _):
        device = client(url, waits)
        device.request("POST", "/x", body=b"{}")
    assert waits[0] >= 7 and waits[1] >= 3
    assert device.retries == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 415, 422, 500])
def test_other_errors_are_not_sent_again(status):
    waits: list[float] = []
    with scripted_server((status, {})) as (url, script):
        with pytest.raises(HttpError) as raised:
            client(url, waits).request("POST", "/x", body=b"{}")
    assert raised.value.status == status and raised.value.code == "scripted"
    assert len(script.requests) == 1 and waits == []


def test_a_connection_cut_before_the_answer_is_sent_again():
    waits: list[float] = []
    with scripted_server(CUT, CUT) as (url, script):
        answer = client(url, waits).request("POST", "/x", body=b"{}")
    assert answer.status == 200 and len(script.requests) == 3


def test_a_timeout_is_sent_again():
    waits: list[float] = []
    with scripted_server(STALL) as (url, script):
        answer = client(url, waits, timeout=0.3).request("GET", "/x")
    assert answer.status == 200 and len(script.requests) == 2


def test_a_server_that_stays_away_is_given_up_on_after_the_policy_attempts():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again below: nothing listens there
    waits: list[float] = []
    with pytest.raises(GaveUp):
        client(f"http://127.0.0.1:{port}", waits).request("GET", "/x")
    assert len(waits) == POLICY.attempts - 1
    # Exponential ceilings with full jitter: each wait is below base * 2**attempt, capped.
    assert all(w <= min(POLICY.cap_seconds, POLICY.base_seconds * 2 ** i) for i, w in enumerate(waits))
