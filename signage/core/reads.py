"""The connection read-only views read through: their own, in autocommit, with no ORM session.

A view marked `@read_only` (signage/core/access.py) never writes, so its request needs neither a
transaction (BEGIN and ROLLBACK are two round trips) nor the ORM's session and records (profiled,
they were most of the Python time of a signed-in GET of one shop). Its sign-in check and its
reads run as Core statements on one pooled connection, returned when the request ends.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, g

from signage.core.db import db


def start() -> None:
    """Put this request in read-only mode: `connection()` gives it its own autocommit connection."""
    g.read_only = True


def active() -> bool:
    """True while a read-only view's request runs."""
    return g.get("read_only", False)


def connection() -> sa.Connection:
    """The request's read connection (read-only views), else the ORM session's connection."""
    conn = g.get("_read_connection")
    if conn is not None:
        return conn
    if not active():
        return db.session.connection()
    conn = db.engine.connect()
    g._read_connection = conn  # returned at teardown even if the next line fails
    return conn.execution_options(isolation_level="AUTOCOMMIT")


def init_app(app: Flask) -> None:
    """Return the read connection to the pool when the request ends, whatever happened."""

    @app.teardown_request
    def _close_read_connection(_exc=None) -> None:
        g.pop("read_only", None)
        conn = g.pop("_read_connection", None)
        if conn is not None:
            conn.close()
