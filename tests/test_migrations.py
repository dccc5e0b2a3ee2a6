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


def test_rectify_hours_are_backfilled_for_hazards_stored_before_0008(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": TEST_SECRET})
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with app.app_context():
        command.upgrade(cfg, "0007_perf_indexes")
        db.engine.dispose()
    columns = (
        "id, sign_id, zone_id, category, severity, shift, description, state, found_at, found_by_id,"
        " lat, lng, deadline_at, rectified_at, fixed_on_spot, rework_count, reopen_count, flagged,"
        " created_at, updated_at, version"
    )
    rows = [
        ("a" * 32, "rectified", "2026-05-01 08:00:00.000000", "2026-05-02 20:30:00.000000"),
        ("b" * 32, "notified", "2026-05-01 08:00:00.000000", None),
    ]
    with sqlite3.connect(tmp_path / "old.db") as conn:  # foreign keys off: only the hazard matters
        for ident, state, found, rectified in rows:
            conn.execute(
                f"INSERT INTO hazards ({columns}) VALUES (?, ?, ?, 'rusted', 'low', 'day', '', ?, ?, ?,"
                " 30.1, 120.4, ?, ?, 0, 0, 0, 0, ?, ?, 1)",
                (ident, "c" * 32, "d" * 32, state, found, "e" * 32, found, rectified, found, found),
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
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": TEST_SECRET})
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with app.app_context():
        command.upgrade(cfg, "0011_hazard_report_index")
        db.engine.dispose()
    columns = (
        "id, sign_id, zone_id, category, severity, shift, description, state, found_at, found_by_id,"
        " lat, lng, deadline_at, rectified_at, fixed_on_spot, rework_count, reopen_count, flagged,"
        " created_at, updated_at, version"
    )
    zone = "d" * 32
    # (id, category, state, deadline, rectified_at, rework): one rectified on time, one late, one open.
    rows = [
        ("a" * 32, "rusted", "rectified", "2026-05-03 08:00:00.000000", "2026-05-02 20:30:00.000000", 1),
        ("b" * 32, "rusted", "rectified", "2026-05-02 08:00:00.000000", "2026-05-02 20:30:00.000000", 0),
        ("c" * 32, "tilted", "notified", "2026-05-02 08:00:00.000000", None, 2),
    ]
    found = "2026-05-01 08:00:00.000000"
    with sqlite3.connect(tmp_path / "old.db") as conn:  # foreign keys off: only the hazards matter
        for ident, category, state, deadline, rectified, rework in rows:
            conn.execute(
                f"INSERT INTO hazards ({columns}) VALUES (?, ?, ?, ?, 'low', 'day', '', ?, ?, ?,"
                " 30.1, 120.4, ?, ?, 0, ?, 0, 0, ?, ?, 1)",
                (
                    ident,
                    "e" * 32,
                    zone,
                    category,
                    state,
                    found,
                    "f" * 32,
                    deadline,
                    rectified,
                    rework,
                    found,
                    found,
                ),
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
