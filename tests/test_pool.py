"""Pooled connections: one that sat idle is tested before use, one in steady use is not."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from signage.core import reads
from tests.conftest import PG_URL
from tests.helpers import assert_problem, bearer, end_connections, make_user, sign_in

pytestmark = pytest.mark.skipif(not PG_URL, reason="ending the server side of a connection needs PostgreSQL")


@pytest.fixture
def admin(app, client):
    make_user(app, "root", "admin")
    return bearer(sign_in(client, "root"))


# Pre-ping off whatever the environment says, so only the idle test can save the request.
NO_PRE_PING = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False}}


@pytest.mark.parametrize("app_config", [{**NO_PRE_PING, "DB_PING_IDLE_SECONDS": 0}])
def test_a_connection_idle_past_the_limit_is_tested_and_replaced(app, client, admin):
    assert client.get("/api/v1/users", headers=admin).status_code == 200
    assert end_connections(app) >= 1
    # Idle longer than the limit (0 s): the dead connection is found before use.
    response = client.get("/api/v1/users", headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{**NO_PRE_PING, "DB_PING_IDLE_SECONDS": 3600}])
def test_a_connection_used_a_moment_ago_is_not_tested(app, client, admin):
    # The contrast that shows the test above is the ping's doing: untested, the dead connection
    # fails its statement (503, no harm done) and the pool drops it, so the next request works.
    assert client.get("/api/v1/users", headers=admin).status_code == 200
    assert end_connections(app) >= 1
    assert_problem(client.get("/api/v1/users", headers=admin), 503, "service-unavailable")
    assert client.get("/api/v1/users", headers=admin).status_code == 200


def test_sessions_read_times_in_utc_whatever_the_server_zone(app, client, admin, monkeypatch):
    # libpq takes PGTZ as the session's zone when it connects, as a server configured for
    # Asia/Shanghai would give it: the app's own setting must win, or times read back
    # un-normalised (UTCDateTime reads them as they come on PostgreSQL).
    from signage.core.db import db

    monkeypatch.setenv("PGTZ", "Asia/Shanghai")
    with app.app_context():
        db.engine.dispose()
    users = client.get("/api/v1/users", headers=admin).get_json()["items"]
    assert users and all(u["created_at"].endswith("+00:00") for u in users)
    with app.app_context():
        engines = reads.engines(app)
    assert len(engines) == 2  # the ORM's, and read-only views' own
    for engine in engines:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW TIME ZONE").scalar() == "UTC"
            when = conn.exec_driver_sql("SELECT created_at FROM users LIMIT 1").scalar()
            assert when.tzinfo is datetime.UTC


def test_read_only_views_read_on_a_pool_of_their_own_always_in_autocommit(app, client, admin):
    with app.app_context():
        orm, reader = reads.engines(app)
    orm.dispose()
    assert client.get("/api/v1/shops", headers=admin).status_code == 200  # a read-only view
    # Kept for this thread's next request, and never in a transaction: each statement is its own.
    assert reader.pool.checkedout() == 1 and reader.pool.checkedin() == 0
    with reader.connect() as conn:
        assert conn.connection.driver_connection.autocommit is True
        assert conn.exec_driver_sql("SELECT now() = statement_timestamp()").scalar() is True
    assert orm.pool.checkedin() == 0  # the sign-in check and the list did not touch the ORM's
    # Disposing of the app's engine (a fork, tests dropping their database) disposes of both,
    # the kept connection returned first.
    orm.dispose()
    assert reader.pool.checkedout() == 0 and reader.pool.checkedin() == 0


def _checkouts(app) -> list[int]:
    """The server process of each connection read-only views take from their pool, in order."""
    with app.app_context():
        reader = reads.read_engine(app)
    taken: list[int] = []

    def note(dbapi_connection, _record, _proxy):
        taken.append(dbapi_connection.info.backend_pid)

    sa.event.listen(reader, "checkout", note)
    return taken


def test_a_thread_keeps_its_read_connection_between_its_requests(app, client, admin):
    taken = _checkouts(app)
    for _ in range(3):
        assert client.get("/api/v1/shops", headers=admin).status_code == 200
    assert len(taken) == 1  # taken from the pool once, then kept

    # Another thread takes a connection of its own, and keeps it for its own next request.
    with ThreadPoolExecutor(max_workers=1) as other:
        for _ in range(2):
            assert other.submit(client.get, "/api/v1/shops", headers=admin).result().status_code == 200
    assert len(taken) == 2 and taken[0] != taken[1]
    assert client.get("/api/v1/shops", headers=admin).status_code == 200
    assert len(taken) == 2


def test_a_read_connection_kept_a_while_goes_back_through_the_pool(app, client, admin, monkeypatch):
    # Back through the pool, so its checks (recycling, the idle test) reach kept connections too.
    taken = _checkouts(app)
    monkeypatch.setattr(reads.Kept, "HOLD_SECONDS", 0.0)
    for _ in range(3):
        assert client.get("/api/v1/shops", headers=admin).status_code == 200
    assert len(taken) == 3


@pytest.mark.parametrize("app_config", [{**NO_PRE_PING, "DB_PING_IDLE_SECONDS": 0}])
def test_a_kept_read_connection_idle_past_the_limit_is_tested_and_replaced(app, client, admin):
    assert client.get("/api/v1/shops", headers=admin).status_code == 200
    assert end_connections(app, keep_listener=True) >= 1
    response = client.get("/api/v1/shops", headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{**NO_PRE_PING, "DB_PING_IDLE_SECONDS": 3600}])
def test_once_one_read_connection_is_found_lost_no_thread_uses_the_one_it_kept(app, client, admin):
    # A database restart ends every connection. The first thread to meet it answers 503 (as a
    # pooled connection would, untested); the others' kept connections predate it, and go back
    # to the pool, which replaces them, rather than fail a request each.
    with ThreadPoolExecutor(max_workers=1) as other:
        assert other.submit(client.get, "/api/v1/shops", headers=admin).result().status_code == 200
        assert client.get("/api/v1/shops", headers=admin).status_code == 200
        assert end_connections(app, keep_listener=True) >= 2
        assert_problem(client.get("/api/v1/shops", headers=admin), 503, "service-unavailable")
        response = other.submit(client.get, "/api/v1/shops", headers=admin).result()
        assert response.status_code == 200, response.get_data(as_text=True)
    assert client.get("/api/v1/shops", headers=admin).status_code == 200


def test_after_a_fork_the_parents_kept_connections_are_neither_used_nor_returned(app, client, admin):
    # A forked process inherits the parent's kept connections; their sockets are the parent's.
    taken = _checkouts(app)
    assert client.get("/api/v1/shops", headers=admin).status_code == 200
    kept = app.extensions["signage_read_connections"]
    parents = set(kept._kept)
    assert len(parents) == 1 and len(taken) == 1
    try:
        kept._pid = -1  # the state as a forked process sees it
        assert client.get("/api/v1/shops", headers=admin).status_code == 200
        assert len(taken) == 2 and not parents & kept._kept  # a connection of its own
        kept._pid = -1
        kept.return_all()  # as disposing of the engine in the forked process does
        assert not any(conn.closed for conn in parents)
    finally:
        for conn in parents:
            conn.close()
