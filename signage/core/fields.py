"""Shared marshmallow fields."""

from __future__ import annotations

from datetime import UTC, date

import marshmallow as ma

from signage.core import clock
from signage.core.recorded import skew


class AwareDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 time with its offset, read as the same instant in UTC, as it is stored.

    A time the calendar cannot hold once in UTC (0001-01-01T00:00:00+01:00 is in year 0) is a
    422 naming the field, not a statement that fails on the way to the database.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        when = super()._deserialize(value, attr, data, **kwargs)
        try:
            return when.astimezone(UTC)
        except OverflowError:
            raise ma.ValidationError("is outside the calendar once in UTC") from None


class LocalDay(ma.fields.Date):
    """A local day (YYYY-MM-DD) that bounds a period: its start and the next day's start must be
    instants the calendar holds in UTC, so the first and last days of the calendar are refused
    (422 naming the field) rather than failing as the period is worked out."""

    FIRST, LAST = date(1, 1, 2), date(9999, 12, 30)

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not self.FIRST <= day <= self.LAST:
            raise ma.ValidationError(f"must be between {self.FIRST} and {self.LAST}")
        return day


class RecordedAt(AwareDateTime):
    """When the phone recorded a record (ISO 8601 with offset); never later than now plus skew."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "metadata",
            {"description": "When the phone recorded it, ISO 8601 with offset; reports use this time"},
        )
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        when = super()._deserialize(value, attr, data, **kwargs)
        if when > clock.now() + skew():
            raise ma.ValidationError("is in the future; check the phone's clock")
        return when
