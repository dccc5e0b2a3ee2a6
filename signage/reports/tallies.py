"""The rectification report's counts from the hazard tallies, for reports over all time.

Triggers keep hazard_tallies (migration 0012): each change of hazards adds a row of what it
changed in its zone and category's counts. A report with no period, grouped and filtered by
zone and category only, sums those rows instead of reading every hazard: a few hundred rows,
not a million. What depends on the time of asking is counted from the hazards themselves, and
only the few it takes: the open hazards whose deadline is still ahead (ix_hazards_deadline_at).
Overdue is the open ones less those; due is rectified plus overdue.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from signage.catalog import HazardState
from signage.core.db import db
from signage.hazards.models import Hazard, HazardTally
from signage.zones.models import Zone

log = logging.getLogger(__name__)

# What a report may group and filter by and still read the tallies.
GROUPINGS = frozenset({"zone", "category"})
FILTERS = frozenset({"zone", "category"})

_TALLY = HazardTally.__table__
_ZERO, _ONE = sa.literal_column("0"), sa.literal_column("1")


def covers(filters, group_by: tuple[str, ...]) -> bool:
    """Whether the tallies hold this report: no period, zone and category only."""
    used = {f.name for f in dataclasses.fields(filters) if getattr(filters, f.name) is not None}
    return used <= FILTERS and set(group_by) <= GROUPINGS


def figures(filters, group_by: tuple[str, ...], now: datetime) -> sa.Select:
    """Per group: its keys, then found, rectified, open, overdue, due, on_time, rework.

    One SELECT: the tallies' rows and, beside them, one row for each open hazard whose
    deadline is still ahead, summed by group. Each group also says how many tally rows it
    summed (pieces) and how many zone-and-category pairs it holds at most (pairs), which tell
    `compact_if_due` when folding the rows is worth a write.
    """
    tally = sa.select(
        _TALLY.c.zone_id,
        _TALLY.c.category,
        _TALLY.c.found,
        _TALLY.c.rectified,
        _TALLY.c.on_time,
        _TALLY.c.rework,
        _ZERO.label("ahead"),
        _ONE.label("piece"),
    )
    ahead = sa.select(Hazard.zone_id, Hazard.category, _ZERO, _ZERO, _ZERO, _ZERO, _ONE, _ZERO).where(
        Hazard.state != HazardState.RECTIFIED.value, Hazard.deadline_at >= now
    )
    if filters.zone:
        zone_id = sa.select(Zone.id).where(Zone.code == filters.zone).scalar_subquery()
        tally, ahead = tally.where(_TALLY.c.zone_id == zone_id), ahead.where(Hazard.zone_id == zone_id)
    if filters.category:
        tally = tally.where(_TALLY.c.category == filters.category)
        ahead = ahead.where(Hazard.category == filters.category)
    rows = sa.union_all(tally, ahead).subquery("rows")
    keys = [rows.c.zone_id if name == "zone" else rows.c.category for name in group_by]

    def total(column):  # 0 when nothing matched, as the total's one row must show
        return sa.func.coalesce(sa.func.sum(column), 0)

    found, rectified = total(rows.c.found), total(rows.c.rectified)
    open_ = found - rectified
    overdue = open_ - total(rows.c.ahead)
    stmt = sa.select(
        *[key.label(name) for key, name in zip(keys, group_by, strict=True)],
        found.label("found"),
        rectified.label("rectified"),
        open_.label("open"),
        overdue.label("overdue"),
        (rectified + overdue).label("due"),
        total(rows.c.on_time).label("on_time"),
        total(rows.c.rework).label("rework"),
        total(rows.c.piece).label("pieces"),
        (sa.func.count(rows.c.zone_id.distinct()) * sa.func.count(rows.c.category.distinct())).label("pairs"),
    )
    if keys:
        # Groups whose hazards all went elsewhere sum to nothing: not shown, as when counted
        # from the hazards. The total is one row, even of zeros.
        stmt = stmt.group_by(*keys).having(found > 0)
    return stmt


def compact_if_due(rows: list[sa.Row]) -> None:
    """Fold the tallies into one row per zone and category once they hold many more than that.

    Takes its own transaction (the report is read by then). Safe beside writers and other
    reports: on PostgreSQL one statement deletes the rows and inserts their sums, so a
    concurrent reader sees the rows before or after, and rows added meanwhile stay; SQLite has
    one writer at a time. A failure here costs the next report a few more rows, so it is logged
    and the report stands.
    """
    pieces = sum(int(row.pieces) for row in rows)
    pairs = sum(int(row.pairs) for row in rows)
    if pieces <= 2 * pairs + current_app.config["REPORT_TALLY_SLACK"]:
        return
    db.session.rollback()  # the report's read transaction ends here
    try:
        compact(db.session.connection())
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        log.warning("hazard tallies not folded; the next report tries again", exc_info=True)


# PostgreSQL: one statement deletes the rows and inserts their sums.
_FOLD = sa.text("""
WITH gone AS (DELETE FROM hazard_tallies RETURNING zone_id, category, found, rectified, on_time, rework)
INSERT INTO hazard_tallies (zone_id, category, found, rectified, on_time, rework)
SELECT zone_id, category, sum(found), sum(rectified), sum(on_time), sum(rework)
FROM gone GROUP BY zone_id, category
HAVING sum(found) <> 0 OR sum(rectified) <> 0 OR sum(on_time) <> 0 OR sum(rework) <> 0
""")
# SQLite: the sums of the rows up to :last, then those rows go.
_FOLD_UP_TO = sa.text("""
INSERT INTO hazard_tallies (zone_id, category, found, rectified, on_time, rework)
SELECT zone_id, category, sum(found), sum(rectified), sum(on_time), sum(rework)
FROM hazard_tallies WHERE id <= :last GROUP BY zone_id, category
HAVING sum(found) <> 0 OR sum(rectified) <> 0 OR sum(on_time) <> 0 OR sum(rework) <> 0
""")
_DROP_UP_TO = sa.text("DELETE FROM hazard_tallies WHERE id <= :last")


def compact(conn: sa.Connection) -> None:
    """Replace the tally rows by one row per zone and category (none where everything is 0)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_FOLD)
        return
    # The INSERT takes SQLite's write lock, so nothing lands between it and the DELETE; rows
    # added after the max was read have higher ids and stay.
    last = conn.scalar(sa.text("SELECT max(id) FROM hazard_tallies"))
    if last is not None:
        conn.execute(_FOLD_UP_TO, {"last": last})
        conn.execute(_DROP_UP_TO, {"last": last})
