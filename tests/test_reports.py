"""Reports: every figure checked against an independent computation over a generated scenario."""

from __future__ import annotations

import csv
import io
import math
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from signage.catalog import HazardState
from signage.core.db import db
from signage.hazards.models import OPEN_STATES, Hazard
from tests import factories
from tests.helpers import assert_problem, bearer, make_user, sign_in, statements_during

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
CATEGORIES = ["damaged", "tilted", "loose_or_fallen", "rusted", "exposed_wiring", "unlit_characters", "other"]
STATES = ["reported", "notified", "fix_submitted", "rectified"]


def _pct(num: int, den: int):
    if not den:
        return None
    return float((Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _percentile(values: list[float], p: float):
    if not values:
        return None
    values = sorted(values)
    pos = p * (len(values) - 1)
    low = math.floor(round(pos, 9))
    frac = pos - low
    if frac < 1e-9 or low + 1 >= len(values):
        return round(values[low], 2)
    return round(values[low] + (values[low + 1] - values[low]) * frac, 2)


def _add_hazard(sign, **fields) -> None:
    """A hazard on sign, where it stands, with the given fields (test set-up, no lifecycle)."""
    place = {"sign_id": sign.id, "shop_id": sign.shop_id, "zone_id": sign.zone_id, "road_id": sign.road_id}
    db.session.add(Hazard(**place, lat=sign.lat, lng=sign.lng, **fields))


@pytest.fixture
def scenario(app, clock):
    """Hundreds of hazards in every state, across zones, roads, shifts, deadlines and day edges."""
    clock.set(NOW)
    rng = random.Random(7)
    make_user(app, "insp_a", "inspector", zones=())
    make_user(app, "insp_b", "inspector", zones=())
    rows = []
    with app.app_context():
        from signage.accounts.models import User

        inspectors = {u.username: u.id for u in db.session.scalars(db.select(User))}
        signs = []
        for zone, road, lat in (("GL", "航坞路", 30.18), ("GL", "东灵路", 30.181), ("KS", "坎红路", 30.19)):
            shop = factories.shop(f"{zone}{road}店", zone_code=zone, road_name=road, lat=lat, lng=120.46)
            signs.append((factories.sign(shop), zone, road))
        for i in range(360):
            sign, zone, road = signs[i % 3]
            # Found over six weeks; every 10th exactly at 23:30 or 00:30 local, the day edges.
            local = datetime(2026, 4, 6, 8, 0, tzinfo=TZ) + timedelta(hours=rng.randint(0, 42 * 24))
            if i % 10 == 0:
                local = local.replace(hour=23, minute=30)
            elif i % 10 == 1:
                local = local.replace(hour=0, minute=30)
            found = local.astimezone(UTC)
            if found >= NOW:
                found = NOW - timedelta(hours=rng.randint(1, 48))
            state = STATES[rng.randint(0, 3)]
            deadline = found + timedelta(hours=rng.choice([24, 72, 168]))
            rectified = None
            if state == "rectified":
                rectified = found + timedelta(hours=rng.uniform(1, 200))
                if rectified > NOW:
                    rectified = NOW - timedelta(minutes=rng.randint(1, 60))
            entry = {
                "zone": zone,
                "road": road,
                "category": CATEGORIES[i % 7],
                "shift": "night" if local.hour >= 19 or local.hour < 6 else "day",
                "severity": rng.choice(["low", "medium", "high", "critical"]),
                "inspector": "insp_a" if i % 2 else "insp_b",
                "state": state,
                "found": found,
                "deadline": deadline,
                "rectified_at": rectified,
                "rework": rng.choice([0, 0, 0, 1, 2]),
            }
            rows.append(entry)
            _add_hazard(
                sign,
                category=entry["category"],
                severity=entry["severity"],
                shift=entry["shift"],
                state=state,
                found_at=found,
                found_by_id=inspectors[entry["inspector"]],
                deadline_at=deadline,
                rectified_at=rectified,
                rework_count=entry["rework"],
            )
        db.session.commit()
    return rows


def _key(row, name):
    local = row["found"].astimezone(TZ).date()
    if name == "day":
        return local.isoformat()
    if name == "week":
        return (local - timedelta(days=local.weekday())).isoformat()
    return row[name]


def expected(rows, group_by, start: date | None = None, end: date | None = None):
    """The report computed independently, in Python, from the scenario's own definitions."""
    groups = defaultdict(list)
    for row in rows:
        day = row["found"].astimezone(TZ).date()
        if (start and day < start) or (end and day > end):
            continue
        groups[tuple(_key(row, g) for g in group_by)].append(row)
    out = {}
    for key, members in groups.items():
        rectified = [r for r in members if r["state"] == "rectified"]
        open_ = [r for r in members if r["state"] != "rectified"]
        due = [r for r in members if r["state"] == "rectified" or r["deadline"] < NOW]
        on_time = [r for r in rectified if r["rectified_at"] <= r["deadline"]]
        hours = [(r["rectified_at"] - r["found"]).total_seconds() / 3600 for r in rectified]
        out[key] = {
            "found": len(members),
            "rectified": len(rectified),
            "open": len(open_),
            "overdue": sum(1 for r in open_ if r["deadline"] < NOW),
            "due": len(due),
            "rectified_on_time": len(on_time),
            "rework": sum(r["rework"] for r in members),
            "rectification_rate": _pct(len(rectified), len(members)),
            "on_time_rate": _pct(len(on_time), len(due)),
            "median_hours": _percentile(hours, 0.5),
            "p90_hours": _percentile(hours, 0.9),
        }
    return out


@pytest.fixture
def supervisor(app, client, scenario):
    make_user(app, "captain", "supervisor")
    return bearer(sign_in(client, "captain"))


GROUPINGS = [
    (),
    ("zone",),
    ("zone", "category"),
    ("category", "zone"),  # the same groups by the other path on PostgreSQL (two passes, not one)
    ("shift",),
    ("day",),
    ("week",),
    ("inspector",),
    ("road", "shift"),
]


@pytest.mark.parametrize("group_by", GROUPINGS, ids=lambda g: "-".join(g) or "total")
def test_rectification_report_matches_independent_computation(client, scenario, supervisor, group_by):
    url = "/api/v1/reports/rectification" + (f"?group_by={','.join(group_by)}" if group_by else "")
    assert_figures(client.get(url, headers=supervisor).get_json(), group_by, expected(scenario, group_by))


def assert_figures(body: dict, group_by, want: dict) -> None:
    """The report's groups hold exactly the independently computed figures."""
    got = {
        tuple(g["group"][k] for k in group_by): {k: v for k, v in g.items() if k != "group"}
        for g in body["groups"]
    }
    assert set(got) == set(want)
    for key in want:
        for figure, value in want[key].items():
            if figure.endswith("_hours") and value is not None:
                assert got[key][figure] == pytest.approx(value, abs=0.011), (key, figure)
            else:
                assert got[key][figure] == value, (key, figure)


@pytest.mark.parametrize("group_by", [("zone", "category"), ("road",)], ids="-".join)
def test_a_period_report_matches_independent_computation(client, scenario, supervisor, group_by):
    # By zone and category the figures come in one pass on PostgreSQL, by road in two.
    start, end = date(2026, 4, 20), date(2026, 5, 10)
    body = client.get(
        f"/api/v1/reports/rectification?from={start}&to={end}&group_by={','.join(group_by)}",
        headers=supervisor,
    ).get_json()
    want = expected(scenario, group_by, start, end)
    assert 0 < sum(w["found"] for w in want.values()) < len(scenario), (
        "the period holds some hazards, not all"
    )
    assert_figures(body, group_by, want)


@pytest.mark.parametrize(
    ("query", "postgres_count", "sqlite_count", "tallied"),
    [
        # Over all time by zone and category (or neither): the tallies with the open hazards
        # still in time, joined to the percentiles, in one statement.
        ("group_by=zone", 3, 3, True),
        ("group_by=zone,category", 3, 3, True),
        # No groups, so no labels to look up; the zone's code is checked instead.
        ("zone=GL&category=rusted", 3, 3, True),
        # Over a period: on PostgreSQL by zone (and category) counts and percentiles in one pass
        # over the report index; elsewhere the percentiles take a statement of their own.
        ("group_by=zone&from=2026-04-01", 3, 4, False),
        ("group_by=road,shift", 4, 4, False),
        ("zone=GL&shift=day", 4, 4, False),
    ],
)
def test_report_statements_are_few_and_fixed(
    app, client, scenario, supervisor, query, postgres_count, sqlite_count, tallied
):
    # The sign-in check, the figures, and the labels (zone codes, road names) in one statement
    # for all groups. The first report folds the tallies the scenario's inserts left.
    client.get("/api/v1/reports/rectification?group_by=zone", headers=supervisor)
    headers = bearer(sign_in(client, "captain"))  # a new session: its sign-in check is counted
    sent, response = statements_during(
        app, lambda: client.get(f"/api/v1/reports/rectification?{query}", headers=headers)
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["groups"][0]["found"] > 0
    postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert len(sent) == (postgres_count if postgres else sqlite_count), sent
    assert any("hazard_tallies" in statement for statement in sent) == tallied, sent


def test_period_uses_local_days_so_2330_belongs_to_its_own_day(client, scenario, supervisor):
    start, end = date(2026, 4, 20), date(2026, 4, 26)
    body = client.get(
        f"/api/v1/reports/rectification?from={start}&to={end}&group_by=day", headers=supervisor
    ).get_json()
    got = {g["group"]["day"]: g["found"] for g in body["groups"]}
    want = {k[0]: v["found"] for k, v in expected(scenario, ("day",), start, end).items()}
    assert got == want and len(got) == 7
    edge = [
        r
        for r in scenario
        if r["found"].astimezone(TZ).hour == 23 and start <= r["found"].astimezone(TZ).date() <= end
    ]
    assert edge, "the scenario has 23:30 findings in the period"


def test_filters_narrow_the_report(client, scenario, supervisor):
    body = client.get(
        "/api/v1/reports/rectification?zone=KS&shift=night&category=rusted", headers=supervisor
    ).get_json()
    members = [
        r for r in scenario if r["zone"] == "KS" and r["shift"] == "night" and r["category"] == "rusted"
    ]
    assert body["groups"][0]["found"] == len(members)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("zone=gl", "zone"),
        ("inspector=nobody", "inspector"),
        ("road=00000000-0000-4000-8000-000000000000", "road"),
    ],
)
def test_unknown_filter_values_are_refused_not_reported_as_zero(client, supervisor, query, field):
    response = client.get(f"/api/v1/reports/rectification?{query}", headers=supervisor)
    assert field in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize("group_by", ["zone", "category,zone"])  # one pass on PostgreSQL, then two
def test_a_zone_with_nothing_rectified_shows_no_hours(app, client, scenario, supervisor, group_by):
    with app.app_context():
        from signage.accounts.models import User

        finder = db.session.scalar(db.select(User.id).where(User.username == "insp_a"))
        sign = factories.sign(
            factories.shop("新开店", zone_code="XS", road_name="新路", lat=30.2, lng=120.46)
        )
        for hours in (5, 50):
            found = NOW - timedelta(hours=hours)
            _add_hazard(
                sign,
                category="rusted",
                severity="low",
                shift="day",
                state="reported",
                found_at=found,
                found_by_id=finder,
                deadline_at=found + timedelta(hours=24),
            )
        db.session.commit()
    body = client.get(f"/api/v1/reports/rectification?group_by={group_by}", headers=supervisor).get_json()
    quiet = [g for g in body["groups"] if g["group"]["zone"] == "XS"]
    assert [(g["found"], g["rectified"], g["overdue"]) for g in quiet] == [(2, 0, 1)]
    assert quiet[0]["median_hours"] is None and quiet[0]["p90_hours"] is None
    busy = [g for g in body["groups"] if g["group"]["zone"] != "XS"]
    assert busy and all(g["median_hours"] is not None for g in busy)


def test_every_state_but_rectified_is_open():
    # The report counts open hazards as those not rectified, and the column holds no others.
    assert {s.value for s in OPEN_STATES} == {s.value for s in HazardState} - {"rectified"}
    assert Hazard.__table__.c.state.nullable is False


def test_a_group_with_nothing_due_shows_no_rate(app, client, supervisor, clock):
    clock.set(datetime(2026, 4, 1, tzinfo=UTC))  # before anything was found or due
    body = client.get("/api/v1/reports/rectification?to=2026-03-31", headers=supervisor).get_json()
    total = body["groups"][0]
    assert total["found"] == 0 and total["rectification_rate"] is None and total["on_time_rate"] is None
    assert "rectified ÷ found" in body["meta"]["definitions"]["rectification_rate"]


def test_csv_and_xlsx_read_back_to_the_same_numbers(client, scenario, supervisor):
    url = "/api/v1/reports/rectification?group_by=zone,shift"
    json_groups = client.get(url, headers=supervisor).get_json()["groups"]
    text = client.get(url + "&format=csv", headers=supervisor).get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    header_index = next(i for i, r in enumerate(rows) if "发现 Found" in r)
    header = rows[header_index]
    table = rows[header_index + 1 : header_index + 1 + len(json_groups)]
    found_col, rate_col = header.index("发现 Found"), header.index("整改率 Rectification rate")
    for row, group in zip(table, json_groups, strict=True):
        assert int(row[found_col]) == group["found"]
        assert (float(row[rate_col]) if row[rate_col] else None) == group["rectification_rate"]
    response = client.get(url + "&format=xlsx", headers=supervisor)
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "片区 Zone"
    for row, group in zip(values[1:], json_groups, strict=True):
        assert row[2] == group["found"]
        rate_cell = sheet.cell(
            row=values.index(row) + 1, column=values[0].index("整改率 Rectification rate") + 1
        )
        assert rate_cell.number_format == "0.0%"
        assert rate_cell.value == pytest.approx(group["rectification_rate"] / 100)
    assert [ws.title for ws in book.worksheets] == ["片区 × 班次", "合计 Total"]


def test_reports_are_for_supervisors_and_admins(app, client, scenario):
    assert_problem(client.get("/api/v1/reports/rectification"), 401)
    make_user(app, "ivan", "inspector")
    assert_problem(client.get("/api/v1/reports/campaign", headers=bearer(sign_in(client, "ivan"))), 403)


def test_bad_report_arguments_are_422(client, supervisor):
    assert (
        "group_by"
        in assert_problem(
            client.get("/api/v1/reports/rectification?group_by=zone,zone", headers=supervisor), 422
        )["errors"]
    )
    assert (
        "group_by"
        in assert_problem(
            client.get("/api/v1/reports/rectification?group_by=zone,day,shift", headers=supervisor), 422
        )["errors"]
    )
    assert (
        "to"
        in assert_problem(
            client.get("/api/v1/reports/rectification?from=2026-05-02&to=2026-05-01", headers=supervisor), 422
        )["errors"]
    )


def test_filter_by_road_counts_that_roads_hazards(app, client, scenario, supervisor):
    # 东灵路 shares zone GL with 航坞路: a road filter that narrowed by zone would count both.
    with app.app_context():
        road_id = factories.road("GL", "东灵路").id
    body = client.get(f"/api/v1/reports/rectification?road={road_id}", headers=supervisor).get_json()
    on_road = len([r for r in scenario if r["road"] == "东灵路"])
    assert 0 < on_road < len([r for r in scenario if r["zone"] == "GL"])
    assert body["groups"][0]["found"] == on_road
