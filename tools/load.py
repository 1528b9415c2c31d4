"""Reliability D, load: L1 (N devices syncing together), L2 (a soak with pulls and readers), L3 (a thundering herd).

`run_l1`, `run_l2` and `run_l3` drive simulated devices (tools/simulate, every request of theirs counted by an
ObservedClient) against a server reached through `make run`'s proxy, and return Figures with lines() and problems();
bench/load.py (its own database and server, the full sizes) and tests/live/test_load.py (the shared live server, a
few seconds each) both call them. Beside the devices they watch the server from outside only: the app's connections
in pg_stat_activity every 0.5 s (those whose client port a gunicorn worker holds, so the watcher's own and the
tests' do not count), the workers' VmRSS, and the database afterwards for what was acknowledged but not stored.

Counting: every attempt of every request is one answer: 2xx/3xx, 429 or 503 with or without Retry-After, another
status, a timeout, a connection error. A 503 (or 429) with Retry-After is load shed on purpose (server/middleware.py
refuses what waited over QUEUE_TIMEOUT_MS for a worker; nginx answers it when gunicorn is unreachable); any other
5xx, and a 503 without Retry-After, is a server error. The load generator runs on the same cores as the server,
nginx and PostgreSQL: its latencies include the time its own threads wait for the CPU, so they are an upper bound.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from server.config import DEFAULTS
from server.demo.accounts import ACCOUNTS
from tools.live_server import healthy
from tools.simulate import Client, Device, DeviceSettings, Mix, RetryPolicy
from tools.simulate import photos as photo_files
from tools.simulate.client import Response
from tools.simulate.make import Made
from tools.simulate.run import DEVICE_FAILURES
from tools.simulate.stats import percentile
from tools.worker_kills import alive, workers

ENUMERATOR = next(a for a in ACCOUNTS if a.username == "demo_enumerator")
SUPERVISOR = next(a for a in ACCOUNTS if a.username == "demo_supervisor")
# The pool each worker has, as the server reads it from the environment it shares with us (server/config.py).
DB_POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", DEFAULTS["DB_POOL_SIZE"]))
POOL_OVERFLOW = 10  # SQLAlchemy's default max_overflow: server/config.py sets only the pool size
P95_LIMIT_MS, P95_AT_DEVICES = 2000.0, 100  # L1: p95 < 2 s at N = 100
RSS_GROWTH_LIMIT, DRIFT_LIMIT = 0.10, 0.20  # L2
DRAIN_LIMIT_SECONDS = 900.0  # L3: everything ingested within 15 min
FEED_WAIT_SECONDS = 300.0  # how long a device waits for its first pull to give something
OK = "2xx/3xx"
API = "/api/v1"


# --- Every answer, counted -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    at: float  # time.monotonic() when it ended
    kind: str  # push, file, pull, login, forms, read, other
    outcome: str  # OK, "503 with Retry-After", "500", "timeout", "connection error (...)"
    seconds: float


class Recorder:
    """Every attempt of every request the observed clients made, from all their threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts: list[Attempt] = []

    def add(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)

    def select(self, kind: str | None = None, since: float = 0.0, until: float = math.inf) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if (kind is None or a.kind == kind) and since <= a.at <= until]

    def answers(self, since: float = 0.0, until: float = math.inf) -> Answers:
        return Answers(Counter(a.outcome for a in self.select(since=since, until=until)))

    def latencies(self, kind: str, since: float = 0.0, until: float = math.inf) -> Latencies:
        return Latencies([a.seconds * 1000 for a in self.select(kind, since, until) if a.outcome == OK])


class ObservedClient(Client):
    """The simulator's client, each attempt (retries included) recorded with its outcome and duration.

    It wraps Client._once, the one place where an attempt is made, so that the simulator itself is left as it is.
    """

    def __init__(self, base_url: str, recorder: Recorder, kind: str | None = None, **options: Any):
        super().__init__(base_url, **options)
        self.recorder, self.kind = recorder, kind

    def _once(self, method: str, path: str, body: bytes, headers: Any) -> Response:
        started = time.monotonic()
        try:
            response = super()._once(method, path, body, headers)
        except Exception as error:  # recorded, then the client's retry loop decides
            self.recorder.add(Attempt(time.monotonic(), self.kind or _kind(method, path), _failure(error),
                                      time.monotonic() - started))
            raise
        self.recorder.add(Attempt(time.monotonic(), self.kind or _kind(method, path), _outcome(response),
                                  response.seconds))
        return response


def _kind(method: str, path: str) -> str:
    if path.startswith(f"{API}/sync/submissions"):
        return "push"
    if "/attachments/" in path:
        return "file"
    for prefix, kind in (("/sync/changes", "pull"), ("/auth/", "login"), ("/forms", "forms"), ("/households", "read")):
        if path.startswith(API + prefix):
            return kind
    return "other"


def _outcome(response: Response) -> str:
    if response.status < 400:
        return OK
    if response.status in (429, 503):
        said = any(k.lower() == "retry-after" and v.strip() for k, v in response.headers.items())
        return f"{response.status} {'with' if said else 'without'} Retry-After"
    return str(response.status)


def _failure(error: BaseException) -> str:
    return "timeout" if isinstance(error, TimeoutError) else f"connection error ({type(error).__name__})"


