"""Default deadlines by category and severity, from the table admins edit."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from signage.catalog import HazardCategory, Severity
from signage.core.db import db
from signage.hazards.models import DeadlineRule

# The seed the migration writes (0006_hazards keeps its own frozen copy). Exposed wiring and
# a loose or fallen sign can hurt someone: 24 hours whatever the severity. Other defects get
# days, fewer the more severe.
URGENT = frozenset({HazardCategory.EXPOSED_WIRING, HazardCategory.LOOSE_OR_FALLEN})
BY_SEVERITY_HOURS = {Severity.CRITICAL: 24, Severity.HIGH: 72, Severity.MEDIUM: 168, Severity.LOW: 336}


def default_hours(category: str, severity: str) -> int:
    """The built-in default, used only for a pair the table lacks (e.g. a category added later)."""
    return 24 if category in URGENT else BY_SEVERITY_HOURS[Severity(severity)]


def rule_hours(category, severity) -> sa.ScalarSelect:
    """The table's hours for a category and severity, as a column to read alone or with another
    query (None when the table has no such rule: `deadline_from` falls back to the default)."""
    return (
        sa.select(DeadlineRule.hours)
        .where(DeadlineRule.category == category, DeadlineRule.severity == severity)
        .scalar_subquery()
    )


# Built once: every hazard reopened reads it (a report reads the rule with its sign).
_HOURS = sa.select(rule_hours(sa.bindparam("category"), sa.bindparam("severity")))


def deadline_from(hours: int | None, category: str, severity: str, start: datetime) -> datetime:
    """The deadline from start, given the hours `rule_hours` read."""
    return start + timedelta(hours=hours if hours is not None else default_hours(category, severity))


def default_deadline(category: str, severity: str, start: datetime) -> datetime:
    """The deadline for a hazard found (or reopened) at start."""
    hours = db.session.scalar(_HOURS, {"category": category, "severity": severity})
    return deadline_from(hours, category, severity, start)


def list_rules() -> list[DeadlineRule]:
    """Every rule, in catalog order of category then severity."""
    rules = db.session.scalars(sa.select(DeadlineRule)).all()
    categories = [c.value for c in HazardCategory]
    severities = [s.value for s in Severity]
    return sorted(rules, key=lambda r: (categories.index(r.category), severities.index(r.severity)))
