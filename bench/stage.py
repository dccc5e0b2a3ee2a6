"""The stage for scripted runs: a fresh PostgreSQL database, gunicorn on it, and phones.

Shared by scripts/flaky_network.py, scripts/faults.py and bench/phones.py, which are long
runs kept out of the test suite. A phone is a keep-alive HTTP client that times every
request by kind and keeps the outcome of every write it sends.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import platform
import random
import secrets
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import servers

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("STAGE_PG", "postgresql://postgres@127.0.0.1:5432")
DEMO_PASSWORD = "demo-inspect-2024"


def fresh_database(name: str) -> str:
    """Drop and create database `name`; return its URL."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{PG}/{name}"


def drop_database(name: str) -> None:
    """Drop database `name` if it is there."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def app_env(database_url: str, media_root: str | Path, **extra: str) -> dict:
    """The environment of a production deployment on this database and media folder."""
    return {
        **os.environ,
        "SIGNAGE_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "LOG_JSON": "0",
        **extra,
    }


def prepare(env: dict, demo: bool = True) -> None:
    """Migrate the database and load the demo campaign (its accounts and ~1,000 shops)."""
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    if demo:
        subprocess.run([*flask, "demo", "load"], cwd=ROOT, env=env, check=True, capture_output=True)


def gunicorn(env: dict, port: int, log_dir: Path, name: str = "gunicorn") -> servers.Server:
    """Start gunicorn with the production config (gunicorn.conf.py) and wait for /readyz."""
    log_dir.mkdir(parents=True, exist_ok=True)
    return servers.start(name, "wsgi:app", port, env, log_dir, "/readyz")


def machine() -> str:
    """One line on the machine the run had."""
    cpu = next(
        (
            x.split(":", 1)[1].strip()
            for x in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in x
        ),
        platform.processor(),
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{os.cpu_count()} cores ({cpu}), {mem} MB RAM, load average before the run {load}"


def jpeg(rng: random.Random, size: tuple[int, int] = (160, 120)) -> bytes:
    """A small JPEG of random noise: distinct bytes for every call."""
    from PIL import Image

    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class Answer:
    """What came back: status (0 when no answer came), content type, JSON body, time taken."""

    status: int
    content_type: str = ""
    body: dict = field(default_factory=dict)
    ms: float = 0.0
    error: str = ""
    headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    @property
    def problem(self) -> bool:
        """An RFC 9457 problem+json answer."""
        return self.content_type.startswith("application/problem+json")


@dataclass
class Write:
    """A write a phone sent: enough to send it again and to look for it in the database."""

    kind: str
    table: str
    id: str
    method: str
    path: str
    body: dict | None = None
    photo: bytes | None = None
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    headers: dict = field(default_factory=dict)  # e.g. If-Match
    answers: list[int] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Answered 2xx at least once."""
        return any(200 <= s < 300 for s in self.answers)


def shop_write(road: str, rng: random.Random, prefix: str) -> Write:
    """Register a shop with a client-made id on a road, somewhere in the town."""
    shop_id = str(uuid.uuid4())
    body = {"id": shop_id, "name": f"{prefix}{shop_id[:8]}", "road_id": road, "confirm_distinct": True}
    body |= {"lat": 30.16 + rng.random() / 50, "lng": 120.44 + rng.random() / 50}
    return Write("shop", "shops", shop_id, "POST", "/api/v1/shops", body)


def sign_write(shop: Write, photo_id: str | None = None) -> Write:
    """A shop sign on that shop, with its photo when given."""
    body = {"id": str(uuid.uuid4()), "shop_id": shop.id, "kind": "shop_sign", "text": shop.body["name"]}
    body |= {"width_m": 3, "height_m": 1} | ({"photo_id": photo_id} if photo_id else {})
    return Write("sign", "signs", body["id"], "POST", "/api/v1/signs", body)


