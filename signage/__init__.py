"""Signage: the REST API behind the town's shop-sign inspection campaign."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from signage.accounts import signins
from signage.config import load_config
from signage.core import errors, reads, web
from signage.core.api import Api, init_api
from signage.core.db import ping_idle_connections, utc_sessions
from signage.core.jsonio import OrjsonProvider
from signage.extensions import db, failures, migrate

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, commands."""
    app = web.SignageFlask(__name__, instance_relative_config=True)
    app.config.update(load_config())
    if test_config:
        app.config.update(test_config)
    app.json = OrjsonProvider(app)  # Chinese text stays readable; orjson writes the bytes

    register_database(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    return app


def register_database(app: Flask) -> None:
    """Bind SQLAlchemy; on SQLite create the folder and turn on foreign keys and WAL."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and ":memory:" not in uri:
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)
    with app.app_context():
        if uri.startswith("sqlite"):
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
        elif db.engine.dialect.name == "postgresql":
            utc_sessions(db.engine)
            reads.add_engine(app, db.engine)
        for engine in reads.engines(app):
            if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
                ping_idle_connections(engine, app.config["DB_PING_IDLE_SECONDS"])
    signins.watch_sessions()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def register_extensions(app: Flask) -> None:
    """Logging, request hooks, errors, rate limits, the photo store and the OpenAPI machinery."""
    from signage.photos import service as photos

    web.configure_logging(app)
    # Registered first so it runs last: stored replays and ETags are of the uncompressed answer.
    web.Compression(app)
    web.init_web(app)
    errors.register_error_handlers(app)
    failures.init_app(app)
    photos.init_app(app)
    # One Api per app: tests build many apps and each needs its own OpenAPI document.
    app.extensions["signage_api"] = api = Api()
    init_api(app, api)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature; each is one OpenAPI tag."""
    import signage.models  # noqa: F401 - every table known to the metadata
    from signage.accounts.routes import auth_blp, users_blp
    from signage.catalog_routes import blp as catalog_blp
    from signage.dashboard.routes import bp as dashboard_bp
    from signage.events.routes import blp as events_blp
    from signage.hazards.routes import blp as hazards_blp
    from signage.hazards.rules_routes import blp as deadline_rules_blp
    from signage.health import blp as health_blp
    from signage.ledger.exports import blp as exports_blp
    from signage.ledger.routes import blp as ledger_blp
    from signage.paperwork.commitment_routes import blp as commitments_blp
    from signage.paperwork.owner_routes import blp as owner_blp
    from signage.paperwork.owner_routes import pages as owner_pages
    from signage.paperwork.routes import notices_blp, templates_blp
    from signage.patrols.routes import blp as patrols_blp
    from signage.photos.routes import blp as photos_blp
    from signage.reports.routes import blp as reports_blp
    from signage.sync.routes import blp as sync_blp
    from signage.zones.routes import blp as zones_blp

    api = app.extensions["signage_api"]
    app.register_blueprint(health_blp)
    app.register_blueprint(owner_pages)
    app.register_blueprint(dashboard_bp)
    blueprints = (
        auth_blp,
        users_blp,
        catalog_blp,
        zones_blp,
        ledger_blp,
        photos_blp,
        templates_blp,
        notices_blp,
        commitments_blp,
        owner_blp,
        patrols_blp,
        hazards_blp,
        deadline_rules_blp,
        reports_blp,
        exports_blp,
        sync_blp,
        events_blp,
    )
    for blp in blueprints:
        api.register_blueprint(blp)


def register_commands(app: Flask) -> None:
    """The `flask --app wsgi ...` commands."""
    from signage.accounts.cli import users_cli
    from signage.demo.cli import demo_cli
    from signage.reports.cli import report_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(report_cli)
