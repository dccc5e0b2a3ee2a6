"""Run a batch of operations a phone recorded offline, each as the request it stands for.

Each operation goes through the same route, validation, access checks, idempotency and
audit as if the phone had sent it alone, in its own transaction: a bad one does not
undo the good ones around it. An operation that refers to a record whose own operation
failed earlier in the batch is skipped, with the reason.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, request
from werkzeug.test import EnvironBuilder

from signage.core.db import db
from signage.photos.models import Photo

# How long an operation waits for the same operation of an earlier attempt to finish (seconds).
IN_PROGRESS_PATIENCE = 10.0
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _references(value: Any) -> set[str]:
    """Every UUID mentioned in a path or body, lower-cased."""
    if isinstance(value, str):
        return {m.lower() for m in _UUID.findall(value)}
    if isinstance(value, dict):
        return set().union(*(_references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    return set()


def _photo_references(value: Any, key: str = "") -> set[str]:
    if isinstance(value, dict):
        return set().union(set(), *(_photo_references(v, k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(set(), *(_photo_references(v, key) for v in value))
    if isinstance(value, str) and "photo" in key and _UUID.fullmatch(value):
        return {value.lower()}
    return set()


def _dispatch(app: Flask, op: dict, headers: dict) -> tuple[int, Any, bool]:
    """Run one operation through the app; return status, JSON body and whether it was a replay."""
    if op["if_match"]:
        headers = {**headers, "If-Match": op["if_match"]}
    if op["idempotency_key"]:
        headers = {**headers, "Idempotency-Key": op["idempotency_key"]}
    builder = EnvironBuilder(
        path=op["path"],
        method=op["method"],
        headers=headers,
        json=op["body"] if op["body"] is not None else None,
        base_url=request.host_url,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    # A fresh app context per operation: its own `g`, its own database session and transaction.
    with app.app_context(), app.request_context(environ):
        response = app.full_dispatch_request()
        return (
            response.status_code,
            response.get_json(silent=True),
            response.headers.get("Idempotent-Replayed") == "true",
        )


def _in_progress(body: Any) -> bool:
    return isinstance(body, dict) and str(body.get("type", "")).endswith("request-in-progress")


def _result(op: dict, status: int, replayed: bool) -> str:
    if replayed or (op["method"] == "POST" and status == 200):
        return "replayed"
    if status == 201:
        return "created"
    if 200 <= status < 300:
        return "updated"
    if status in (409, 412):
        return "conflict"
    if status in (400, 413, 415, 422):
        return "invalid"
    return "failed"


def run_batch(operations: list[dict]) -> dict:
    """Run the operations in order; report each one's result and the photos still missing."""
    app = current_app._get_current_object()
    headers = {"Authorization": request.headers.get("Authorization", "")}
    failed: dict[str, int] = {}
    results = []
    for index, op in enumerate(operations):
        headers["X-Request-ID"] = f"{request.headers.get('X-Request-ID', 'sync')[:50]}.{index}"
        own_id = str(op["body"].get("id", "")).lower() if op["method"] == "POST" and op["body"] else ""
        depends = sorted(failed[r] for r in _references([op["path"], op["body"]]) - {own_id} if r in failed)
        if depends:
            if own_id:
                failed[own_id] = index
            results.append(
                {
                    "index": index,
                    "result": "skipped",
                    "status": None,
                    "body": None,
                    "reason": f"depends on operation {depends[0]}, which did not succeed",
                }
            )
            continue
        status, body, replayed = _dispatch(app, op, dict(headers))
        waited = 0.0
        while status == 409 and _in_progress(body) and waited < IN_PROGRESS_PATIENCE:
            # A retried batch overlaps the lost first attempt still running on another worker:
            # wait for that operation to finish, then take its stored answer.
            time.sleep(0.1)
            waited += 0.1
            status, body, replayed = _dispatch(app, op, dict(headers))
        if status >= 300 and own_id:
            failed[own_id] = index
        results.append(
            {"index": index, "result": _result(op, status, replayed), "status": status, "body": body}
        )
    return {"results": results, "missing_photos": _missing_photos(operations)}


def _missing_photos(operations: list[dict]) -> list[str]:
    wanted = set().union(set(), *(_photo_references(op["body"] or {}) for op in operations))
    if not wanted:
        return []
    ids = [uuid.UUID(p) for p in wanted]
    have = {str(p) for p in db.session.scalars(sa.select(Photo.id).where(Photo.id.in_(ids)))}
    return sorted(wanted - have)