@dataclass
class Answers:
    counts: Counter[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def shed(self) -> int:
        return self.counts["429 with Retry-After"] + self.counts["503 with Retry-After"]

    @property
    def busy(self) -> int:
        """429 and 503 answers, with Retry-After or not."""
        return sum(n for outcome, n in self.counts.items() if outcome.startswith(("429 ", "503 ")))

    @property
    def server_errors(self) -> dict[str, int]:
        """5xx other than 503 with Retry-After (a 503 without it is one), and 429 without Retry-After."""
        return {o: n for o, n in self.counts.items()
                if (o[:1] == "5" and o != "503 with Retry-After") or o == "429 without Retry-After"}

    @property
    def timeouts(self) -> int:
        return self.counts["timeout"]

    @property
    def connection_errors(self) -> int:
        return sum(n for outcome, n in self.counts.items() if outcome.startswith("connection error"))

    @property
    def client_errors(self) -> dict[str, int]:
        return {o: n for o, n in self.counts.items() if o[:1] == "4" and not o.startswith("429 ")}

    def line(self) -> str:
        return (f"answers {self.total}: 2xx/3xx {self.counts[OK]}, 429/503 with Retry-After {self.shed}, "
                f"503 without {self.counts['503 without Retry-After']}, other 5xx "
                f"{sum(n for o, n in self.server_errors.items() if o != '503 without Retry-After')}, timeouts "
                f"{self.timeouts}, connection errors {self.connection_errors}, 4xx {sum(self.client_errors.values())}"
                + (f" {self.server_errors | self.client_errors}" if self.server_errors or self.client_errors else ""))


@dataclass
class Latencies:
    ms: list[float]

    def at(self, share: float) -> float | None:
        return percentile(self.ms, share)

    def text(self) -> str:
        if not self.ms:
            return "no answers"
        return "/".join(f"{self.at(s):.0f}" for s in (0.5, 0.95, 0.99)) + f" ms ({len(self.ms)} requests)"


# --- The server watched from outside ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """The server under load: the proxy's URL as phones reach it, gunicorn's master, the app's database (its role)."""

    url: str
    master_pid: int
    engine: Engine


@dataclass(frozen=True)
class Connections:
    """The app's connections to its database at one moment: those a gunicorn worker holds."""

    total: int
    idle: int
    idle_in_transaction: int
    over_pool: int  # idle beyond DB_POOL_SIZE in one worker: a pool keeps no more, so more would be a leak

    @property
    def leaked(self) -> int:
        """After the run: every connection not idle in a worker's pool (working, or idle in a transaction)."""
        return self.total - self.idle + self.over_pool


def client_ports(pids: Iterable[int]) -> dict[int, int]:
    """Local TCP port -> pid, of the sockets the processes hold (their fds matched against /proc/net/tcp*)."""
    inodes: dict[str, int] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # it ended meanwhile
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes[link[8:-1]] = pid
    ports: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            columns = row.split()
            if len(columns) > 9 and columns[9] in inodes:
                ports[int(columns[1].rsplit(":", 1)[1], 16)] = inodes[columns[9]]
    return ports


_ACTIVITY = text("SELECT client_port, state FROM pg_stat_activity WHERE datname = current_database() "
                 "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")


def connections(target: Target) -> Connections:
    """The app's connections now. The query comes first: a connection it lists that is still open is then found."""
    with target.engine.connect() as connection:
        rows = connection.execute(_ACTIVITY).all()
    ports = client_ports(workers(target.master_pid))
    states = [(ports[port], state) for port, state in rows if port in ports]
    idle_per_worker = Counter(pid for pid, state in states if state == "idle")
    return Connections(len(states), sum(idle_per_worker.values()),
                       sum(1 for _, state in states if (state or "").startswith("idle in transaction")),
                       sum(max(0, n - DB_POOL_SIZE) for n in idle_per_worker.values()))


def settled_connections(target: Target, timeout: float = 15.0) -> Connections:
    """The app's connections once every request in flight has ended (or `timeout` passed): what is left after a run."""
    deadline = time.monotonic() + timeout
    while True:
        now = connections(target)
        if now.leaked == 0 or time.monotonic() > deadline:
            return now
        time.sleep(0.5)


def rss_mb(master_pid: int) -> dict[int, float]:
    """Each gunicorn worker's resident set (VmRSS), in MB."""
    sizes = {}
    for pid in workers(master_pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if found := re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE):
            sizes[pid] = int(found[1]) / 1024
    return sizes


class Watch:
    """A thread sampling the app's connections every `every` seconds and the workers' RSS every `rss_every`."""

    def __init__(self, target: Target, every: float = 0.5, rss_every: float = 5.0):
        self.target, self.every, self.rss_every = target, every, rss_every
        self.workers_before = len(workers(target.master_pid))
        self.pool_max = self.workers_before * (DB_POOL_SIZE + POOL_OVERFLOW)
        self.peak = 0
        self.peak_idle_in_transaction = 0
        self.samples = 0
        self.rss: list[tuple[float, dict[int, float]]] = []  # (time.monotonic(), {worker pid: MB})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-watch", daemon=True)

    def __enter__(self) -> Watch:
        self.rss.append((time.monotonic(), rss_mb(self.target.master_pid)))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.rss.append((time.monotonic(), rss_mb(self.target.master_pid)))

    def rss_at(self, moment: float) -> float:
        """The workers' summed RSS in the last sample at or before `moment`."""
        before = [sizes for at, sizes in self.rss if at <= moment] or [self.rss[0][1]]
        return sum(before[-1].values())

    @property
    def worker_pids(self) -> set[int]:
        return {pid for _, sizes in self.rss for pid in sizes}

    def _run(self) -> None:
        next_rss = time.monotonic() + self.rss_every
        while not self._stop.wait(self.every):
            try:
                now = connections(self.target)
            except (SQLAlchemyError, OSError):  # a missed sample is not a figure; the next one counts
                continue
            self.samples += 1
            self.peak = max(self.peak, now.total)
            self.peak_idle_in_transaction = max(self.peak_idle_in_transaction, now.idle_in_transaction)
            if time.monotonic() >= next_rss:
                self.rss.append((time.monotonic(), rss_mb(self.target.master_pid)))
                next_rss += self.rss_every


# --- Devices ------------------------------------------------------------------------------------------------------

def new_device(target: Target, recorder: Recorder, name: str, index: int, seed: int, *, batch: int = 100,
               timeout: float = 60.0, retry: RetryPolicy | None = None, mix: Mix | None = None) -> Device:
    """A simulated phone of the demo enumerator whose every request is recorded.

    The demo enumerator's county holds a few dozen households in the small demo: devices that fill their visits from
    the same pull revisit the same ones, and each push replays a household's whole history (sync/merge.py), so a push
    costs more the more visits a household already has. `mix` sets the share of visits to households not known yet.
    """
    rng = random.Random(f"{name}:{seed}:{index}")  # noqa: S311 - seeded test data, not a secret
    client = ObservedClient(target.url, recorder, timeout=timeout, policy=retry or RetryPolicy(),
                            rng=random.Random(rng.random()))  # noqa: S311
    settings = DeviceSettings(username=ENUMERATOR.username, password=ENUMERATOR.password,
                              device_id=f"{name}-{seed}-{index:04d}", label=f"{name} phone {index}", batch=batch,
                              mix=mix or Mix())
    return Device(client, settings, rng)


def prepare(device: Device, submissions: int = 0, feed_wait: float = FEED_WAIT_SECONDS) -> list[Made]:
    """Signs in, pulls, learns the forms and fills `submissions` visits offline into the outbox.

    Raises:
        RuntimeError: the pull gave no area for `feed_wait` seconds: a transaction open anywhere in the cluster holds
            the feed back (sync/pull.py), as another program's test on a shared database server may.
    """
    device.login()
    deadline = time.monotonic() + feed_wait
    while not device.pull() and not device.knowledge.areas:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{device.settings.device_id}: the pull gave nothing for {feed_wait:g} s; a transaction "
                               "open in the cluster holds the feed back (look in pg_stat_activity)")
        time.sleep(2.0)
    device.refresh_forms()
    return device.collect(submissions) if submissions else []


