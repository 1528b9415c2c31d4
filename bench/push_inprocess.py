"""Push in one process, no HTTP: `.venv/bin/python bench/push_inprocess.py [--batches 10 --revisits 0]`.

Calls the push service directly on a scratch database (migrated, forms published, small demo) with batches of 100
new household visits of six members, then with --revisits N, N more rounds of visits to the same households.
Prints submissions per second of the timed batches and the database time of the costliest statements, so a change
to ingest or reconciliation can be weighed without the noise of gunicorn and the load generator sharing two cores.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select, text  # noqa: E402 - after the path set-up, so the script runs from anywhere

from server.app import create_app  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models import FormVersion, User  # noqa: E402
from server.services.auth import Principal  # noqa: E402
from server.services.push import push  # noqa: E402
from survey_forms.definition import FormDefinition  # noqa: E402
from sync.evidence import entity_id  # noqa: E402
from tools import live_server  # noqa: E402
from tools.simulate.make import Subject, make_item  # noqa: E402

BATCH = 100
SENT_AT = "2026-11-22T09:30:00+08:00"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10, help="timed batches of 100")
    parser.add_argument("--revisits", type=int, default=0, metavar="ROUNDS",
                        help="time the last of this many rounds of revisits instead of the first visits")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="write a cProfile of the timed batches to FILE (read it with python -m pstats FILE)")
    return parser.parse_args()


def first_visits(definition: FormDefinition, areas: list[str], rng: random.Random, count: int) -> list[dict]:
    return [make_item(definition, Subject("household", rng.choice(areas)), rng, members=6).item for _ in range(count)]


def revisits(firsts: list[dict], base_version: int, rng: random.Random) -> list[dict]:
    """The first visits again, each about the household it made, from the version before this round."""
    items = []
    for first in firsts:
        household_id = entity_id("household", None, None, uuid.UUID(first["uuid"]), None)
        item = copy.deepcopy(first) | {"uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                       "base_version": base_version}
        item["subject"] = {**first["subject"], "id": str(household_id)}
        items.append(item)
    return items


def batches(items: list[dict]) -> list[dict]:
    return [{"device_id": "bench", "sent_at": SENT_AT, "submissions": items[i:i + BATCH]}
            for i in range(0, len(items), BATCH)]


def main() -> int:
    args = parse()
    with live_server.scratch_database(live_server.server(), "survey_push_bench") as database:
        live_server.prepare(database)
        app = create_app(database.overrides())
        with app.app_context():
            rate, statements = run(args, app)
    what = f"the last of {args.revisits} rounds of revisits" if args.revisits else "first visits"
    print(f"{args.batches} batches of {BATCH} household visits with 6 members ({what}), one process, no HTTP")
    print(f"submissions/s: {rate:,.0f}")
    for statement, seconds in statements.most_common(8):
        print(f"{seconds * 1000 / args.batches:7.1f} ms per batch  {statement}")
    return 0


def run(args: argparse.Namespace, app) -> tuple[float, Counter]:
    session = db.session
    user = session.scalar(select(User).where(User.username == "demo_enumerator"))
    principal = Principal(user.id, user.username, user.role, ("53",), device_id="bench")  # the batches name it
    form = session.scalar(select(FormVersion).where(FormVersion.form_id == "household_visit"))
    definition = FormDefinition.from_document(form.definition)
    areas = session.scalars(text("SELECT code FROM area WHERE level = 'natural_village'")).all()
    rng = random.Random(args.seed)  # noqa: S311 - test data
    firsts = first_visits(definition, areas, rng, (args.batches + 1) * BATCH)

    def send(batch: dict) -> None:
        _, results = push(session, principal, batch, None, app.extensions["pii"], app.extensions["check_limits"],
                          app.config["QUARANTINE_PER_DEVICE_DAY"])
        session.commit()
        refused = [r for r in results if r.status != "accepted"]
        if refused:
            raise SystemExit(f"not accepted: {refused[0]}")

    rounds = [batches(firsts)] + [batches(revisits(firsts, version, rng)) for version in range(1, args.revisits + 1)]
    for batch in [b for r in rounds[:-1] for b in r] + rounds[-1][:1]:  # untimed: earlier rounds, and a warm-up
        send(batch)
    statements: Counter = Counter()
    started: dict[int, float] = {}

    @event.listens_for(db.engine, "before_cursor_execute")
    def _before(connection, cursor, statement, parameters, context, executemany):
        started[id(connection)] = time.perf_counter()

    @event.listens_for(db.engine, "after_cursor_execute")
    def _after(connection, cursor, statement, parameters, context, executemany):
        statements[" ".join(statement.split())[:90]] += time.perf_counter() - started[id(connection)]

    timed = rounds[-1][1:args.batches + 1]
    profile = cProfile.Profile() if args.profile else None
    began = time.perf_counter()
    if profile is not None:
        profile.enable()
    for batch in timed:
        send(batch)
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    elapsed = time.perf_counter() - began
    return sum(len(b["submissions"]) for b in timed) / elapsed, statements


if __name__ == "__main__":
    sys.exit(main())
