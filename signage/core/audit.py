"""The audit trail: an append-only event for every change to an audited record.

Models opt in by subclassing `Audited`. A flush listener writes one event per
created, changed or deleted record, with who, when, the before and after values
of the changed fields and the request id, so features get the trail for free.
Services name a change with `audit.tag(obj, "notify")` when "update" says too little.
"""

from __future__ import annotations

import decimal
import enum
import functools
import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.orm import Mapped, Session, mapped_column

from signage.core import clock, reads
from signage.core.db import as_written, db, with_defaults

REDACTED = "[redacted]"
_SKIP = {"updated_at", "version"}


class Event(db.Model):
    """One recorded change: actor, time, entity, action, before and after."""

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_entity_entity_id", "entity", "entity_id", "id"),
        sa.Index("ix_events_txid_id", "txid", "id"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_role: Mapped[str | None] = mapped_column(sa.String(16))
    entity: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(40))
    before: Mapped[dict | None]
    after: Mapped[dict | None]
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    # The zone the record belongs to, so phones pull only their zones' changes.
    zone_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # PostgreSQL transaction id: the change feed orders by it to never miss a late commit.
    txid: Mapped[int | None] = mapped_column(sa.BigInteger())


class Audited:
    """Mixin: changes to this model are written to the audit trail."""

    __audit_entity__: str = ""
    __audit_redact__: frozenset[str] = frozenset()

    @property
    def audit_zone_id(self) -> uuid.UUID | None:
        """The zone this record belongs to (override when it is not a `zone_id` column)."""
        return getattr(self, "zone_id", None)


def tag(obj: Any, action: str) -> None:
    """Name the next audit event for obj (e.g. "notify" instead of "update")."""
    obj.__dict__["_audit_action"] = action


def set_actor(actor_id: uuid.UUID | None, role: str | None) -> None:
    """Record who acts outside a request (CLI, demo loader)."""
    _cli_actor.update(actor_id=actor_id, role=role)


_cli_actor: dict[str, Any] = {"actor_id": None, "role": None}