def prepare_all(devices: list[Device], submissions: int, threads: int) -> None:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda d: prepare(d, submissions), devices))


def declare_photos(made: Sequence[Made], count: int, size: int) -> int:
    """Leaves `count` files of `size` bytes declared among `made`, spread over it (one each, on items that declare
    a photo), and drops the other declarations; returns how many it declared. The items are still unsent."""
    with_files = [m for m in made if m.item.get("attachments")]
    count = min(count, len(with_files))
    chosen = {with_files[i * len(with_files) // count].uuid for i in range(count)} if count else set()
    for one in made:
        files = one.item.get("attachments") or []
        one.item["attachments"] = [photo_files.declare(one.uuid, files[0]["name"], size)] if one.uuid in chosen else []
    return count


def files_left(device: Device) -> int:
    """Declared files of acknowledged submissions that the server has not confirmed."""
    return sum(1 for uid in device.ledger for spec in device.made[uid].item.get("attachments") or []
               if (uid, spec["name"]) not in device.uploaded)


def attempt(work: Callable[[], object], device: Device, failures: list[str]) -> bool:
    """Runs one step of a device; a refusal or a give-up is noted (the outbox keeps what was not acknowledged)."""
    try:
        work()
    except DEVICE_FAILURES as error:
        failures.append(f"{device.settings.device_id}: {type(error).__name__}: {error}")
        return False
    return True


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def each(items: Sequence[Any], work: Callable[[Any], object], threads: int | None = None) -> list[Any]:
    """`work` on every item in threads of its own (or a pool of `threads`); raises the first unexpected error."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=threads or len(items)) as pool:
        return list(pool.map(work, items))


@dataclass
class Ingest:
    """What the devices made and were told, against what the database holds."""

    made: int = 0
    acknowledged: int = 0
    stored: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, not stored
    never_stored: list[str] = field(default_factory=list)  # made, neither acknowledged nor stored
    pending: int = 0  # still in an outbox
    held: Counter[str] = field(default_factory=Counter)  # answered invalid or conflict
    files_declared: int = 0  # by acknowledged submissions
    files_missing: int = 0  # of those, not stored
    files_left: int = 0  # of those, not confirmed to the device
    not_retried: Counter[str] = field(default_factory=Counter)  # answers the devices did not retry (4xx, 500)
    protocol: list[str] = field(default_factory=list)  # protocol errors, accounting problems, surprises

    def line(self) -> str:
        return (f"made {self.made}, acknowledged {self.acknowledged}, stored {self.stored}, lost {len(self.lost)}, "
                f"never stored {len(self.never_stored)}, still in outboxes {self.pending}; files declared "
                f"{self.files_declared}, missing {self.files_missing}")

    def problems(self) -> list[str]:
        checks = [
            (not self.lost, f"lost {len(self.lost)} acknowledged submissions: {self.lost[:5]}"),
            (self.stored == self.made and not self.never_stored and self.pending == 0,
             f"stored {self.stored} of {self.made}; {len(self.never_stored)} never stored; {self.pending} in outboxes"),
            (not self.held, f"held aside: {dict(self.held)}"),
            (self.files_missing == 0 and self.files_left == 0,
             f"files: {self.files_missing} missing, {self.files_left} not confirmed to their device"),
            (not self.not_retried, f"answers not retried (a 4xx is the device's, a 5xx the server's): "
                                   f"{dict(self.not_retried)}"),
            (not self.protocol, f"protocol: {self.protocol[:3]}"),
        ]
        return [message for ok, message in checks if not ok]


def count(devices: Sequence[Device], engine: Engine) -> Ingest:
    made = {uid: m.item for d in devices for uid, m in d.made.items()}
    acknowledged = {uid for d in devices for uid in d.ledger}
    with engine.connect() as connection:
        stored = set(connection.scalars(text("SELECT uuid::text FROM submission WHERE uuid = ANY(CAST(:u AS uuid[]))"),
                                        {"u": list(made)}))
        files = set(connection.execute(text("SELECT submission_uuid::text, name FROM attachment "
                                            "WHERE submission_uuid = ANY(CAST(:u AS uuid[]))"),
                                       {"u": list(acknowledged)}).tuples())
    declared = {(uid, spec["name"]) for uid in acknowledged for spec in made[uid].get("attachments") or []}
    not_retried: Counter[str] = Counter()
    for d in devices:
        not_retried.update(d.stats.http_errors)
    return Ingest(
        made=len(made), acknowledged=len(acknowledged), stored=len(stored), lost=sorted(acknowledged - stored),
        never_stored=sorted(made.keys() - acknowledged - stored), pending=sum(len(d.outbox) for d in devices),
        held=Counter(h.status for d in devices for h in d.held.values()), files_declared=len(declared),
        files_missing=len(declared - files), files_left=sum(files_left(d) for d in devices), not_retried=not_retried,
        protocol=[p for d in devices for p in (*d.stats.protocol_errors, *d.accounting_problems(), *d.stats.surprises)],
    )


@dataclass
class Run:
    """What every scenario reports: the answers, the ingest, the connections, and how busy the machine was."""

    answers: Answers
    ingest: Ingest
    failures: list[str]  # device steps that stopped (and were tried again, or left in the outbox)
    peak: int  # the app's connections, sampled every 0.5 s
    peak_idle_in_transaction: int
    pool_max: int
    after: Connections
    load: tuple[float, float, float]  # os.getloadavg() at the end

    def lines(self) -> list[str]:
        return [
            self.answers.line(),
            self.ingest.line(),
            f"DB connections: peak {self.peak} (pool max {self.pool_max}), peak idle in transaction "
            f"{self.peak_idle_in_transaction}; after the run {self.after.total}, leaked {self.after.leaked}, "
            f"idle in transaction {self.after.idle_in_transaction}",
            f"device steps that stopped and were tried again: {len(self.failures)} {self.failures[:3] or ''}".rstrip(),
            "load average (1, 5, 15 min) at the end: {:.2f} {:.2f} {:.2f}, on {} cores".format(*self.load,
                                                                                              os.cpu_count()),
        ]

    def problems(self) -> list[str]:
        checks = [
            (not self.answers.server_errors, f"5xx other than 503 + Retry-After: {self.answers.server_errors}"),
            (self.answers.timeouts == 0 and self.answers.connection_errors == 0,
             f"{self.answers.timeouts} timeouts, {self.answers.connection_errors} connection errors"),
            (self.peak <= self.pool_max, f"peak DB connections {self.peak} over the pool max {self.pool_max}"),
            (self.after.leaked == 0 and self.after.idle_in_transaction == 0,
             f"after the run: {self.after.leaked} leaked connections, {self.after.idle_in_transaction} idle in "
             "transaction"),
        ]
        return [message for ok, message in checks if not ok] + self.ingest.problems()


def finish(target: Target, watch: Watch, recorder: Recorder, devices: Sequence[Device], failures: list[str],
           since: float = 0.0) -> Run:
    after = settled_connections(target)
    return Run(recorder.answers(since), count(devices, target.engine), failures, watch.peak,
               watch.peak_idle_in_transaction, watch.pool_max, after, os.getloadavg())


@contextmanager
def ticking(say: Callable[[str], None], recorder: Recorder, devices: Sequence[Device], watch: Watch,
            every: float = 15.0) -> Iterator[None]:
    """A progress line every `every` seconds while the block runs."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            acked = sum(len(d.ledger) for d in devices)  # read without locks: a moment stale at worst
            say(f"  acknowledged {acked} of {sum(len(d.made) for d in devices)}; {recorder.answers().line()}; "
                f"DB connections peak {watch.peak}")

    thread = threading.Thread(target=tick, name="load-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def drain(device: Device, failures: list[str], passes: int = 3) -> None:
    """What a failed step left: the outbox and the files, a few passes more."""
    for _ in range(passes):
        if not device.outbox and not files_left(device):
            return
        attempt(device.sync, device, failures)


# --- L1: N devices, each 50 submissions and 3 photos of 500 kB over 10 minutes -------------------------------------

@dataclass(frozen=True)
class L1:
    devices: int = 100
    submissions: int = 50  # per device
    photos: int = 3  # per device, of photo_bytes each; the other photo answers declare no file
    photo_bytes: int = 500_000
    seconds: float = 600.0  # over which each device's syncs are spread; 0: all at once, as fast as it goes
    syncs: int = 5  # sync sessions per device (push what was filled since the last, upload, pull)
    batch: int = 100
    mix: Mix = field(default_factory=Mix)  # the simulator's: 20% of visits to new households, 10% village forms
    seed: int = 1001
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=20, base_seconds=0.5, cap_seconds=20.0))
    prepare_threads: int = 4


@dataclass
class L1Figures:
    scenario: L1
    run: Run
    push: Latencies  # push requests answered 2xx: the sync request a phone waits on for its acknowledgement
    files: Latencies
    pulls: Latencies
    seconds: float  # from the first push to the last answer of a sync

    @property
    def rate(self) -> float:
        return self.run.ingest.acknowledged / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        s = self.scenario
        return [
            f"L1: devices {s.devices}; submissions/s {self.rate:.1f}; p50/p95/p99 push {self.push.text()}; 5xx "
            f"{sum(self.run.answers.server_errors.values())} (503 + Retry-After shed: {self.run.answers.shed}); lost "
            f"{len(self.run.ingest.lost)}; peak DB connections {self.run.peak} (pool max {self.run.pool_max}); "
            f"leaked connections {self.run.after.leaked}; idle in transaction {self.run.after.idle_in_transaction}",
            f"each device {s.submissions} submissions + {s.photos} photos of {s.photo_bytes / 1000:.0f} kB in "
            f"{s.syncs} syncs over {s.seconds / 60:.3g} min; sync phase {self.seconds:.1f} s; file PUT p50/p95/p99 "
            f"{self.files.text()}; pull {self.pulls.text()}",
            *self.run.lines(),
        ]

    def problems(self, performance: bool = True) -> list[str]:
        problems = self.run.problems()
        p95 = self.push.at(0.95)
        if performance and self.scenario.devices == P95_AT_DEVICES and (p95 is None or p95 >= P95_LIMIT_MS):
            problems.append(f"push p95 {p95} ms at N={P95_AT_DEVICES}, not under {P95_LIMIT_MS:.0f} ms")
        return problems


def _prepared_devices(name: str, scenario: L1 | L2 | L3, target: Target, recorder: Recorder,
                      visits: int) -> list[Device]:
    """The scenario's devices, each with `visits` visits filled offline and waiting in its outbox."""
    devices = [new_device(target, recorder, name, i, scenario.seed, batch=scenario.batch, timeout=scenario.timeout,
                          retry=scenario.retry, mix=scenario.mix) for i in range(scenario.devices)]
    prepare_all(devices, visits, scenario.prepare_threads)
    return devices


def run_l1(scenario: L1, target: Target, report: Callable[[str], None] | None = None) -> L1Figures:
    """N devices fill their visits offline, then sync them in `syncs` sessions at random times over `seconds`."""
    say = report or (lambda line: None)
    recorder, failures = Recorder(), []
    say(f"L1: preparing {scenario.devices} devices ({scenario.submissions} visits each)")
    devices = _prepared_devices("l1", scenario, target, recorder, scenario.submissions)
    chunks = {}
    for device in devices:
        declare_photos(list(device.made.values()), scenario.photos, scenario.photo_bytes)
        queued = list(device.outbox)
        device.outbox.clear()  # each session puts back what was filled since the last one
        size = math.ceil(len(queued) / scenario.syncs)
        chunks[device.settings.device_id] = [queued[i:i + size] for i in range(0, len(queued), size)]
    start = time.monotonic() + 1.0
    slot = scenario.seconds / scenario.syncs

    def sessions(device: Device) -> None:
        for k, uuids in enumerate(chunks[device.settings.device_id]):
            sleep_until(start + (k + device.rng.random()) * slot)
            device.requeue(uuids)
            attempt(device.sync, device, failures)
            attempt(device.pull, device, failures)
        drain(device, failures)

    say(f"L1: {scenario.devices} devices syncing over {scenario.seconds:g} s")
    with Watch(target) as watch, ticking(say, recorder, devices, watch):
        each(devices, sessions)
    pushes = recorder.select("push", since=start)
    first = min((a.at - a.seconds for a in pushes), default=start)
    last = max((a.at for a in recorder.select(since=start)), default=start)
    return L1Figures(scenario, finish(target, watch, recorder, devices, failures, since=start),
                     recorder.latencies("push", since=start), recorder.latencies("file", since=start),
                     recorder.latencies("pull", since=start), last - first)


# --- L2: a soak at half of L1's largest N, with pulls and readers beside it ----------------------------------------

@dataclass
class ReadContext:
    """One reader (a supervisor at a desk): its client, and what its reads taught it for the next ones."""

    client: Client
    rng: random.Random
    household_ids: list[str] = field(default_factory=list)
    area_codes: list[str] = field(default_factory=list)
    query: dict[str, Any] = field(default_factory=dict)  # the list being paged through, cursor included


Reader = Callable[[ReadContext], object]


def list_households(ctx: ReadContext) -> None:
    """GET /households: the next page of the list being read, or the first page of a new one (an area, or all)."""
    if "cursor" not in ctx.query:
        codes = sorted({code[:n] for code in ctx.area_codes for n in (6, 9, 12, 15)})
        area = ctx.rng.choice([None, *codes])
        ctx.query = {"limit": 50} | ({"area_code": area} if area else {})
    page = ctx.client.get_json(f"{API}/households?{urlencode(ctx.query)}")
    for household in page["households"]:
        if len(ctx.household_ids) < 2000 and household["id"] not in ctx.household_ids:
            ctx.household_ids.append(household["id"])
            ctx.area_codes.append(household["area_code"])
    ctx.query = ctx.query | {"cursor": page["cursor"]} if page.get("has_more") else {}


def get_household(ctx: ReadContext) -> None:
    """GET /households/{id}: one household the lists showed, with members, history, flags and cases."""
    if not ctx.household_ids:
        list_households(ctx)
    if ctx.household_ids:
        ctx.client.get_json(f"{API}/households/{ctx.rng.choice(ctx.household_ids)}")


# What runs beside the devices: later readers (review lists, exports) are added here, or passed as L2(readers=...).
READERS: tuple[Reader, ...] = (list_households, get_household)


@dataclass(frozen=True)
class L2:
    devices: int = 100  # half of L1's largest N (200), each at L1's pace
    seconds: float = 1800.0
    submissions_per_sync: int = 10
    sync_every: float = 120.0  # L1's pace: 50 submissions in 10 minutes
    photos_per_submission: float = 3 / 50
    photo_bytes: int = 500_000
    readers: int = 2  # supervisors reading, each a thread going round `reader_functions`
    read_every: float = 1.0
    reader_functions: tuple[Reader, ...] = READERS
    batch: int = 100
    mix: Mix = field(default_factory=Mix)
    seed: int = 2002
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=20, base_seconds=0.5, cap_seconds=20.0))
    prepare_threads: int = 4

    @property
    def window(self) -> float:
        """The first and last 5 minutes compared, or the first and last fifth of a shorter run."""
        return min(300.0, self.seconds / 5)