def hazard_write(sign: Write, photo_ids: list[str] = ()) -> Write:
    """A rusted-sign hazard on that sign."""
    body = {"id": str(uuid.uuid4()), "sign_id": sign.id, "category": "rusted", "severity": "low"}
    body["photo_ids"] = list(photo_ids)
    return Write("hazard", "hazards", body["id"], "POST", "/api/v1/hazards", body)


def action_write(hazard: Write, action: str, **body) -> Write:
    """A lifecycle action on that hazard; its client-made id is the transition's."""
    body["id"] = str(uuid.uuid4())
    return Write(
        action, "hazard_transitions", body["id"], "POST", f"/api/v1/hazards/{hazard.id}/{action}", body
    )


def photo_write(data: bytes) -> Write:
    """A photo upload with a client-made id."""
    return Write("photo", "photos", str(uuid.uuid4()), "POST", "/api/v1/photos", photo=data)


class Phone:
    """One phone: a keep-alive connection, a bearer token, and a log of what it sent."""

    def __init__(self, port: int, timeout: float = 30):
        self.port, self.timeout = port, timeout
        self.token = ""
        self.conn: http.client.HTTPConnection | None = None
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[int, int] = defaultdict(int)
        self.writes: list[Write] = []
        self.odd: list[str] = []  # answers that break the rules: 5xx other than 503/507, non-problem errors

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def request(self, kind: str, method: str, path: str, body=None, headers: dict | None = None) -> Answer:
        """Send one request; never raises for network trouble (status 0 then)."""
        hdrs = dict(headers or {})
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            conn = self._connection()
            conn.request(method, path, body=body, headers=hdrs)
            response = conn.getresponse()
            raw = response.read()
            answer = Answer(response.status, response.getheader("Content-Type", ""))
            answer.headers = {k.lower(): v for k, v in response.getheaders()}
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            if raw and "json" in answer.content_type:
                answer.body = json.loads(raw)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            answer = Answer(0, error=type(exc).__name__)
        answer.ms = (time.perf_counter() - started) * 1000
        self.latency[kind].append(answer.ms)
        self.statuses[answer.status] += 1
        bad_5xx = answer.status >= 500 and answer.status not in (503, 507)
        if bad_5xx or (answer.status >= 400 and not answer.problem):
            self.odd.append(f"{kind} {method} {path}: {answer.status} {answer.content_type}")
        return answer

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Answer:
        """Sign in; keep the access token."""
        answer = self.request(
            "login", "POST", "/api/v1/auth/token", {"username": username, "password": password}
        )
        if answer.ok:
            self.token = answer.body["access_token"]
        return answer

    def send(self, write: Write) -> Answer:
        """Send a write (JSON, or a photo as multipart) with its Idempotency-Key; note the answer."""
        headers = {"Idempotency-Key": write.key, **write.headers}
        body = write.body
        if write.photo is not None:
            boundary = uuid.uuid4().hex
            body = _multipart(boundary, write.photo, write.id)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        answer = self.request(write.kind, write.method, write.path, body, headers)
        write.answers.append(answer.status)
        if len(write.answers) == 1:  # a retry, even by another phone, is the same write
            self.writes.append(write)
        return answer


def settle(phone: Phone, writes: list[Write], limit: float = 120) -> dict[str, int]:
    """Send the writes that got no 2xx again with the same key, as a phone does, until each settles.

    A 409 request-in-progress (the first attempt's claim is still "running", e.g. its worker was
    killed) is waited out as its Retry-After says; any other 4xx is final.
    """
    todo, replayed = [w for w in writes if not w.done], 0
    deadline = time.monotonic() + limit
    for write in todo:
        while time.monotonic() < deadline:
            answer = phone.send(write)
            in_progress = answer.body.get("type", "").endswith("request-in-progress")
            replayed += answer.headers.get("idempotent-replayed") == "true"
            if answer.ok or not (answer.status in (0, 503) or in_progress):
                break
            time.sleep(float(answer.headers.get("retry-after", 1)))
    landed = sum(w.done for w in todo)
    unsettled = [f"{w.kind} answered {w.answers}" for w in todo if not w.done]
    return {
        "retried": len(todo),
        "landed": landed,
        "of them answered as replays": replayed,
        "unsettled": unsettled,
    }


