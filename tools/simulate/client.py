"""HTTP for one simulated device: JSON and file requests, retried with exponential backoff, jitter and Retry-After."""

from __future__ import annotations

import gzip
import http.client
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

# The answers a phone waits out and sends again: throttled, or a proxy or server that is briefly away.
# Every other 4xx is the device's own mistake and a 500 is a server bug: sending again would not help.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "survey-device-simulator/1"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8  # tries per request, the first one included
    base_seconds: float = 0.25  # the first backoff ceiling; it doubles with every failed try
    cap_seconds: float = 20.0  # the backoff ceiling never grows past this
    retry_after_cap_seconds: float = 120.0  # a longer Retry-After is waited only this long


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    seconds: float  # duration of the attempt that got this answer

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def error_code(self) -> str | None:
        """The `error.code` of an API error body, when there is one."""
        try:
            error = self.json().get("error")
        except (ValueError, AttributeError):
            return None
        return error.get("code") if isinstance(error, dict) else None


class HttpError(Exception):
    """An answer that is not retried: a 4xx other than 429, or a 5xx other than 502-504."""

    def __init__(self, method: str, path: str, response: Response):
        self.response = response
        self.status = response.status
        self.code = response.error_code
        super().__init__(f"{method} {path}: {response.status} {self.code or response.body[:200]!r}")


class GaveUp(Exception):
    """Every attempt ended in a connection error, a timeout or a retryable status."""


class Client:
    """One device's connection to the server; `retries` counts the requests sent again."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, policy: RetryPolicy | None = None,
                 rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._connection = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        self._host, self._port, self._prefix = url.hostname, url.port, url.path.rstrip("/")
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self.sleep = sleep
        self.token: str | None = None
        self.retries = 0

    def get_json(self, path: str) -> Any:
        return self.request("GET", path).json()

    def send_json(self, method: str, path: str, payload: Any, *, compress: bool = False) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if compress:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        return self.request(method, path, body=body, headers=headers)

    def request(self, method: str, path: str, *, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Response:
        """The first answer below 400, after retrying what RETRY_STATUSES and connection failures allow.

        Raises:
            HttpError: an answer that is not retried (other 4xx, 500, 501...).
            GaveUp: the policy's attempts ran out.
        """
        problem = ""
        for attempt in range(self.policy.attempts):
            if attempt:
                self.retries += 1
            try:
                response = self._once(method, path, body, headers or {})
            except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, cut mid-answer
                problem, wait = f"{type(error).__name__}: {error}", self._backoff(attempt)
            else:
                if response.status < 400:
                    return response
                if response.status not in RETRY_STATUSES:
                    raise HttpError(method, path, response)
                problem = f"{response.status} {response.error_code or ''}".strip()
                wait = max(self._backoff(attempt), _retry_after(response, self.policy.retry_after_cap_seconds))
            if attempt + 1 < self.policy.attempts:
                self.sleep(wait)
        raise GaveUp(f"{method} {path}: gave up after {self.policy.attempts} attempts (last: {problem})")

    def _backoff(self, attempt: int) -> float:
        # "Full jitter": devices that failed together do not all come back at the same instant.
        ceiling = min(self.policy.cap_seconds, self.policy.base_seconds * 2 ** attempt)
        return self.rng.uniform(0, ceiling)

    def _once(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        sent = {"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        connection = self._connection(self._host, self._port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            connection.request(method, self._prefix + path, body=body or None, headers=sent)
            answer = connection.getresponse()
            data = answer.read()
            return Response(answer.status, dict(answer.headers.items()), data, time.perf_counter() - started)
        finally:
            connection.close()


def _retry_after(response: Response, cap: float) -> float:
    """Seconds the server asked us to wait (delta-seconds or an HTTP date), at most `cap`; 0 when it did not say."""
    value = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 0.0
    return min(max(seconds, 0.0), cap)
