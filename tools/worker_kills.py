"""Reliability S7: SIGKILL a random gunicorn worker every few seconds while simulated devices sync, then drain and count.

`run(Scenario(...), engine)` drives it against a gunicorn whose master pid it is given and returns the Figures;
bench/s7_worker_kills.py (its own server and database, the full 10 minutes) and tests/live/test_worker_kills.py
(the shared live server, seconds) both call it. It reads the database only to count what was stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text

from core.pii import SEALED
from sync.blobs import FileBlobStore
from tools.live_server import healthy
from tools.simulate import Device, Options, Progress, simulate
from tools.simulate.run import DEVICE_FAILURES
from tools.simulate.stats import Stats

DRAIN_PASSES = 3  # sync passes per device after the kills; one is enough unless the server misbehaves
RECOVERY_SECONDS = 60.0  # the time the master has to bring every worker back once the kills stop


def workers(master_pid: int) -> list[int]:
    """The live (not yet reaped) children of the gunicorn master: its workers, since it forks nothing else."""
    pids: list[int] = []
    for children in Path(f"/proc/{master_pid}/task").glob("*/children"):
        try:
            pids += [int(pid) for pid in children.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):  # a thread of the master ended while we read
            continue
    return sorted(pid for pid in set(pids) if _state(pid) not in ("Z", None))


def alive(pid: int) -> bool:
    return _state(pid) not in ("Z", None)


def _state(pid: int) -> str | None:
    try:
        # /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces, so split after its closing parenthesis.
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


class Killer:
    """A thread that SIGKILLs one random worker every `every` seconds for `seconds`, from start() on."""

    def __init__(self, master_pid: int, every: float, seconds: float, rng: random.Random):
        self.master_pid, self.every, self.seconds, self.rng = master_pid, every, seconds, rng
        self.workers_before = len(workers(master_pid))
        self.killed: list[int] = []
        self.idle_ticks = 0  # ticks when every worker was already killed and not yet replaced
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="s7-killer", daemon=True)

    def start(self) -> None:
        with self._lock:  # called from the simulator's progress thread and from the main thread
            if self.started_at is None:
                self.started_at = time.monotonic()
                self._thread.start()

    def stop(self) -> None:
        self.start()  # a window that never opened is still closed, and its figures are zero
        self._stop.set()
        self._thread.join()

    @property
    def window(self) -> float:
        return (self.stopped_at or time.monotonic()) - (self.started_at or time.monotonic())

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while not self._stop.wait(self.every) and time.monotonic() <= deadline:
            candidates = [pid for pid in workers(self.master_pid) if pid not in self.killed]
            if not candidates:
                self.idle_ticks += 1
                continue
            pid = self.rng.choice(candidates)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended between the listing and the kill
                continue
            self.killed.append(pid)
        self.stopped_at = time.monotonic()
        self.finished.set()

    def recovered(self, url: str, timeout: float = RECOVERY_SECONDS) -> list[int]:
        """The workers once the master has replaced every killed one and /healthz answers 200 (or the timeout ran out)."""
        deadline = time.monotonic() + timeout
        while True:
            now = workers(self.master_pid)
            back = len(now) >= self.workers_before and not set(now) & set(self.killed)
            if (back and healthy(url)) or time.monotonic() > deadline:
                return now
            time.sleep(0.2)


@dataclass(frozen=True)
class Scenario:
    options: Options  # the simulator's: url, account, devices, submissions per device, retry policy, seed
    master_pid: int
    kill_every: float = 2.0
    kill_seconds: float = 600.0
    attachment_dir: Path | None = None  # the server's ATTACHMENT_DIR, to check that stored files are whole
    kill_seed: int = 7


@dataclass
class Figures:
    planned: int
    made: int = 0
    acknowledged: int = 0
    stored: int = 0  # rows for the UUIDs the devices made
    duplicates: int = 0  # extra rows, rows under UUIDs no device made, conflict rows for a plain resend
    lost: list[str] = field(default_factory=list)  # acknowledged, not stored
    never_stored: list[str] = field(default_factory=list)  # made, neither acknowledged nor stored after the drain
    changed: list[str] = field(default_factory=list)  # stored payload (members, manifest) differs from what was sent
    orphan_attachments: int = 0  # attachment rows without their submission (anyone's)
    broken_files: list[str] = field(default_factory=list)  # attachment rows of ours whose bytes are missing or wrong
    missing_files: list[str] = field(default_factory=list)  # declared by an acknowledged submission, not stored
    temp_files: int = 0  # left in the blob store's tmp/ by uploads killed before their rename
    unaccounted_during: list[str] = field(default_factory=list)  # acknowledged, resent under kills, not `duplicate`
    unaccounted_after: list[str] = field(default_factory=list)  # the same after the drain
    pending: int = 0  # still in an outbox after the drain
    held: Counter[str] = field(default_factory=Counter)  # answered invalid or conflict
    gave_up: int = 0  # a device's request ran out of attempts while workers were being killed
    failures: list[str] = field(default_factory=list)  # devices that stopped during the drain
    stats: Stats = field(default_factory=Stats)  # every sync pass of every device, the drain's included
    retries: int = 0
    kill_every: float = 0.0
    kills: int = 0
    idle_ticks: int = 0
    kill_seconds: float = 0.0
    workers_before: int = 0
    workers_after: int = 0
    master_alive: bool = False
    server_healthy: bool = False
    elapsed: float = 0.0  # from the first push to the end of the drain
    accounting: list[str] = field(default_factory=list)

    @property
    def inconsistent(self) -> int:
        return len(self.changed) + self.orphan_attachments + len(self.broken_files)

    @property
    def server_errors(self) -> Counter[str]:
        return Counter({key: n for key, n in self.stats.http_errors.items() if key.split()[1].startswith("5")})

    def problems(self) -> list[str]:
        """Each way the run fails S7; empty when it passes."""
        checks = [
            (self.made == self.planned, f"devices made {self.made} of {self.planned} submissions"),
            (not self.lost, f"lost {len(self.lost)} acknowledged submissions: {self.lost[:5]}"),
            (self.stored == self.planned, f"stored {self.stored} of {self.planned} after the drain"),
            (self.duplicates == 0, f"{self.duplicates} duplicate rows"),
            (self.inconsistent == 0, f"{self.inconsistent} inconsistent rows: payload {self.changed[:3]}, orphan "
                                     f"attachments {self.orphan_attachments}, broken files {self.broken_files[:3]}"),
            (not self.missing_files, f"{len(self.missing_files)} declared files not stored: {self.missing_files[:3]}"),
            (not self.never_stored, f"{len(self.never_stored)} made but neither acknowledged nor stored"),
            (not self.unaccounted_during, f"{len(self.unaccounted_during)} acknowledged, resent under kills, "
                                          f"not answered duplicate: {self.unaccounted_during[:5]}"),
            (not self.unaccounted_after, f"{len(self.unaccounted_after)} not answered duplicate after the drain"),
            (self.pending == 0 and not self.failures, f"{self.pending} still in outboxes; {self.failures[:3]}"),
            (not self.held, f"held aside: {dict(self.held)}"),
            (not self.stats.http_errors, f"answers not retried (5xx is a server bug, a 4xx the device's): "
                                         f"{dict(self.stats.http_errors)}"),
            (not self.stats.protocol_errors and not self.accounting,
             f"protocol {self.stats.protocol_errors[:3]}; accounting {self.accounting[:3]}"),
            (self.kills > 0, "no worker was killed"),
            (self.master_alive and self.server_healthy and self.workers_after >= self.workers_before,
             f"after the kills: master alive {self.master_alive}, /healthz 200 {self.server_healthy}, "
             f"workers {self.workers_after} of {self.workers_before}"),
        ]
        return [message for ok, message in checks if not ok]

    def lines(self) -> list[str]:
        return [
            f"S7: submissions lost: {len(self.lost)} of {self.planned} with kill -9 of a worker every {self.kill_every:g} s "
            f"for {self.kill_seconds / 60:.1f} min; duplicates: {self.duplicates}; inconsistent rows: {self.inconsistent}",
            f"workers killed {self.kills} ({self.idle_ticks} ticks found none left to kill); of {self.workers_before} "
            f"workers {self.workers_after} back, master alive {self.master_alive}, /healthz 200 {self.server_healthy}",
            f"made {self.made}, acknowledged {self.acknowledged}, stored {self.stored}, never stored {len(self.never_stored)}, "
            f"acknowledged only on a resend (committed, answer killed) {self.stats.statuses['duplicate']}",
            f"retries {self.retries}; requests given up under kills {self.gave_up}; "
            f"5xx seen {sum(self.server_errors.values())} {dict(self.server_errors) or ''}".rstrip(),
            f"resends answered other than duplicate: {len(self.unaccounted_during)} under kills, "
            f"{len(self.unaccounted_after)} after the drain",
            f"files: {self.stats.files_stored} stored, {len(self.missing_files)} missing, {len(self.broken_files)} "
            f"broken; {self.temp_files} temporary files left by killed uploads",
            f"elapsed {self.elapsed:.1f} s (kill window {self.kill_seconds:.1f} s)",
        ]


def run(scenario: Scenario, engine: Engine, report: Callable[[str], None] | None = None,
        fault: Killer | None = None) -> Figures:
    """Runs S7 against the server at scenario.options.url and returns its figures; `report` gets progress lines.

    `fault` replaces the worker killer with another fault of the same shape (tools/db_restarts.py: S8).
    """
    say = report or (lambda line: None)
    rng = random.Random(scenario.kill_seed)  # noqa: S311 - which worker to kill, not a secret
    killer = fault or Killer(scenario.master_pid, scenario.kill_every, scenario.kill_seconds, rng)
    temp_before = _temp_files(scenario.attachment_dir)
    devices, unaccounted, gave_up = _sync_under_kills(scenario.options, killer, say)
    figures = Figures(scenario.options.devices * scenario.options.submissions, unaccounted_during=sorted(unaccounted),
                      gave_up=gave_up, kill_every=scenario.kill_every, kills=len(killer.killed),
                      idle_ticks=killer.idle_ticks, kill_seconds=killer.window, workers_before=killer.workers_before)
    figures.workers_after = len(killer.recovered(scenario.options.url))
    figures.master_alive, figures.server_healthy = alive(scenario.master_pid), healthy(scenario.options.url)
    say(f"kills over ({figures.kills}); draining")
    figures.failures = _each(devices, _drain)
    figures.elapsed = time.monotonic() - (killer.started_at or 0.0)
    _count_devices(figures, devices)
    _count_database(figures, devices, engine, scenario.attachment_dir)
    figures.temp_files = _temp_files(scenario.attachment_dir) - temp_before
    return figures


def _sync_under_kills(options: Options, killer: Killer, say: Callable[[str], None]) -> tuple[list[Device], set[str], int]:
    """The simulation with the kills from its first push on, then resends until the kill window closes.

    Returns the devices, the acknowledged UUIDs a resend found not `duplicate`, and how often a device gave up.
    """
    def progress(p: Progress) -> None:
        if p.phase != "prepare":
            killer.start()  # the kills begin with the first push, so that every kill can land mid-batch
        say(f"[{p.phase}] made {p.made}, pushed {p.pushed} {dict(p.statuses)}, retries {p.retries}, "
            f"in outboxes {p.pending}, workers killed {len(killer.killed)}")

    result = simulate(options, progress, interval=0.5)
    killer.start()
    unaccounted, gave_up = set(result.unaccounted), len(result.failures)
    while not killer.finished.is_set():
        # Phones keep syncing while the workers die: what is left, then every acknowledged submission again.
        say(f"resending under kills; workers killed {len(killer.killed)}")
        gave_up += len(_each(result.devices, _sync_and_verify))
        unaccounted |= {uid for device in result.devices for uid in device.unaccounted}
    killer.stop()
    return result.devices, unaccounted, gave_up


def _sync_and_verify(device: Device) -> None:
    device.sync()
    device.verify()


def _drain(device: Device) -> None:
    """After the kills: the device sends its outbox until it is empty, then resends every acknowledged submission."""
    for _ in range(DRAIN_PASSES):
        device.sync()
        if not device.outbox:
            break
    device.verify()


def _each(devices: list[Device], work: Callable[[Device], object]) -> list[str]:
    """Runs `work` on every device at once; returns why the devices that stopped stopped."""
    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        futures = [(device, pool.submit(work, device)) for device in devices]
    failures = []
    for device, future in futures:
        error = future.exception()
        if isinstance(error, DEVICE_FAILURES):
            failures.append(f"{device.settings.device_id}: {type(error).__name__}: {error}")
        elif error is not None:
            raise error
    return failures


def _count_devices(figures: Figures, devices: list[Device]) -> None:
    figures.made = sum(len(d.made) for d in devices)
    figures.acknowledged = sum(len(d.ledger) for d in devices)
    figures.unaccounted_after = [uid for d in devices for uid in d.unaccounted]
    figures.pending = sum(len(d.outbox) for d in devices)
    figures.held = Counter(held.status for d in devices for held in d.held.values())
    figures.stats = Stats.total(d.stats for d in devices)
    figures.retries = sum(d.client.retries for d in devices)
    figures.accounting = [problem for d in devices for problem in d.accounting_problems()]


def _as_sent(stored: object, sent: object) -> bool:
    """The stored value is the sent one, but for text the server sealed (ID and phone numbers, sync.sealing)."""
    if isinstance(stored, dict) and isinstance(sent, dict):
        return stored.keys() == sent.keys() and all(_as_sent(stored[k], sent[k]) for k in stored)
    if isinstance(stored, list) and isinstance(sent, list):
        return len(stored) == len(sent) and all(_as_sent(a, b) for a, b in zip(stored, sent, strict=True))
    return stored == sent or (isinstance(stored, str) and stored.startswith(SEALED) and isinstance(sent, str))


def _count_database(figures: Figures, devices: list[Device], engine: Engine, attachment_dir: Path | None) -> None:
    """Stored rows against what the devices made and were told, by UUID: lost, duplicated, changed, incomplete."""
    made = {uid: m.item for d in devices for uid, m in d.made.items()}
    acknowledged = {uid for d in devices for uid in d.ledger}
    uuids, device_ids = {"u": list(made)}, {"d": [d.settings.device_id for d in devices]}
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT uuid::text, payload FROM submission WHERE uuid = ANY(CAST(:u AS uuid[]))"),
                                  uuids).all()
        by_device = connection.scalar(text("SELECT count(*) FROM submission WHERE device_id = ANY(:d)"), device_ids)
        conflicts = connection.scalar(text(
            "SELECT count(*) FROM submission_conflict WHERE submission_uuid = ANY(CAST(:u AS uuid[]))"), uuids)
        figures.orphan_attachments = connection.scalar(text(
            "SELECT count(*) FROM attachment a WHERE NOT EXISTS (SELECT FROM submission s WHERE s.uuid = a.submission_uuid)"))
        files = connection.execute(text("SELECT submission_uuid::text, name, sha256 FROM attachment "
                                        "WHERE submission_uuid = ANY(CAST(:u AS uuid[]))"), uuids).all()
    stored = {uid for uid, _ in rows}
    figures.stored = len(rows)
    figures.duplicates = (len(rows) - len(stored)) + (by_device - len(rows)) + conflicts
    figures.lost = sorted(acknowledged - stored)
    figures.never_stored = sorted(made.keys() - acknowledged - stored)
    # The row holds the item as sent, members and declared files included (ID numbers sealed): any other difference
    # is a half-written submission.
    figures.changed = sorted(uid for uid, payload in rows if not _as_sent(payload, json.loads(json.dumps(made[uid]))))
    declared = {(uid, a["name"]): a["sha256"] for uid in acknowledged for a in made[uid].get("attachments") or []}
    kept = {(uid, name): sha for uid, name, sha in files}
    figures.missing_files = sorted(f"{uid}/{name}" for uid, name in declared.keys() - kept.keys())
    figures.broken_files = sorted(f"{uid}/{name}" for (uid, name), sha in kept.items()
                                  if sha != declared.get((uid, name)) or not _whole(attachment_dir, sha))


def _whole(attachment_dir: Path | None, sha256: str) -> bool:
    if attachment_dir is None:
        return True
    try:
        return hashlib.sha256(FileBlobStore(attachment_dir).read(sha256)).hexdigest() == sha256
    except FileNotFoundError:
        return False


def _temp_files(attachment_dir: Path | None) -> int:
    folder = attachment_dir / "tmp" if attachment_dir else None
    return sum(1 for path in folder.iterdir() if path.is_file()) if folder and folder.is_dir() else 0
