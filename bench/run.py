"""The benchmark runner behind `make bench`.

Creates a fresh PostgreSQL database, migrates it, fills it with the city-scale ledger, starts
the API and the bare-Flask ceiling under gunicorn, signs in, measures each scenario of
bench/scenarios.py against its baselines and writes docs/benchmarks.md. Never part of the tests.

    python -m bench.run [--duration 20] [--rounds 6] [--workers 3 --threads 4] [--only "get one shop"] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench import generate, load, report, report_bench
from bench.scenarios import SCENARIOS, Sample, Scenario
from bench.servers import PeakWatcher, Server, get, memory_mb, start

ROOT = Path(__file__).resolve().parent.parent
M_PER_DEG_LAT = 110_900.0


def fresh_database(server_url: str, name: str, reuse: bool) -> tuple[str, bool]:
    """Drop and create database `name` (kept with reuse when it exists); (its URL, existed)."""
    if not name.startswith("signage_bench"):
        raise SystemExit("benchmark databases are named signage_bench*")
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not (reuse and exists):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}", bool(reuse and exists)


def add_hazards(dsn: str, wanted: int) -> int:
    """Fill hazards up to `wanted` in one INSERT … SELECT (as bench.report_bench does)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM hazards").fetchone()[0]
        if have < wanted:
            user = conn.execute("SELECT id FROM users ORDER BY username LIMIT 1").fetchone()[0]
            signs = conn.execute("SELECT count(*) FROM signs WHERE lat IS NOT NULL").fetchone()[0]
            conn.execute(report_bench.INSERT, {"n": wanted - have, "user": user, "signs": signs})
            conn.execute("VACUUM ANALYZE hazards")
            # Write out what the bulk load dirtied now: otherwise the checkpoint it triggers
            # lands in the middle of the measurements (write p99 from 95 ms to 409 ms in one run).
            conn.execute("CHECKPOINT")
        return conn.execute("SELECT count(*) FROM hazards").fetchone()[0]


def build_sample(dsn: str, api: Server, headers: dict, size: int = 2000) -> Sample:
    """Shops to fetch, points to search near, and list cursors spread over the first pages."""
    rng = random.Random(7)
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT setseed(0.42)")
        shops = [
            (str(i), lat, lng)
            for i, lat, lng in conn.execute(f"SELECT id, lat, lng FROM shops ORDER BY random() LIMIT {size}")
        ]
    points = []
    for _, lat, lng in shops:
        angle = rng.uniform(0, 2 * math.pi)
        north, east = 30 * math.cos(angle), 30 * math.sin(angle)
        points.append(
            (lat + north / M_PER_DEG_LAT, lng + east / (M_PER_DEG_LAT * math.cos(math.radians(lat))))
        )
    with psycopg.connect(dsn) as conn:
        signs = [
            str(r[0]) for r in conn.execute("SELECT id FROM signs WHERE status = 'active' LIMIT %s", (size,))
        ]
        places = [
            (str(road), lat, lng)
            for road, lat, lng in conn.execute(
                "SELECT road_id, lat, lng FROM shops WHERE road_id IS NOT NULL LIMIT %s", (size,)
            )
        ]
    cursors: list[str | None] = [None]
    for _ in range(20):
        path = "/api/v1/shops?limit=200" + (f"&cursor={cursors[-1]}" if cursors[-1] else "")
        status, body = get(api.base, path, headers)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        nxt = json.loads(body)["next"]
        if not nxt:
            break
        cursors.append(nxt)
    return Sample(shops=shops, cursors=cursors, points=points, signs=signs, places=places)


def requests_of(scenario: Scenario, sample: Sample, n: int = 1000) -> list[load.Request]:
    """The scenario's requests, built from the sample."""
    return [
        load.Request(scenario.method, scenario.path(sample, i), scenario.body(sample, i)) for i in range(n)
    ]


