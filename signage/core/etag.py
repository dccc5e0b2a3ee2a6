"""ETags from record versions, and If-Match checks that refuse lost updates."""

from __future__ import annotations

import re
from copy import deepcopy

import marshmallow as ma
from flask import request

from signage.core.errors import Problem

IF_MATCH_PARAM = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The ETag last seen for this record; a stale one is refused with 412.",
    "schema": {"type": "string"},
}


_CODING = re.compile(r':(?:gzip|br|zstd|deflate)"$')


def etag(obj) -> str:
    """The strong ETag of a versioned record."""
    return f'"{obj.id.hex}-{obj.version}"'


def requires_if_match(func):
    """Document If-Match and its 412/428 answers on a view that changes a record."""
    func._apidoc = deepcopy(getattr(func, "_apidoc", {}))
    manual = func._apidoc.setdefault("manual_doc", {})
    manual.setdefault("parameters", []).append(IF_MATCH_PARAM)
    responses = func._apidoc.setdefault("response", {}).setdefault("responses", {})
    responses.setdefault(412, []).append("PRECONDITION_FAILED")
    responses.setdefault(428, []).append("PRECONDITION_REQUIRED")
    return func


def check_if_match(obj, schema: ma.Schema | None = None) -> None:
    """Raise 428 without If-Match, 412 when it is stale, with the current record (dumped by
    schema, only then: a matching tag, the usual case, costs no serialisation)."""
    header = request.headers.get("If-Match")
    if not header:
        raise Problem(428, "Send If-Match with the ETag you last saw for this record.")
    # A compressed answer's ETag carries its coding ("…-3:gzip"): the record's version is the same.
    tags = {_CODING.sub('"', t.strip().removeprefix("W/")) for t in header.split(",")}
    if "*" in tags or etag(obj) in tags:
        return
    extra = {"current": schema.dump(obj), "current_etag": etag(obj)} if schema is not None else {}
    raise Problem(
        412,
        "The record has changed since you read it; merge with the current version and retry.",
        headers={"ETag": etag(obj)},
        **extra,
    )
