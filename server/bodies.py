"""Request bodies: gzip decompression within the size limit, and JSON that refuses NaN, Infinity and a flood of values."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from flask.json.provider import DefaultJSONProvider

from core.errors import JsonTooLarge
from server.errors import error_body
from sync.limits import MAX_JSON_VALUES


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class StrictJSONProvider(DefaultJSONProvider):
    """UTF-8 out as itself; in, NaN and Infinity are refused (PostgreSQL and the protocol have no such numbers)."""

    ensure_ascii = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        _check_values(s)
        try:
            return json.loads(s, parse_constant=_refuse_constant, **kwargs)
        except RecursionError:
            # A ValueError is what Flask turns into 400 Bad Request, as for any other JSON it cannot read.
            raise ValueError("The JSON is nested too deeply.") from None


def _check_values(text: str | bytes) -> None:
    """Refuses JSON with more than MAX_JSON_VALUES values before parsing it.

    Ten megabytes of `{},` are three million dicts, a quarter of a gigabyte a worker keeps after the request
    (reliability B4). Every value but the first follows a comma or opens an object or array, so counting those
    bytes bounds the count from above (braces and commas inside strings only count more), at C speed.
    """
    marks = (",", "{", "[") if isinstance(text, str) else (b",", b"{", b"[")
    values = 1 + sum(text.count(mark) for mark in marks)  # type: ignore[arg-type]
    if values > MAX_JSON_VALUES:
        raise JsonTooLarge(f"The JSON holds more than {MAX_JSON_VALUES:,} values; send fewer submissions per request. "
                           f"数据项过多，请分批发送。", details={"max_values": MAX_JSON_VALUES})


class GzipRequests:
    """WSGI middleware: inflates `Content-Encoding: gzip` bodies, never past `limit` bytes (no gzip bombs)."""

    def __init__(self, app: Callable, limit: int):
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("HTTP_CONTENT_ENCODING", "").strip().lower() != "gzip":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.limit:
            return _error(start_response, 413, "payload_too_large", f"The compressed body is over {self.limit} bytes.")
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        try:
            body = inflater.decompress(environ["wsgi.input"].read(length), self.limit + 1)
        except zlib.error:
            return _error(start_response, 400, "bad_request", "The body is not valid gzip.")
        if len(body) > self.limit or inflater.unconsumed_tail:
            return _error(start_response, 413, "payload_too_large", f"The body is over {self.limit} bytes once decompressed.")
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        environ.pop("HTTP_CONTENT_ENCODING")
        return self.app(environ, start_response)


def _error(start_response: Callable, status: int, code: str, message: str) -> list[bytes]:
    body = json.dumps(error_body(code, message)).encode()
    reason = {400: "Bad Request", 413: "Request Entity Too Large"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                          ("X-Content-Type-Options", "nosniff")])
    return [body]
