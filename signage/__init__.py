"""Signage: the REST API behind the town's shop-sign inspection campaign."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from signage.config import load_config
from signage.core import errors, web
from signage.core.api import Api, init_api
from signage.core.jsonio import OrjsonProvider
from signage.extensions import db, failures, migrate

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, commands."""
    app = Flask(__name__, instance_relative_config=True)
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
    if uri.startswith("sqlite"):
        with app.app_context():
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def register_extensions(app: Flask) -> None:
    """Logging, request hooks, errors, rate limits and the OpenAPI machinery."""
    web.configure_logging(app)
    web.init_web(app)
    errors.register_error_handlers(app)
    failures.init_app(app)
    # One Api per app: tests build many apps and each needs its own OpenAPI document.
    app.extensions["signage_api"] = api = Api()
    init_api(app, api)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature; each is one OpenAPI tag."""
    import signage.models  # noqa: F401 - every table known to the metadata
    from signage.accounts.routes import auth_blp, users_blp
    from signage.events.routes import blp as events_blp
    from signage.health import blp as health_blp
    from signage.ledger.exports import blp as exports_blp
    from signage.ledger.routes import blp as ledger_blp
    from signage.zones.routes import blp as zones_blp

    api = app.extensions["signage_api"]
    app.register_blueprint(health_blp)
    for blp in (auth_blp, users_blp, zones_blp, ledger_blp, exports_blp, events_blp):
        api.register_blueprint(blp)


def register_commands(app: Flask) -> None:
    """The `flask --app wsgi ...` commands."""
    from signage.accounts.cli import users_cli
    from signage.demo.cli import demo_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
