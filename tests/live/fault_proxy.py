"""A fault-injecting TCP proxy for one HTTP request per connection: drops answers, cuts uploads.

It stands between a device and gunicorn. Dropping an answer means the server received the whole request and
answered (so it committed), but the device never hears it: the case where a phone loses signal just after
sending. Cutting an upload means the server sees the connection close after the first k bytes of the request.
"""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CHUNK = 64 * 1024


@dataclass
class Faults:
    """What the proxy does to the next connections; tests change it between runs."""

    drop_answer_share: float = 0.0
    cut_request_after: Callable[[], int | None] = lambda: None  # bytes of the request to pass, None for all
    seed: int = 1


@dataclass
class Counts:
    connections: int = 0
    answers_dropped: int = 0
    requests_cut: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: int) -> None:
        with self.lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)


class FaultProxy:
    """Listens on a free local port and forwards each connection to `upstream` (http://host:port)."""

    def __init__(self, upstream: str, faults: Faults | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults = faults or Faults()
        self.counts = Counts()
        self._random = random.Random(self.faults.seed)  # noqa: S311 - fault choice, not secrets
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self.counts.lock:
                drop = self._random.random() < self.faults.drop_answer_share
            cut = self.faults.cut_request_after()
            threading.Thread(target=self._serve, args=(client, drop, cut), daemon=True).start()

    def _serve(self, client: socket.socket, drop: bool, cut: int | None) -> None:
        self.counts.add(connections=1)
        with client, socket.create_connection(self.upstream) as server:
            sending = threading.Thread(target=self._forward_request, args=(client, server, cut), daemon=True)
            sending.start()
            answer = _read_all(server)  # gunicorn's sync workers close the connection after each answer
            if cut is not None:
                sending.join(timeout=5)
                self.counts.add(requests_cut=1)
                return
            try:
                if drop and answer:
                    self.counts.add(answers_dropped=1)  # the server has answered; the device hears nothing of it
                else:
                    client.sendall(answer)
                # shutdown, not only close: the request thread may still be blocked reading this socket,
                # and a close alone would leave the connection open under it.
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def _forward_request(client: socket.socket, server: socket.socket, cut: int | None) -> None:
        passed = 0
        try:
            while data := client.recv(CHUNK):
                if cut is not None and passed + len(data) >= cut:
                    server.sendall(data[: cut - passed])
                    # Both sides see the connection go, as when a phone loses signal mid-upload.
                    server.shutdown(socket.SHUT_RDWR)
                    client.shutdown(socket.SHUT_RDWR)
                    return
                server.sendall(data)
                passed += len(data)
        except OSError:
            return


def _read_all(connection: socket.socket) -> bytes:
    parts = []
    try:
        while data := connection.recv(CHUNK):
            parts.append(data)
    except OSError:
        pass
    return b"".join(parts)
