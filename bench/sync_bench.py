"""Offline-phone figures on PostgreSQL: a 500-operation sync batch, its replay, a feed page of
200, and creating a hazard (with its audit event), measured through the full Flask stack.

    .venv/bin/python -m bench.sync_bench

Uses a fresh database `signage_bench_sync` with the demo loaded. In-process (Flask's test
client), so the figures leave out HTTP and gunicorn; docs/benchmarks.md has those for the
ledger reads. Writes docs/benchmarks-sync.md. Never part of `make test`.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

from bench.scenarios import shop_and_sign_operations

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB = "signage_bench_sync"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    url = f"{PG}/{DB}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    env = {
        **os.environ,
        "SIGNAGE_ENV": "development",
        "DATABASE_URL": url,
        "MEDIA_ROOT": "/tmp/signage-bench-sync",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "demo", "load"], cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from signage import create_app

    app = create_app({"SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop"})
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "insp_gl", "password": "demo-inspect-2024"})
    auth = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    road = client.get("/api/v1/roads?zone=GL", headers=auth).get_json()["items"][0]["id"]

    ops = shop_and_sign_operations(
        250, lambda n: (road, 30.1500 + n * 0.0002, 120.4300), lambda n: f"压测店{n}"
    )

    def batch(operations):
        response = client.post("/api/v1/sync", json={"operations": operations}, headers=auth)
        assert response.status_code == 200

    # A worker that has served a batch before (statements compiled, caches filled), as in service.
    warm = [dict(op, body={**op["body"], "id": str(uuid.uuid4())}) for op in ops[:1]]
    batch(warm)
    load = os.getloadavg()[0]
    first = timed(lambda: batch(ops))
    replay = timed(lambda: batch(ops))
    # A feed page of 200 records, read from the start (the batch wrote 500 records' events).
    feed = [timed(lambda: client.get("/api/v1/changes?limit=200", headers=auth)) for _ in range(10)]
    signs = [op["body"]["id"] for op in ops if op["path"] == "/api/v1/signs"]
    creates = []
    for i in range(200):
        body = {"id": str(uuid.uuid4()), "sign_id": signs[i], "category": "rusted", "severity": "low"}
        creates.append(timed(lambda body=body: client.post("/api/v1/hazards", json=body, headers=auth)))
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    p99 = statistics.quantiles(creates, n=100)[98]
    lines = [
        "# Offline phones on PostgreSQL",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python -m bench.sync_bench`, in-process "
        f"(Flask test client, no HTTP), PostgreSQL {version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {load:.1f} when timing began; after one warm-up batch.",
        "",
        "| scenario | figure | target |",
        "| --- | --- | --- |",
        f"| sync batch of 500 operations (250 shops + 250 signs) | {first:.0f} ms | < 1000 ms |",
        f"| the same batch replayed (nothing new stored) | {replay:.0f} ms | < 300 ms |",
        f"| change feed page of 200 records, median of 10 | {statistics.median(feed):.1f} ms | < 50 ms |",
        f"| create a hazard with its audit event, p50 / p99 of 200 | {statistics.median(creates):.1f} / {p99:.1f} ms | p99 < 100 ms |",
    ]
    print("\n".join(lines))
    (ROOT / "docs" / "benchmarks-sync.md").write_text("\n".join(lines) + "\n")
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