class SqlCapture:
    """The app in this process, to record the SQL an endpoint issues for a request."""

    def __init__(self, database_url: str, headers: dict):
        from signage import create_app
        from signage.core import reads

        self.app = create_app({"SQLALCHEMY_DATABASE_URI": generate.engine_url(database_url)})
        import logging

        logging.getLogger("signage").setLevel(logging.WARNING)
        self.headers = headers
        with self.app.app_context():
            self.engines = reads.engines(self.app)  # the ORM's and read-only views' own

    def statements(self, request: load.Request) -> list[load.Statement]:
        """The (sql, parameters) the endpoint executes for request (a stream: its first rows)."""
        import sqlalchemy as sa

        seen: list[load.Statement] = []

        def record(_conn, _cursor, statement, parameters, _context, _many):
            seen.append((statement, parameters))

        for engine in self.engines:
            sa.event.listen(engine, "before_cursor_execute", record)
        try:
            client = self.app.test_client()
            response = client.open(
                request.path, method=request.method, json=request.body, headers=self.headers, buffered=False
            )
            if response.status_code >= 400:
                raise RuntimeError(f"{request.method} {request.path}: {response.status_code}")
            chunks = iter(response.response)
            for _ in range(3):  # a streamed body runs its query once past the header row
                next(chunks, None)
            response.close()
        finally:
            for engine in self.engines:
                sa.event.remove(engine, "before_cursor_execute", record)
        if not seen:  # a baseline of no statements would measure nothing, and look fast
            raise RuntimeError(f"{request.method} {request.path}: no SQL was captured")
        return seen


def measure_download(api: Server, scenario: Scenario, reqs, headers) -> tuple[float, int]:
    """(seconds to the last byte, bytes)."""
    started = time.perf_counter()
    status, body = get(api.base, reqs[0].path, headers)
    seconds = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"{scenario.name}: {status} {body[:300]!r}")
    return seconds, len(body)


BATCH_ROUNDS = 3


def measure_batch(api: Server, scenario: Scenario, reqs, headers, warmups: int) -> list[report.Row]:
    """Sync batches as phones send them at shift change: first `warmups` of them (as many as
    workers, so most workers have run one: a worker that has run none builds its schemas and
    statements on the first; which worker takes a request is gunicorn's choice), then
    BATCH_ROUNDS timed ones, each a new batch, then each sent again (a phone retrying after a
    lost answer). Each row gives the median, with the range in its note."""
    headers = {**headers, "Content-Type": "application/json"}

    def send(request, expected: str) -> tuple[float, int]:
        body = json.dumps(request.body).encode()
        started = time.perf_counter()
        status, answer = get(api.base, request.path, headers, body, "POST")
        seconds = time.perf_counter() - started
        results = json.loads(answer)["results"] if status == 200 else []
        if status != 200 or {r["result"] for r in results} != {expected}:
            raise RuntimeError(f"{scenario.name}: {status} {answer[:300]!r}")
        return seconds, len(results)

    for request in reqs[:warmups]:
        send(request, "created")
    rows = []
    for label, expected in (("", "created"), (", replayed", "replayed")):
        timed = [send(request, expected) for request in reqs[warmups:]]
        times = sorted(seconds for seconds, _ in timed)
        note = (
            f"{timed[0][1]} {expected}; median of {len(times)} batches, "
            f"{times[0]:.2f}-{times[-1]:.2f} s, after {warmups} warm-up batches"
        )
        rows.append(report.Row(scenario.name + label, 1, seconds=statistics.median(times), note=note))
    rows[0].target = scenario.target
    return rows


def sql_statements(
    capture: SqlCapture, scenario: Scenario, sample: Sample, n: int
) -> list[list[load.Statement]]:
    """The statements the endpoint issued for the scenario's first n requests."""
    path = scenario.sql_path or scenario.path
    return [
        capture.statements(load.Request(scenario.method, path(sample, i), scenario.body(sample, i)))
        for i in range(n)
    ]


def sql_download_seconds(statements: list[load.Statement], dsn: str) -> float:
    """Run a download's statements, the last (the export query) through a server-side cursor."""
    *before, (sql, params) = statements
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        for s, p in before:
            cur.execute(s, p)
            if cur.description is not None:
                cur.fetchall()
    load.stream_sql(dsn, sql, params)
    return time.perf_counter() - started