@dataclass
class L2Figures:
    scenario: L2
    run: Run
    seconds: float
    rss_cold: float  # MB, all workers, before the load
    rss_start: float  # at the end of the first window (warm)
    rss_end: float
    rss_path: list[tuple[float, float]]  # (minutes into the run, MB) at the end of each fifth
    workers_seen: int  # worker pids over the run (gunicorn replaces a worker after max_requests)
    workers_before: int
    push_first: Latencies
    push_last: Latencies
    read_first: Latencies
    read_last: Latencies
    reads: Counter[str]  # done, by reader name
    read_failures: Counter[str]
    pulls: int
    backend_up: bool
    login: dict[str, int]  # status of each step of signing in at the end

    @property
    def rss_growth(self) -> float:
        return self.rss_end / self.rss_start - 1 if self.rss_start else 0.0

    @property
    def drift(self) -> float | None:
        first, last = self.push_first.at(0.95), self.push_last.at(0.95)
        return None if first is None or last is None else last / first - 1

    @property
    def login_ok(self) -> bool:
        return self.login == {"sign-in page": 200, "sign in": 302, "home": 200, "device sign-in": 201}

    def lines(self) -> list[str]:
        s, w = self.scenario, self.scenario.window / 60
        drift = "-" if self.drift is None else f"{self.drift:+.0%}"
        p95 = [x.at(0.95) for x in (self.push_first, self.push_last, self.read_first, self.read_last)]
        ms = ["-" if v is None else f"{v:.0f}" for v in p95]
        return [
            f"L2: duration {self.seconds / 60:.1f} min; RSS start→end {self.rss_start:.0f}→{self.rss_end:.0f} MB "
            f"({self.rss_growth:+.1%}; start: after the first {w:g} min, {self.rss_cold:.0f} MB before the load); p95 first "
            f"vs last {w:g} min "
            f"{ms[0]} vs {ms[1]} ms ({drift}); backend up {'yes' if self.backend_up else 'NO'}; login 200 at the end "
            f"{'yes' if self.login_ok else 'NO'} {self.login}",
            f"{s.devices} devices, {s.submissions_per_sync} submissions every {s.sync_every:g} s each "
            f"({s.devices * s.submissions_per_sync / s.sync_every:.1f}/s offered), pulls {self.pulls}; {s.readers} "
            f"readers: {dict(self.reads)}, failed {dict(self.read_failures)}, p95 first vs last {ms[2]} vs {ms[3]} ms",
            "RSS of the workers (MB) along the run: "
            + ", ".join(f"{minutes:.1f} min {mb:.0f}" for minutes, mb in self.rss_path)
            + f"; workers: {self.workers_before} at the start, {self.workers_seen} pids over the run (gunicorn replaces "
            "a worker after max_requests, which resets its RSS)",
            *self.run.lines(),
        ]

    def problems(self, performance: bool = True) -> list[str]:
        problems = self.run.problems()
        if not self.backend_up:
            problems.append("the backend is not up at the end")
        if not self.login_ok:
            problems.append(f"signing in at the end: {self.login}")
        if sum(self.read_failures.values()):
            problems.append(f"reads failed: {dict(self.read_failures)}")
        if performance and self.rss_growth >= RSS_GROWTH_LIMIT:
            problems.append(f"RSS grew {self.rss_growth:.1%} (limit {RSS_GROWTH_LIMIT:.0%})")
        if performance and (self.drift is None or self.drift >= DRIFT_LIMIT):
            problems.append(f"p95 drift {self.drift} (limit {DRIFT_LIMIT:.0%})")
        return problems