def _json(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _value(obj: Audited, key: str, value: Any) -> Any:
    return REDACTED if key in obj.__audit_redact__ and value is not None else _json(value)


def snapshot(obj: Audited) -> dict:
    state = sa.inspect(obj)
    return {
        attr.key: _value(obj, attr.key, getattr(obj, attr.key))
        for attr in state.mapper.column_attrs
        if attr.key not in _SKIP
    }


def _diff(obj: Audited) -> tuple[dict, dict]:
    state = sa.inspect(obj)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        if attr.key in _SKIP:
            continue
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        before[attr.key] = _value(obj, attr.key, old)
        after[attr.key] = _value(obj, attr.key, new)
    return before, after


def _who() -> tuple[uuid.UUID | None, str | None, str | None]:
    if has_request_context():
        user = g.get("current_user")
        if user is not None:
            return user.id, user.role, g.get("request_id")
        return None, None, g.get("request_id")
    return _cli_actor["actor_id"], _cli_actor["role"], None


def _entity(obj: Audited) -> str:
    return obj.__audit_entity__ or obj.__tablename__


def _row(obj: Audited, action: str, before, after, now, who: tuple) -> dict:
    actor_id, role, request_id = who
    return {
        "occurred_at": now,
        "actor_id": actor_id,
        "actor_role": role,
        "entity": _entity(obj),
        "entity_id": ",".join(str(v) for v in sa.inspect(obj).mapper.primary_key_from_instance(obj)),
        "action": obj.__dict__.pop("_audit_action", action),
        "before": before,
        "after": after,
        "request_id": request_id,
        "zone_id": obj.audit_zone_id,
    }


def record_create(session: Session, obj: Audited) -> None:
    """Record obj's create event now, before its INSERT (a buffering session: a sync batch
    writing its new records at its end); its flush then records none."""
    session.info[_BUFFER].append(_row(obj, "create", None, snapshot(obj), clock.now(), _who()))
    obj.__dict__["_audit_recorded"] = True


@sa.event.listens_for(Session, "after_flush")
def _write_events(session: Session, _flush_context) -> None:
    rows = []
    now = clock.now()
    who: list = []

    def add(obj, action, before, after):
        if not who:
            who.extend(_who())
        rows.append(_row(obj, action, before, after, now, tuple(who)))

    for obj in session.new:
        if isinstance(obj, Audited) and not obj.__dict__.pop("_audit_recorded", False):
            add(obj, "create", None, snapshot(obj))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            before, after = _diff(obj)
            if before or after or "_audit_action" in obj.__dict__:
                add(obj, "update", before, after)
    for obj in session.deleted:
        if isinstance(obj, Audited):
            add(obj, "delete", snapshot(obj), None)
    buffer = session.info.get(_BUFFER)
    if buffer is not None:
        buffer.extend(rows)
    elif rows:
        _insert(session, rows)


# Built once: building the INSERT and its cache key anew was a fifth of writing an event (py-spy,
# hazard creates under load). On PostgreSQL each event also takes its transaction's id.
_INSERT = sa.insert(Event)
_INSERT_WITH_TXID = _INSERT.values(txid=sa.func.txid_current())


def _insert(session: Session, rows: list[dict]) -> None:
    postgres = session.get_bind().dialect.name == "postgresql"
    session.connection().execute(_INSERT_WITH_TXID if postgres else _INSERT, rows)


def write_created(session: Session, record: Audited) -> None:
    """INSERT a new record and its create event by Core statements, not the unit of work, and
    attach the record to session as stored (`as_written`).

    For a record whose row needs nothing from a flush: its column defaults are given here
    (`with_defaults`, version 1), the records it refers to are stored already, and its mapper's
    insert events do not run. On PostgreSQL the record goes in as a CTE of its event's INSERT:
    one statement. Elsewhere it takes two; a buffering session (a sync batch) holds the event
    with the others. Reporting a hazard through the unit of work spent more in the flush's
    bookkeeping than in its two INSERTs (py-spy, hazard creates under load).
    """
    table, version, columns = _written_columns(type(record))
    with_defaults(record)
    if version is not None:
        setattr(record, version, 1)
    given = record.__dict__
    for _name, key in columns:
        if key not in given:
            setattr(record, key, None)  # what the INSERT stores: known, not loaded when read
    values = {f"r_{name}": given[key] for name, key in columns}
    after = {key: _value(record, key, given[key]) for _name, key in columns if key not in _SKIP}
    event = _row(record, "create", None, after, clock.now(), _who())
    if session.new:
        session.flush()  # what the record refers to may be among them
    connection = session.connection()
    buffer = session.info.get(_BUFFER)
    if buffer is None and connection.dialect.name == "postgresql":
        _insert_with_event(table).run_in(connection, **values, **{f"e_{k}": v for k, v in event.items()})
    else:
        connection.execute(_insert_record(table), values)
        if buffer is not None:
            buffer.append(event)
        else:
            _insert(session, [event])
    as_written(session, record)


@functools.cache
def _written_columns(model: type) -> tuple[sa.Table, str | None, tuple[tuple[str, str], ...]]:
    """model's table, its version attribute and its (column, attribute) names, for
    `write_created`; a value the database would make (a server default) is not written so."""
    mapper = sa.inspect(model)
    table = mapper.local_table
    if any(column.server_default is not None or column.computed is not None for column in table.c):
        raise TypeError(f"{model.__name__}: a column takes its value from the database")
    version = mapper.version_id_col
    return (
        table,
        None if version is None else mapper.get_property_by_column(version).key,
        tuple((column.name, mapper.get_property_by_column(column).key) for column in table.c),
    )


@functools.cache
def _insert_record(table: sa.Table) -> sa.Insert:
    """INSERT of one row of table, every column a parameter named r_<column>."""
    return sa.insert(table).values({c.name: sa.bindparam(f"r_{c.name}", type_=c.type) for c in table.c})


@functools.cache
def _insert_with_event(table: sa.Table) -> reads.Prepared:
    """PostgreSQL: the event's INSERT (parameters e_<column>) with the record's as a CTE, run on
    the cursor where it can be (SQLAlchemy's execution of it cost a third of its round trip)."""
    event = Event.__table__.c
    return reads.Prepared(
        sa.insert(Event)
        .values(
            {name: sa.bindparam(f"e_{name}", type_=event[name].type) for name in _EVENT_FIELDS}
            | {"txid": sa.func.txid_current()}
        )
        .add_cte(_insert_record(table).cte(f"new_{table.name}"))
    )


# What `_row` gives an event: every column but those the database fills.
_EVENT_FIELDS = tuple(c.name for c in Event.__table__.c if c.name not in ("id", "txid"))


# Session.info key of the events a buffering session holds until `write_buffered`.
_BUFFER = "audit_buffer"


def buffer_events(session: Session) -> None:
    """Hold session's events and write them in one statement at the end (a sync batch's many
    small operations). Events of work that is rolled back, a savepoint included, are dropped."""
    buffer: list[dict] = []
    marks: dict = {}
    session.info[_BUFFER] = buffer

    @sa.event.listens_for(session, "after_transaction_create")
    def _mark(_session, transaction):
        marks[transaction] = len(buffer)

    @sa.event.listens_for(session, "after_soft_rollback")
    def _drop(_session, previous_transaction):
        if previous_transaction in marks:
            del buffer[marks.pop(previous_transaction) :]


def write_buffered(session: Session) -> None:
    """Write the events a buffering session holds, in the order they happened."""
    rows = session.info.get(_BUFFER)
    if rows:
        _insert(session, rows)
        rows.clear()


@sa.event.listens_for(Event, "before_update")
@sa.event.listens_for(Event, "before_delete")
def _append_only(*_args) -> None:
    raise RuntimeError("audit events are append-only")
