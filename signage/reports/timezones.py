"""Local dates in the team's time zone, computed by the database (both dialects).

PostgreSQL converts with AT TIME ZONE. SQLite has no time zones, so the UTC offset is
applied as a CASE over the offset changes (DST transitions) inside the queried period,
found from zoneinfo: exact for any zone, one branch for zones without DST such as
Asia/Shanghai.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from signage.core.db import UTCDateTime


def local_bounds(
    start: date | None, end: date | None, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """UTC instants of local midnight starting `start` and the midnight after `end`."""
    lo = datetime.combine(start, time(), tz).astimezone(UTC) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(), tz).astimezone(UTC) if end else None
    return lo, hi


def _offset_at(tz: ZoneInfo, epoch: int) -> int:
    return int(datetime.fromtimestamp(epoch, UTC).astimezone(tz).utcoffset().total_seconds())


@functools.lru_cache(maxsize=64)
def _offset_spans(tz: ZoneInfo, lo: datetime, hi: datetime) -> tuple[tuple[datetime, int], ...]:
    """(UTC instant from which, offset seconds) for each offset in force between lo and hi.

    Probing a century (a report without a period) takes a quarter of a second; the time zone's
    rules do not change while the app runs, so each span is worked out once.
    """
    spans = [(lo, int(lo.astimezone(tz).utcoffset().total_seconds()))]
    probe = lo
    while probe < hi:
        nxt = probe + timedelta(hours=6)
        offset = int(nxt.astimezone(tz).utcoffset().total_seconds())
        if offset != spans[-1][1]:
            # Narrow the change down to the second it happens.
            a, b = int(probe.timestamp()), int(nxt.timestamp())
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_at(tz, mid) == spans[-1][1]:
                    a = mid
                else:
                    b = mid
            spans.append((datetime.fromtimestamp(b, UTC), offset))
        probe = nxt
    return tuple(spans)


class LocalTime:
    """Builds local-date SQL expressions for one dialect, zone and period."""

    def __init__(self, dialect: str, tz: ZoneInfo, lo: datetime | None, hi: datetime | None):
        self.dialect = dialect
        self.tz = tz
        # Without a period, cover the campaign's plausible life for the offset table.
        self.lo = lo or datetime(2000, 1, 1, tzinfo=UTC)
        self.hi = hi or datetime(2100, 1, 1, tzinfo=UTC)

    def _sqlite_local(self, column) -> sa.ColumnElement:
        spans = _offset_spans(self.tz, self.lo, self.hi)
        shifted = [sa.func.datetime(column, f"{offset:+d} seconds") for _, offset in spans]
        if len(spans) == 1:
            return shifted[0]
        whens = [
            (column < sa.literal(start, UTCDateTime()), expr)
            for (start, _), expr in zip(spans[1:], shifted[:-1], strict=True)
        ]
        return sa.case(*whens, else_=shifted[-1])

    def day(self, column) -> sa.ColumnElement:
        """The local calendar day of a UTC timestamp column, as 'YYYY-MM-DD'."""
        if self.dialect == "postgresql":
            return sa.func.to_char(sa.func.timezone(self.tz.key, column), "YYYY-MM-DD")
        return sa.func.date(self._sqlite_local(column))

    def week(self, column) -> sa.ColumnElement:
        """The Monday starting the local ISO week of a UTC timestamp column, as 'YYYY-MM-DD'."""
        if self.dialect == "postgresql":
            return sa.func.to_char(
                sa.func.date_trunc("week", sa.func.timezone(self.tz.key, column)), "YYYY-MM-DD"
            )
        return sa.func.date(self._sqlite_local(column), "weekday 0", "-6 days")
