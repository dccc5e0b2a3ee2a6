"""Shared marshmallow fields."""

from __future__ import annotations

import marshmallow as ma

from signage.core import clock
from signage.core.recorded import skew


class RecordedAt(ma.fields.AwareDateTime):
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
