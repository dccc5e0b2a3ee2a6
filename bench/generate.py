"""Fill a database with a city-scale ledger: 100,000 shops, 200,000 signs and their first versions.

    python -m bench.generate --database-url postgresql://postgres@127.0.0.1:5432/signage_bench

Runs the migrations first (`flask db upgrade`), so the schema is the real one. Zones, roads and
staff accounts go through the models; shops, signs and sign versions are bulk-loaded (COPY on
PostgreSQL, executemany in large batches on SQLite), without audit events. A second run finds the
data there and adds nothing; `--reset` empties every table first (benchmark databases only).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("SIGNAGE_ENV", "development")

import sqlalchemy as sa

from bench.city import CityZone, city, shares, shops_along, signs_of

ROOT = Path(__file__).resolve().parent.parent
BENCH_PASSWORD = "bench-password-2024"  # public by design: a throwaway benchmark database
CREDIT_PREFIX = "92330109MB"  # individual businesses, Xiaoshan; "MB" marks benchmark shops
CHUNK = 10_000


def engine_url(url: str) -> str:
    """SQLAlchemy's URL for a plain postgresql:// or sqlite:/// one."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def libpq_url(url: str) -> str:
    """psycopg's URL for a SQLAlchemy one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def migrate(url: str) -> None:
    """`flask db upgrade` against url."""
    env = {**os.environ, "DATABASE_URL": url, "SIGNAGE_ENV": "development"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    subprocess.run(flask, cwd=ROOT, env=env, check=True, capture_output=True)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def reset(engine: sa.Engine) -> None:
    """Empty every table but alembic_version."""
    from signage.core.db import db

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


def load_places(zones: list[CityZone]) -> tuple[dict, dict]:
    """Zones, roads and staff through the models; returns ids by zone code and by (code, road)."""
    from signage.accounts.models import User
    from signage.accounts.passwords import hash_password
    from signage.core import audit
    from signage.core.db import db
    from signage.zones.models import Road, Zone

    audit.set_actor(None, "bench")
    by_code = {z.code: z for z in db.session.scalars(sa.select(Zone))}
    for spec in zones:
        zone = by_code.get(spec.code)
        if zone is None:
            zone = by_code[spec.code] = Zone(
                code=spec.code, name=spec.name, center_lat=spec.centre[0], center_lng=spec.centre[1]
            )
            db.session.add(zone)
            db.session.flush()
        have = set(db.session.scalars(sa.select(Road.name).where(Road.zone_id == zone.id)))
        for r in spec.roads:
            if r.name not in have:
                db.session.add(
                    Road(
                        zone_id=zone.id,
                        name=r.name,
                        start_lat=r.start[0],
                        start_lng=r.start[1],
                        end_lat=r.end[0],
                        end_lng=r.end[1],
                    )
                )
    db.session.flush()
    password_hash = hash_password(BENCH_PASSWORD)  # one hash: every bench account shares the password
    staff = [("bench_admin", "admin", []), ("bench_captain", "supervisor", [])]
    staff += [(f"bench_insp_{z.code.lower()}", "inspector", [by_code[z.code]]) for z in zones]
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.like("bench_%")))}
    for username, role, zone_list in staff:
        if username not in users:
            users[username] = User(username=username, role=role, password_hash=password_hash, zones=zone_list)
            db.session.add(users[username])
    db.session.flush()
    roads = {
        (code, name): road_id
        for code, name, road_id in db.session.execute(
            sa.select(Zone.code, Road.name, Road.id).join(Road.zone)
        )
    }
    inspectors = {z.code: users[f"bench_insp_{z.code.lower()}"].id for z in zones}
    db.session.commit()
    return {code: z.id for code, z in by_code.items()}, {"roads": roads, "inspectors": inspectors}


def ledger_rows(zones: list[CityZone], zone_ids: dict, refs: dict, shops: int, seed: int) -> Iterator[tuple]:
    """(shop, [signs], [versions]) rows, road by road, dense zones getting more per metre."""
    from signage.ledger.credit_code import make_credit_code

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    roads = [(z, r) for z in zones for r in z.roads]
    counts = shares(shops, [r.length_m * z.density for z, r in roads])
    serial = 0
    for (zone, road), count in zip(roads, counts, strict=True):
        road_id, by = refs["roads"][(zone.code, road.name)], refs["inspectors"][zone.code]
        for spec in shops_along(rng, zone, road, count):
            created = now - timedelta(seconds=rng.randrange(730 * 86400))
            shop = {
                **spec,
                "id": _uuid(rng),
                "created_at": created,
                "updated_at": min(now, created + timedelta(seconds=rng.randrange(60 * 86400))),
                "recorded_at": created - timedelta(seconds=rng.randrange(600)),
                "version": 1,
                "zone_id": zone_ids[zone.code],
                "road_id": road_id,
                "owner_phone": f"17{serial:09d}",
                "credit_code": make_credit_code(f"{CREDIT_PREFIX}{serial:07d}"),
                "status": "open" if rng.random() < 0.96 else "closed",
                "registered_by_id": by,
            }
            signs, versions = [], []
            for index, content in enumerate(signs_of(rng, spec)):
                sign_at = created + timedelta(seconds=30 * (index + 1))
                sign = {
                    **content,
                    "id": _uuid(rng),
                    "created_at": sign_at,
                    "updated_at": max(sign_at, shop["updated_at"]),
                    "recorded_at": shop["recorded_at"],
                    "version": 1,
                    "shop_id": shop["id"],
                    "zone_id": shop["zone_id"],
                    "road_id": road_id,
                    "lat": shop["lat"],
                    "lng": shop["lng"],
                    "status": "active",
                    "current_version_no": 1,
                    "created_by_id": by,
                }
                signs.append(sign)
                versions.append(
                    {
                        **content,
                        "id": _uuid(rng),
                        "sign_id": sign["id"],
                        "version_no": 1,
                        "note": "registered",
                        "recorded_by_id": by,
                        "recorded_at": shop["recorded_at"],
                        "created_at": sign_at,
                    }
                )
            serial += 1
            yield shop, signs, versions


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _tuples(table: sa.Table, dicts: list[dict]) -> list[tuple]:
    names = [c.name for c in table.columns]
    for c in table.columns:
        if not c.nullable and c.name not in dicts[0]:
            raise ValueError(f"{table.name}.{c.name} is required and the generator does not fill it")
    return [tuple(d.get(n) for n in names) for d in dicts]


def bulk_load(engine: sa.Engine, rows: Iterator[tuple]) -> int:
    """Write the ledger rows in chunks: COPY on PostgreSQL, executemany on SQLite; one transaction."""
    from signage.ledger.models import Shop, Sign, SignVersion

    tables = (Shop.__table__, Sign.__table__, SignVersion.__table__)
    written = 0
    if engine.dialect.name == "postgresql":
        import psycopg

        with psycopg.connect(libpq_url(engine.url.render_as_string(hide_password=False))) as conn:
            for chunk in _chunks(rows, CHUNK):
                for table, dicts in zip(tables, _split(chunk), strict=True):
                    columns = ", ".join(c.name for c in table.columns)
                    with conn.cursor().copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                        for row in _tuples(table, dicts):
                            copy.write_row(row)
                written += len(chunk)
                _progress(written)
    else:
        with engine.begin() as conn:
            for chunk in _chunks(rows, CHUNK):
                for table, dicts in zip(tables, _split(chunk), strict=True):
                    conn.execute(table.insert(), dicts)
                written += len(chunk)
                _progress(written)
    print(file=sys.stderr)
    return written


def _split(chunk: list[tuple]) -> tuple[list[dict], list[dict], list[dict]]:
    shops = [shop for shop, _, _ in chunk]
    signs = [s for _, ss, _ in chunk for s in ss]
    versions = [v for _, _, vs in chunk for v in vs]
    return shops, signs, versions


def _progress(n: int) -> None:
    print(f"\r  shops written: {n:,}", end="", file=sys.stderr, flush=True)


def generate(url: str, *, shops: int = 100_000, zones: int = 40, seed: int = 2024, do_reset=False) -> dict:
    """Migrate, then add the city's zones, roads, staff and ledger unless already there."""
    from signage import create_app
    from signage.core.db import db
    from signage.ledger.models import Shop, Sign

    url = engine_url(url)
    started = time.perf_counter()
    migrate(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if do_reset:
            reset(db.engine)
        geography = city(zones, seed)
        zone_ids, refs = load_places(geography)
        have = db.session.scalar(
            sa.select(sa.func.count()).select_from(Shop).where(Shop.credit_code.like(f"{CREDIT_PREFIX}%"))
        )
        if have >= shops:
            added = 0
        elif have:
            raise SystemExit(f"the database holds {have:,} of {shops:,} benchmark shops; run with --reset")
        else:
            added = bulk_load(db.engine, ledger_rows(geography, zone_ids, refs, shops, seed))
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        counts = {
            "zones": len(zone_ids),
            "roads": len(refs["roads"]),
            "shops": db.session.scalar(sa.select(sa.func.count()).select_from(Shop)),
            "signs": db.session.scalar(sa.select(sa.func.count()).select_from(Sign)),
            "added_shops": added,
            "seconds": round(time.perf_counter() - started, 1),
        }
        db.session.remove()
        db.engine.dispose()
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--shops", type=int, default=100_000, help="shops (two signs each)")
    parser.add_argument("--zones", type=int, default=40, help="zones, the demo's three included")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--reset", action="store_true", help="empty every table first")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    if args.reset and args.database_url.startswith("postgres") and "bench" not in args.database_url:
        parser.error("--reset empties every table: only for a database whose name says bench")
    counts = generate(
        args.database_url, shops=args.shops, zones=args.zones, seed=args.seed, do_reset=args.reset
    )
    print(
        f"zones {counts['zones']}, roads {counts['roads']}, shops {counts['shops']:,} "
        f"({counts['added_shops']:,} new), signs {counts['signs']:,}; {counts['seconds']} s. "
        f"Sign in as bench_admin / {BENCH_PASSWORD}"
    )


if __name__ == "__main__":
    main()
