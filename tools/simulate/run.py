"""A simulation run: N devices in threads prepare offline, sync, then check every acknowledgement; its figures."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tools.formfill import FillError
from tools.simulate.client import Client, GaveUp, HttpError, RetryPolicy
from tools.simulate.device import Device, DeviceSettings
from tools.simulate.knowledge import ProtocolError
from tools.simulate.plan import Mix, NothingToSurvey
from tools.simulate.stats import Stats, percentile

# What stops one device and is reported; anything else is a bug of the simulator and is raised.
DEVICE_FAILURES = (HttpError, GaveUp, ProtocolError, NothingToSurvey, FillError)


@dataclass(frozen=True)
class Options:
    url: str
    username: str
    password: str
    devices: int = 1
    submissions: int = 100  # per device
    batch: int = 100
    invalid_share: float = 0.05
    members: int | None = None
    seed: int = 1
    mix: Mix = field(default_factory=Mix)
    compress: bool = True
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify: bool = True  # resend every acknowledged submission at the end and expect `duplicate`
    uploads: bool = True  # upload the declared photos after each push


@dataclass(frozen=True)
class Progress:
    phase: str
    made: int
    pushed: int
    statuses: dict[str, int]
    retries: int
    pending: int


@dataclass
class SimulationResult:
    devices: list[Device]
    sync: Stats  # the sync phase's counters, before the verification resend
    retries: int  # requests sent again during the sync phase
    prepare_seconds: float
    sync_seconds: float
    verified: bool
    unaccounted: list[str] = field(default_factory=list)  # acknowledged, but a resend was not answered `duplicate`
    failures: list[str] = field(default_factory=list)  # devices that stopped, and why

    def count(self, status: str) -> int:
        return self.sync.statuses[status]

    @property
    def made(self) -> int:
        return sum(len(d.made) for d in self.devices)

    @property
    def pending(self) -> int:
        return sum(len(d.outbox) for d in self.devices)

    @property
    def accounting_problems(self) -> list[str]:
        return [problem for d in self.devices for problem in d.accounting_problems()]

    @property
    def submissions_per_second(self) -> float:
        return self.sync.pushed / self.sync_seconds if self.sync_seconds else 0.0

    def latency_ms(self, share: float) -> float | None:
        value = percentile(self.sync.latencies, share)
        return None if value is None else value * 1000

    @property
    def exit_code(self) -> int:
        """1: an acknowledged submission is unaccounted for, or the server broke the protocol; 2: not all was sent."""
        if self.unaccounted or self.accounting_problems or self.sync.protocol_errors:
            return 1
        return 2 if self.failures or self.pending else 0

    def summary(self) -> str:
        broken = sum(1 for d in self.devices for m in d.made.values() if m.broken)
        p50, p95 = self.latency_ms(0.5), self.latency_ms(0.95)
        lines = [
            f"devices         {len(self.devices)}; submissions made {self.made} ({broken} broken on purpose), "
            f"prepared in {self.prepare_seconds:.1f} s",
            f"pushed          {self.sync.pushed} in {self.sync.push_requests} requests",
            *(f"{status:<15} {self.count(status)}" for status in ("accepted", "duplicate", "invalid", "conflict")),
            f"retries         {self.retries}",
            f"attachments     {self.sync.files_stored} uploaded, {self.sync.files_again} already there; "
            f"{sum(len(d.complete) for d in self.devices)} submissions complete",
            f"elapsed         {self.sync_seconds:.2f} s",
            f"rate            {self.submissions_per_second:.1f} submissions/s",
            f"push latency    p50 {_ms(p50)}, p95 {_ms(p95)}",
            f"still in outbox {self.pending}",
        ]
        if self.verified:
            lines.append(f"unaccounted     {len(self.unaccounted)} of {sum(len(d.ledger) for d in self.devices)} acknowledged")
        lines += [f"HTTP error      {key}: {n}" for key, n in sorted(self.sync.http_errors.items())]
        lines += [f"signed in again after {code}: {n}" for code, n in sorted(self.sync.signed_in_again.items())]
        lines += [f"surprise        {s}" for s in self.sync.surprises[:10]]
        lines += [f"protocol error  {e}" for e in self.sync.protocol_errors[:10]]
        lines += [f"accounting      {p}" for p in self.accounting_problems[:10]]
        lines += [f"unaccounted     {u}" for u in self.unaccounted[:10]]
        lines += [f"device failed   {f}" for f in self.failures]
        return "\n".join(lines)


def simulate(options: Options, progress: Callable[[Progress], None] | None = None,
             interval: float = 2.0) -> SimulationResult:
    """Runs the devices against the server at options.url and returns what happened; raises only on simulator bugs."""
    devices = [_device(options, index) for index in range(options.devices)]
    failures: list[str] = []
    ticker = _Ticker(devices, progress, interval)
    with ticker:
        ticker.phase = "prepare"
        started = time.perf_counter()
        working = _each(devices, lambda d: _prepare(d, options.submissions), failures)
        prepared = time.perf_counter()
        ticker.phase = "sync"
        working = _each(working, Device.sync, failures)
        synced = time.perf_counter()
        snapshot, retries = Stats.total(d.stats for d in devices), sum(d.client.retries for d in devices)
        if options.verify:
            ticker.phase = "verify"
            _each(working, Device.verify, failures)
    unaccounted = [uid for device in devices for uid in device.unaccounted]
    return SimulationResult(devices, snapshot, retries, prepared - started, synced - prepared, options.verify,
                            unaccounted, failures)


def _device(options: Options, index: int) -> Device:
    # Seeded: the same seed makes the same submissions. Nothing here is a secret (ruff S311).
    rng = random.Random(f"{options.seed}:{index}")  # noqa: S311
    jitter = random.Random(rng.random())  # noqa: S311
    client = Client(options.url, timeout=options.timeout, policy=options.retry, rng=jitter)
    settings = DeviceSettings(
        username=options.username, password=options.password, device_id=f"sim-{options.seed}-{index:03d}",
        label=f"simulated phone {index}", batch=options.batch, compress=options.compress, members=options.members,
        invalid_share=options.invalid_share, mix=options.mix, uploads=options.uploads, team=index,
    )
    return Device(client, settings, rng)


def _prepare(device: Device, submissions: int) -> None:
    device.login()
    device.pull()
    device.refresh_forms()
    device.collect(submissions)


def _each(devices: list[Device], work: Callable[[Device], object], failures: list[str]) -> list[Device]:
    """Runs `work` on every device at once; returns the devices that finished it."""
    if not devices:
        return []
    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        futures = [(device, pool.submit(work, device)) for device in devices]
    finished = []
    for device, future in futures:
        error = future.exception()
        if error is None:
            finished.append(device)
        elif isinstance(error, DEVICE_FAILURES):
            failures.append(f"{device.settings.device_id}: {type(error).__name__}: {error}")
        else:
            raise error
    return finished


class _Ticker:
    """Calls `progress` every `interval` seconds from a thread of its own, and once at the end."""

    def __init__(self, devices: list[Device], progress: Callable[[Progress], None] | None, interval: float):
        self.devices, self.progress, self.interval = devices, progress, interval
        self.phase = "start"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulate-progress", daemon=True)

    def __enter__(self) -> _Ticker:
        if self.progress is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.progress is not None:
            self._thread.join()
            self._tell()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._tell()

    def _tell(self) -> None:
        assert self.progress is not None
        # Read without locks from the device threads: a progress line may be a moment stale, never wrong at the end.
        stats = [d.stats for d in self.devices]
        statuses: dict[str, int] = {}
        for s in stats:
            for key, n in list(s.statuses.items()):
                statuses[key] = statuses.get(key, 0) + n
        self.progress(Progress(self.phase, sum(len(d.made) for d in self.devices), sum(s.pushed for s in stats), statuses,
                               sum(d.client.retries for d in self.devices), sum(len(d.outbox) for d in self.devices)))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