def measure_downloads(scenario: Scenario, ctx: dict, reqs) -> report.Row:
    """A download's median time over scenario.repeats, each followed by its plain SQL; the peak
    memory is the highest of the runs."""
    api, headers = ctx["api"], ctx["headers"]
    # Warm the caches, as the SQL baseline is: once, or, when timed more than once (any worker may
    # take a repeat), once per worker, as a worker's first such request builds what it needs.
    workers = api.workers()
    for _ in range(len(workers) if scenario.repeats > 1 else 1):
        get(api.base, reqs[0].path, headers)
    statements = None
    if "sql" in scenario.baselines:
        statements = sql_statements(ctx["capture"], scenario, ctx["sample"], 1)[0]
    times, bases = [], []
    with PeakWatcher(workers) as watch:  # the highest any worker reached over every repeat
        for _ in range(scenario.repeats):
            seconds, size = measure_download(api, scenario, reqs, headers)
            times.append(seconds)
            if statements is not None:
                bases.append(sql_download_seconds(statements, ctx["dsn"]))
    seconds = statistics.median(times)
    row = report.Row(
        scenario.name, 1, seconds=seconds, peak_mb=max(watch.peaks.values()), target=scenario.target
    )
    row.note = f"{size / 1e6:.1f} MB"
    if len(times) > 1:
        row.note += f"; median of {len(times)}, {min(times):.2f}-{max(times):.2f} s"
    if bases:
        base = statistics.median(bases)
        row.baseline, row.baseline_value, row.ratio = "plain SQL", f"{base:.2f} s", f"{seconds / base:.1f}x"
    return row


def measure_scenario(scenario: Scenario, ctx: dict, args) -> list[report.Row]:
    """The scenario's row and one row per baseline; load figures interleaved with their baselines."""
    # A download is sent once, batches a few times: building a thousand 500-operation batches was waste.
    count = {"batch": args.workers + BATCH_ROUNDS, "download": 1}.get(scenario.measure, 1000)
    reqs = requests_of(scenario, ctx["sample"], count)
    api, headers = ctx["api"], ctx["headers"]
    if scenario.measure == "batch":
        return measure_batch(api, scenario, reqs, headers, warmups=args.workers)
    if scenario.measure == "download":
        return [measure_downloads(scenario, ctx, reqs)]

    def app(seconds):
        return load.drive(api.base, reqs, headers, scenario.connections, seconds, args.tool)

    measures = [app]
    for baseline in scenario.baselines:
        if baseline == "bare":
            bare_req = [load.Request("GET", "/json")]
            measures.append(
                lambda seconds, bare_req=bare_req: load.drive(
                    ctx["bare"].base, bare_req, {}, scenario.connections, seconds, args.tool
                )
            )
        else:
            sets = sql_statements(ctx["capture"], scenario, ctx["sample"], 50)
            measures.append(
                lambda seconds, sets=sets: load.drive_sql(ctx["dsn"], sets, scenario.connections, seconds)
            )
    results = load.interleave(measures, args.duration, args.warmup, args.rounds)
    if results[0].errors:
        raise RuntimeError(f"{scenario.name}: {results[0].errors} failed requests of {results[0].requests}")
    res = results[0]
    rows = [
        report.Row(
            scenario.name, scenario.connections, res.rps, res.p50_ms, res.p99_ms, target=scenario.target
        )
    ]
    for n, (baseline, base) in enumerate(zip(scenario.baselines, results[1:], strict=True)):
        row = rows[0] if n == 0 else report.Row("", "")
        if n:
            rows.append(row)
        if baseline == "bare":
            row.baseline, row.baseline_value = "bare Flask", f"{base.rps:,.0f} req/s"
        else:
            row.baseline, row.baseline_value = "plain SQL", f"{base.rps:,.0f} req/s, p50 {base.p50_ms:.2f} ms"
        row.ratio = f"{res.rps / base.rps:.1%}"
    return rows


def workers_memory(api: Server) -> str:
    values = [memory_mb(pid) for pid in api.workers()]
    return ", ".join(f"{v:.0f}" for v in values) + f" (max {max(values):.0f})" if values else "?"


def server_env(url: str, args, workers: int | None = None, threads: int | None = None) -> dict:
    """The environment both gunicorns run in (production settings, a random secret)."""
    env = {
        **os.environ,
        "SIGNAGE_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "ACCESS_TOKEN_TTL": "3600",
        "GUNICORN_WORKERS": str(workers or args.workers),
        "GUNICORN_THREADS": str(threads or args.threads),
        "GUNICORN_TIMEOUT": str(args.timeout),
        "GUNICORN_MAX_REQUESTS": "0",
    }
    os.environ.update({k: env[k] for k in ("SIGNAGE_ENV", "SECRET_KEY", "RATELIMIT_STORAGE_URI")})
    return env