def run_l2(scenario: L2, target: Target, report: Callable[[str], None] | None = None) -> L2Figures:
    """Devices sync at a steady pace and pull after each sync while supervisors read, for `seconds`."""
    say = report or (lambda line: None)
    recorder, failures = Recorder(), []
    say(f"L2: preparing {scenario.devices} devices and {scenario.readers} readers")
    devices = _prepared_devices("l2", scenario, target, recorder, 0)
    contexts = [_reader(target, recorder, i, scenario.seed) for i in range(scenario.readers)]
    reads, read_failures, lock = Counter(), Counter(), threading.Lock()
    with Watch(target) as watch:
        start = time.monotonic()
        end = start + scenario.seconds

        def device_loop(device: Device) -> None:
            next_at, photos = start + device.rng.random() * scenario.sync_every, 0
            while next_at < end:
                sleep_until(next_at)
                if attempt(lambda: device.collect(scenario.submissions_per_sync), device, failures):
                    due = math.floor(len(device.made) * scenario.photos_per_submission) - photos
                    made = list(device.made.values())[-scenario.submissions_per_sync:]
                    photos += declare_photos(made, due, scenario.photo_bytes)
                attempt(device.sync, device, failures)
                attempt(device.pull, device, failures)
                next_at += scenario.sync_every
            drain(device, failures)

        def reader_loop(ctx: ReadContext) -> None:
            turn = 0
            while time.monotonic() < end:
                read = scenario.reader_functions[turn % len(scenario.reader_functions)]
                try:
                    read(ctx)
                    outcome, counter = read.__name__, reads
                except DEVICE_FAILURES as error:
                    outcome, counter = f"{read.__name__}: {type(error).__name__}", read_failures
                with lock:
                    counter[outcome] += 1
                turn += 1
                time.sleep(scenario.read_every)

        say(f"L2: soaking for {scenario.seconds:g} s")
        with ticking(say, recorder, devices, watch, every=60.0):
            each([*devices, *contexts], lambda x: device_loop(x) if isinstance(x, Device) else reader_loop(x))
        finished = time.monotonic()
    window = scenario.window
    backend_up = healthy(target.url) and alive(target.master_pid) and len(workers(target.master_pid)) >= \
        watch.workers_before
    return L2Figures(
        scenario, finish(target, watch, recorder, devices, failures, since=start), finished - start,
        sum(watch.rss[0][1].values()), watch.rss_at(start + window), watch.rss_at(math.inf),
        [(k * scenario.seconds / 5 / 60, watch.rss_at(start + k * scenario.seconds / 5)) for k in range(1, 6)],
        len(watch.worker_pids), watch.workers_before,
        recorder.latencies("push", start, start + window), recorder.latencies("push", end - window, end),
        recorder.latencies("read", start, start + window), recorder.latencies("read", end - window, end),
        reads, read_failures, sum(1 for a in recorder.select("pull", since=start) if a.outcome == OK), backend_up,
        sign_in_at_the_end(target.url))


