"""The benchmark scenarios: one declarative entry each.

A scenario names its request (method, a path builder and a body builder, each given the run's
sample data and a request number), how many connections drive it, what it is measured against
and the issue's target. To add one when its feature lands, append a `Scenario` to SCENARIOS.

Baselines, measured in the same run:
- "bare": a bare Flask JSON endpoint (bench/bare_app.py) on the same gunicorn settings, the
  framework's ceiling on this machine;
- "sql": the SQL statements the endpoint issues for the same request, captured with a
  SQLAlchemy cursor event and replayed with psycopg at the same concurrency (the database floor).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Sample:
    """Data the builders draw on: shops (id, lat, lng) and list cursors, gathered at start-up."""

    shops: list[tuple[str, float, float]] = field(default_factory=list)
    cursors: list[str | None] = field(default_factory=list)
    # Points near shops but off their door (about 30 m), so each search finds a street's worth.
    points: list[tuple[float, float]] = field(default_factory=list)
    # Active signs to report hazards on, and (road id, lat, lng) of shops to register beside.
    signs: list[str] = field(default_factory=list)
    places: list[tuple[str, float, float]] = field(default_factory=list)


PathBuilder = Callable[[Sample, int], str]
BodyBuilder = Callable[[Sample, int], dict | None]


def _no_body(_sample: Sample, _i: int) -> None:
    return None


@dataclass(frozen=True)
class Scenario:
    """One thing to measure."""

    name: str
    method: str
    path: PathBuilder
    body: BodyBuilder = _no_body
    baselines: tuple[str, ...] = ("bare",)
    connections: int = 16
    # "load": requests per second and latency under `connections`; "download": one request's
    # time to the last byte (the median of `repeats`) and the highest any worker's memory
    # reached; "batch": one request, then the same request again (a sync batch and its replay).
    measure: str = "load"
    target: str = ""
    # Capture the SQL baseline from another request (the xlsx export builds its file before the
    # first byte, so its SQL is taken from the csv export, which runs the same query).
    sql_path: PathBuilder | None = None
    # Downloads: how many times to time the request and its SQL, interleaved (the median counts).
    # One timing of a sub-second request on a shared machine swung ±20% between runs.
    repeats: int = 1


def _shop(sample: Sample, i: int) -> str:
    return f"/api/v1/shops/{sample.shops[i % len(sample.shops)][0]}"


def _shop_page(sample: Sample, i: int) -> str:
    cursor = sample.cursors[i % len(sample.cursors)]
    return "/api/v1/shops?limit=50" + (f"&cursor={cursor}" if cursor else "")


def _near(sample: Sample, i: int) -> str:
    lat, lng = sample.points[i % len(sample.points)]
    return f"/api/v1/shops?near={lat:.6f},{lng:.6f}&radius=200"


def _export(fmt: str) -> PathBuilder:
    return lambda _sample, _i: f"/api/v1/exports/ledger?format={fmt}"


def _fixed(path: str) -> PathBuilder:
    return lambda _sample, _i: path


_CATEGORIES = ("damaged", "tilted", "loose_or_fallen", "rusted", "exposed_wiring")


def _hazard(sample: Sample, i: int) -> dict:
    sign = sample.signs[i % len(sample.signs)]
    return {"sign_id": sign, "category": _CATEGORIES[i % len(_CATEGORIES)], "severity": "low"}


def shop_and_sign_operations(
    count: int, place: Callable[[int], tuple[str, float, float]], name: Callable[[int], str], **sign
) -> list[dict]:
    """What a phone records offline for count new shops: each shop, then its sign.

    place(n) gives the nth shop's (road id, lat, lng), name(n) its name; sign holds the signs'
    fields beyond the defaults (a 3 x 1 m shop sign). Used by the benchmarks and the scripts.
    """
    operations = []
    for n in range(count):
        road, lat, lng = place(n)
        shop_id = str(uuid.uuid4())
        shop = {
            "id": shop_id,
            "name": name(n),
            "road_id": road,
            "lat": lat,
            "lng": lng,
            "confirm_distinct": True,
        }
        signed = {
            "id": str(uuid.uuid4()),
            "shop_id": shop_id,
            "kind": "shop_sign",
            "width_m": 3,
            "height_m": 1,
        }
        operations += [
            {"method": "POST", "path": "/api/v1/shops", "body": shop},
            {"method": "POST", "path": "/api/v1/signs", "body": {**signed, **sign}},
        ]
    return operations


def _sync_batch(sample: Sample, i: int) -> dict:
    """500 operations a phone recorded offline: 250 new shops, each with its sign."""

    def place(n: int) -> tuple[str, float, float]:
        road, lat, lng = sample.places[(i * 250 + n) % len(sample.places)]
        return road, lat + 0.00005, lng

    return {"operations": shop_and_sign_operations(250, place, lambda n: f"压测新店{i}-{n}")}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("get one shop", "GET", _shop, baselines=("bare", "sql"), target=">= 35% of bare Flask"),
    Scenario("list 50 shops", "GET", _shop_page, baselines=("bare", "sql"), target=">= 15% of bare Flask"),
    Scenario("shops near a point (200 m)", "GET", _near, baselines=("sql",)),
    Scenario(
        "shops near a point (200 m), one client",
        "GET",
        _near,
        baselines=("sql",),
        connections=1,
        target="p50 < 10 ms",
    ),
    Scenario(
        "ledger export, csv (200,000 signs)",
        "GET",
        _export("csv"),
        baselines=("sql",),
        measure="download",
        target="streamed, peak worker RSS < 300 MB",
    ),
    Scenario(
        "ledger export, xlsx (200,000 signs)",
        "GET",
        _export("xlsx"),
        baselines=("sql",),
        measure="download",
        target="peak worker RSS < 300 MB",
        sql_path=_export("csv"),
    ),
    # Writes: their SQL cannot be replayed (the ids would clash), so they stand against bare Flask.
    Scenario(
        "create a hazard with its audit event",
        "POST",
        _fixed("/api/v1/hazards"),
        _hazard,
        baselines=("bare",),
        target="p99 < 100 ms",
    ),
    # After the hazards above: their events are the feed's first pages.
    Scenario(
        "a changes page of 200, one client",
        "GET",
        _fixed("/api/v1/changes?limit=200"),
        baselines=("sql",),
        connections=1,
        target="< 50 ms",
    ),
    Scenario(
        "sync batch of 500 operations (250 shops + 250 signs)",
        "POST",
        _fixed("/api/v1/sync"),
        _sync_batch,
        baselines=(),
        measure="batch",
        target="< 1 s; replay < 0.3 s",
    ),
    Scenario(
        "rectification report over 1,000,000 hazards, by zone and category",
        "GET",
        _fixed("/api/v1/reports/rectification?group_by=zone,category"),
        baselines=("sql",),
        measure="download",
        repeats=5,
        target="<= 1.5x the plain SQL, < 0.5 s",
    ),
)
