"""Start-up configuration: refuse unsafe production settings, share limits across workers."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid

import pytest
import redis

from signage import create_app
from signage.config import ConfigError
from signage.core.db import db
from tests.conftest import TEST_SECRET
from tests.helpers import PASSWORD, assert_problem, make_user

REDIS_URL = "redis://127.0.0.1:6379/15"


def _start(env: dict) -> subprocess.CompletedProcess:
    code = "from signage import create_app; create_app(); print('started')"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_missing_secret_key_in_production_is_refused_with_a_clear_message():
    result = _start({"SIGNAGE_ENV": "production", "PYTHONPATH": "."})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_short_secret_key_in_production_is_refused():
    result = _start({"SIGNAGE_ENV": "production", "SECRET_KEY": "short", "PYTHONPATH": "."})
    assert result.returncode != 0 and "at least 32 characters" in result.stderr


def test_development_starts_without_a_secret_key(tmp_path):
    result = _start(
        {"SIGNAGE_ENV": "development", "PYTHONPATH": ".", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_unknown_timezone_is_refused():
    result = _start({"SIGNAGE_ENV": "development", "TIMEZONE": "Mars/Olympus", "PYTHONPATH": "."})
    assert result.returncode != 0 and "TIMEZONE" in result.stderr


@pytest.fixture
def redis_or_skip():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")


def test_signin_limit_holds_across_workers_sharing_redis(app, database_url, redis_or_skip):
    """Two app instances stand for two gunicorn workers with the same Redis store."""
    username = f"u{uuid.uuid4().hex[:10]}"
    make_user(app, username, "admin")
    workers = [
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "SECRET_KEY": TEST_SECRET,
                "RATELIMIT_STORAGE_URI": REDIS_URL,
            }
        )
        for _ in range(2)
    ]
    # Other runs may share this Redis: a random address and username keep the counters apart.
    r = uuid.uuid4().int
    address = {"REMOTE_ADDR": f"10.{r >> 16 & 255}.{r >> 8 & 255}.{r & 255}"}
    try:
        for i in range(5):
            worker = workers[i % 2].test_client()
            response = worker.post(
                "/api/v1/auth/token",
                json={"username": username, "password": "wrong-pass"},
                environ_base=address,
            )
            assert response.status_code == 401
        blocked = (
            workers[0]
            .test_client()
            .post(
                "/api/v1/auth/token", json={"username": username, "password": PASSWORD}, environ_base=address
            )
        )
        assert_problem(blocked, 429)
    finally:
        for worker in workers:
            with worker.app_context():
                db.engine.dispose()


def test_sqlite_runs_with_foreign_keys_and_wal(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite pragmas apply to SQLite only")
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_request_logs_are_json_lines_with_request_id_user_status_and_duration(app, client):
    import json
    import logging

    from signage.core.web import JsonFormatter

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(JsonFormatter().format(record))

    handler = Keep()
    logger = logging.getLogger("signage.request")
    logger.addHandler(handler)
    try:
        make_user(app, "alice", "admin")
        from tests.helpers import bearer, sign_in

        client.get("/api/v1/me", headers={**bearer(sign_in(client, "alice")), "X-Request-ID": "log-test-1"})
    finally:
        logger.removeHandler(handler)
    line = json.loads(records[-1])
    assert line["request_id"] == "log-test-1" and line["status"] == 200 and line["path"] == "/api/v1/me"
    assert line["role"] == "admin" and line["user_id"] and line["duration_ms"] >= 0


def test_photo_size_limit_must_leave_room_inside_the_request_limit():
    config = {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": TEST_SECRET}
    with pytest.raises(ConfigError, match="PHOTO_MAX_BYTES"):
        create_app({**config, "MAX_CONTENT_LENGTH": 16 * 1024 * 1024, "PHOTO_MAX_BYTES": 16 * 1024 * 1024})
    with pytest.raises(ConfigError, match="PHOTO_STORAGE"):
        create_app({**config, "PHOTO_STORAGE": "ftp"})


def test_pool_tests_idle_connections_by_default_and_every_one_on_request(monkeypatch):
    from signage.config import load_config

    config = load_config()
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    assert config["DB_PING_IDLE_SECONDS"] == 5
    monkeypatch.setenv("DB_POOL_PRE_PING", "1")
    monkeypatch.setenv("DB_POOL_RECYCLE", "600")
    monkeypatch.setenv("DB_PING_IDLE_SECONDS", "30")
    config = load_config()
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True, "pool_recycle": 600}
    assert config["DB_PING_IDLE_SECONDS"] == 30


def _request_log_lines(stream) -> list[dict]:
    import json

    return [json.loads(line) for line in stream.getvalue().splitlines() if '"signage.request"' in line]


@contextlib.contextmanager
def _json_request_log():
    """The "signage" logger as configure_logging sets it up in production (one JSON handler),
    writing into a buffer; pytest's own capturing handlers are set aside meanwhile."""
    import io
    import logging

    from signage.core.web import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("signage")
    handlers, logger.handlers = logger.handlers, [handler]
    try:
        yield stream, handler
    finally:
        logger.handlers = handlers


