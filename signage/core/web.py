"""Request plumbing: request ids, structured logs, content-type checks, headers."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from inspect import iscoroutinefunction

import orjson
from flask import Flask, g, request
from flask.sessions import SessionInterface
from flask_compress import Compress

from signage.accounts.tokens import BATCH_SIGNED_IN
from signage.core import idempotency, reads
from signage.core.access import enforce_access
from signage.core.errors import Problem

log = logging.getLogger("signage.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
BODY_METHODS = {"POST", "PUT", "PATCH"}
# Sent with every answer unless it sets its own.
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
REQUEST_ID_KEY = "signage.request_id"  # in the WSGI environ


def request_id_of(environ: dict) -> str:
    """The request's id: the caller's X-Request-ID if it is a sensible one, else a new one."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    return incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex()


class EdgeHeaders:
    """WSGI middleware: the headers every answer carries, added as it leaves the app.

    X-Request-ID (the id the app logs and puts in problems, `REQUEST_ID_KEY`), the security
    headers, `Vary: Accept-Encoding` (an answer may be compressed) and, under /api/,
    `Cache-Control: no-store`: each unless the app set its own. They go onto the list of header
    tuples WSGI hands over, not through the response's `Headers`, which check every name and
    value and search the list for each: that was a twentieth of a signed-in GET of one shop
    (instructions counted).
    """

    _DEFAULTS = tuple((name.lower(), (name, value)) for name, value in SECURITY_HEADERS)

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = environ[REQUEST_ID_KEY] = request_id_of(environ)
        api = environ.get("PATH_INFO", "").startswith("/api/")

        def start(status, headers, exc_info=None):
            present = {name.lower(): index for index, (name, _) in enumerate(headers)}
            if "x-request-id" not in present:
                headers.append(("X-Request-ID", request_id))
            headers.extend(header for name, header in self._DEFAULTS if name not in present)
            vary = present.get("vary")
            if vary is None:
                headers.append(("Vary", "Accept-Encoding"))
            elif "accept-encoding" not in headers[vary][1].lower():
                headers[vary] = ("Vary", f"{headers[vary][1]}, Accept-Encoding")
            if api and "cache-control" not in present:
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


class SignageFlask(Flask):
    """Flask, asking once per function whether it is a coroutine function.

    Flask asks for every hook and view of every request (13 for a GET), through `inspect`,
    which unwraps and tests each one: 5% of a signed-in GET's Python time, profiled. The
    answer for a function never changes; functions made per request (closures, partials) are
    asked each time once the memory holds 4,096.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._coroutine: dict[object, bool] = {}

    def ensure_sync(self, func):
        key = getattr(func, "__func__", func)  # a bound method: its function
        try:
            is_async = self._coroutine.get(key)
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)
        if is_async is None:
            is_async = iscoroutinefunction(func)
            if len(self._coroutine) < 4096:
                self._coroutine[key] = is_async
        return self.async_to_sync(func) if is_async else func


_LOG_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id", "role")


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, for the log collector (written by orjson: every request
    writes one, and the standard encoder and time formatting were 5% of a signed-in GET)."""

    _second: tuple[int, str] = (-1, "")

    def _time(self, created: float) -> str:
        second = int(created)
        cached = self._second  # read once: another thread may replace it meanwhile
        if cached[0] != second:
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(second)))
        return cached[1]

    def line(
        self, created: float, level: str, logger: str, message: str, fields, exc: str | None = None
    ) -> str:
        """The JSON line: time, level, logger and message, the fields (`fields(name)`) that
        have a value, and the exception's traceback if there is one."""
        entry = {"time": self._time(created), "level": level, "logger": logger, "message": message}
        for key in _LOG_FIELDS:
            value = fields(key)
            if value is not None:
                entry[key] = value
        if exc:
            entry["exc"] = exc
        return orjson.dumps(entry, default=str).decode()

    def format(self, record: logging.LogRecord) -> str:
        return self.line(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            lambda key: getattr(record, key, None),
            self.formatException(record.exc_info) if record.exc_info else None,
        )


