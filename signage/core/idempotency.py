"""Safe retries for phones on bad networks.

Two ways a retried POST is recognised, both answered from the first response:

- an `Idempotency-Key` header: the same key with the same body replays the first response;
  with another body it is a 422; while the first is still running, a 409;
- a client-made `id` in a JSON create body: the same id with the same body answers 200 with
  the stored record and creates nothing; with another body it is a 409 showing both.

A key is claimed (committed as "running") before the view runs, so two concurrent retries
cannot both execute; the response is stored after. Only successful responses are kept:
a failed attempt wrote nothing, so its retry simply runs again. Keys expire after
IDEMPOTENCY_TTL seconds (24 h by default).

The view's own commit also marks the claim "applied", in the same transaction: if the worker
dies (or the database goes) after that commit but before the response is stored, a retry
knows the work landed and answers with the record as it is now, never running it twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Response, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import EnvironBuilder

from signage.core import clock
from signage.core.db import db
from signage.core.errors import Problem

log = logging.getLogger("signage.idempotency")
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
# A "running" claim older than this is taken to be from a crashed worker and may be re-run.
ABANDONED_AFTER = timedelta(seconds=60)
_KEPT_HEADERS = ("Location", "ETag", "Content-Type")
# WSGI environ key a sync batch sets on an operation whose scope it has claimed: a dict the
# operation's response is put in (a client cannot set environ keys, only headers).
BATCH_CLAIM = "signage.batch_claim"


class IdempotencyRecord(db.Model):
    """A claimed idempotency scope and, once done, the response to replay."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    scope: Mapped[str] = mapped_column(sa.String(320), unique=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    request_body: Mapped[dict | None]
    state: Mapped[str] = mapped_column(sa.String(8))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text())
    response_headers: Mapped[dict | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


def _scope() -> tuple[str, str, dict | None] | None:
    """(kind, scope, json body) for a POST that can be replayed, else None."""
    req = request._get_current_object()  # one context lookup, not one per use of the proxy
    if req.method != "POST":
        return None
    user = g.get("current_user")
    if user is None or not req.path.startswith("/api/v1/"):
        return None
    body = req.get_json(silent=True) if req.is_json else None
    return scope_of(user.id, req.path, req.headers.get("Idempotency-Key"), body)


def scope_of(user_id, path: str, key: str | None, body: dict | None) -> tuple[str, str, dict | None] | None:
    """(kind, scope, body) of a POST by user_id: its Idempotency-Key, else its client-made id."""
    if key is not None:
        if not _KEY.match(key):
            raise Problem(
                422,
                "Idempotency-Key must be 1-200 visible ASCII characters.",
                errors={"Idempotency-Key": ["must be 1-200 visible ASCII characters"]},
            )
        return "key", f"key:{user_id}:{key}", body
    if isinstance(body, dict) and isinstance(body.get("id"), str) and len(body["id"]) <= 64:
        return "id", f"id:{user_id}:{path}:{body['id'].lower()}", body
    return None


def request_hash(path: str, body: dict | None, raw: bytes = b"") -> str:
    """Fingerprint of a request: its path and its body (JSON compared by content, not layout)."""
    if body is not None:
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(path.encode() + b"\n" + raw).hexdigest()


def replay_status(record: IdempotencyRecord, kind: str) -> int:
    """The status a replay answers with: a create replayed by its id created nothing (200)."""
    return 200 if kind == "id" and record.status_code == 201 else record.status_code


def is_stale(record: IdempotencyRecord, now: datetime) -> bool:
    """Expired, or a claim left "running" by a worker that died."""
    return record.expires_at <= now or (
        record.state == "running" and record.created_at <= now - ABANDONED_AFTER
    )


def purge_expired(now: datetime, limit: int = 1000) -> None:
    """Delete up to limit expired records (the index on expires_at finds them); on PostgreSQL
    those another transaction holds (a sync batch's purge) are left for the next time, not waited on."""
    expired = sa.select(IdempotencyRecord.id).where(IdempotencyRecord.expires_at <= now).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        expired = expired.with_for_update(skip_locked=True)
    db.session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(expired.scalar_subquery()))
    )


def new_claim(scope: str, digest: str, body: dict | None, kind: str, now: datetime) -> dict:
    """The columns of a fresh "running" claim."""
    return {
        "scope": scope,
        "request_hash": digest,
        "request_body": body if kind == "id" else None,
        "state": "running",
        "created_at": now,
        "expires_at": now + timedelta(seconds=current_app.config["IDEMPOTENCY_TTL"]),
    }


def done_columns(response: Response) -> dict:
    """The columns that turn a claim into a stored, replayable response."""
    return {
        "state": "done",
        "status_code": response.status_code,
        "response_body": response.get_data(as_text=True),
        "response_headers": {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers},
    }


def storable(response: Response) -> bool:
    """Only successful, whole responses are kept for replay."""
    return 200 <= response.status_code < 300 and not response.is_streamed


