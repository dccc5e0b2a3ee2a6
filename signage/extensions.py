"""Extension instances, created once and bound to the app in create_app."""

from flask_migrate import Migrate

from signage.core.db import db
from signage.core.ratelimit import failures

migrate = Migrate()

__all__ = ["db", "failures", "migrate"]