class RequestLog:
    """Writes the line every request leaves in the log ("signage.request", INFO).

    Through `logging` that line took a twelfth of a signed-in GET of one shop (instructions
    counted): a LogRecord's dozen computed attributes, the walk to the handlers, two locks and
    the formatter. Where the log goes as configure_logging set it up (the "signage" logger's one
    JSON handler, no filter anywhere, nothing added below it), the line is written straight to
    that handler's stream: the same JSON the formatter writes, under the handler's lock. Any
    other set-up (a handler added, a filter, the plain-text format) goes through logging.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def _direct_handler(self) -> logging.StreamHandler | None:
        logger = self.logger
        parent = logger.parent
        if logger.handlers or logger.filters or not logger.propagate or parent is None:
            return None
        if parent.name != "signage" or parent.propagate or parent.filters or len(parent.handlers) != 1:
            return None
        handler = parent.handlers[0]
        if type(handler) is not logging.StreamHandler or type(handler.formatter) is not JsonFormatter:
            return None
        return handler if not handler.filters and handler.level <= logging.INFO else None

    def write(self, fields: dict) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        args = (fields["method"], fields["path"], fields["status"])
        handler = self._direct_handler()
        if handler is None:
            # makeRecord and handle: what logger.info does, less the search of the stack for
            # the caller's file and line, which no request log line shows.
            logger.handle(self._record(args, fields))
            return
        created = time.time()
        with handler.lock:
            try:
                line = handler.formatter.line(
                    created, "INFO", logger.name, " ".join(map(str, args)), fields.get
                )
                handler.stream.write(line + handler.terminator)
                handler.stream.flush()
            except (OSError, ValueError, TypeError):  # as logging does: reported, the answer stands
                handler.handleError(self._record(args, fields))

    def _record(self, args: tuple, fields: dict) -> logging.LogRecord:
        return self.logger.makeRecord(
            self.logger.name, logging.INFO, "", 0, "%s %s %s", args, None, extra=fields
        )


request_log = RequestLog(log)


def configure_logging(app: Flask) -> None:
    """Send our logs to stderr, as JSON lines in production."""
    root = logging.getLogger("signage")
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_JSON"]:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def _accepted_types(endpoint: str | None, method: str, app: Flask) -> tuple[str, ...]:
    view = app.view_functions.get(endpoint) if endpoint else None
    target = getattr(getattr(view, "view_class", None), method.lower(), None) or view
    return getattr(target, "_accepts", ("application/json",))


_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
_JSON_NUL = b"\\u0000"


def _nul_paths(value, path: str) -> list[str]:
    """Dotted paths of the JSON strings (values or keys) holding a NUL character."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found += [where] if "\x00" in str(key) else _nul_paths(item, where)
        return found
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _nul_paths(item, f"{path}.{index}")]
    return []


def accepts(*mimetypes: str):
    """Declare the request body types a view takes (JSON by default)."""

    def decorator(func):
        func._accepts = mimetypes
        return func

    return decorator


class Compression(Compress):
    """flask-compress, consulted only for an answer it could compress: the client accepts a
    coding, and the answer is streamed or at least COMPRESS_MIN_SIZE bytes long.

    It left every other answer as it was, at a twentieth of a signed-in GET of one shop
    (instructions counted). Their `Vary: Accept-Encoding` comes from EdgeHeaders.
    """

    def after_request(self, response):
        if request._get_current_object().environ.get("HTTP_ACCEPT_ENCODING"):
            length = response.content_length
            if response.is_streamed or length is None or length >= self.app.config["COMPRESS_MIN_SIZE"]:
                return super().after_request(response)
        return response


class NoCookieSessions(SessionInterface):
    """The API keeps no cookie session (bearer tokens say who calls), so it builds no signer.

    Flask's default opens a signed-cookie session on every request, deriving a key and
    test-serialising as it builds its signer: work the profile of a GET showed for nothing.
    """

    def open_session(self, app, request):
        """A null session: reading works, writing raises."""
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        """Nothing to save."""


