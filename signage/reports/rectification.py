"""The rectification report: found, rectified, open, overdue and the rates, grouped in SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from signage.accounts.models import User
from signage.catalog import HazardState
from signage.core import clock
from signage.core.db import db
from signage.core.errors import field_error
from signage.hazards.models import RECTIFIED_TERM, Hazard
from signage.reports import tallies
from signage.reports.timezones import LocalTime, local_bounds
from signage.zones.models import Road, Zone

GROUPINGS = ("zone", "road", "category", "shift", "inspector", "severity", "week", "day")
RECTIFIED = HazardState.RECTIFIED.value

DEFINITIONS = {
    "found": "hazards found in the period (by found time, local days in the team's time zone)",
    "rectified": "of those, hazards verified as rectified (state rectified), at any time up to now",
    "open": "of those, hazards not yet rectified (reported, notified, fix submitted)",
    "overdue": "of the open ones, those whose deadline is before now (derived, never stored)",
    "due": "hazards that are rectified or whose deadline has passed",
    "rectified_on_time": "rectified hazards whose verified rectification came at or before the deadline",
    "rectification_rate": "rectified ÷ found, as a percentage rounded once to 0.1; null when found is 0",
    "on_time_rate": "rectified_on_time ÷ due, as a percentage rounded once to 0.1; null when nothing is due",
    "rework": "failed verifications (a fix sent back), summed",
    "median_hours": "median of hours from finding to verified rectification, rectified hazards only",
    "p90_hours": "90th percentile (linear interpolation) of the same hours",
}


def rate(numerator: int, denominator: int) -> float | None:
    """numerator ÷ denominator as a percentage, exact until one final rounding to 0.1."""
    if not denominator:
        return None
    value = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return float(value)


@dataclass(frozen=True)
class Filters:
    """What the report covers."""

    start: date | None = None
    end: date | None = None
    zone: str | None = None
    road: uuid.UUID | None = None
    category: str | None = None
    shift: str | None = None
    inspector: str | None = None
    severity: str | None = None


def _group_columns(group_by: tuple[str, ...], local: LocalTime) -> list[tuple[str, sa.ColumnElement]]:
    # Zones, roads and inspectors group by the hazard's own id columns, named after the
    # aggregation: no join runs over the million rows, and the indexes serve the grouping.
    columns = []
    for name in group_by:
        if name == "zone":
            columns.append(("zone", Hazard.zone_id))
        elif name == "road":
            columns.append(("road", Hazard.road_id))
        elif name == "inspector":
            columns.append(("inspector", Hazard.found_by_id))
        elif name == "week":
            columns.append(("week", local.week(Hazard.found_at)))
        elif name == "day":
            columns.append(("day", local.day(Hazard.found_at)))
        else:
            columns.append((name, getattr(Hazard, name)))
    return columns


def _refuse_unknown(filters: Filters) -> None:
    """A zone, road or inspector that does not exist is a 422, not a report of zeros."""
    for name, column, value in (
        ("zone", Zone.code, filters.zone),
        ("road", Road.id, filters.road),
        ("inspector", User.username, filters.inspector),
    ):
        if value and db.session.scalar(sa.select(sa.literal(1)).where(column == value)) is None:
            raise field_error(name, f"no {name} {value}")


def _base(stmt: sa.Select, filters: Filters, lo, hi) -> sa.Select:
    stmt = stmt.select_from(Hazard)
    if lo is not None:
        stmt = stmt.where(Hazard.found_at >= lo)
    if hi is not None:
        stmt = stmt.where(Hazard.found_at < hi)
    if filters.zone:
        zone_id = sa.select(Zone.id).where(Zone.code == filters.zone).scalar_subquery()
        stmt = stmt.where(Hazard.zone_id == zone_id)
    if filters.road:
        stmt = stmt.where(Hazard.road_id == filters.road)
    if filters.inspector:
        found_by = sa.select(User.id).where(User.username == filters.inspector).scalar_subquery()
        stmt = stmt.where(Hazard.found_by_id == found_by)
    for name in ("category", "shift", "severity"):
        value = getattr(filters, name)
        if value:
            stmt = stmt.where(getattr(Hazard, name) == value)
    return stmt


def _grouped(stmt: sa.Select, group_cols) -> sa.Select:
    return stmt.group_by(*[col for _, col in group_cols]) if group_cols else stmt


# Groupings whose rows the report index (zone_id, category, rectify_hours) gives in order: on
# PostgreSQL their counts and percentiles take one pass over that index alone. Other groupings
# would sort every hazard for the percentiles (a million rows: 2x slower, measured), so they
# count in one hashed pass and take percentiles in a second, over rectified hazards only.
ONE_PASS = frozenset({("zone",), ("zone", "category")})


def _percentile_columns(only: sa.ColumnElement[bool] | None = None) -> list[sa.ColumnElement]:
    """PostgreSQL's ordered-set aggregates for the median and 90th percentile hours (of the rows
    `only` keeps, when given)."""
    columns = []
    for label, fraction in (("median", 0.5), ("p90", 0.9)):
        column = sa.func.percentile_cont(fraction).within_group(Hazard.rectify_hours)
        columns.append((column if only is None else column.filter(only)).label(label))
    return columns


def _row_percentiles(row) -> dict:
    return {"median_hours": _rounded(row.median), "p90_hours": _rounded(row.p90)}


def _hours_select(group_cols, filters, lo, hi, dialect: str) -> sa.Select:
    """Per group: its keys, then the median and 90th percentile of hours to rectify, over
    rectified hazards only (on SQLite, the hours around each position, for `_hours`)."""
    keys = [col.label(name) for name, col in group_cols]
    # Named literally, so the rectified hazards' partial index (ix_hazards_rectified_hours) applies.
    rectified = sa.text(RECTIFIED_TERM)
    if dialect == "postgresql":
        stmt = _base(sa.select(*keys, *_percentile_columns()), filters, lo, hi).where(rectified)
        return _grouped(stmt, group_cols)
    # SQLite has no percentile aggregate: rank each group's hours, then pick around the positions.
    partition = [col for _, col in group_cols] or None
    ranked = (
        _base(
            sa.select(
                *keys,
                Hazard.rectify_hours.label("hours"),
                sa.func.row_number().over(partition_by=partition, order_by=Hazard.rectify_hours).label("rn"),
                sa.func.count().over(partition_by=partition).label("n"),
            ),
            filters,
            lo,
            hi,
        )
        .where(rectified, Hazard.rectify_hours.is_not(None))
        .subquery()
    )
    parts = []
    for tenths in (5, 9):
        # Position p·(n−1) in whole and tenths, in integer arithmetic.
        whole = (ranked.c.n - 1) * tenths // 10
        parts += [
            sa.func.max(sa.case((ranked.c.rn == whole + 1, ranked.c.hours))).label(f"p{tenths}_lo"),
            sa.func.max(sa.case((ranked.c.rn == whole + 2, ranked.c.hours))).label(f"p{tenths}_hi"),
            sa.func.max((ranked.c.n - 1) * tenths % 10).label(f"p{tenths}_rem"),
        ]
    names = [name for name, _ in group_cols]
    return sa.select(*[ranked.c[n] for n in names], *parts).group_by(*[ranked.c[n] for n in names])


def _hours(row, dialect: str) -> dict:
    """A row's median and 90th-percentile hours, from `_hours_select`'s columns."""
    if dialect == "postgresql":
        return _row_percentiles(row)
    return {
        "median_hours": _interpolate(row.p5_lo, row.p5_hi, row.p5_rem),
        "p90_hours": _interpolate(row.p9_lo, row.p9_hi, row.p9_rem),
    }


def _percentiles(group_cols, filters, lo, hi, dialect: str) -> dict[tuple, dict]:
    """Median and 90th percentile of hours to rectify per group, over rectified hazards only."""
    stmt = _hours_select(group_cols, filters, lo, hi, dialect)
    return {tuple(row[: len(group_cols)]): _hours(row, dialect) for row in db.session.execute(stmt)}


def _from_tallies(filters: Filters, group_by, group_cols, now, dialect: str) -> tuple:
    """The groups' counts from the tallies and their hours from the rectified hazards, in one
    statement: one snapshot, so the hours are of the very hazards counted as rectified."""
    counts = tallies.figures(filters, group_by, now).subquery("counts")
    hours = _hours_select(group_cols, filters, None, None, dialect).subquery("hours")
    names = [name for name, _ in group_cols]
    same_group = sa.and_(sa.true(), *[counts.c[name] == hours.c[name] for name in names])
    stmt = sa.select(counts, *[c for c in hours.c if c.key not in names]).select_from(
        counts.outerjoin(hours, same_group)
    )
    rows = db.session.execute(stmt).all()
    return rows, {tuple(row[: len(names)]): _hours(row, dialect) for row in rows}


def _labels(group_by: tuple[str, ...], rows) -> dict[str, dict]:
    """Codes, names and usernames for the zone, road and inspector ids among the groups."""
    sources = {
        "zone": (Zone.id, Zone.code),
        "road": (Road.id, Road.name),
        "inspector": (User.id, User.username),
    }
    labels = {}
    for position, name in enumerate(group_by):
        if name in sources:
            key, label = sources[name]
            ids = {row[position] for row in rows} - {None}
            found = db.session.execute(sa.select(key, label).where(key.in_(ids))).all() if ids else []
            labels[name] = {**{row[0]: row[1] for row in found}, None: ""}
    return labels


def _rounded(value) -> float | None:
    return None if value is None else round(float(value), 2)


def _interpolate(low, high, rem) -> float | None:
    if low is None:
        return None
    if not rem or high is None:
        return round(float(low), 2)
    return round(float(low) + (float(high) - float(low)) * rem / 10, 2)


def _from_hazards(filters: Filters, group_cols, lo, hi, now, dialect: str, one_pass: bool) -> tuple:
    """The groups' counts (and percentiles) read from the hazards themselves: reports over a
    period, or grouped or filtered by more than zone and category."""
    # Open is every state but rectified (the column is held to the catalog's states): one
    # comparison a row, where IN over the three open states took a fifth of the report's pass
    # over a million hazards (336 -> 267 ms). tests/test_reports.py holds the catalog to it.
    is_open = Hazard.state != RECTIFIED
    is_rectified = Hazard.state == RECTIFIED
    past_deadline = Hazard.deadline_at < now

    def count_if(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    stmt = _base(
        sa.select(
            *[col.label(name) for name, col in group_cols],
            sa.func.count().label("found"),
            count_if(is_rectified).label("rectified"),
            count_if(is_open).label("open"),
            count_if(sa.and_(is_open, past_deadline)).label("overdue"),
            count_if(sa.or_(is_rectified, past_deadline)).label("due"),
            count_if(sa.and_(is_rectified, Hazard.rectified_at <= Hazard.deadline_at)).label("on_time"),
            sa.func.coalesce(sa.func.sum(Hazard.rework_count), 0).label("rework"),
            *(_percentile_columns(only=is_rectified) if one_pass else ()),
        ),
        filters,
        lo,
        hi,
    )
    rows = db.session.execute(_grouped(stmt, group_cols)).all()
    if one_pass:
        return rows, {tuple(row[: len(group_cols)]): _row_percentiles(row) for row in rows}
    return rows, _percentiles(group_cols, filters, lo, hi, dialect)


def rectification(filters: Filters, group_by: tuple[str, ...]) -> dict:
    """The report's groups (one or two groupings, or none for a single total) and its metadata."""
    _refuse_unknown(filters)
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    dialect = db.session.get_bind().dialect.name
    lo, hi = local_bounds(filters.start, filters.end, tz)
    local = LocalTime(dialect, tz, lo, hi)
    now = clock.now()
    group_cols = _group_columns(group_by, local)
    if tallies.covers(filters, group_by):
        # Over all time by zone and category: the counts from the tallies, a few hundred rows.
        rows, percentiles = _from_tallies(filters, group_by, group_cols, now, dialect)
        tallies.compact_if_due(rows)
    else:
        one_pass = dialect == "postgresql" and group_by in ONE_PASS
        rows, percentiles = _from_hazards(filters, group_cols, lo, hi, now, dialect, one_pass)
    labels = _labels(group_by, rows)
    groups = []
    for row in rows:
        key = tuple(row[: len(group_cols)])
        row_found = int(row.found)
        group = {
            name: labels[name][row[i]] if name in labels else row[i] for i, (name, _) in enumerate(group_cols)
        }
        groups.append(
            {
                "group": group,
                "found": row_found,
                "rectified": int(row.rectified),
                "open": int(row.open),
                "overdue": int(row.overdue),
                "due": int(row.due),
                "rectified_on_time": int(row.on_time),
                "rework": int(row.rework),
                "rectification_rate": rate(int(row.rectified), row_found),
                "on_time_rate": rate(int(row.on_time), int(row.due)),
                **percentiles.get(key, {"median_hours": None, "p90_hours": None}),
            }
        )
    # Groups in order of what they show (code-point order, the same on both databases).
    groups.sort(key=lambda g: tuple("" if v is None else str(v) for v in g["group"].values()))
    return {
        "meta": {
            "from": filters.start.isoformat() if filters.start else None,
            "to": filters.end.isoformat() if filters.end else None,
            "time_zone": tz.key,
            "group_by": list(group_by),
            "generated_at": now.isoformat(),
            "definitions": DEFINITIONS,
        },
        "groups": groups,
    }
