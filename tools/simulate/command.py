"""The command line of the simulator: arguments, progress lines on stderr, the summary, the exit code."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Sequence

from tools.simulate.client import Client, GaveUp, HttpError, RetryPolicy
from tools.simulate.plan import Mix
from tools.simulate.run import Options, Progress, simulate

PASSWORD_VARIABLE = "SIMULATE_PASSWORD"  # noqa: S105 (the name of a variable, not a password)
EPILOG = f"""The password may also come from ${PASSWORD_VARIABLE}; without either it is asked for.
Exit status: 0 all sent and accounted for; 1 an acknowledged submission is unaccounted for, or the server broke
the protocol; 2 something is still in an outbox (a device failed or gave up), or --wait ran out."""


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.simulate", epilog=EPILOG,
                                     description="Simulated phones that sign in, pull, fill real forms and sync.")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default %(default)s)")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", default=os.environ.get(PASSWORD_VARIABLE))
    parser.add_argument("--devices", type=int, default=1, help="phones, each in a thread of its own")
    parser.add_argument("--submissions", type=int, default=100, help="submissions per device")
    parser.add_argument("--batch", type=int, default=100, help="submissions per push request (at most 200)")
    parser.add_argument("--invalid-share", type=float, default=0.05, help="share broken on purpose (formfill mutations)")
    parser.add_argument("--new-share", type=float, default=0.2, help="share of visits to households not known yet")
    parser.add_argument("--village-share", type=float, default=0.1, help="share of village forms")
    parser.add_argument("--members", type=int, default=None, help="members per household (default: formfill's 1-7)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed makes the same submissions")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request before it is retried")
    parser.add_argument("--no-gzip", dest="compress", action="store_false", help="send push bodies uncompressed")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip resending every acknowledged submission at the end to check it is still stored")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait up to this long for the server's /healthz to answer 200 before starting")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= 200:
        parser.error("--batch must be 1-200 (protocol.md)")
    if args.devices < 1 or args.submissions < 0:
        parser.error("--devices must be at least 1 and --submissions not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    password = args.password or getpass.getpass(f"Password of {args.username}: ")
    options = Options(
        url=args.url, username=args.username, password=password, devices=args.devices, submissions=args.submissions,
        batch=args.batch, invalid_share=args.invalid_share, members=args.members, seed=args.seed,
        mix=Mix(new_households=args.new_share, villages=args.village_share), compress=args.compress,
        timeout=args.timeout, verify=args.verify,
    )
    if args.wait and not _ready(args.url, args.wait):
        print(f"{args.url}/healthz did not answer 200 within {args.wait:g} s", file=sys.stderr)
        return 2
    result = simulate(options, progress=None if args.quiet else _print_progress)
    print(result.summary())
    return result.exit_code


def _ready(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    client = Client(url, timeout=2.0, policy=RetryPolicy(attempts=1))
    while True:
        try:
            return client.request("GET", "/healthz").status == 200
        except (GaveUp, HttpError):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def _print_progress(progress: Progress) -> None:
    statuses = " ".join(f"{key} {n}" for key, n in sorted(progress.statuses.items()))
    print(f"[{progress.phase}] made {progress.made}, pushed {progress.pushed} ({statuses or 'no answers yet'}), "
          f"retries {progress.retries}, in outboxes {progress.pending}", file=sys.stderr, flush=True)
