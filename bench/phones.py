"""50 simulated phones for 2 minutes against gunicorn on PostgreSQL with the demo campaign loaded.

Each phone signs in as its own inspector, pulls the change feed of its zone, then works a road
until time is up: uploads a sign photo, registers a shop and its sign with client-made ids,
logs a hazard with a photo and takes it through the lifecycle (notify, submit the fix with an
after-photo, verify), or fixes it on the spot; now and then it pulls the feed again. Every
write carries an Idempotency-Key, and a write that gets no answer or a 5xx is sent again with
the same key. Afterwards: zero 5xx, zero duplicates, zero lost writes, p50/p99 per request kind.

    .venv/bin/python -m bench.phones [--phones 50] [--seconds 120] [--port 5082]

The last run's figures go to docs/load-phones.md.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import psycopg

from bench import stage
from bench.phone import (
    Answer,
    Phone,
    Write,
    action_write,
    hazard_write,
    jpeg,
    percentile,
    photo_write,
    shop_write,
    sign_write,
)

DB = "signage_faults_phones"
ZONES = ("GL", "DS", "KS")
PASSWORD = "load-phone-2024"
PREFIX = "压测"


def create_inspectors(port: int, count: int) -> list[tuple[str, str]]:
    """An inspector account per phone, spread over the zones, made by the demo admin."""
    admin = Phone(port)
    assert admin.login("admin", "demo-admin-2024").ok
    accounts = []
    for n in range(count):
        name, zone = f"phone{n:02d}", ZONES[n % len(ZONES)]
        body = {"username": name, "role": "inspector", "password": PASSWORD, "zones": [zone]}
        answer = admin.request("create user", "POST", "/api/v1/users", body)
        assert answer.status == 201, answer
        accounts.append((name, zone))
    return accounts


class Field:
    """The phones, their threads, and what they saw."""

    def __init__(self, port: int, accounts: list[tuple[str, str]], seconds: float):
        self.port, self.accounts, self.seconds = port, accounts, seconds
        self.phones: list[Phone] = []
        self.retries = 0
        self.feed_changes = 0

    def run(self) -> float:
        """Run every phone until the time is up; return the seconds it took."""
        deadline = time.monotonic() + self.seconds
        threads = []
        for n, (name, zone) in enumerate(self.accounts):
            phone = Phone(self.port)
            self.phones.append(phone)
            threads.append(threading.Thread(target=self._phone, args=(phone, n, name, zone, deadline)))
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - started

    def _send(self, phone: Phone, write: Write) -> Answer:
        """Send a write; on no answer, a 5xx or a 409 still-running, send it again with the same key."""
        for attempt in range(6):
            answer = phone.send(write)
            in_progress = answer.body.get("type", "").endswith("request-in-progress")
            if answer.ok or not (answer.status == 0 or answer.status >= 500 or in_progress):
                break
            self.retries += 1
            time.sleep(float(answer.headers.get("retry-after", 0.5 * 2**attempt)))
        return answer

    def _pull(self, phone: Phone, cursor: str | None, pages: int = 1) -> str | None:
        """Pull the change feed from the cursor (at most `pages` pages); return where to resume."""
        for _ in range(pages):
            query = f"?limit=200&cursor={cursor}" if cursor else "?limit=200"
            answer = phone.request("pull changes", "GET", "/api/v1/changes" + query)
            if not answer.ok:
                return cursor
            self.feed_changes += len(answer.body["changes"])
            cursor = answer.body["next"] or cursor
            if not answer.body["has_more"]:
                break
        return cursor

    def _phone(self, phone: Phone, n: int, name: str, zone: str, deadline: float) -> None:
        rng = random.Random(n)
        time.sleep(rng.random())  # phones do not all wake up in the same millisecond
        if not phone.login(name, PASSWORD).ok:
            return
        roads = phone.request("list roads", "GET", f"/api/v1/roads?zone={zone}").body["items"]
        cursor = self._pull(phone, None, pages=3)
        rounds = 0
        while time.monotonic() < deadline:
            rounds += 1
            self._round(phone, rng, rng.choice(roads)["id"])
            if rounds % 3 == 0:
                cursor = self._pull(phone, cursor)

    def _round(self, phone: Phone, rng: random.Random, road: str) -> None:
        """One shop on the road: its sign with a photo, a hazard with a photo, and what follows."""
        photo = photo_write(jpeg(rng))
        shop = shop_write(road, rng, PREFIX)
        if not (self._send(phone, photo).ok and self._send(phone, shop).ok):
            return
        sign = sign_write(shop, photo.id)
        finding = photo_write(jpeg(rng))
        if not (self._send(phone, sign).ok and self._send(phone, finding).ok):
            return
        hazard = hazard_write(sign, [finding.id])
        answer = self._send(phone, hazard)
        after = photo_write(jpeg(rng))
        if not (answer.ok and self._send(phone, after).ok):
            return
        if rng.random() < 0.25:
            steps = [action_write(hazard, "fix_on_spot", photo_ids=[after.id])]
        else:
            steps = [
                action_write(hazard, "notify", contact_method="phone", immediate_measure="power_off"),
                action_write(hazard, "submit_fix", photo_ids=[after.id]),
                action_write(hazard, "verify", result="pass"),
            ]
        for step in steps:
            step.headers["If-Match"] = answer.headers.get("etag", "")  # the version last seen
            answer = self._send(phone, step)
            if not answer.ok:
                return

    def writes(self) -> list[Write]:
        return [w for p in self.phones for w in p.writes]


def duplicates(url: str, writes: list[Write]) -> dict[str, int]:
    """Records beyond what the phones meant: extra shops per intended name, extra rows per client id."""
    meant = Counter(w.table for w in writes if w.done)
    with psycopg.connect(url) as conn:
        named = conn.execute(
            "SELECT count(*), count(DISTINCT name) FROM shops WHERE name LIKE %s", [PREFIX + "%"]
        ).fetchone()
        tables = {
            "signs": "SELECT count(*) FROM signs s JOIN shops p ON p.id = s.shop_id WHERE p.name LIKE %s",
            "hazards": "SELECT count(*) FROM hazards h JOIN shops p ON p.id = h.shop_id WHERE p.name LIKE %s",
            "hazard_transitions": "SELECT count(*) FROM hazard_transitions t JOIN hazards h "
            "ON h.id = t.hazard_id JOIN shops p ON p.id = h.shop_id WHERE p.name LIKE %s",
        }
        stored = {t: conn.execute(sql, [PREFIX + "%"]).fetchone()[0] for t, sql in tables.items()}
    return {
        "shops stored beyond those meant": named[0] - meant["shops"],
        "shops sharing one intended name": named[0] - named[1],
        **{f"{t} stored beyond those meant": stored[t] - meant[t] for t in tables},
    }


def latency_table(phones: list[Phone]) -> list[str]:
    merged: dict[str, list[float]] = defaultdict(list)
    for p in phones:
        for kind, values in p.latency.items():
            merged[kind] += values
    rows = ["| request | count | p50 ms | p99 ms | max ms |", "| --- | ---: | ---: | ---: | ---: |"]
    for kind, values in sorted(merged.items(), key=lambda kv: -len(kv[1])):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        rows.append(f"| {kind} | {len(values)} | {p50:.0f} | {p99:.0f} | {max(values):.0f} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--port", type=int, default=5082)
    args = parser.parse_args()
    url = stage.fresh_database(DB)
    media = Path(tempfile.mkdtemp(prefix="signage-phones-media-"))
    server = None
    try:
        env = stage.app_env(url, media)
        stage.prepare(env)
        machine = stage.machine()
        server = stage.gunicorn(env, args.port, Path(tempfile.mkdtemp(prefix="signage-phones-logs-")))
        workers = len(server.workers())
        accounts = create_inspectors(args.port, args.phones)
        print(f"{args.phones} phones for {args.seconds:.0f} s ...", flush=True)
        field = Field(args.port, accounts, args.seconds)
        before = os.times()
        elapsed = field.run()
        client_cpu = sum(os.times()[:2]) - sum(before[:2])
        writes = field.writes()
        statuses = Counter()
        for p in field.phones:
            statuses.update(p.statuses)
        total = sum(statuses.values())
        five = sum(n for s, n in statuses.items() if s >= 500)
        four = sum(n for s, n in statuses.items() if 400 <= s < 500)
        lost = stage.missing(url, writes)
        dupes = duplicates(url, writes)
        orphans = stage.orphans(url)
        files = stage.photo_files(url, media)
        unhandled = server.log.read_text().count("unhandled error")
        done = Counter(w.kind for w in writes if w.done)
        ok = five == four == 0 and not lost and not any(dupes.values()) and not any(orphans.values())
        ok = ok and files["rows with a missing file"] == 0 and not unhandled
        fmt = lambda d: ", ".join(f"{k} {v}" for k, v in d.items())  # noqa: E731
        lines = [
            f"# Load: {args.phones} phones in the field",
            "",
            f"Last run {time.strftime('%Y-%m-%d %H:%M %Z')}, `make phones` (bench/phones.py): {args.phones} simulated "
            f"phones (threads, keep-alive http.client) for {args.seconds:.0f} s against gunicorn with the "
            f"production config (gunicorn.conf.py: {workers} gthread workers x {env.get('GUNICORN_THREADS', 4)} "
            "threads, max_requests 2000) on a fresh PostgreSQL 15 database with the demo campaign loaded "
            "(~1,000 shops). The phones and the server share the machine.",
            f"Machine: {machine}.",
            "",
            f"**Result: {'zero 5xx, zero duplicates, zero lost writes' if ok else 'CHECKS FAILED'}.**",
            "",
            f"- requests: {total} in {elapsed:.1f} s = **{total / elapsed:.1f} requests/s**; "
            f"answers by status: {fmt(dict(sorted(statuses.items())))}",
            f"- 5xx: **{five}**; 4xx: {four}; unanswered or 5xx writes sent again with the same key: {field.retries}; "
            f"unhandled errors in the server log: {unhandled}",
            f"- writes answered 2xx: {sum(done.values())} ({fmt(dict(done.most_common()))})",
            f"- writes answered 2xx missing from the database (by client id): **{len(lost)}**",
            f"- duplicates: {fmt(dupes)}",
            f"- half-written records: {fmt(orphans)}",
            f"- photo files: {fmt(files)}",
            f"- changes pulled from the feed: {field.feed_changes}",
            f"- CPU used by the phones' own process (JSON, JPEG making, threads): {client_cpu:.0f} s of the "
            f"{elapsed * (os.cpu_count() or 1):.0f} core-seconds of the run; the rest went to gunicorn, "
            "PostgreSQL and the machine's other tenants",
            "",
            "Latency per request kind, as the phones measured it (client side, includes queueing):",
            "",
            *latency_table(field.phones),
        ]
        odd = sorted({o for p in field.phones for o in p.odd})
        if odd:
            lines += ["", "Answers breaking the rules:", *(f"- {o}" for o in odd[:20])]
        text = "\n".join(lines) + "\n"
        print(text)
        (stage.ROOT / "docs" / "load-phones.md").write_text(text)
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        stage.drop_database(DB)


if __name__ == "__main__":
    raise SystemExit(main())
