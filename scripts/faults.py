"""Faults survived: gunicorn on PostgreSQL under a steady load of phone writes, then
a. PostgreSQL stopped mid-run, held down --outage seconds, started: answers meanwhile are 503
   problem+json, the service recovers by itself, every write answered 2xx is in the database;
b. gunicorn workers SIGKILLed mid-request: no half-written record, the master respawns them,
   and the phones' retries of the writes a kill cut off land exactly once;
c. the media disk (a 2 MB tmpfs) filled by photo uploads: refused with 507 problem+json, no
   photo row without its files, no partial file.
Needs root (pg_ctlcluster, mount). The last run's figures go to docs/faults.md.
Usage: .venv/bin/python scripts/faults.py [--threads 6] [--outage 3] [--kills 3]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import stage
from bench.phone import (
    Answer,
    Phone,
    Write,
    hazard_write,
    jpeg,
    outcomes,
    photo_write,
    settle,
    shop_write,
    sign_write,
)

DB = "signage_faults_run"
CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect", *os.listdir("/etc/postgresql")[:1], "main"]


def pg(action: str, check: bool = True) -> int:
    """Stop, start, restart or ask the status of this machine's PostgreSQL cluster."""
    return subprocess.run([*CLUSTER, action], check=check, capture_output=True).returncode


class Load:
    """Phone threads registering shops, their signs and a hazard on each, with client-made ids."""

    def __init__(self, port: int, road: str, threads: int):
        self.port, self.road, self.threads = port, road, threads
        self.phones: list[Phone] = []
        self.timeline: list[tuple[float, float, Answer]] = []  # (sent, answered, answer)
        self.stopping = threading.Event()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> Load:
        self.phones = [Phone(self.port, timeout=20) for _ in range(self.threads)]
        for n, phone in enumerate(self.phones):
            assert phone.login("insp_gl").ok
            self._workers.append(threading.Thread(target=self._run, args=(phone, n), daemon=True))
            self._workers[-1].start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for t in self._workers:
            t.join()

    def _send(self, phone: Phone, write: Write) -> Answer:
        sent = time.monotonic()
        answer = phone.send(write)
        self.timeline.append((sent, time.monotonic(), answer))
        if answer.status in (0, 503):
            time.sleep(0.2)  # a phone backs off a little when the server is unwell
        return answer

    def _run(self, phone: Phone, n: int) -> None:
        rng = random.Random(n)
        while not self.stopping.is_set():
            shop = shop_write(self.road, rng, "故障测试")
            if not self._send(phone, shop).ok:
                continue
            sign = sign_write(shop)
            if self._send(phone, sign).ok:
                self._send(phone, hazard_write(sign))

    def writes(self) -> list[Write]:
        return [w for p in self.phones for w in p.writes]

    def outcomes(self, since: float = 0.0, until: float = float("inf")) -> dict[str, int]:
        """The answers received between since and until, by outcome."""
        return outcomes(a for _, answered, a in self.timeline if since <= answered <= until)

    def settle(self, url: str) -> dict:
        """Retry what got no 2xx (as phones do), then look every 2xx write up in the database."""
        retry, writes = settle(self.phones[0], self.writes()), self.writes()
        checks = {"writes_2xx": sum(w.done for w in writes), "lost": len(stage.missing(url, writes))}
        return {
            "all": self.outcomes(),
            "retry": retry,
            **checks,
            "odd": sorted({o for p in self.phones for o in p.odd}),
        }


def restart_postgres(port: int, road: str, args) -> dict:
    with Load(port, road, args.threads) as load:
        time.sleep(args.warm)
        down = time.monotonic()
        if args.outage:
            pg("stop")
            time.sleep(args.outage)
            pg("start")
        else:
            pg("restart")
        up = time.monotonic()
        while not any(a.ok and sent >= up for sent, _, a in load.timeline) and time.monotonic() - up < 60:
            time.sleep(0.05)
        first_ok = min((answered for sent, answered, a in load.timeline if a.ok and sent >= up), default=None)
        time.sleep(args.warm)
    during = load.outcomes(down, first_ok or up)
    recovery = (first_ok - up) if first_ok else None
    return {**load.settle(args.url), "during": during, "down_s": up - down, "recovery_s": recovery}


