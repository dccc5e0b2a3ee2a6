"""CPU time per request, by process: the gunicorn workers, PostgreSQL and the load driver.

    python -m bench.cpu "get one shop" "list 50" [--seconds 10] [--workers 3 --threads 4]

Needs the benchmark database (bench/run.py makes it) on a local PostgreSQL. Drives each load
scenario at its own connections, and the bare-Flask ceiling before and after at 16, with wrk, and reads the processes' user + system
time from /proc around each run. On a shared machine requests per second swing with the load;
CPU per request moves much less, so it shows what a change saved and where (Python or SQL).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from bench import load
from bench.run import build_sample, requests_of, server_env, sign_in
from bench.scenarios import SCENARIOS
from bench.servers import Server, start

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (ended ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes (the postmaster and its children)."""
    found = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


def measure(
    server: Server, requests, headers: dict, seconds: float, label: str, connections: int = 16
) -> str:
    load.drive(server.base, requests, headers, connections, 3, "wrk")  # warm-up
    workers, database = server.workers(), postgres_pids()
    before = (cpu_seconds(workers), cpu_seconds(database), resource.getrusage(resource.RUSAGE_CHILDREN))
    started = time.monotonic()
    result = load.drive(server.base, requests, headers, connections, seconds, "wrk")
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = {
        "workers": cpu_seconds(workers) - before[0],
        "postgres": cpu_seconds(database) - before[1],
        "wrk": (after.ru_utime + after.ru_stime) - (before[2].ru_utime + before[2].ru_stime),
    }
    n = max(result.requests, 1)
    per = "  ".join(f"{k} {v / n * 1e6:5.0f}" for k, v in spent.items())
    busy = sum(spent.values()) / elapsed
    return (
        f"{label:28} {result.rps:7.0f} req/s  CPU us/request: {per}  "
        f"all {sum(spent.values()) / n * 1e6:5.0f}  ({busy:.2f} cores busy)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--db-name", default="signage_bench")
    parser.add_argument("--port", type=int, default=18720)
    args = parser.parse_args(argv)
    if not load.have_wrk():
        raise SystemExit("wrk is needed (make bench installs it)")
    scenarios = []
    for name in args.scenarios:
        found = [s for s in SCENARIOS if name in s.name and s.measure == "load"]
        if len(found) != 1:
            raise SystemExit(
                f"{name!r} names {len(found)} load scenarios; name one of: "
                + ", ".join(s.name for s in SCENARIOS if s.measure == "load")
            )
        scenarios.append(found[0])
    server_url = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    if not any(host in server_url for host in ("@127.0.0.1", "@localhost", "@/")):
        raise SystemExit("PostgreSQL's CPU is read from this machine's processes: BENCH_PG must be local")
    with psycopg.connect(f"{server_url}/postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.db_name,)).fetchone():
            raise SystemExit(f"no database {args.db_name}: run make bench first")
    url = f"{server_url}/{args.db_name}"
    env = server_env(url, argparse.Namespace(workers=args.workers, threads=args.threads, timeout=30))
    logs = Path(tempfile.mkdtemp(prefix="signage-cpu-"))
    env["MEDIA_ROOT"] = str(logs / "media")
    api = start("api", "wsgi:app", args.port, env, logs, "/readyz")
    try:
        bare = start("bare", "bench.bare_app:app", args.port + 1, env, logs, "/json")
        try:
            headers = sign_in(api)
            sample = build_sample(url, api, headers)
            ceiling = [load.Request("GET", "/json")]
            print(measure(bare, ceiling, {}, args.seconds, "bare Flask"), flush=True)
            for scenario in scenarios:
                requests = requests_of(scenario, sample)
                row = measure(api, requests, headers, args.seconds, scenario.name, scenario.connections)
                print(row, flush=True)
            print(measure(bare, ceiling, {}, args.seconds, "bare Flask"), flush=True)
        finally:
            bare.stop()
    finally:
        api.stop()


if __name__ == "__main__":
    main()
