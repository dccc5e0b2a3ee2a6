"""The models and the latest migration agree, on whichever database the suite runs."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from signage import MIGRATIONS
from signage.core.db import db


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
