"""Schemas of the change feed and the batch upload."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

MAX_BATCH = 500
# They become request headers: visible ASCII only (a line break would split the header).
HEADER_VALUE = validate.Regexp(r"^[\x20-\x7e]*$", error="must be printable ASCII without line breaks")


class ChangesArgsSchema(ma.Schema):
    """Where to resume the feed, and how much to take."""

    cursor = ma.fields.String(load_default=None, validate=validate.Length(max=200))
    limit = ma.fields.Integer(load_default=200, validate=validate.Range(min=1, max=500))
    zone = ma.fields.String(metadata={"description": "Only this zone (code); inspectors get their zones"})


class ChangeSchema(ma.Schema):
    """One changed record: its latest state, or a tombstone."""

    entity = ma.fields.String(required=True, metadata={"description": "shops, signs, sign_versions, ..."})
    id = ma.fields.String(required=True)
    op = ma.fields.String(required=True, metadata={"description": "upsert or delete"})
    record = ma.fields.Dict(metadata={"description": "The record as its own endpoint shows it"})


class ChangesSchema(ma.Schema):
    """A page of the change feed."""

    changes = ma.fields.List(ma.fields.Nested(ChangeSchema), required=True)
    next = ma.fields.String(allow_none=True, required=True, metadata={"description": "Cursor to resume from"})
    has_more = ma.fields.Boolean(required=True)


class OperationSchema(ma.Schema):
    """One write recorded offline: the request the phone would have sent."""

    method = ma.fields.String(required=True, validate=validate.OneOf(["POST", "PATCH", "DELETE"]))
    path = ma.fields.String(
        required=True,
        validate=[
            validate.Length(max=200),
            # Not /sync (no batches in batches) nor /auth: the batch is signed in once, so a
            # sign-out inside it would not stop the operations after it.
            validate.Regexp(
                r"^/api/v1/(?!sync|auth/)[A-Za-z0-9_\-/]+$",
                error="must be an API path other than /api/v1/sync and /api/v1/auth/…",
            ),
        ],
    )
    body = ma.fields.Dict(load_default=None, allow_none=True)
    if_match = ma.fields.String(load_default=None, validate=[validate.Length(max=200), HEADER_VALUE])
    idempotency_key = ma.fields.String(load_default=None, validate=[validate.Length(max=200), HEADER_VALUE])


class SyncRequestSchema(ma.Schema):
    """Operations recorded offline, in the order they were made (at most 500)."""

    operations = ma.fields.List(
        ma.fields.Nested(OperationSchema), required=True, validate=validate.Length(min=1, max=MAX_BATCH)
    )


class OperationResultSchema(ma.Schema):
    """What happened to one operation."""

    index = ma.fields.Integer(required=True)
    result = ma.fields.String(
        required=True,
        metadata={"description": "created, replayed, updated, conflict, invalid, skipped or failed"},
    )
    status = ma.fields.Integer(allow_none=True)
    body = ma.fields.Raw(allow_none=True, metadata={"description": "The response the request got"})
    reason = ma.fields.String(metadata={"description": "Why it was skipped"})


class SyncResultSchema(ma.Schema):
    """Every operation's own result, and the photos the server still needs."""

    results = ma.fields.List(ma.fields.Nested(OperationResultSchema), required=True)
    missing_photos = ma.fields.List(ma.fields.String(), required=True)
