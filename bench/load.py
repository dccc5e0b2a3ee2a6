"""Load drivers: wrk when it is installed, else a Python one (threads, keep-alive http.client).

Both take the same input (a list of requests to cycle through, the connection count and a
duration) and give back requests per second and the p50/p99 latency. The plain-SQL baseline
driver replays captured statements with psycopg the same way.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    """One request of a scenario: method, path (with query) and an optional JSON body."""

    method: str
    path: str
    body: dict | None = None


@dataclass(frozen=True)
class Result:
    """What one measurement gave."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0

    @property
    def rps(self) -> float:
        """Requests (or statement sets) per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    """True when wrk is on the PATH."""
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a JSON string is a valid Lua string literal here


LUA = """
local reqs = {%(requests)s}
local headers = {%(headers)s}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("n", threads * 7919)
end
function request()
  n = n %% #reqs + 1
  local r = reqs[n]
  if r[3] then
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(r[1], r[2], headers, r[3])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"errors":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def _wrk(base: str, requests: list[Request], headers: dict, connections: int, seconds: float) -> Result:
    entries = ", ".join(
        "{"
        + ", ".join(_lua_string(x) for x in (r.method, r.path))
        + ", "
        + (_lua_string(json.dumps(r.body)) if r.body is not None else "nil")
        + "}"
        for r in requests
    )
    header_lua = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"requests": entries, "headers": header_lua})
    try:
        threads = min(2, connections)
        out = subprocess.run(
            [
                *("wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"),
                *("--timeout", "30s", "-s", script.name, base),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink()
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    data = json.loads(line.removeprefix("BENCH "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"],
    )


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def _threads(worker, connections: int, seconds: float) -> Result:
    """Run worker(deadline, latencies, errors) on connections threads; merge what they measured."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=worker, args=(deadline, latencies[i], errors, i), daemon=True)
        for i in range(connections)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    merged = sorted(x for chunk in latencies for x in chunk)
    return Result(len(merged), elapsed, _percentile(merged, 50), _percentile(merged, 99), sum(errors))


def _python(base: str, requests: list[Request], headers: dict, connections: int, seconds: float) -> Result:
    parts = urlsplit(base)

    def worker(deadline, latencies, errors, index):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        n = index * 7919
        while time.perf_counter() < deadline:
            r = requests[n % len(requests)]
            n += 1
            body = json.dumps(r.body).encode() if r.body is not None else None
            hdrs = {**headers, **({"Content-Type": "application/json"} if body else {})}
            t0 = time.perf_counter()
            try:
                conn.request(r.method, r.path, body=body, headers=hdrs)
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            latencies.append((time.perf_counter() - t0) * 1000)
            if not ok:
                errors[index] += 1
        conn.close()

    return _threads(worker, connections, seconds)


def drive(
    base: str, requests: list[Request], headers: dict, connections: int, seconds: float, tool: str
) -> Result:
    """Send requests round-robin on `connections` keep-alive connections for `seconds`."""
    if tool == "wrk":
        return _wrk(base, requests, headers, connections, seconds)
    return _python(base, requests, headers, connections, seconds)


Statement = tuple[str, dict | tuple | None]


def drive_sql(dsn: str, sets: list[list[Statement]], connections: int, seconds: float) -> Result:
    """Replay statement sets (each one request's SQL) with psycopg, one connection per thread."""
    import psycopg

    def worker(deadline, latencies, errors, index):
        with psycopg.connect(dsn, autocommit=True) as conn:
            n = index * 7919
            while time.perf_counter() < deadline:
                statements = sets[n % len(sets)]
                n += 1
                t0 = time.perf_counter()
                with conn.cursor() as cur:
                    for sql, params in statements:
                        cur.execute(sql, params)
                        if cur.description is not None:
                            cur.fetchall()
                latencies.append((time.perf_counter() - t0) * 1000)

    return _threads(worker, connections, seconds)


def stream_sql(dsn: str, sql: str, params, batch: int = 1000) -> tuple[float, int]:
    """Run one statement through a server-side cursor, fetching every row; seconds and rows."""
    import psycopg

    started = time.perf_counter()
    count = 0
    with psycopg.connect(dsn) as conn, conn.cursor(name="bench_stream") as cur:
        cur.itersize = batch
        cur.execute(sql, params)
        while rows := cur.fetchmany(batch):
            count += len(rows)
    return time.perf_counter() - started, count


def median(values: list[float]) -> float:
    """The median, 0 for none."""
    return statistics.median(values) if values else 0.0


def interleave(measures: list, seconds: float, warmup: float, rounds: int = 3) -> list[Result]:
    """Run each measure(seconds) in turn, `rounds` times, so drifting background load falls on all.

    A measure is a callable taking a duration and returning a Result. Each gets a warm-up first.
    Requests and time add up over the rounds; p50 and p99 are the medians of the rounds' figures.
    """
    for measure in measures:
        measure(warmup)
    runs: list[list[Result]] = [[] for _ in measures]
    for _ in range(rounds):
        for measure, results in zip(measures, runs, strict=True):
            results.append(measure(seconds / rounds))
    return [
        Result(
            requests=sum(r.requests for r in results),
            seconds=sum(r.seconds for r in results),
            p50_ms=median([r.p50_ms for r in results]),
            p99_ms=median([r.p99_ms for r in results]),
            errors=sum(r.errors for r in results),
        )
        for results in runs
    ]
