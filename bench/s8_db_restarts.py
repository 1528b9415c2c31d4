"""Reliability S8, immediate PostgreSQL restarts during sync: `.venv/bin/python bench/s8_db_restarts.py [--devices 50]`.

Makes a private PostgreSQL cluster (scripts/devdb.sh with its own folder and port; production durability: fsync,
synchronous_commit and full_page_writes on), serves it as `make run` does (gunicorn behind nginx, production
settings), lets simulated devices sync while the cluster is restarted with `pg_ctl restart -m immediate` every
--every seconds, --times times, then drains and counts. Prints S8's figures; exit 0 when S8 passes, 1 when not.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import db_restarts  # noqa: E402 - after the path set-up, so the script runs from anywhere


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=100, help="per device (N = devices x submissions)")
    parser.add_argument("--every", type=float, default=20.0, metavar="SECONDS", help="between two restarts")
    parser.add_argument("--times", type=int, default=3, help="restarts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args()


def main() -> int:
    args = parse()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally blocks stop the servers and the cluster
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="s8-") as tmp:
        result = db_restarts.run(Path(tmp), port, args.devices, args.submissions, args.every, args.times,
                                 args.workers, None if args.quiet else lambda line: print(line, file=sys.stderr))
    print("\n".join(result.lines()))
    problems = result.problems()
    print("\n".join(["S8 PASSED"] if not problems else ["S8 FAILED:", *(f"  {p}" for p in problems)]))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