def _replay(record: IdempotencyRecord, kind: str) -> Response:
    response = Response(record.response_body, status=replay_status(record, kind))
    for key, value in (record.response_headers or {}).items():
        response.headers[key] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def before_request():
    """Replay, refuse or claim the request's idempotency scope."""
    found = _scope()
    if found is None:
        return None
    claimed = request.environ.get(BATCH_CLAIM)
    if claimed is not None:
        g.batch_claim = claimed  # a sync batch claimed this scope for the operation already
        return None
    kind, scope, body = found
    digest = request_hash(request.path, body, b"" if body is not None else request.get_data())
    now = clock.now()
    record = db.session.scalar(sa.select(IdempotencyRecord).where(IdempotencyRecord.scope == scope))
    if record is not None and is_stale(record, now):
        db.session.delete(record)
        db.session.flush()
        record = None
    if record is not None:
        if record.request_hash != digest:
            if kind == "key":
                raise Problem(
                    422,
                    "This Idempotency-Key was already used with a different request.",
                    slug="idempotency-key-reused",
                )
            raise Problem(
                409,
                "A record with this id was already created with different content.",
                slug="id-conflict",
                stored=record.request_body,
                sent=body,
            )
        if record.state == "applied":
            replay = _replay_applied(body)
            db.session.rollback()
            if replay is None:
                # Running it again could make a second record: say what is known instead.
                raise Problem(
                    409,
                    "The first request with this key was applied, but its answer was lost; "
                    "fetch the record to see the result.",
                    slug="request-applied",
                )
            g.idempotent_replay = True
            return replay
        if record.state == "running":
            raise Problem(
                409,
                "The first request with this key is still running; retry shortly.",
                slug="request-in-progress",
                headers={"Retry-After": "1"},
            )
        db.session.rollback()
        g.idempotent_replay = True
        return _replay(record, kind)
    record = IdempotencyRecord(**new_claim(scope, digest, body, kind, now))
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Problem(
            409,
            "The first request with this key is still running; retry shortly.",
            slug="request-in-progress",
            headers={"Retry-After": "1"},
        ) from None
    every = current_app.config["IDEMPOTENCY_PURGE_EVERY"]
    if every > 0 and record.id % every == 0:
        _housekeeping(now)
    g.idempotency_record_id = record.id
    return None


def _housekeeping(now: datetime) -> None:
    """Purge expired records on behalf of this request, which it must never cost.

    Before the claim is the request's (its commit must not mark the claim applied); a failure
    is logged and rolled back, and the request goes on: failing it here would leave its claim
    running, and the phone's retries refused as in progress, for a minute.
    """
    try:
        purge_expired(now)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning(
            "purging expired idempotency records failed; the next purge will try again", exc_info=True
        )


def rerun_safe() -> None:
    """Say that running this request again is harmless (e.g. a batch of idempotent operations).

    Its claim is then never marked applied: a retry after a lost answer runs it again once the
    claim is abandoned, instead of being refused when there is no record to answer from.
    """
    g.idempotency_rerun_safe = True


@event.listens_for(Session, "before_commit")
def _mark_applied(session: Session) -> None:
    """The view's commit: mark its claim applied in the same transaction as its work."""
    if not has_request_context() or g.get("idempotency_rerun_safe"):
        return
    record_id = g.get("idempotency_record_id")
    if record_id is not None and session is db.session():
        session.execute(
            sa.update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.state == "running")
            .values(state="applied")
        )


def _replay_applied(body: dict | None) -> Response | None:
    """The answer to a retry whose first attempt's work landed but whose response was lost.

    A create answers with the record at `<path>/<id>`; an action on a record
    (`<path>/<id>/<action>`) with that record. Anything else gives None.
    """
    adapter = current_app.url_map.bind("localhost")

    def one_record(path: str) -> bool:
        """Whether GET path reads a single record (a route with an id in it)."""
        try:
            return bool(adapter.match(path, method="GET")[1])
        except (NotFound, MethodNotAllowed):
            return False

    candidates = []
    ident = body.get("id") if isinstance(body, dict) else None
    if body is None and request.mimetype == "multipart/form-data":
        ident = request.form.get("id")  # a photo sent with the id the phone made
    if isinstance(ident, str) and ident:
        candidates.append(f"{request.path.rstrip('/')}/{ident}")
    try:
        adapter.match(request.path, method="GET")
    except (NotFound, MethodNotAllowed):
        # No GET here: an action on the record above it, which is its answer. (A collection
        # that also lists, e.g. a patrol's track or a sign's versions, is not answered so.)
        candidates.append(request.path.rstrip("/").rsplit("/", 1)[0])
    for path in candidates:
        if not one_record(path):
            continue
        headers = {"Authorization": request.headers.get("Authorization", "")}
        builder = EnvironBuilder(path=path, method="GET", headers=headers, base_url=request.host_url)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app = current_app._get_current_object()
        with app.app_context(), app.request_context(environ):
            response = app.full_dispatch_request()
        if response.status_code != 200:
            return None
        response.headers["Idempotent-Replayed"] = "true"
        return response
    return None


def after_request(response: Response) -> Response:
    """Store a successful response for replay; release the claim of a failed one."""
    ctx_g = g._get_current_object()
    claim = ctx_g.pop("batch_claim", None)
    if claim is not None:
        claim["response"] = response  # the batch stores all its operations' answers at once
        return response
    record_id = ctx_g.pop("idempotency_record_id", None)
    if record_id is None:
        return response
    try:
        db.session.rollback()
        table = IdempotencyRecord.__table__
        if storable(response):
            stored = done_columns(response)
            db.session.execute(sa.update(table).where(table.c.id == record_id).values(**stored))
        else:
            db.session.execute(sa.delete(table).where(table.c.id == record_id))
        db.session.commit()
    except Exception:  # the answer stands; a stale claim is later taken as abandoned
        with contextlib.suppress(Exception):  # the database may be the thing that failed
            db.session.rollback()
        log.exception("could not store the idempotent response", extra={"request_id": g.get("request_id")})
    return response
