"""The staff lists: notices, commitments, and shops still lacking paperwork."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from signage.core import clock
from signage.core.errors import field_error
from signage.ledger.models import Shop
from signage.paperwork import documents
from signage.paperwork.models import Commitment, Notice


def _day_start(day: date) -> datetime:
    """Midnight starting day in the team's time zone, as UTC."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _date_range(column, start: date | None, end: date | None, names: tuple[str, str]):
    if start and end and end < start:
        raise field_error(names[1], f"must not be before {names[0]}")
    conditions = []
    if start:
        conditions.append(column >= _day_start(start))
    if end:
        conditions.append(column < _day_start(end + timedelta(days=1)))
    return conditions


def _area(
    stmt: sa.Select, shop_id_column, *, zone_id: uuid.UUID | None, road: uuid.UUID | None, shop_id=None
):
    """Narrow a statement to a zone, road or shop through the shop."""
    if zone_id or road:
        stmt = stmt.join(Shop, Shop.id == shop_id_column)
        if zone_id:
            stmt = stmt.where(Shop.zone_id == zone_id)
        if road:
            stmt = stmt.where(Shop.road_id == road)
    if shop_id:
        stmt = stmt.where(shop_id_column == shop_id)
    return stmt


def notices(
    *,
    zone_id: uuid.UUID | None = None,
    road: uuid.UUID | None = None,
    shop_id: uuid.UUID | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    delivery: str | None = None,
    acknowledged: bool | None = None,
) -> sa.Select:
    """Notices matching the filters (page them by year and sequence)."""
    stmt = sa.select(Notice).options(
        joinedload(Notice.shop).joinedload(Shop.zone), joinedload(Notice.template)
    )
    stmt = _area(stmt, Notice.shop_id, zone_id=zone_id, road=road, shop_id=shop_id)
    stmt = stmt.where(*_date_range(Notice.issued_at, issued_from, issued_to, ("issued_from", "issued_to")))
    if delivery == "none":
        stmt = stmt.where(Notice.delivery_method.is_(None))
    elif delivery:
        stmt = stmt.where(Notice.delivery_method == delivery)
    if acknowledged is not None:
        stmt = stmt.where(
            Notice.acknowledged_at.is_not(None) if acknowledged else Notice.acknowledged_at.is_(None)
        )
    return stmt


def today() -> date:
    """Today in the team's time zone."""
    return documents.local_date(clock.now())


def commitments(
    *,
    zone_id: uuid.UUID | None = None,
    road: uuid.UUID | None = None,
    shop_id: uuid.UUID | None = None,
    signed_from: date | None = None,
    signed_to: date | None = None,
    status: str | None = None,
    expiring_within: int | None = None,
) -> sa.Select:
    """Commitments matching the filters; `expiring_within` days keeps those in force lapsing soon."""
    stmt = sa.select(Commitment).options(
        joinedload(Commitment.shop).joinedload(Shop.zone), joinedload(Commitment.template)
    )
    stmt = _area(stmt, Commitment.shop_id, zone_id=zone_id, road=road, shop_id=shop_id)
    stmt = stmt.where(
        *_date_range(Commitment.signed_at, signed_from, signed_to, ("signed_from", "signed_to"))
    )
    day = today()
    current = Commitment.superseded_at.is_(None)
    if status == "superseded":
        stmt = stmt.where(Commitment.superseded_at.is_not(None))
    elif status == "expired":
        stmt = stmt.where(current, Commitment.valid_until < day)
    elif status == "in_force":
        stmt = stmt.where(current, Commitment.valid_until >= day)
    if expiring_within is not None:
        stmt = stmt.where(
            current,
            Commitment.valid_until >= day,
            Commitment.valid_until <= day + timedelta(days=expiring_within),
        )
    return stmt


def _open_shops(zone_id: uuid.UUID | None, road: uuid.UUID | None) -> sa.Select:
    stmt = sa.select(Shop).options(joinedload(Shop.zone), joinedload(Shop.road)).where(Shop.status == "open")
    if zone_id:
        stmt = stmt.where(Shop.zone_id == zone_id)
    if road:
        stmt = stmt.where(Shop.road_id == road)
    return stmt


def shops_without_notice(*, zone_id: uuid.UUID | None = None, road: uuid.UUID | None = None) -> sa.Select:
    """Open shops that have never been issued a notice."""
    has_notice = sa.exists().where(Notice.shop_id == Shop.id)
    return _open_shops(zone_id, road).where(~has_notice)


def shops_without_commitment(*, zone_id: uuid.UUID | None = None, road: uuid.UUID | None = None) -> sa.Select:
    """Open shops with no commitment in force (never signed, or lapsed)."""
    in_force = sa.exists().where(
        Commitment.shop_id == Shop.id, Commitment.superseded_at.is_(None), Commitment.valid_until >= today()
    )
    return _open_shops(zone_id, road).where(~in_force)
