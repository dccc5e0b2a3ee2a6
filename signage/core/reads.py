"""The connection read-only views read through: their own, in autocommit, with no ORM session.

A view marked `@read_only` (signage/core/access.py) never writes, so its request needs neither a
transaction (BEGIN and ROLLBACK are two round trips) nor the ORM's session and records (profiled,
they were most of the Python time of a signed-in GET of one shop). Its sign-in check and its
reads run as Core statements on one connection: on PostgreSQL from a pool of their own, always
in autocommit (`add_engine`), each thread keeping its own between its requests (`Kept`).

The hottest of those reads are `Prepared`: built once, and run on the DBAPI cursor itself where
SQLAlchemy would hand their values through unchanged.
"""

from __future__ import annotations

import collections
import functools
import keyword
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import Flask, current_app, g
from psycopg.postgres import types as psycopg_types

from signage.core.db import answers, db


def start() -> None:
    """Put this request in read-only mode: `connection()` gives it its own autocommit connection."""
    g.read_only = True


def active() -> bool:
    """True while a read-only view's request runs."""
    return g.get("read_only", False)


def add_engine(app: Flask, engine: sa.Engine) -> None:
    """Give read-only views a pool of their own on engine's database (PostgreSQL), whose
    connections stay in autocommit.

    Switching a pooled connection to autocommit and back for each request, and resetting it on
    return, cost a tenth of a GET of one shop (profiled); these connections are never in a
    transaction, so they are returned as they are. Same settings and session set-up as engine
    (db.utc_sessions); disposed with it.
    """
    from signage.core.db import utc_sessions

    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    reader = sa.create_engine(engine.url, **options, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    utc_sessions(reader)
    # Pre-ping asks for a test before every use; else one idle past the limit is tested.
    kept = Kept(reader, 0 if options.get("pool_pre_ping") else app.config["DB_PING_IDLE_SECONDS"])

    def _dispose(_conn) -> None:
        kept.return_all()
        reader.dispose()

    sa.event.listen(engine, "engine_disposed", _dispose)
    app.extensions["signage_read_engine"] = reader
    app.extensions["signage_read_connections"] = kept


class Kept:
    """Each thread's read connection, kept between that thread's requests (PostgreSQL).

    A thread serves one request at a time, so its connection can wait for the thread's next
    request rather than in the pool: taking one from the pool and returning it (a Connection,
    the checkout and checkin, their events) was a tenth of the instructions of a signed-in GET
    of one shop. What the pool would check at checkout is checked here: a connection idle
    longer than `idle_seconds` is pinged first, one kept since the pool last found a dead
    connection (the database restarted) goes back to it, and one kept a minute goes back to
    it too, so the pool's recycling and idle tests still reach every connection. One left in
    an unusable state (lost, closed) is not kept.
    """

    HOLD_SECONDS = 60.0

    def __init__(self, engine: sa.Engine, idle_seconds: float) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._kept: set[sa.Connection] = set()  # every thread's, for return_all
        self._local = threading.local()
        self._pid = os.getpid()
        self._lost_at = 0.0  # when the pool last dropped a connection
        sa.event.listen(engine, "invalidate", self._lost)
        sa.event.listen(engine, "soft_invalidate", self._lost)

    def _lost(self, *_args) -> None:
        self._lost_at = time.monotonic()

    def take(self) -> sa.Connection:
        """This thread's kept connection if it is fit to use, else one from the pool."""
        if os.getpid() != self._pid:
            self._forget_parents()
        local = self._local
        kept = local.__dict__.pop("kept", None)
        if kept is not None:
            conn, taken, used = kept
            with self._lock:
                mine = conn in self._kept  # not if return_all took it back meanwhile
                self._kept.discard(conn)
            if mine:
                now = time.monotonic()
                fit = now - taken < self.HOLD_SECONDS and taken > self._lost_at and not conn.invalidated
                if fit and (now - used <= self.idle_seconds or self._answers(conn)):
                    local.taken = taken
                    return conn
                conn.close()
        conn = self.engine.connect()
        local.taken = time.monotonic()
        return conn

    def keep(self, conn: sa.Connection) -> None:
        """Keep conn for this thread's next request, or return it to the pool if it is not fit."""
        taken = self._local.__dict__.pop("taken", 0.0)
        try:
            if conn.in_transaction():  # begun by SQLAlchemy alone: the connection is in autocommit
                conn.rollback()
            fit = not (conn.closed or conn.invalidated)
        except sa.exc.SQLAlchemyError:
            fit = False
        if not fit:
            conn.close()
            return
        with self._lock:
            self._kept.add(conn)
        self._local.kept = (conn, taken, time.monotonic())

    def _forget_parents(self) -> None:
        """In a forked process: the parent's kept connections are the parent's to use and close."""
        self._pid, self._kept, self._local = os.getpid(), set(), threading.local()

    def return_all(self) -> None:
        """Return every thread's kept connection to the pool (the engine is being disposed of)."""
        if os.getpid() != self._pid:
            self._forget_parents()
            return
        with self._lock:
            kept, self._kept = self._kept, set()
        for conn in kept:
            conn.close()

    def _answers(self, conn: sa.Connection) -> bool:
        if answers(conn.dialect, conn.connection.dbapi_connection):
            return True
        conn.invalidate()
        return False


def engines(app: Flask) -> list[sa.Engine]:
    """The app's engines: the ORM's, then read-only views' own if it has one."""
    reader = app.extensions.get("signage_read_engine")
    return [db.engine] if reader is None else [db.engine, reader]


def read_engine(app: Flask) -> sa.Engine:
    """The engine read-only views read through."""
    return engines(app)[-1]


def connection() -> sa.Connection:
    """The request's read connection (read-only views), else the ORM session's connection."""
    ctx_g = g._get_current_object()  # one context lookup, not one per use of the proxy
    conn = ctx_g.get("_read_connection")
    if conn is not None:
        return conn
    if not ctx_g.get("read_only", False):
        return db.session.connection()
    kept = current_app.extensions.get("signage_read_connections")
    if kept is not None:
        conn = ctx_g._read_connection = kept.take()
        return conn
    conn = db.engine.connect()  # SQLite
    ctx_g._read_connection = conn  # returned at teardown even if the next line fails
    return conn.execution_options(isolation_level="AUTOCOMMIT")


def _watched(dispatch) -> bool:
    """Whether listeners see statements run (removing one leaves the engine's flag set)."""
    return bool(
        dispatch.before_execute
        or dispatch.after_execute
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
    )


class _Plan(NamedTuple):
    """How a `Prepared` statement runs on the cursor, on one database."""

    sql: str
    converters: dict[str, Callable[[Any], Any]]  # by parameter: SQLAlchemy's conversion of its value
    rows: Callable | None  # the row factory, once the first rows proved no column needs converting
    binary: bool = False  # rows asked for in binary: every column of a type that reads the same so


# Types whose values psycopg reads from binary rows exactly as from text: binary rows save
# PostgreSQL writing times and numbers as text and psycopg parsing them back (a page of 50 shops:
# 452 -> 405 us a round trip). Not every type does: a real (float4) reads 0.10000000149011612
# instead of 0.1, and types psycopg has no binary loader for (money, xml, ...) read as bytes.
_SAME_IN_BINARY = frozenset(
    psycopg_types[name].oid
    for name in (
        "bool", "int2", "int4", "int8", "float8", "numeric", "text", "varchar", "bpchar", "uuid",
        "date", "timestamp", "timestamptz", "json", "jsonb",
    )
)  # fmt: skip


_CURSOR = "signage_prepared_cursor"  # in a connection's info: the cursor `Prepared` statements run on
_FIRST, _ALL, _NONE = "first", "all", "none"  # what a `Prepared` statement's caller wants back


class Prepared:
    """A statement built once (at import), for hot paths: read-only views' reads, and a few
    statements of requests that write, run in their session's transaction (`first_in`, `run_in`).

    SQLAlchemy's execution of a statement (its context, result and a Row per row) cost more
    Python time than the statement's round trip in a GET of one shop (profiled). Where it would
    hand every value through unchanged, that is on PostgreSQL with no conversion for any
    column (ids, text, numbers; times, as sessions run in UTC: db.utc_sessions) and no value
    of its own to fill in, the cursor gives the same values, in named tuples. That is checked
    once per database, on the first rows: any conversion, SQLite, a read of a request that may
    write (`first`, `all`), or listeners on the engine's statements, and the statement runs
    through SQLAlchemy as before. Parameters get SQLAlchemy's conversions either way. Errors
    become SQLAlchemy's (a lost connection is dropped from the pool and answered 503, as any
    other statement's). Rows have `_mapping` as SQLAlchemy's do. Echoed SQL (SQLALCHEMY_ECHO)
    leaves these statements out, the hazard's INSERT among them: to see them, turn the fast
    path off by watching the engine's statements.
    """

    def __init__(self, stmt: sa.Executable) -> None:
        self.stmt = stmt
        # Per database: how it runs on the cursor, or None where SQLAlchemy runs it. Weak: each
        # test app has a database of its own.
        self._plans: weakref.WeakKeyDictionary[sa.Dialect, _Plan | None] = weakref.WeakKeyDictionary()

    def first(self, **params) -> Any:
        """The first row, or None."""
        return self._on(connection(), params, _FIRST, active())

    def all(self, **params) -> list:
        """Every row."""
        return self._on(connection(), params, _ALL, active())

    def first_in(self, conn: sa.Connection, **params) -> Any:
        """The first row or None, read on conn (a session's, in its transaction: a request that writes)."""
        return self._on(conn, params, _FIRST, True)

    def run_in(self, conn: sa.Connection, **params) -> None:
        """Run a statement that gives no rows (an INSERT) on conn, in its transaction."""
        self._on(conn, params, _NONE, True)

    def _on(self, conn: sa.Connection, params: dict, want: str, on_cursor: bool) -> Any:
        dialect = conn.dialect
        # Where statements are watched (tracing, statement counts), SQLAlchemy runs them all.
        watched = (conn._has_events or conn.engine._has_events) and _watched(conn.dispatch)
        plan = self._plans.get(dialect, False) if on_cursor and not watched else None
        if plan is False:
            plan = self._plans[dialect] = self._plain_sql(dialect)
        if plan is None:
            result = conn.execute(self.stmt, params)
            return result.first() if want is _FIRST else result.all() if want is _ALL else None
        sql, converters, rows, binary = plan
        sent = (
            {k: converters[k](v) if k in converters else v for k, v in params.items()}
            if converters
            else params
        )
        # One cursor per connection, made once: a cursor made per read (its adapters, the
        # loaders for each column) cost a twentieth of a GET of one shop (instructions counted).
        info = conn.connection.info  # kept with the connection; cleared if it is replaced
        cursor = info.get(_CURSOR)
        try:
            if cursor is None:
                cursor = info[_CURSOR] = conn.connection.driver_connection.cursor()
            # A statement that gives no rows gets a factory that reads nothing: psycopg calls the
            # factory as it is set and after each statement, and `_named_rows` reads the
            # description (a sixth of an INSERT's Python time, profiled).
            cursor.row_factory = _no_rows if want is _NONE else rows or _named_rows
            cursor.execute(sql, sent, binary=binary)
            if want is _NONE:
                return None
            if rows is None:
                description = cursor.description
                if self._needs_sqlalchemy(dialect, description):
                    self._plans[dialect] = None
                    return self._on(conn, params, want, on_cursor)  # a read: safe to run again
                # Proven: later rows are made without reading the cursor's description again
                # (building it cost a sixth of a GET of one shop, profiled), in binary where
                # every column reads the same so.
                names = tuple(column.name for column in description)
                binary = all(column.type_code in _SAME_IN_BINARY for column in description)
                self._plans[dialect] = plan._replace(rows=_fixed_rows(names), binary=binary)
            return cursor.fetchone() if want is _FIRST else cursor.fetchall()
        except dialect.loaded_dbapi.Error as error:
            info.pop(_CURSOR, None)  # the next statement makes a new one
            conn._handle_dbapi_exception(error, sql, sent, cursor, None)  # raises SQLAlchemy's
            raise

    def _compiled(self, dialect: sa.Dialect) -> sa.engine.Compiled:
        return self.stmt.compile(dialect=dialect)

    def _plain_sql(self, dialect: sa.Dialect) -> _Plan | None:
        """The plan on the cursor, its rows not yet proven; None where SQLAlchemy must run it:
        not psycopg, or a parameter it fills in, renames or writes into the SQL."""
        if (dialect.name, dialect.driver) != ("postgresql", "psycopg"):
            return None
        compiled = self._compiled(dialect)
        if compiled.literal_execute_params or compiled.post_compile_params or compiled.escaped_bind_names:
            return None
        if compiled.insert_prefetch or compiled.update_prefetch:
            return None  # a column default or onupdate SQLAlchemy computes for each execution
        if any(b.value is not None or b.callable is not None for b in compiled.binds.values()):
            return None
        return _Plan(compiled.string, dict(compiled._bind_processors), None)

    def _needs_sqlalchemy(self, dialect: sa.Dialect, description) -> bool:
        """Whether SQLAlchemy would convert any column's values (by their types as sent), or
        name a column as a named tuple cannot."""
        columns = self._compiled(dialect)._result_columns
        if description is None or len(columns) != len(description):
            return True
        names = tuple(column.keyname for column in columns)
        if names != tuple(d.name for d in description) or not _nameable(names):
            return True
        return any(
            column.type._cached_result_processor(dialect, described.type_code) is not None
            for column, described in zip(columns, description, strict=True)
        )


def _nameable(names: tuple[str, ...]) -> bool:
    """Whether a named tuple can have these fields, as they are."""
    return len(set(names)) == len(names) and all(
        name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") for name in names
    )


@functools.lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type:
    """A named tuple for rows with these columns, with `_mapping` as SQLAlchemy's rows have."""
    base = collections.namedtuple("Row", names)
    return type("Row", (base,), {"__slots__": (), "_mapping": property(base._asdict)})


def _no_rows(_cursor):
    """psycopg row factory for statements whose rows are not read: plain tuples."""
    return tuple


def _named_rows(cursor):
    """psycopg row factory: rows as `_row_class` tuples (columns not nameable: plain tuples,
    and the first rows send the statement back to SQLAlchemy)."""
    names = tuple(column.name for column in cursor.description or ())
    return _row_class(names)._make if _nameable(names) else tuple


@functools.lru_cache(maxsize=256)
def _fixed_rows(names: tuple[str, ...]):
    """psycopg row factory for a statement whose columns are known to be these: each row made
    by tuple.__new__ itself, without `_make`'s Python frame and length check (the columns
    are proven to be these names)."""
    make = functools.partial(tuple.__new__, _row_class(names))
    return lambda _cursor: make


def init_app(app: Flask) -> None:
    """Give the read connection back when the request ends, whatever happened: kept for the
    thread's next request (PostgreSQL), else returned to the pool."""

    @app.teardown_request
    def _give_back_read_connection(_exc=None) -> None:
        ctx_g = g._get_current_object()
        ctx_g.pop("read_only", None)
        conn = ctx_g.pop("_read_connection", None)
        if conn is None:
            return
        kept = app.extensions.get("signage_read_connections")
        if kept is not None:
            kept.keep(conn)
        else:
            conn.close()
