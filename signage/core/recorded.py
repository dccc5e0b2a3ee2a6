"""The time a phone says it recorded something, checked against the server's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from signage.core import clock
from signage.core.errors import field_error


def skew() -> timedelta:
    """How far ahead of the server a phone's clock may be (CLOCK_SKEW_SECONDS)."""
    return timedelta(seconds=current_app.config["CLOCK_SKEW_SECONDS"])


def not_in_future(value: datetime | None, field: str = "recorded_at") -> datetime | None:
    """Return value, refusing (422) a time later than now plus the clock-skew allowance."""
    if value is not None and value > clock.now() + skew():
        raise field_error(field, "is in the future; check the phone's clock")
    return value
