"""Keyset (cursor) pagination with a capped page size."""

from __future__ import annotations

import base64
import functools
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app

from signage.core import reads
from signage.core.db import db, inline_limit
from signage.core.dump import LeanSchema
from signage.core.errors import field_error


class PageArgsSchema(ma.Schema):
    """`limit` (capped) and the opaque `cursor` from the previous page's `next`."""

    limit = ma.fields.Integer(
        load_default=50,
        validate=ma.validate.Range(min=1, max=200),
        metadata={"description": "Page size, 1 to 200"},
    )
    cursor = ma.fields.String(
        load_default=None, validate=ma.validate.Length(max=512), metadata={"description": "From `next`"}
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A `{items, next}` page schema for item_schema."""
    return LeanSchema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next": ma.fields.String(
                allow_none=True, required=True, metadata={"description": "Cursor of the next page, or null"}
            ),
        },
        name=name,
    )


def encode_cursor(values: Sequence[Any]) -> str:
    out = []
    for v in values:
        if isinstance(v, uuid.UUID):
            out.append(["u", v.hex])
        elif isinstance(v, datetime):
            out.append(["t", v.isoformat()])
        elif isinstance(v, date):
            out.append(["d", v.isoformat()])
        else:
            out.append(["v", v])
    raw = json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@functools.lru_cache(maxsize=256)
def _key_type(key: sa.ColumnElement) -> sa.types.TypeEngine:
    """key's column type, found once per key: reading `type` through an ORM attribute takes
    about 11 µs, and was most of decoding a cursor."""
    return key.type


def _of_type(value: Any, key: sa.ColumnElement) -> bool:
    """Whether a cursor's value fits its key's column: a forged cursor is a 422, not a failed
    statement (a naive time, text for an id)."""
    column_type = _key_type(key)
    stored = getattr(column_type, "impl_instance", column_type)  # a TypeDecorator: what it stores
    try:
        expected = stored.python_type
    except NotImplementedError:
        return True
    if value is None or not isinstance(value, expected) or isinstance(value, bool):
        return False
    if isinstance(value, str):
        return "\x00" not in value  # PostgreSQL text cannot hold it
    return not isinstance(value, datetime) or value.tzinfo is not None


def decode_cursor(cursor: str, keys: Sequence[sa.ColumnElement]) -> list[Any]:
    """The values of a cursor `encode_cursor` gave out for a list ordered by keys; 422 otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        items = json.loads(raw)
        if not isinstance(items, list) or len(items) != len(keys):
            raise ValueError
        values = []
        for kind, v in items:
            if kind == "u":
                values.append(uuid.UUID(v))
            elif kind == "t":
                at = datetime.fromisoformat(v)
                # In UTC, as the list gave it out; a time at the calendar's edge does not fit.
                values.append(at.astimezone(UTC) if at.tzinfo is not None else at)
            elif kind == "d":
                values.append(date.fromisoformat(v))
            elif kind == "v" and (v is None or isinstance(v, (str, int, float))):
                values.append(v)
            else:
                raise ValueError
        if not all(_of_type(v, k) for v, k in zip(values, keys, strict=True)):
            raise ValueError
        return values
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError):
        raise field_error("cursor", "is not a cursor this list gave out") from None


def after_keys(stmt: sa.Select, keys: Sequence[sa.ColumnElement]) -> sa.Select:
    """stmt narrowed to rows after the parameters after0, after1, … (a cursor's values, bound
    with each key's own type), for `prepared_page`."""
    after = [sa.bindparam(f"after{i}", type_=k.type) for i, k in enumerate(keys)]
    return stmt.where(sa.tuple_(*keys) > sa.tuple_(*after))


def prepared_page(
    page: Callable[[bool, int], reads.Prepared],
    params: dict,
    *,
    keys: Sequence[sa.ColumnElement],
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """keyset_page for a statement built once per shape: page(after a cursor?, limit) gives the
    statement (ordered by keys, `after_keys` when after, LIMIT limit + 1), run with params and
    the cursor's values."""
    limit = min(limit, current_app.config["PAGE_LIMIT_MAX"])
    if cursor:
        params = {**params, **{f"after{i}": v for i, v in enumerate(decode_cursor(cursor, keys))}}
    rows = page(bool(cursor), limit).all(**params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor([getattr(rows[-1], k.key) for k in keys]) if more and rows else None)


def keyset_page(
    stmt: sa.Select,
    *,
    keys: Sequence[sa.ColumnElement],
    key_of: Callable[[Any], Sequence[Any]],
    limit: int,
    cursor: str | None,
    scalars: bool = True,
) -> tuple[list[Any], str | None]:
    """One page of stmt ordered by keys (ascending, unique together), and the next cursor."""
    limit = min(limit, current_app.config["PAGE_LIMIT_MAX"])
    if cursor:
        # Bind with each column's own type so UUIDs and UTC times compare as stored.
        values = decode_cursor(cursor, keys)
        after = [sa.literal(v, type_=_key_type(k)) for k, v in zip(keys, values, strict=True)]
        stmt = stmt.where(sa.tuple_(*keys) > sa.tuple_(*after))
    stmt = stmt.order_by(*keys).limit(inline_limit(limit + 1))
    # Records through the session; plain rows through the read connection (signage/core/reads.py).
    rows = (db.session.scalars(stmt) if scalars else reads.connection().execute(stmt)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(key_of(rows[-1])) if more and rows else None)
