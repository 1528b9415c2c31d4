"""Reliability S12, slow links: `.venv/bin/python bench/s12_slow_links.py [--photo-mb 20] [--slow 100]`.

Serves a scratch database as `make run` does (gunicorn behind nginx), sends a photo at 2G speed (25 kB/s: a 20 MB
photo takes about 14 minutes) while 100 other connections trickle their headers or bodies, and times /healthz and
another phone's pushes all along. Prints S12's figure; exit 0 when S12 passes, 1 when not.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402 - after the path set-up, so the script runs from anywhere

from server.demo.accounts import ACCOUNTS  # noqa: E402
from tools import live_server  # noqa: E402
from tools.slow_links import Scenario, run  # noqa: E402

ENUMERATOR = next(a for a in ACCOUNTS if a.username == "demo_enumerator")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo-mb", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=25_000, help="bytes per second of the photo")
    parser.add_argument("--slow", type=int, default=100, help="slow or idle connections beside it")
    return parser.parse_args()


def main() -> int:
    args = parse()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="s12-") as tmp, \
            live_server.scratch_database(live_server.server(), "survey_s12") as database:
        live_server.prepare(database)
        engine = create_engine(database.url)
        with engine.connect() as connection:
            village = connection.execute(text("SELECT min(code) FROM area WHERE level = 'natural_village' "
                                              "AND code LIKE '532922%'")).scalar_one()
        engine.dispose()
        log = Path(tmp) / "gunicorn.log"
        with (live_server.gunicorn(database.url, Path(tmp) / "attachments", log, production=True,
                                   behind_proxy=True) as running,
              live_server.proxy(running.url, Path(tmp) / "proxy") as url):
            figures = run(Scenario(url, ENUMERATOR.username, ENUMERATOR.password, village,
                                   photo_bytes=int(args.photo_mb * 1024 * 1024), bytes_per_second=args.rate,
                                   slow_connections=args.slow))
        timeouts = log.read_text(errors="replace").count("WORKER TIMEOUT")
    print("\n".join(figures.lines()))
    print(f"workers killed for a timeout: {timeouts}")
    passed = (figures.photo_stored_whole and max(figures.health_ms, default=0) < 1000
              and max(figures.push_ms, default=0) < 1000 and not figures.health_failures and not figures.push_failures
              and timeouts == 0)
    print("S12 PASSED" if passed else "S12 FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
