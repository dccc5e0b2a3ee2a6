"""Start-up configuration: refuse unsafe production settings, share limits across workers."""

from __future__ import annotations

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
