"""Who may see or change which records: zones for inspectors, own shops for owners.

Inspectors read and write only their zones' records (403 outside them, like a write);
supervisors and admins work everywhere; owners reach only their own shops (404 for others).
Reference data (zones, roads, templates, deadline rules) is read by all staff.
"""

from __future__ import annotations

import uuid
from collections.abc import Set as AbstractSet

import sqlalchemy as sa
from flask import g

from signage.core import reads
from signage.core.access import Principal
from signage.core.db import db
from signage.core.errors import Problem, field_error


def _cache(name: str) -> dict:
    # Keyed by user: a loader or CLI may act as several users within one app context.
    cache = g.get(name)
    if cache is None:
        cache = {}
        setattr(g, name, cache)
    return cache


def zone_ids(user) -> AbstractSet[uuid.UUID]:
    """The zones an inspector works in (cached for the request)."""
    if isinstance(user, Principal):
        return user.zone_ids
    cache = _cache("_zone_ids")
    if user.id not in cache:
        cache[user.id] = {z.id for z in user.zones}
    return cache[user.id]


def remember_zone_ids(user, ids: AbstractSet[uuid.UUID]) -> None:
    """Keep the zones of user read with the sign-in check, for `zone_ids` this request."""
    _cache("_zone_ids")[user.id] = ids


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


def readable_zone_ids(user) -> set[uuid.UUID] | None:
    """The zones whose records the user may read: None means every zone."""
    if user.role in ("admin", "supervisor"):
        return None
    if user.role == "inspector":
        return zone_ids(user)
    return set()


def in_readable_zones(user, zone_column) -> sa.ColumnElement[bool]:
    """SQL narrowing a zone id column to the zones the user may read."""
    zones = readable_zone_ids(user)
    if zones is None:
        return sa.true()
    return zone_column.in_(zones) if zones else sa.false()


def shop_in_readable_zones(user, shop_id_column) -> sa.ColumnElement[bool]:
    """SQL narrowing a shop id column to shops in the zones the user may read."""
    from signage.ledger.models import Shop

    zones = readable_zone_ids(user)
    if zones is None:
        return sa.true()
    return shop_id_column.in_(sa.select(Shop.id).where(Shop.zone_id.in_(zones))) if zones else sa.false()


def _zone_id_of(code: str) -> uuid.UUID | None:
    from signage.zones.models import Zone

    return reads.connection().scalar(sa.select(Zone.id).where(Zone.code == code))


def known_zone_id(code: str) -> uuid.UUID:
    """The id of the zone with this code; 422 naming `zone` when there is none."""
    zone_id = _zone_id_of(code)
    if zone_id is None:
        raise field_error("zone", f"no zone with code {code!r}")
    return zone_id


def filter_zone_id(user, code: str | None) -> uuid.UUID | None:
    """The id of the zone a list is filtered to (None without a filter): 422 naming `zone` when
    no zone has the code, 403 when the user may not read that zone."""
    if code is None:
        return None
    zone_id = known_zone_id(code)
    zones = readable_zone_ids(user)
    if zones is not None and zone_id not in zones:
        raise Problem(403, "This zone is not one of yours.", slug="outside-zone")
    return zone_id


def require_readable(user, *, zone_id: uuid.UUID, shop_id: uuid.UUID | None, what: str = "record") -> None:
    """A record of a shop: owners reach only their shops' (404), inspectors only their zones' (403)."""
    if user.role == "owner":
        require_own_shop(user, shop_id, what)
    else:
        require_zone(user, zone_id)
