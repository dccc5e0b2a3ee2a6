"""The change feed: what changed in a phone's zones since its cursor.

The feed reads the audit trail, which every change writes in its own transaction.
On PostgreSQL a row's id is taken when it is inserted, not when it commits, so a
slow transaction can commit an event with a smaller id after a reader has passed it.
The feed therefore orders events by (transaction id, id) and only hands out events
of transactions older than the oldest one still running (the snapshot's xmin): no
event can ever appear behind the cursor. A long transaction delays the feed; it never
makes it skip. SQLite has a single writer, so commit order is id order there.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

import sqlalchemy as sa

from signage.core.audit import Event
from signage.core.db import db, inline_limit
from signage.core.pagination import decode_cursor, encode_cursor
from signage.sync.registry import FEED_TYPES


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def changes(*, cursor: str | None, limit: int, zone_ids: set[uuid.UUID] | None) -> dict:
    """One page of changes after cursor, the latest state of each record, and the next cursor."""
    postgres = _is_postgres()
    stmt = sa.select(Event.id, Event.txid, Event.entity, Event.entity_id, Event.action).where(
        Event.entity.in_(FEED_TYPES)
    )
    if zone_ids is not None:
        stmt = stmt.where(Event.zone_id.in_(zone_ids))
    if postgres:
        horizon = sa.select(sa.func.txid_snapshot_xmin(sa.func.txid_current_snapshot())).scalar_subquery()
        stmt = stmt.where(Event.txid < horizon)
        keys = [Event.txid, Event.id]
    else:
        keys = [Event.id]
    after = decode_cursor(cursor, keys) if cursor else None
    if after:
        stmt = stmt.where(sa.tuple_(*keys) > sa.tuple_(*after))
    rows = db.session.execute(stmt.order_by(*keys).limit(inline_limit(limit + 1))).all()
    has_more = len(rows) > limit
    rows = rows[:limit]

    latest: OrderedDict[tuple[str, str], str] = OrderedDict()
    for row in rows:
        key = (row.entity, row.entity_id)
        latest.pop(key, None)  # keep each record once, at its last change
        latest[key] = row.action
    records = _load(latest)
    items = []
    for (entity, entity_id), action in latest.items():
        record = records.get((entity, entity_id))
        if record is None or action == "delete":
            items.append({"entity": entity, "id": entity_id, "op": "delete"})
        else:
            items.append({"entity": entity, "id": entity_id, "op": "upsert", "record": record})
    if rows:
        last = rows[-1]
        next_cursor = encode_cursor([last.txid, last.id] if postgres else [last.id])
    else:
        next_cursor = cursor
    return {"changes": items, "next": next_cursor, "has_more": has_more}


def _load(latest) -> dict[tuple[str, str], dict]:
    """Current state of the changed records: one query per record type."""
    wanted: dict[str, list[uuid.UUID]] = {}
    for entity, entity_id in latest:
        wanted.setdefault(entity, []).append(uuid.UUID(entity_id))
    out = {}
    for entity, ids in wanted.items():
        feed_type = FEED_TYPES[entity]
        stmt = sa.select(feed_type.model).where(feed_type.model.id.in_(ids)).options(*feed_type.options)
        for obj in db.session.scalars(stmt):
            out[(entity, str(obj.id))] = feed_type.schema.dump(obj)
    return out