def test_the_production_request_log_line_is_the_json_logging_would_write(app, client):
    import logging

    from tests.helpers import bearer, sign_in

    make_user(app, "alice", "admin")
    headers = {**bearer(sign_in(client, "alice")), "X-Request-ID": "direct-1"}
    records = []
    make_record = logging.getLogRecordFactory()

    def counted(*args, **kwargs):
        records.append(args[0])
        return make_record(*args, **kwargs)

    logging.setLogRecordFactory(counted)
    try:
        with _json_request_log() as (stream, _):
            client.get("/api/v1/me", headers=headers)
            direct = _request_log_lines(stream)[-1]
            assert "signage.request" not in records  # written straight to the stream, no LogRecord

            # A handler added below "signage" sends the line through logging's records instead.
            kept = []
            extra = logging.Handler()
            extra.emit = kept.append
            logger = logging.getLogger("signage.request")
            logger.addHandler(extra)
            try:
                client.get("/api/v1/me", headers={**headers, "X-Request-ID": "through-logging-1"})
            finally:
                logger.removeHandler(extra)
            through_logging = _request_log_lines(stream)[-1]
    finally:
        logging.setLogRecordFactory(make_record)
    assert len(kept) == 1 and kept[0].getMessage() == "GET /api/v1/me 200"
    assert "signage.request" in records

    assert direct["request_id"] == "direct-1" and through_logging["request_id"] == "through-logging-1"
    for line in (direct, through_logging):
        assert line["level"] == "INFO" and line["logger"] == "signage.request"
        assert line["message"] == "GET /api/v1/me 200" and line["status"] == 200
        assert line["role"] == "admin" and line["duration_ms"] >= 0
    assert list(direct) == list(through_logging)
    assert direct["user_id"] == through_logging["user_id"]


def test_a_request_log_with_a_filter_or_above_info_follows_logging(app, client):
    import logging

    with _json_request_log() as (stream, handler):
        handler.addFilter(lambda record: record.getMessage() != "GET /healthz 200")
        client.get("/healthz")
        client.get("/api/v1/no-such-thing")
        assert [line["message"] for line in _request_log_lines(stream)] == ["GET /api/v1/no-such-thing 404"]

        logger = logging.getLogger("signage.request")
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            client.get("/api/v1/no-such-thing")
        finally:
            logger.setLevel(level)
        assert len(_request_log_lines(stream)) == 1


def test_a_request_log_stream_that_fails_leaves_the_answer_standing(app, client, capsys):
    with _json_request_log() as (stream, _):
        stream.close()  # writing to it raises ValueError
        response = client.get("/healthz")
    assert response.status_code == 200
    assert "Logging error" in capsys.readouterr().err
