"""Who may see or change which records: zones for inspectors, own shops for owners."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import g

from signage.core.db import db
from signage.core.errors import Problem


def _cache(name: str) -> dict:
    # Keyed by user: a loader or CLI may act as several users within one app context.
    cache = g.get(name)
    if cache is None:
        cache = {}
        setattr(g, name, cache)
    return cache


def zone_ids(user) -> set[uuid.UUID]:
    """The zones an inspector works in (cached for the request)."""
    cache = _cache("_zone_ids")
    if user.id not in cache:
        cache[user.id] = {z.id for z in user.zones}
    return cache[user.id]


def owned_shop_ids(user) -> set[uuid.UUID]:
    """The shops an owner account is bound to (cached for the request)."""
    from signage.accounts.models import owner_shops

    cache = _cache("_owned_shop_ids")
    if user.id not in cache:
        rows = db.session.scalars(sa.select(owner_shops.c.shop_id).where(owner_shops.c.user_id == user.id))
        cache[user.id] = set(rows)
    return cache[user.id]


def can_work_in_zone(user, zone_id: uuid.UUID) -> bool:
    """Admins and supervisors work everywhere; inspectors in their zones; owners nowhere."""
    if user.role in ("admin", "supervisor"):
        return True
    return user.role == "inspector" and zone_id in zone_ids(user)


def require_zone(user, zone_id: uuid.UUID) -> None:
    """Refuse (403) a staff change outside the user's zones."""
    if not can_work_in_zone(user, zone_id):
        raise Problem(403, "This record is outside your zones.", slug="outside-zone")


def require_own_shop(user, shop_id: uuid.UUID | None, what: str = "record") -> None:
    """An owner asking for another shop's record gets 404, never its data."""
    if user.role == "owner" and shop_id not in owned_shop_ids(user):
        raise Problem(404, f"No such {what}.")