def init_web(app: Flask) -> None:
    """Register the per-request hooks."""
    app.session_interface = NoCookieSessions()
    reads.init_app(app)

    # The hooks below read `request` and `g` through locals: each use of the proxies looks up
    # the context again (0.8 us; 50 of them in a GET of one shop, most in these hooks).
    @app.before_request
    def start_request():
        ctx_g = g._get_current_object()
        ctx_g.start = time.perf_counter()
        environ = request._get_current_object().environ
        # Set by EdgeHeaders; a sync batch's operation, run inside the app, comes without one.
        ctx_g.request_id = environ.get(REQUEST_ID_KEY) or request_id_of(environ)
        ctx_g.current_user = None

    app.before_request(enforce_access)

    @app.before_request
    def check_body_type():
        req = request._get_current_object()
        if req.method not in BODY_METHODS or not req.path.startswith("/api/"):
            return
        has_body = (req.content_length or 0) > 0 or "chunked" in req.headers.get("Transfer-Encoding", "")
        if not has_body:
            return
        limit = app.config["MAX_CONTENT_LENGTH"]
        if limit and (req.content_length or 0) > limit:
            raise Problem(413, f"The request body is larger than the limit of {limit} bytes.")
        allowed = _accepted_types(req.endpoint, req.method, app)
        if req.mimetype not in allowed:
            raise Problem(
                415,
                f"Send the body as {' or '.join(allowed)}, not {req.mimetype or 'an unnamed type'}.",
            )

    @app.before_request
    def refuse_nul_characters():
        # PostgreSQL text cannot hold U+0000: refuse it in any query or JSON value up front (422),
        # rather than let the database fail the statement (a 500 on PostgreSQL, stored on SQLite).
        req = request._get_current_object()
        if not req.path.startswith("/api/") or BATCH_SIGNED_IN in req.environ:
            return  # a batch's operations: the batch's own body was checked whole
        query = req.environ.get("QUERY_STRING", "")
        found = (
            [name for name, value in req.args.items(multi=True) if "\x00" in name + value]
            if "%00" in query or "\x00" in query  # how a NUL gets into the query; most have none
            else []
        )
        if req.method in BODY_METHODS:
            if req.mimetype in _FORM_TYPES:  # reading `form` parses a body, even an absent one
                found += [name for name, value in req.form.items(multi=True) if "\x00" in name + value]
            elif req.is_json and _JSON_NUL in req.get_data(cache=True):  # sent chunked too
                # Valid JSON holds a NUL only written as \u0000: most bodies need no walk.
                found += _nul_paths(req.get_json(silent=True), "")
        if found:
            message = "must not contain the NUL character (U+0000)"
            raise Problem(
                422,
                f"{found[0] or 'body'}: {message}",
                slug="validation-error",
                title="Validation failed",
                errors={name or "body": [message] for name in found},
            )

    app.before_request(idempotency.before_request)
    app.after_request(idempotency.after_request)

    app.wsgi_app = EdgeHeaders(app.wsgi_app)

    @app.after_request
    def finish_request(response):
        req, ctx_g = request._get_current_object(), g._get_current_object()
        headers = response.headers
        request_id = ctx_g.get("request_id", "")
        origin = req.environ.get("HTTP_ORIGIN")
        if origin and origin in app.config["CORS_ORIGINS"]:
            headers["Access-Control-Allow-Origin"] = origin
            response.vary.add("Origin")
            headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key"
            )
            headers["Access-Control-Expose-Headers"] = "ETag, X-Request-ID, Retry-After"
            if req.method == "OPTIONS":
                # A preflight: without the methods a browser never sends PATCH or DELETE.
                headers["Access-Control-Allow-Methods"] = headers.get("Allow", "")
                headers["Access-Control-Max-Age"] = "600"
        user_id, role = ctx_g.get("user_ref") or (None, None)
        request_log.write(
            {
                "request_id": request_id or None,
                "method": req.method,
                "path": req.path,
                "status": response.status_code,
                "duration_ms": round(
                    (time.perf_counter() - ctx_g.get("start", time.perf_counter())) * 1000, 1
                ),
                "user_id": user_id,
                "role": role,
            }
        )
        return response
