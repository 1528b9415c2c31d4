"""Reliability S8: PostgreSQL restarted immediately (as after a crash) while simulated devices push, then drain and count.

A private cluster (scripts/devdb.sh with its own data folder and port) is restarted, so nothing else on the machine
loses its database. `Restarts` is a fault of the shape tools/worker_kills.run takes, so S7's counting (lost,
doubled, inconsistent) serves S8 unchanged; what S8 adds is measured here: what /healthz answered while the database
was away, how long the app took to serve again once the database accepted connections, and the connections left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from server.demo.accounts import ACCOUNTS
from tools import live_server
from tools.simulate import Options, RetryPolicy
from tools.worker_kills import Figures, Scenario, workers
from tools.worker_kills import run as run_with_fault

ROOT = Path(__file__).resolve().parents[1]
DEVDB = ROOT / "scripts" / "devdb.sh"
PROBE_TIMEOUT = 15.0  # a probe not answered by then counts as a hang


@dataclass(frozen=True)
class Cluster:
    """A private PostgreSQL + PostGIS cluster made by scripts/devdb.sh: its data folder, port and the two URLs."""

    data_dir: Path
    port: int
    url: str  # the app's role
    owner_url: str

    def devdb(self, *args: str) -> str:
        env = {**os.environ, "SURVEY_DATA_DIR": str(self.data_dir), "SURVEY_PG_PORT": str(self.port)}
        env.pop("DATABASE_URL", None)
        return subprocess.run([str(DEVDB), *args], env=env, check=True, capture_output=True,  # noqa: S603
                              text=True).stdout.strip()


@contextmanager
def private_cluster(port: int) -> Iterator[Cluster]:
    """A cluster of its own, in a new folder of the system's temporary directory that the `postgres` user can reach
    when we are root (pytest's own folders are private to us), stopped and removed after."""
    data_dir = Path(tempfile.mkdtemp(prefix="survey-private-cluster-"))
    data_dir.chmod(0o755)
    cluster = Cluster(data_dir, port, "", "")
    try:
        url = cluster.devdb("start")
        yield Cluster(data_dir, port, url, cluster.devdb("owner-url"))
    finally:
        cluster.devdb("stop")
        shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class Outage:
    """One restart: when it began, when PostgreSQL accepted connections again, and when the app served again."""

    began: float
    database_back: float = 0.0
    app_back: float = 0.0

    @property
    def recovery(self) -> float:
        """Seconds from the database accepting connections to the app's first 200 (S8: at most 10)."""
        return max(0.0, self.app_back - self.database_back)


@dataclass
class Probe:
    statuses: Counter[str] = field(default_factory=Counter)  # /healthz answers during the whole run
    worst_ms: float = 0.0
    hangs: int = 0


class Restarts:
    """A thread restarting the cluster `times` times, `every` seconds apart, from start() on (the Killer's shape)."""

    def __init__(self, cluster: Cluster, app_url: str, master_pid: int, every: float, times: int):
        self.cluster, self.app_url, self.master_pid, self.every, self.times = cluster, app_url, master_pid, every, times
        self.workers_before = len(workers(master_pid))
        self.killed: list[Outage] = []  # named for the Killer's figures: the restarts done
        self.idle_ticks = 0
        self.probe = Probe()
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="s8-restarts", daemon=True)
        self._prober = threading.Thread(target=self._watch, name="s8-probe", daemon=True)

    def start(self) -> None:
        with self._lock:
            if self.started_at is None:
                self.started_at = time.monotonic()
                self._thread.start()
                self._prober.start()

    def stop(self) -> None:
        self.start()
        self._stop.set()
        self._thread.join()
        self._prober.join()

    @property
    def window(self) -> float:
        return (self.stopped_at or time.monotonic()) - (self.started_at or time.monotonic())

    def recovered(self, url: str, timeout: float = 60.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while _status(url)[0] != "200" and time.monotonic() < deadline:
            time.sleep(0.2)
        return workers(self.master_pid)

    def _run(self) -> None:
        for _ in range(self.times):
            if self._stop.wait(self.every):
                break
            outage = Outage(time.monotonic())
            self.cluster.devdb("restart", "immediate")
            outage.database_back = time.monotonic()
            while _status(self.app_url)[0] != "200" and not self._stop.is_set():
                time.sleep(0.05)
            outage.app_back = time.monotonic()
            self.killed.append(outage)
        self.stopped_at = time.monotonic()
        self.finished.set()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            status, seconds = _status(self.app_url)
            self.probe.statuses[status] += 1
            self.probe.worst_ms = max(self.probe.worst_ms, seconds * 1000)
            self.probe.hangs += status == "timeout"


def _status(url: str) -> tuple[str, float]:
    """/healthz's status (or why there was none) and how long it took."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=PROBE_TIMEOUT) as answer:  # nosec B310  # noqa: S310 - our server
            status = str(answer.status)
    except urllib.error.HTTPError as error:
        status = str(error.code)
        if error.code == 503 and not error.headers.get("Retry-After"):
            status = "503 without Retry-After"
    except TimeoutError:
        status = "timeout"
    except OSError as error:
        status = f"connection: {type(error).__name__}"
    return status, time.monotonic() - started


@dataclass(frozen=True)
class Connections:
    total: int
    idle_in_transaction: int


def connections(engine: Engine, database: str) -> Connections:
    """The app's connections to `database` now (the engine's own excepted)."""
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE state LIKE 'idle in transaction%') FROM pg_stat_activity "
            "WHERE datname = :d AND pid <> pg_backend_pid() AND backend_type = 'client backend'"), {"d": database}).one()
    return Connections(row[0], row[1])


def lines(restarts: Restarts, lost: int, planned: int, duplicates: int, pool_max: int, after: Connections) -> list[str]:
    other_5xx = {s: n for s, n in restarts.probe.statuses.items() if s.startswith("5") and s != "503"}
    return [
        f"S8: lost: {lost} of {planned} over {len(restarts.killed)} immediate DB restarts; duplicates: {duplicates}; "
        f"5xx other than 503: {sum(other_5xx.values())}{f' {other_5xx}' if other_5xx else ''}; recovery time: max "
        f"{max((o.recovery for o in restarts.killed), default=0.0):.2f} s after the database accepted connections",
        f"/healthz during the run: {dict(restarts.probe.statuses)}; worst answer {restarts.probe.worst_ms:.0f} ms; "
        f"hangs {restarts.probe.hangs}",
        f"connections after the run: {after.total} (pool max {pool_max}), idle in transaction {after.idle_in_transaction}",
    ]


@dataclass
class Result:
    figures: Figures  # S7's counting: lost, doubled, inconsistent, the devices' own accounting
    restarts: Restarts
    after: Connections
    pool_max: int

    def lines(self) -> list[str]:
        figures = self.figures
        return [*lines(self.restarts, len(figures.lost), figures.planned, figures.duplicates, self.pool_max,
                       self.after), *figures.lines()[2:]]

    def problems(self) -> list[str]:
        other_5xx = [s for s in self.restarts.probe.statuses if s.startswith("5") and s != "503"]
        checks = [
            (len(self.restarts.killed) == self.restarts.times, f"restarted {len(self.restarts.killed)} times"),
            (not other_5xx, f"answers other than 200 and 503 + Retry-After while the database was away: {other_5xx}"),
            (self.restarts.probe.hangs == 0, f"{self.restarts.probe.hangs} probes hung"),
            (all(o.recovery <= 10 for o in self.restarts.killed),
             f"recovery over 10 s: {[round(o.recovery, 1) for o in self.restarts.killed]}"),
            (self.after.total <= self.pool_max and self.after.idle_in_transaction == 0,
             f"connections after: {self.after}"),
        ]
        return [message for ok, message in checks if not ok] + self.figures.problems()


def run(tmp: Path, port: int, devices: int, submissions: int, every: float, times: int, workers_count: int = 2,
        report: Callable[[str], None] | None = None) -> Result:
    """Serves a private cluster's database as `make run` does (gunicorn behind nginx, production settings), lets
    devices push while the cluster is restarted immediately `times` times, then drains and counts."""
    enumerator = next(a for a in ACCOUNTS if a.username == "demo_enumerator")
    with private_cluster(port) as cluster:
        database = live_server.Database(cluster.url, cluster.owner_url)
        live_server.prepare(database)
        with (live_server.gunicorn(cluster.url, tmp / "attachments", tmp / "gunicorn.log", workers=workers_count,
                                   production=True, behind_proxy=True) as running,
              live_server.proxy(running.url, tmp / "proxy") as url):
            options = Options(url=url, username=enumerator.username, password=enumerator.password, devices=devices,
                              submissions=submissions, batch=10, invalid_share=0.0, seed=8008,
                              retry=RetryPolicy(attempts=30, base_seconds=0.2, cap_seconds=5.0))
            restarts = Restarts(cluster, url, running.pid, every, times)
            engine = create_engine(cluster.owner_url, pool_pre_ping=True)
            try:
                figures = run_with_fault(Scenario(options, running.pid, kill_every=every, kill_seconds=every * times,
                                                  attachment_dir=tmp / "attachments"), engine, report, fault=restarts)
                after = connections(engine, "survey")
            finally:
                engine.dispose()
    # Each worker's pool: DB_POOL_SIZE (5) plus SQLAlchemy's default overflow of 10.
    return Result(figures, restarts, after, workers_count * 15)
