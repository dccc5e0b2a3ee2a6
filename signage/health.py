"""Liveness and readiness probes for the load balancer."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from signage.core.db import db
from signage.core.errors import Problem

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """The process can reach its database."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        raise Problem(503, "The database is unreachable.", headers={"Retry-After": "5"}) from None
    return jsonify(status="ok", database="ok")