def kill_workers(port: int, road: str, server, args) -> dict:
    respawn = []
    with Load(port, road, args.threads) as load:
        for _ in range(args.kills):
            time.sleep(args.warm)
            before = server.workers()
            victim = random.choice(before)
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()
            while time.monotonic() - killed < 60:
                now = server.workers()
                if len(now) == len(before) and victim not in now:
                    respawn.append(time.monotonic() - killed)
                    break
                time.sleep(0.05)
        time.sleep(args.warm)
    cut = sum(1 for w in load.writes() if 0 in w.answers)
    respawned = {"respawned": len(respawn), "respawn_s": max(respawn, default=0)}
    return {**load.settle(args.url), "cut_off": cut, **respawned}


def fill_disk(port: int, road: str, media: Path, args) -> dict:
    sent: list[tuple[Write, Answer]] = []

    def uploader(n: int) -> None:
        phone, rng, refused = Phone(port), random.Random(n), 0
        assert phone.login("insp_gl").ok
        while refused < 3 and len(sent) < 1000:
            write = photo_write(jpeg(rng))
            answer = phone.send(write)
            sent.append((write, answer))
            refused += not answer.ok

    with ThreadPoolExecutor(args.uploaders) as pool:
        list(pool.map(uploader, range(args.uploaders)))
    stored = [w for w, a in sent if a.ok]
    phone = Phone(port)
    phone.login("insp_gl")
    return {
        "stored": len(stored),
        "refused": outcomes(a for _, a in sent if not a.ok),
        "refusal kinds": sorted({f"{a.status} {a.body.get('type')}" for _, a in sent if not a.ok}),
        "first_refusal": next((a for _, a in sent if not a.ok), None),
        "same bytes again": phone.send(photo_write(stored[0].photo)).status,
        "a shop meanwhile": phone.send(shop_write(road, random.Random(), "满盘")).status,
        "lost": len(stage.missing(args.url, stored)),
        "files": stage.photo_files(args.url, media),
        "df": subprocess.run(["df", "-h", str(media)], capture_output=True, text=True).stdout.splitlines()[
            -1
        ],
    }


