"""Shared marshmallow fields."""

from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from flask import current_app

from signage.core import clock


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
        allowance = timedelta(seconds=current_app.config["CLOCK_SKEW_ALLOWANCE"])
        if when > clock.now() + allowance:
            raise ma.ValidationError("is in the future; check the phone's clock")
        return when
