"""Fixtures: a migrated database per test (SQLite by default, PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

os.environ.setdefault("SIGNAGE_ENV", "testing")

from signage import MIGRATIONS, create_app
from signage.core.db import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
SEQUENCES_SQL = "SELECT sequencename FROM pg_sequences WHERE schemaname = :schema"
TABLES_SQL = "SELECT tablename FROM pg_tables WHERE schemaname = :schema AND tablename <> 'alembic_version'"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _engine_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def upgrade(url: str) -> None:
    """Run the real migrations against url, as `flask db upgrade` does."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": TEST_SECRET})
    with app.app_context():
        cfg = Config(str(MIGRATIONS / "alembic.ini"))
        cfg.set_main_option("script_location", str(MIGRATIONS))
        command.upgrade(cfg, "head")
        db.engine.dispose()


def _seeded_rows(engine) -> list[tuple[sa.Table, list[dict]]]:
    """The rows the migrations seed (e.g. deadline rules), table by table in dependency order."""
    with engine.connect() as conn:
        found = [
            (t, [dict(r._mapping) for r in conn.execute(sa.select(t))]) for t in db.metadata.sorted_tables
        ]
    return [(t, rows) for t, rows in found if rows]


_SEEDS: list[tuple[sa.Table, list[dict]]] = []


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> str:
    """A database migrated to head once per run; each test starts from it, empty but for seeds."""
    if PG_URL:
        url = _engine_url(PG_URL)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(url)
        engine = sa.create_engine(url)
        _SEEDS[:] = _seeded_rows(engine)
        engine.dispose()
        return url
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


def reset_database(url: str, schema: str = "public") -> None:
    """Empty a PostgreSQL test database (one schema of it) but for what the migrations seeded.

    DELETE, not TRUNCATE: a TRUNCATE makes new files for every table and syncs them to disk at
    its commit (a quarter of a second per test on this machine); deleting a test's few rows
    takes milliseconds. Triggers and foreign keys are off for it (replica role), so the order
    does not matter and the events table's append-only trigger lets go.
    """
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in conn.execute(sa.text(TABLES_SQL), {"schema": schema}).scalars():
            conn.execute(sa.text(f'DELETE FROM "{schema}"."{table}"'))
        for sequence in conn.execute(sa.text(SEQUENCES_SQL), {"schema": schema}).scalars():
            conn.execute(sa.text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))
        # Workers' remembered sign-ins (signage/accounts/signins.py) name users just deleted.
        conn.execute(sa.text("NOTIFY signage_signins, '*'"))
        # Put back what the migrations seeded, as a fresh database would have it.
        for table, rows in _SEEDS:
            conn.execute(sa.insert(table), rows)
    engine.dispose()


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database for one test."""
    if PG_URL:
        yield database_template
        reset_database(database_template)
    else:
        path = tmp_path / "test.db"
        shutil.copy(database_template, path)
        yield f"sqlite:///{path}"


class Clock:
    """A clock tests can move; the app reads it through app.config["CLOCK"]."""

    def __init__(self):
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed or datetime.now(UTC)

    def set(self, when: datetime) -> None:
        self.fixed = when


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config() -> dict:
    """Extra app config for one test: `@pytest.mark.parametrize("app_config", [{...}])`."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: Clock, app_config: dict):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": TEST_SECRET,
            "MEDIA_ROOT": str(tmp_path / "media"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "CLOCK": clock,
            **app_config,
        }
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()