def report(args, a: dict, b: dict, c: dict | None, orphans: dict, unhandled: int) -> tuple[str, bool]:
    """docs/faults.md, and whether every check passed."""
    ok_a = a["during"]["5xx or non-problem"] == 0 and a["recovery_s"] is not None and a["lost"] == 0
    ok_b = b["lost"] == 0 and b["respawned"] == args.kills
    ok_c = c is not None and c["lost"] == 0 and c["refusal kinds"] == ["507 urn:signage:problem:storage-full"]
    ok_c = ok_c and c["files"]["rows with a missing file"] == c["files"]["temp (partial) files"] == 0
    ok = ok_a and ok_b and ok_c and not any(orphans.values()) and not a["odd"] + b["odd"] and not unhandled
    fmt = lambda d: ", ".join(f"{k} {v}" for k, v in d.items())  # noqa: E731
    passed = lambda x: "passed" if x else "FAILED"  # noqa: E731
    recovery = f"{a['recovery_s']:.2f} s" if a["recovery_s"] is not None else "NONE within 60 s"
    lines = f"""# Faults survived

Last run {time.strftime("%Y-%m-%d %H:%M %Z")}, `make faults` (scripts/faults.py): gunicorn with the production
config (gunicorn.conf.py: {args.workers} gthread workers x {args.gthreads} threads) on a fresh PostgreSQL 15
database, {args.threads} phone threads writing shops, signs and hazards with client-made ids and an
Idempotency-Key each (a sign only once its shop was answered 2xx, a hazard once its sign was).
Machine: {stage.machine()}.

**Result: {"all checks passed" if ok else "SOME CHECKS FAILED"}.**
Answers breaking the rules (a 5xx other than 503/507, an error that is not problem+json): {len(a["odd"] + b["odd"])}.
Unhandled errors in the server log: {unhandled}.

## a. PostgreSQL restarted mid-run: {passed(ok_a)}

The cluster was stopped, held down {args.outage} s and started (`pg_ctlcluster --skip-systemctl-redirect
15 main stop` / `start`): unreachable for {a["down_s"]:.1f} s in all.
- all answers: {fmt(a["all"])}
- from the stop to the first 2xx after the start: {fmt(a["during"])}
- recovery, from the cluster being up to the first 2xx of a request sent after it: **{recovery}**
- writes answered 2xx: {a["writes_2xx"]}; missing from the database afterwards (by id): **{a["lost"]}**
- writes without a 2xx, sent again with the same key afterwards: {fmt(a["retry"])}

## b. A gunicorn worker SIGKILLed mid-request: {passed(ok_b)}

- {args.kills} workers killed, {args.warm} s apart; respawned by the master: {b["respawned"]} (slowest {b["respawn_s"]:.2f} s)
- all answers: {fmt(b["all"])}
- writes the kills cut off without an answer: {b["cut_off"]}; sent again with the same key: {fmt(b["retry"])}
  (a cut-off write whose work had not landed keeps its key claimed as running until the claim is
  60 s old, so its retry waits out 409 request-in-progress; one whose work had landed is answered
  at once from the record, marked Idempotent-Replayed)
- writes answered 2xx: {b["writes_2xx"]}; missing from the database afterwards: **{b["lost"]}**

## Half-written records after a and b

{chr(10).join(f"- {name}: **{n}**" for name, n in orphans.items())}

## c. Media disk full: {passed(ok_c)}

"""
    if c is None:
        return lines + "Not run: a 2 MB tmpfs could not be mounted (not root?).\n", False
    first = c["first_refusal"]
    lines += f"""MEDIA_ROOT on a 2 MB tmpfs (the demo's photos take part of it); {args.uploaders} phones uploading distinct
160x120 JPEGs at once until each had 3 refusals.
- photos stored: {c["stored"]}; refusals: {fmt(c["refused"])}; kinds: {", ".join(c["refusal kinds"])}
- first refusal: `{first.status} {first.content_type}`: {first.body.get("detail") if first else ""}
- on the full disk, the bytes of a stored photo sent again: {c["same bytes again"]}; a new shop: {c["a shop meanwhile"]}
- stored photos missing from the database: **{c["lost"]}**
- files: {fmt(c["files"])}
- disk afterwards: `{c["df"]}`

Files first, then the row: a refused upload leaves no row. Renditions written before the disk ran
out may stay (whole files under the content hash, reused if the same bytes come again); never a
partial file.
"""
    return lines, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=6, help="phone threads writing")
    parser.add_argument("--outage", type=float, default=3, help="seconds PostgreSQL is down (0: restart)")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--warm", type=float, default=5, help="seconds of load before and after each fault")
    parser.add_argument("--uploaders", type=int, default=3, help="phones uploading photos onto the full disk")
    parser.add_argument("--port", type=int, default=5081)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the finally blocks run
    args.url = stage.fresh_database(DB)
    media = Path(tempfile.mkdtemp(prefix="signage-faults-media-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(media)]).returncode == 0
    logs = Path(tempfile.mkdtemp(prefix="signage-faults-logs-"))
    server = None
    try:
        env = stage.app_env(args.url, media)
        stage.prepare(env)
        server = stage.gunicorn(env, args.port, logs)
        args.workers, args.gthreads = len(server.workers()), int(env.get("GUNICORN_THREADS", 4))
        phone = Phone(args.port)
        phone.login("insp_gl")
        road = phone.request("roads", "GET", "/api/v1/roads?zone=GL").body["items"][0]["id"]
        print("a. restarting PostgreSQL under load ...", flush=True)
        a = restart_postgres(args.port, road, args)
        print("b. killing workers under load ...", flush=True)
        b = kill_workers(args.port, road, server, args)
        print("c. filling the media disk ...", flush=True)
        c = fill_disk(args.port, road, media, args) if mounted else None
        orphans = stage.orphans(args.url)
        unhandled = server.log.read_text().count("unhandled error")
        text, ok = report(args, a, b, c, orphans, unhandled)
        print(text)
        (stage.ROOT / "docs" / "faults.md").write_text(text)
        return 0 if ok else 1
    finally:
        if pg("status", check=False) != 0:
            pg("start")  # other people's test databases live in this cluster
        if server is not None:
            server.stop()
        if mounted:
            subprocess.run(["umount", str(media)])
        stage.drop_database(DB)


if __name__ == "__main__":
    sys.exit(main())