def outcomes(answers: Iterable[Answer]) -> dict[str, int]:
    """Answers counted by kind of outcome: 503 and 507 problem+json are the clean refusals."""
    out = dict.fromkeys(("requests", "2xx", "503 problem+json", "other 4xx", "5xx or non-problem"), 0)
    out["no answer"] = 0
    for a in answers:
        out["requests"] += 1
        if a.ok:
            kind = "2xx"
        elif a.status in (503, 507) and a.problem:
            kind = f"{a.status} problem+json"
        elif a.status == 0:
            kind = "no answer"
        elif 400 <= a.status < 500 and a.problem:
            kind = "other 4xx"
        else:
            kind = "5xx or non-problem"
        out[kind] = out.get(kind, 0) + 1
    return out


def _multipart(boundary: str, photo: bytes, photo_id: str) -> bytes:
    return b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\n{photo_id}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'.encode(),
            b"Content-Type: image/jpeg\r\n\r\n",
            photo,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def missing(database_url: str, writes: list[Write]) -> list[Write]:
    """The writes answered 2xx whose record is not in the database (looked up by id)."""
    by_table: dict[str, set[str]] = defaultdict(set)
    for w in writes:
        if w.done and w.table:
            by_table[w.table].add(w.id)
    lost = set()
    with psycopg.connect(database_url) as conn:
        for table, ids in by_table.items():
            found = {
                str(r[0])
                for r in conn.execute(f"SELECT id FROM {table} WHERE id = ANY(%s::uuid[])", [list(ids)])
            }
            lost |= {(table, i) for i in ids - found}
    return [w for w in writes if w.done and (w.table, w.id) in lost]


# Records that must never exist alone: each query counts the half-written ones.
ORPHAN_QUERIES = {
    "shops without their create event": """SELECT count(*) FROM shops s WHERE NOT EXISTS
        (SELECT 1 FROM events e WHERE e.entity = 'shops' AND e.entity_id = s.id::text AND e.action = 'create')""",
    "signs without version 1": """SELECT count(*) FROM signs s WHERE NOT EXISTS
        (SELECT 1 FROM sign_versions v WHERE v.sign_id = s.id AND v.version_no = 1)""",
    "signs without their create event": """SELECT count(*) FROM signs s WHERE NOT EXISTS
        (SELECT 1 FROM events e WHERE e.entity = 'signs' AND e.entity_id = s.id::text AND e.action = 'create')""",
    "hazards without their create event": """SELECT count(*) FROM hazards h WHERE NOT EXISTS
        (SELECT 1 FROM events e WHERE e.entity = 'hazards' AND e.entity_id = h.id::text AND e.action = 'create')""",
    "hazards past reported without a transition": """SELECT count(*) FROM hazards h WHERE h.state <> 'reported'
        AND NOT EXISTS (SELECT 1 FROM hazard_transitions t WHERE t.hazard_id = h.id)""",
    "photos without an uploader row": """SELECT count(*) FROM photos p WHERE NOT EXISTS
        (SELECT 1 FROM photo_uploads u WHERE u.photo_id = p.id)""",
}


def orphans(database_url: str) -> dict[str, int]:
    """How many half-written records of each kind the database holds."""
    with psycopg.connect(database_url) as conn:
        return {name: conn.execute(sql).fetchone()[0] for name, sql in ORPHAN_QUERIES.items()}


def photo_files(database_url: str, media_root: Path) -> dict[str, int]:
    """Photo rows whose files are missing, temp files left behind, and files no row points at."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT original_key, display_key, thumbnail_key FROM photos").fetchall()
    keys = {k for row in rows for k in row if k}
    on_disk = {str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file()}
    temp = {k for k in on_disk if Path(k).name.startswith(".tmp-")}
    return {
        "photo rows": len(rows),
        "rows with a missing file": sum(1 for row in rows if set(filter(None, row)) - on_disk),
        "temp (partial) files": len(temp),
        "files no row points at": len(on_disk - keys - temp),
    }
