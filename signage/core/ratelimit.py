"""Limits on repeated failures (sign-in guesses), shared across workers.

The counters live in the store named by RATELIMIT_STORAGE_URI (Redis in
production), so every gunicorn worker sees the same count.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app
from limits import RateLimitItemPerSecond, storage, strategies

from signage.core.errors import Problem


class FailureLimiter:
    """Counts failures per key in a fixed window and refuses once the limit is hit."""

    def __init__(self, app: Flask | None = None):
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Connect the store named by the app's config."""
        backend = storage.storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        app.extensions["failure_limiter"] = strategies.FixedWindowRateLimiter(backend)

    @staticmethod
    def _item():
        cfg = current_app.config
        return RateLimitItemPerSecond(cfg["SIGNIN_MAX_FAILURES"], cfg["SIGNIN_WINDOW"])

    @staticmethod
    def _limiter() -> strategies.FixedWindowRateLimiter:
        return current_app.extensions["failure_limiter"]

    def check(self, *keys: tuple[str, ...]) -> None:
        """Raise 429 with Retry-After when any key has used up its failures."""
        item = self._item()
        for key in keys:
            if not self._limiter().test(item, *key):
                reset = self._limiter().get_window_stats(item, *key).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise Problem(
                    429,
                    f"Too many failed attempts; try again in {retry} seconds.",
                    headers={"Retry-After": str(retry)},
                    retry_after=retry,
                )

    def fail(self, *keys: tuple[str, ...]) -> None:
        """Count one failure against each key."""
        item = self._item()
        for key in keys:
            self._limiter().hit(item, *key)

    def clear(self, *keys: tuple[str, ...]) -> None:
        """Forget the failures of each key (after a successful sign-in)."""
        item = self._item()
        for key in keys:
            self._limiter().clear(item, *key)


failures = FailureLimiter()
