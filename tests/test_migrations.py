"""The models and the latest migration agree, on whichever database the suite runs."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from signage import MIGRATIONS, create_app
from signage.core.db import db
from tests.conftest import TEST_SECRET


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations: {diff}"


def test_database_is_at_the_single_head(app):
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"migration history has branched: {heads}"
    with app.app_context(), db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == heads[0]


def test_constraint_names_follow_the_convention(app):
    with app.app_context():
        inspector = db.inspect(db.engine)
        fks = inspector.get_foreign_keys("roads")
        assert [fk["name"] for fk in fks] == ["fk_roads_zone_id_zones"]
        uniques = {u["name"] for u in inspector.get_unique_constraints("users")}
        assert "uq_users_username" in uniques


def _database_at(tmp_path, revision: str):
    """(app, alembic config) of a SQLite database migrated only up to revision."""
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "SECRET_KEY": TEST_SECRET}
    )
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with app.app_context():
        command.upgrade(cfg, revision)
        db.engine.dispose()
    return app, cfg


_FOUND = "2026-05-01 08:00:00.000000"
# A hazard row as an old schema stored it; foreign keys are off, so only the hazard matters.
_OLD_HAZARD = {
    "sign_id": "c" * 32,
    "zone_id": "d" * 32,
    "category": "rusted",
    "severity": "low",
    "shift": "day",
    "description": "",
    "found_at": _FOUND,
    "found_by_id": "e" * 32,
    "lat": 30.1,
    "lng": 120.4,
    "deadline_at": _FOUND,
    "rectified_at": None,
    "fixed_on_spot": 0,
    "rework_count": 0,
    "reopen_count": 0,
    "flagged": 0,
    "created_at": _FOUND,
    "updated_at": _FOUND,
    "version": 1,
}


def _store_old_hazards(tmp_path, hazards: list[dict]) -> None:
    """Insert hazards (id, state and any fields that differ from _OLD_HAZARD) with plain sqlite3."""
    with sqlite3.connect(tmp_path / "old.db") as conn:
        for fields in hazards:
            row = {**_OLD_HAZARD, **fields}
            names = ", ".join(row)
            conn.execute(
                f"INSERT INTO hazards ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
            )


def test_rectify_hours_are_backfilled_for_hazards_stored_before_0008(tmp_path):
    app, cfg = _database_at(tmp_path, "0007_perf_indexes")
    _store_old_hazards(
        tmp_path,
        [
            {"id": "a" * 32, "state": "rectified", "rectified_at": "2026-05-02 20:30:00.000000"},
            {"id": "b" * 32, "state": "notified"},
        ],
    )
    with app.app_context():
        command.upgrade(cfg, "head")
        hours = dict(db.session.execute(sa.text("SELECT state, rectify_hours FROM hazards")).all())
        db.engine.dispose()
    assert hours == {"rectified": pytest.approx(36.5), "notified": None}


def test_flagged_hazard_filter_reads_its_partial_index_on_sqlite(app):
    # SQLite uses a partial index only when the query names its very term; SQLAlchemy writes
    # `flagged = 1` for the flagged filter, so the index must say that.

    from signage.core.db import db
    from signage.hazards.models import Hazard

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL reads `flagged = true` as the index's `flagged`")
        stmt = sa.select(Hazard.id).where(Hazard.flagged == True).order_by(Hazard.found_at, Hazard.id)  # noqa: E712
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row) for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_hazards_flagged_found_at" in plan, plan


def test_hazard_tallies_count_the_hazards_stored_before_0012_and_go_on_downgrade(tmp_path):
    app, cfg = _database_at(tmp_path, "0011_hazard_report_index")
    rectified = {"state": "rectified", "rectified_at": "2026-05-02 20:30:00.000000"}
    _store_old_hazards(
        tmp_path,
        [
            # One rectified on time, one late, one open; reworked 1, 0 and 2 times.
            {"id": "a" * 32, **rectified, "deadline_at": "2026-05-03 08:00:00.000000", "rework_count": 1},
            {"id": "b" * 32, **rectified, "deadline_at": "2026-05-02 08:00:00.000000"},
            {"id": "c" * 32, "state": "notified", "category": "tilted", "rework_count": 2},
        ],
    )
    tallies = (
        "SELECT category, sum(found), sum(rectified), sum(on_time), sum(rework) FROM hazard_tallies"
        " GROUP BY category ORDER BY category"
    )
    with app.app_context():
        command.upgrade(cfg, "head")
        counted = [tuple(r) for r in db.session.execute(sa.text(tallies))]
        # A change after the migration is counted by the trigger.
        db.session.execute(sa.text("UPDATE hazards SET state = 'rectified' WHERE id = :id"), {"id": "c" * 32})
        db.session.commit()
        after = [tuple(r) for r in db.session.execute(sa.text(tallies))]
        db.session.remove()
        command.downgrade(cfg, "0011_hazard_report_index")
        left = sa.inspect(db.engine)
        indexes = {i["name"] for i in left.get_indexes("hazards")}
        tables, triggers = (
            left.get_table_names(),
            db.session.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            .scalars()
            .all(),
        )
        db.engine.dispose()
    assert counted == [("rusted", 2, 2, 1, 1), ("tilted", 1, 0, 0, 2)]
    assert after == [("rusted", 2, 2, 1, 1), ("tilted", 1, 1, 0, 2)]
    assert "hazard_tallies" not in tables and not [t for t in triggers if t.startswith("hazard_tallies")]
    assert "ix_hazards_report" in indexes and "ix_hazards_rectified_hours" not in indexes
