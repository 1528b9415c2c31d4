"""A local HTTP server that answers from a script, or cuts the connection, for testing the device's retries."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CUT = "cut"  # close the connection without an answer, as a dropped mobile link or a killed worker does
STALL = "stall"  # answer nothing until the client's timeout has passed


@dataclass
class Script:
    """The answers to give, in order: (status, headers) or CUT or STALL; then 200 for ever."""

    answers: list
    requests: list[str] = field(default_factory=list)


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.requests.append(f"{self.command} {self.path}")
            answer = script.answers.pop(0) if script.answers else (200, {})
            if answer == CUT:
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if answer == STALL:
                time.sleep(1.0)
                return
            status, headers = answer
            body = b'{"error": {"code": "scripted"}}' if status >= 400 else b'{"ok": true}'
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def scripted_server(*answers) -> Iterator[tuple[str, Script]]:
    script = Script(list(answers))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
