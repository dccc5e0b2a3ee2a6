"""Database base class, shared column types and mixins."""

from __future__ import annotations

import functools
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    make_transient_to_detached,
    mapped_column,
    registry,
)
from sqlalchemy.sql.functions import FunctionElement

from signage.core import clock

# Named constraints so Alembic writes the same names on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator):
    """An aware UTC datetime on both databases (SQLite drops the offset otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares the stored text, so store it in one fixed shape.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect, coltype):
        if getattr(dialect, "utc_sessions", False):
            # The session's time zone is UTC (utc_sessions): psycopg gives datetime.UTC values
            # already, and a conversion call per value would change nothing.
            return self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention and common type mapping."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), uuid.UUID: sa.Uuid(), dict: sa.JSON()},
    )


# Records stay readable after a commit: a route commits, then answers with the record it holds
# (and its ETag) without reading every row back. Nothing here changes a row behind the ORM's
# back within a request, so what the session holds after a commit is what was stored.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def inline_limit(rows: int) -> sa.BindParameter:
    """A LIMIT written into the SQL instead of sent as a parameter.

    PostgreSQL re-plans a prepared statement whose LIMIT is a parameter on every run (the plan
    with the LIMIT unknown never looks as cheap): 0.3 ms of planning for a 0.2 ms page of shops.
    Written in, the statement settles on one plan after its fifth run. Each page size is then its
    own statement, and clients use few.
    """
    return sa.literal(rows, literal_execute=True)


class InList(FunctionElement):
    """`column IN` a list sent as one parameter (see `in_list`)."""

    type = sa.types.NullType()  # not Boolean: SQLite would write `= 1` after it
    inherit_cache = True
    name = "in_list"


def in_list(column: sa.ColumnElement, key: str) -> InList:
    """`column IN` the list passed as parameter `key`, as one statement whatever its length.

    On PostgreSQL `column = ANY(:key)`: the list is one array parameter, so the SQL is the same for
    one item or ten, psycopg prepares it once and `reads.Prepared` can run it on the cursor. An
    expanding IN writes a placeholder per item, a statement per length. Elsewhere (SQLite) it is
    that expanding IN.
    """
    return InList(column, sa.bindparam(key))


@compiles(InList)
def _in_list(element: InList, compiler, **kw) -> str:
    column, param = element.clauses
    return compiler.process(column.in_(sa.bindparam(param.key, expanding=True)), **kw)


@compiles(InList, "postgresql")
def _in_list_postgresql(element: InList, compiler, **kw) -> str:
    column, param = element.clauses
    array = sa.bindparam(param.key, type_=postgresql.ARRAY(column.type))
    return compiler.process(column == sa.any_(array), **kw)


def insert_or_skip(table: sa.Table, index_elements: list[str]):
    """INSERT … ON CONFLICT (index_elements) DO NOTHING for this database: rows whose key is
    already stored, or being stored by another transaction that then commits, are skipped
    (add `.returning(...)` to learn which rows went in)."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=index_elements)


def with_defaults(record):
    """Give an unsaved record the column defaults its INSERT would (values and functions of
    nothing, e.g. a new id or the time), so records that refer to it can be built before a
    flush and all go in one. The version counter is left to the ORM. Only for models whose
    defaults are plain values or functions of nothing: a default reading its insert context,
    or a mutable value (shared, not copied), does not belong here."""
    given = record.__dict__
    for key, default in _defaults(type(record)):
        if given.get(key) is None:
            setattr(record, key, default.arg(None) if default.is_callable else default.arg)
    return record


@functools.cache
def _defaults(model: type) -> tuple[tuple[str, sa.ColumnDefault], ...]:
    """model's attributes with a default `with_defaults` gives (SQLAlchemy wraps a function
    to take an insert context)."""
    mapper = sa.inspect(model)
    columns = ((attr.key, attr.columns[0]) for attr in mapper.column_attrs)
    return tuple(
        (key, column.default)
        for key, column in columns
        if column.default is not None
        and column is not mapper.version_id_col
        and (column.default.is_scalar or column.default.is_callable)
    )


def as_stored(session: Session, record):
    """Attach record to session as the stored row it stands for, with no statement: it is
    made from what was read. The next flush INSERTs nothing for it, a later change UPDATEs it,
    and columns not set load when read."""
    make_transient_to_detached(record)
    session.add(record)
    return record


def as_written(session: Session, record):
    """`as_stored` for a record whose row a Core statement has just INSERTed in session's
    transaction: if that transaction (or a savepoint holding the INSERT) rolls back, the record
    leaves the session with its row, as a flushed new record would."""
    as_stored(session, record)
    written = session.info.setdefault(_WRITTEN, [])
    written.append((session.get_nested_transaction() or session.get_transaction(), record))
    return record


_WRITTEN = "signage_written"  # Session.info key: (transaction, record) of `as_written`


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_written(session: Session, previous_transaction) -> None:
    written = session.info.get(_WRITTEN)
    if not written:
        return
    kept = []
    for transaction, record in written:
        inside = transaction
        while inside is not None and inside is not previous_transaction:
            inside = inside.parent
        if inside is None:
            kept.append((transaction, record))
        elif record in session:
            session.expunge(record)
    written[:] = kept


@sa.event.listens_for(Session, "after_commit")
def _written_are_stored(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def at_hand(session: Session, model: type, ident, **columns):
    """The stored record of model whose primary key is ident: the one session holds already,
    else one made from ident and the columns given (see `as_stored`), with no statement."""
    found = session.identity_map.get(session.identity_key(model, ident))
    return found if found is not None else as_stored(session, model(id=ident, **columns))


class UUIDPrimaryKey:
    """A UUID primary key; phones may make it offline and send it."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    """Server receipt and last change times; `updated_at` drives phone sync."""

    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now, index=True)


class Versioned:
    """Optimistic locking: the version is the record's ETag, bumped on every update."""

    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:  # noqa: N805 - SQLAlchemy passes the class
        return {"version_id_col": cls.version}


def utc_sessions(engine: sa.Engine) -> None:
    """PostgreSQL: give every connection the session time zone UTC.

    Times then come back from psycopg as datetime.UTC values, as UTCDateTime gives them, so it
    reads them as they are (150 conversion calls for a page of 50 shops). Set before the engine
    reads anything: the types cache their result processors per dialect. Reports name their
    time zone in their SQL, so nothing else depends on the session's.
    """

    @sa.event.listens_for(engine, "connect")
    def _utc(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()

    engine.dialect.utc_sessions = True


def ping_idle_connections(engine: sa.Engine, idle_seconds: float) -> None:
    """Test a pooled connection before use only when it sat idle in the pool over idle_seconds.

    A dead one (the database restarted, a firewall dropped it) is replaced before the request
    sees it, as `pool_pre_ping` would, without a round trip for connections in steady use.
    """

    @sa.event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_connection, record) -> None:
        record.info["checked_in"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        checked_in = record.info.get("checked_in")
        if checked_in is None or time.monotonic() - checked_in <= idle_seconds:
            return
        if not answers(engine.dialect, dbapi_connection):
            # The pool drops this connection and checks out another (a fresh one if need be).
            raise sa.exc.DisconnectionError("the pooled connection is gone")


def answers(dialect: sa.Dialect, dbapi_connection) -> bool:
    """Whether the database answers on this connection (a ping: one round trip)."""
    try:
        return bool(dialect.do_ping(dbapi_connection))
    except dialect.loaded_dbapi.Error:
        return False
