"""Profile one scenario's requests in the gunicorn workers with py-spy, under the benchmark's load.

    python -m bench.profile "get one shop" [--seconds 15] [--reuse]

Needs the benchmark database (bench/run.py makes it; --reuse keeps it). Prints the functions
where the workers spent their time (inclusive and own), from py-spy's collapsed stacks, and
keeps the raw stacks (for a flame graph) in the run's temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench import generate, load
from bench.run import build_sample, fresh_database, requests_of
from bench.scenarios import SCENARIOS
from bench.servers import get, start


def summarise(raw: Path, top: int = 25) -> list[str]:
    """Inclusive and own shares per function from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue  # not a "stack count" line (py-spy notes, a line cut short)
        n = int(count)
        frames = [
            f.split(" (")[0] + " (" + f.rsplit("/", 1)[-1] if " (" in f else f for f in stack.split(";")
        ]
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "own:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--db-name", default="signage_bench")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--port", type=int, default=18710)
    parser.add_argument(
        "--gil", action="store_true", help="sample only threads holding the GIL (CPU in Python)"
    )
    args = parser.parse_args(argv)
    scenario = next(s for s in SCENARIOS if args.scenario in s.name)
    server_url = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    url, _ = fresh_database(server_url, args.db_name, args.reuse)
    generate.generate(url)
    work = Path(tempfile.mkdtemp(prefix="signage-profile-"))
    env = {
        **os.environ,
        "SIGNAGE_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "ACCESS_TOKEN_TTL": "3600",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        "GUNICORN_MAX_REQUESTS": "0",
        "MEDIA_ROOT": str(work / "media"),
    }
    api = start("api", "wsgi:app", args.port, env, work, "/readyz")
    try:
        body = json.dumps({"username": "bench_captain", "password": generate.BENCH_PASSWORD}).encode()
        status, answer = get(
            api.base, "/api/v1/auth/token", {"Content-Type": "application/json"}, body, "POST"
        )
        if status != 200:
            raise SystemExit(f"sign-in failed: {status}")
        headers = {"Authorization": f"Bearer {json.loads(answer)['access_token']}"}
        reqs = requests_of(scenario, build_sample(url, api, headers))
        raw = work / "stacks.txt"
        spy = Path(sys.executable).with_name("py-spy")
        record = [str(spy), "record", "--format", "raw", "-o", str(raw), "-d", str(args.seconds)]
        record += ["--subprocesses", "--nonblocking", "-p", str(api.process.pid)] + (
            ["--gil"] if args.gil else []
        )
        driver = threading.Thread(
            target=load.drive,
            args=(
                api.base,
                reqs,
                headers,
                args.connections,
                args.seconds + 2,
                "wrk" if load.have_wrk() else "python",
            ),
        )
        driver.start()
        subprocess.run(record, check=True, capture_output=True)
        driver.join()
    finally:
        api.stop()
    print("\n".join(summarise(raw)))
    print(f"\nraw stacks: {raw}")


if __name__ == "__main__":
    main()
