"""Small helpers shared by the HTTP tests."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from signage.accounts import service
from signage.core import reads
from signage.core.db import db
from signage.core.idempotency import IdempotencyRecord

PASSWORD = "correct-horse-battery"


def outside_sql(app, sql: str, **params):
    """Run SQL on a connection of its own, committed (what another worker or psql does); its
    first column of its first row, if it returns rows."""
    with app.app_context():
        engine = sa.create_engine(db.engine.url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def end_connections(app, keep_listener: bool = False) -> int:
    """What a database restart does to the app's pooled connections: every server process
    behind them ends (but the sign-in listener's, if keep_listener). How many ended."""
    spare = " AND application_name <> 'signage-signins'" if keep_listener else ""
    return outside_sql(
        app,
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()" + spare,
    )


def until(check, seconds: float = 5.0) -> bool:
    """Whether check() comes true within seconds (polled): for what another thread or process
    brings about a moment later, such as a notice arriving."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def statements_during(app, action) -> tuple[list[str], object]:
    """The SQL statements the app's database was sent while action ran, and what it returned.

    It listens to every engine of the app; a statement listener also sends `Prepared` reads
    through SQLAlchemy (signage/core/reads.py), so the count is of the statements either way.
    """
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        sent.append(statement)

    with app.app_context():
        engines = reads.engines(app)
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        result = action()
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", record)
    return sent, result


def make_user(app, username: str, role: str, zones: tuple[str, ...] = (), password: str = PASSWORD):
    """Create an account directly (test set-up), returning its id."""
    with app.app_context():
        user = service.create_user(username=username, role=role, password=password, zones=list(zones))
        db.session.commit()
        return user.id


def sign_in(client, username: str, password: str = PASSWORD) -> dict:
    """Sign in through the API and return the token response."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(tokens: dict) -> dict:
    """Authorization header for a token response."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_problem(response, status: int, slug: str | None = None) -> dict:
    """Assert a problem+json answer with the given status (and type slug)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("urn:signage:problem:")
    if slug:
        assert body["type"] == f"urn:signage:problem:{slug}", body
    return body


def lose_the_answer(app, key: str, state: str = "applied") -> None:
    """What a worker killed between the view's commit and storing its answer leaves behind: the
    claim marked applied, or left running for a request that is safe to run again."""
    with app.app_context():
        record = db.session.scalar(sa.select(IdempotencyRecord).where(IdempotencyRecord.scope.endswith(key)))
        record.state, record.status_code, record.response_body = state, None, None
        record.created_at -= timedelta(minutes=5)
        db.session.commit()
