"""The stage for scripted runs: a fresh PostgreSQL database, gunicorn on it, and the checks after.

Shared by scripts/flaky_network.py, scripts/faults.py and bench/phones.py, long runs kept out
of the test suite; bench/phone.py is the phone they drive.
"""

from __future__ import annotations

import os
import platform
import secrets
import subprocess
from collections import defaultdict
from pathlib import Path

import psycopg

from bench import servers
from bench.phone import Write

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("STAGE_PG", "postgresql://postgres@127.0.0.1:5432")


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
