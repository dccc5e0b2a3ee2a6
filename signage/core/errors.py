"""One place that turns every error into RFC 9457 problem details."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

import marshmallow as ma
from flask import Flask, g, jsonify, request
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from signage.core.db import db

log = logging.getLogger("signage.errors")

PROBLEM_MIMETYPE = "application/problem+json"
TYPE_PREFIX = "urn:signage:problem:"

# Stable problem types for the framework's own errors.
HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}


class Problem(Exception):  # noqa: N818 - "Problem" is the RFC 9457 term
    """A domain error answered as problem details; raise it from services and routes."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: dict | None = None,
        headers: dict | None = None,
        **extra,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or HTTP_SLUGS.get(status, "error")
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


def field_error(field: str, message: str, status: int = 422) -> Problem:
    """A validation problem naming one field and the reason."""
    return Problem(status, f"{field}: {message}", errors={field: [message]})


def problem_response(problem: Problem):
    """Serialise a Problem into an application/problem+json response."""
    body = {
        "type": TYPE_PREFIX + problem.slug,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
    }
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if problem.errors is not None:
        body["errors"] = problem.errors
    body.update(problem.extra)
    response = jsonify(body)
    response.status_code = problem.status
    response.mimetype = PROBLEM_MIMETYPE
    for key, value in problem.headers.items():
        response.headers[key] = value
    return response


def _flatten_webargs(messages: dict) -> dict:
    """webargs nests errors by location ({"json": {...}}); callers want fields."""
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for name, msgs in fields.items():
                flat[name] = msgs
        else:
            flat[location] = fields
    return flat


def _summarise(errors: dict) -> str:
    parts = []
    for name, msgs in list(errors.items())[:5]:
        text = msgs[0] if isinstance(msgs, list) and msgs and isinstance(msgs[0], str) else "is invalid"
        parts.append(f"{name}: {text}")
    return "; ".join(parts) or "The request is invalid."


def from_http_exception(error: HTTPException) -> Problem:
    """Map a werkzeug/webargs HTTP exception onto a Problem."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    messages = data.get("messages") or data.get("errors")
    if status == 400 and messages and "json" in messages and messages["json"] == ["Invalid JSON body."]:
        return Problem(400, "The request body is not valid JSON.", slug="malformed-json", headers=headers)
    if messages and isinstance(messages, dict):
        errors = _flatten_webargs(messages)
        return Problem(
            422 if status in (400, 422) else status,
            _summarise(errors),
            slug="validation-error",
            title="Validation failed",
            errors=errors,
            headers=headers,
        )
    if status == 413:
        return Problem(413, "The request body is larger than the server accepts.", headers=headers)
    detail = data.get("message") or error.description or HTTPStatus(status).phrase
    return Problem(status, detail, headers=headers)


def _taken_id(error: IntegrityError) -> bool:
    """Whether the violated constraint is a table's own `id` key (not a composite key)."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None:  # PostgreSQL names the table and the constraint
        table = db.metadata.tables.get(diag.table_name or "")
        return (
            table is not None
            and diag.constraint_name == f"pk_{table.name}"
            and [c.name for c in table.primary_key.columns] == ["id"]
        )
    return bool(re.match(r"UNIQUE constraint failed: \w+\.id$", str(error.orig)))


def register_error_handlers(app: Flask) -> None:
    """Install the handlers that make every error a problem+json response."""

    @app.errorhandler(Problem)
    def handle_problem(problem: Problem):
        db.session.rollback()
        return problem_response(problem)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        db.session.rollback()
        return problem_response(from_http_exception(error))

    @app.errorhandler(ma.ValidationError)
    def handle_validation(error: ma.ValidationError):
        db.session.rollback()
        errors = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        return problem_response(
            Problem(
                422, _summarise(errors), slug="validation-error", title="Validation failed", errors=errors
            )
        )

    @app.errorhandler(StaleDataError)
    def handle_stale(error: StaleDataError):
        db.session.rollback()
        return problem_response(
            Problem(412, "The record was changed by someone else; fetch it again and retry.")
        )

    @app.errorhandler(IntegrityError)
    def handle_integrity(error: IntegrityError):
        db.session.rollback()
        log.info("integrity error: %s", error.orig)
        if _taken_id(error):
            # A client-made id already in use: creates rely on the key rather than look first.
            return problem_response(
                Problem(409, "A record with this id exists.", slug="id-taken", errors={"id": ["is taken"]})
            )
        return problem_response(
            Problem(409, "The change conflicts with a record already stored.", slug="conflict")
        )

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def handle_db_down(error: DBAPIError):
        _safe_rollback()
        log.error(
            "database unavailable: %s", error.orig, extra={"request_id": getattr(g, "request_id", None)}
        )
        return problem_response(
            Problem(503, "The database is unavailable; retry shortly.", headers={"Retry-After": "5"})
        )

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        _safe_rollback()
        log.exception("unhandled error", extra={"request_id": getattr(g, "request_id", None)})
        return problem_response(Problem(500, "An unexpected error occurred; it has been logged."))


def _safe_rollback() -> None:
    try:
        db.session.rollback()
    except Exception:
        log.warning("rollback failed", exc_info=True)


def get_or_404(model, ident, what: str | None = None):
    """Load a record by primary key or answer 404 naming what was missing."""
    obj = db.session.get(model, ident)
    if obj is None:
        raise Problem(404, f"No such {what or model.__name__.lower()}.")
    return obj