def sign_in(api: Server) -> dict:
    """Sign in as the benchmark's supervisor; the Authorization header."""
    body = json.dumps({"username": "bench_captain", "password": generate.BENCH_PASSWORD}).encode()
    status, answer = get(api.base, "/api/v1/auth/token", {"Content-Type": "application/json"}, body, "POST")
    if status != 200:
        raise RuntimeError(f"sign-in failed: {status} {answer[:300]!r}")
    return {"Authorization": f"Bearer {json.loads(answer)['access_token']}"}


def run(args) -> report.Run:
    result = report.Run()
    url, reused = fresh_database(args.server_url, args.db_name, args.reuse)
    print(f"database {args.db_name}: {'reused' if reused else 'created'}; generating …", flush=True)
    counts = generate.generate(url, shops=args.shops)
    print(f"  {counts['shops']:,} shops, {counts['signs']:,} signs ({counts['seconds']} s)", flush=True)
    counts["hazards"] = add_hazards(url, args.hazards)
    print(f"  {counts['hazards']:,} hazards", flush=True)
    with psycopg.connect(url) as conn:
        pg_version = conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]
    result.machine = report.describe_machine(pg_version)
    result.settings = {
        "tool": args.tool,
        "shops": counts["shops"],
        "signs": counts["signs"],
        "zones": counts["zones"],
        "hazards": counts["hazards"],
        "roads": counts["roads"],
        "generate_seconds": counts["seconds"],
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread, a new connection only while a thread is free"
        if args.threads > 1
        else "sync",
        "ratelimit": "memory://",
        "duration": args.duration,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "connections": 16,
    }
    env = server_env(url, args)
    logs = Path(tempfile.mkdtemp(prefix="signage-bench-"))
    env["MEDIA_ROOT"] = str(logs / "media")
    servers: list[Server] = []
    try:
        servers.append(api := start("api", "wsgi:app", args.port, env, logs, "/readyz"))
        servers.append(bare := start("bare", "bench.bare_app:app", args.port + 1, env, logs, "/json"))
        headers = sign_in(api)
        sample = build_sample(url, api, headers)
        result.memory["rest"] = workers_memory(api)
        capture = SqlCapture(url, headers)
        ctx = {"api": api, "bare": bare, "headers": headers, "sample": sample, "capture": capture, "dsn": url}
        for scenario in SCENARIOS:
            if args.only and not any(o in scenario.name for o in args.only):
                continue
            print(f"- {scenario.name}", flush=True)
            rows = measure_scenario(scenario, ctx, args)
            for r in rows:
                print("  " + report.table([r])[-1], flush=True)
            result.rows.extend(rows)
        result.memory["after"] = workers_memory(api)
    finally:
        for server in reversed(servers):
            server.stop()
    result.machine["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the API (see docs/benchmarks.md)")
    parser.add_argument(
        "--server-url", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--db-name", default="signage_bench")
    parser.add_argument("--shops", type=int, default=100_000)
    parser.add_argument("--hazards", type=int, default=1_000_000)
    # Six rounds over 20 s: a 4 s round's ratio to bare Flask spread 31-49% on this machine, and
    # with three rounds over 10 s runs of the same code gave one shop 34.1-41.7%.
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 20)))
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds per load figure")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 3)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 4)))
    parser.add_argument("--timeout", type=int, default=120, help="gunicorn worker timeout, s")
    parser.add_argument("--port", type=int, default=18700)
    parser.add_argument(
        "--tool", choices=["auto", "wrk", "python"], default=os.environ.get("BENCH_TOOL", "auto")
    )
    parser.add_argument("--only", action="append", help="run scenarios whose name contains this")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it is there")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' writes no file")
    args = parser.parse_args(argv)
    if args.tool == "auto":
        args.tool = "wrk" if load.have_wrk() else "python"
    started = time.perf_counter()
    result = run(args)
    print()
    print("\n".join(report.table(result.rows)))
    print(f"\nworker memory at rest: {result.memory.get('rest')}; after: {result.memory.get('after')} MB")
    if args.out != "-" and not args.only:
        report.write(result, Path(args.out))
        print(f"results written to {args.out}")
    print(f"benchmark took {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
