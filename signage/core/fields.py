"""Shared marshmallow fields."""

from __future__ import annotations

from datetime import UTC

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
