"""Choose gunicorn's workers and threads: the ceiling and the two hot reads under each setting.

    python -m bench.sweep 2x8 3x4 4x4 5x1 [--duration 8]

Needs the benchmark database (bench/run.py makes it). Prints one line per setting; the ratios
to the bare-Flask ceiling under the same setting are what to compare.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench import load
from bench.run import build_sample, requests_of, server_env, sign_in
from bench.scenarios import SCENARIOS
from bench.servers import start


def _driver(base: str, reqs: list, headers: dict, tool: str):
    return lambda seconds: load.drive(base, reqs, headers, 16, seconds, tool)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("settings", nargs="+", help="WORKERSxTHREADS, e.g. 3x4 (threads 1: sync workers)")
    parser.add_argument(
        "--server-url", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--db-name", default="signage_bench")
    parser.add_argument("--duration", type=float, default=9)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--port", type=int, default=18720)
    args = parser.parse_args(argv)
    args.tool = "wrk" if load.have_wrk() else "python"
    url = f"{args.server_url}/{args.db_name}"
    scenarios = [s for s in SCENARIOS if s.name in ("get one shop", "list 50 shops")]
    print(
        "| workers x threads | bare Flask req/s | get one shop req/s (share, p99 ms) "
        "| list 50 req/s (share, p99 ms) |"
    )
    print("| --- | --- | --- | --- |")
    sample = None
    for setting in args.settings:
        workers, threads = (int(x) for x in setting.split("x"))
        env = server_env(url, args, workers, threads)
        work = Path(tempfile.mkdtemp(prefix="signage-sweep-"))
        env["MEDIA_ROOT"] = str(work / "media")
        api = start("api", "wsgi:app", args.port, env, work, "/readyz")
        bare = start("bare", "bench.bare_app:app", args.port + 1, env, work, "/json")
        try:
            headers = sign_in(api)
            sample = sample or build_sample(url, api, headers)
            measures = [_driver(bare.base, [load.Request("GET", "/json")], {}, args.tool)]
            measures += [_driver(api.base, requests_of(s, sample), headers, args.tool) for s in scenarios]
            ceiling, *results = load.interleave(measures, args.duration, args.warmup, args.rounds)
            cells = [f"{ceiling.rps:,.0f}"]
            cells += [f"{r.rps:,.0f} ({r.rps / ceiling.rps:.1%}, {r.p99_ms:.0f})" for r in results]
        finally:
            bare.stop()
            api.stop()
        print(f"| {workers} x {threads} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
