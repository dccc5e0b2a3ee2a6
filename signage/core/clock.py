"""The one place the app reads the time, so tests can move it without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, has_app_context


def now() -> datetime:
    """Current time, timezone-aware UTC; `app.config["CLOCK"]` overrides it in tests."""
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
    return datetime.now(UTC)