def _reader(target: Target, recorder: Recorder, index: int, seed: int) -> ReadContext:
    """A supervisor signed in with a token of its own; every request it makes is counted as a read."""
    client = ObservedClient(target.url, recorder, kind="read", timeout=60.0)
    answer = client.send_json("POST", f"{API}/auth/device-tokens", {
        "username": SUPERVISOR.username, "password": SUPERVISOR.password, "device_id": f"l2-reader-{seed}-{index}",
        "device_label": "load reader"}).json()
    client.token = answer["token"]
    return ReadContext(client, random.Random(f"reader:{seed}:{index}"))  # noqa: S311


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 302 itself is the answer looked at


def sign_in_at_the_end(url: str) -> dict[str, int]:
    """The statuses of signing in as the supervisor: the web page, its form (302 home), home, and a device token."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)
    statuses: dict[str, int] = {}

    def step(name: str, path: str, body: bytes | None = None, content_type: str = "") -> str:
        headers = {"Content-Type": content_type} if content_type else {}
        request = urllib.request.Request(url + path, data=body, headers=headers)  # noqa: S310 - the server under test
        try:
            with opener.open(request, timeout=30) as answer:  # nosec B310
                statuses[name] = answer.status
                return answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            statuses[name] = error.code
            return ""

    token = re.search(r'name="csrf_token" value="([^"]+)"', step("sign-in page", "/login"))
    form = {"csrf_token": token[1] if token else "", "username": SUPERVISOR.username, "password": SUPERVISOR.password}
    step("sign in", "/login", urlencode(form).encode(), "application/x-www-form-urlencoded")
    step("home", "/")
    step("device sign-in", f"{API}/auth/device-tokens", json.dumps({
        "username": SUPERVISOR.username, "password": SUPERVISOR.password, "device_id": "l2-final-sign-in"}).encode(),
        "application/json")
    return statuses


# --- L3: the thundering herd --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class L3:
    """500 phones, each holding a few visits from the outage, reconnect within 10 s and send them.

    Each device's run is short (push its outbox, upload its photos, pull) and starts in a pool of `threads` at its
    moment in the window; a device waits out Retry-After and backs off, and keeps trying until the drain limit. The
    client waits `timeout` seconds for an answer, far longer than the server should ever make it wait (it refuses
    what waited 5 s for a worker): with the load generator on the same 2 cores as the server, PostgreSQL and nginx,
    a client thread may wait for the CPU as long as for the server, and a short timeout would measure that.

    What the figures mean on 2 shared cores: the time to drain is the server's and the load generator's together (its
    hundreds of threads build, gzip and parse requests on the cores the workers need), so it is an upper bound for the
    server alone; a timeout or connection error counted here is still a failure, since the client waits far longer
    than the proxy (5 s to reach a worker) or the app (5 s in gunicorn's queue) takes to answer 503 + Retry-After.
    """

    devices: int = 500
    submissions: int = 5  # queued on each device
    window: float = 10.0
    threads: int | None = None  # None: one per device, so each starts on time
    drain_limit: float = DRAIN_LIMIT_SECONDS
    batch: int = 100
    mix: Mix = field(default_factory=Mix)
    seed: int = 3003
    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=30, base_seconds=0.5, cap_seconds=30.0))
    prepare_threads: int = 4


@dataclass
class L3Figures:
    scenario: L3
    run: Run
    drained: float | None  # seconds from the window's start until the last submission was acknowledged
    done: float  # until the last device had uploaded its files and pulled
    start_lag: float  # the latest a device run started after its moment (the load generator's own delay)
    push: Latencies

    @property
    def shed_share(self) -> float | None:
        """Of the 429 and 503 answers, the share that came with Retry-After."""
        busy = self.run.answers.busy
        return self.run.answers.shed / busy if busy else None

    def lines(self) -> list[str]:
        s, a = self.scenario, self.run.answers
        drained = "NOT drained" if self.drained is None else f"{self.drained:.1f} s"
        share = "no 429/503 answers" if self.shed_share is None else f"{self.shed_share:.0%}"
        return [
            f"L3: time to drain {s.devices} devices {drained}; share of 429/503 with Retry-After {share} "
            f"({a.shed} of {a.total} answers shed); lost {len(self.run.ingest.lost)}",
            f"{s.devices} devices with {s.submissions} visits each started within {s.window:g} s (latest start "
            f"{self.start_lag:.1f} s late); runs done (files uploaded, pulled) after {self.done:.1f} s; "
            f"push p50/p95/p99 {self.push.text()}",
            *self.run.lines(),
        ]

    def problems(self, performance: bool = True) -> list[str]:
        problems = self.run.problems()
        if self.drained is None or self.drained > self.scenario.drain_limit:
            problems.append(f"not drained within {self.scenario.drain_limit:g} s: {self.drained}")
        return problems


def run_l3(scenario: L3, target: Target, report: Callable[[str], None] | None = None) -> L3Figures:
    say = report or (lambda line: None)
    recorder, failures = Recorder(), []
    say(f"L3: preparing {scenario.devices} devices ({scenario.submissions} visits each)")
    devices = _prepared_devices("l3", scenario, target, recorder, scenario.submissions)
    rng = random.Random(scenario.seed)  # noqa: S311
    moments = sorted((rng.uniform(0, scenario.window), i) for i in range(scenario.devices))
    acked_at: dict[int, float] = {}
    lags: list[float] = []
    say(f"L3: {scenario.devices} devices reconnect within {scenario.window:g} s")
    with Watch(target) as watch, ticking(say, recorder, devices, watch), \
            ThreadPoolExecutor(max_workers=scenario.threads or scenario.devices) as pool:
        start = time.monotonic()
        deadline = start + scenario.drain_limit

        def reconnect(index: int, moment: float) -> None:
            device = devices[index]
            lags.append(time.monotonic() - (start + moment))
            while (device.outbox or files_left(device)) and time.monotonic() < deadline:
                before = (len(device.outbox), files_left(device))
                went_through = attempt(device.sync, device, failures)  # else it gave up: the server was busy
                if not device.outbox and index not in acked_at:
                    acked_at[index] = time.monotonic() - start
                if went_through and (len(device.outbox), files_left(device)) == before:
                    break  # answered, yet nothing moved: a refusal that sending again will not change
            attempt(device.pull, device, failures)

        futures = []
        for moment, index in moments:
            sleep_until(start + moment)
            futures.append(pool.submit(reconnect, index, moment))
        for future in futures:
            future.result()
        done = time.monotonic() - start
    drained = max(acked_at.values()) if len(acked_at) == scenario.devices else None
    return L3Figures(scenario, finish(target, watch, recorder, devices, failures, since=start), drained, done,
                     max(lags, default=0.0), recorder.latencies("push", since=start))
