"""The campaign at a glance: ledger, paperwork, patrols, hazards and coverage, in SQL."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from signage.core import clock
from signage.core.db import db
from signage.ledger.models import Shop, Sign
from signage.paperwork.models import Commitment, Notice
from signage.patrols.models import Patrol, Visit
from signage.reports.rectification import Filters, rate, rectification
from signage.reports.timezones import local_bounds
from signage.zones.models import Road, Zone


def _count(stmt) -> int:
    return int(db.session.scalar(stmt) or 0)


def _within(column, lo, hi):
    conditions = []
    if lo is not None:
        conditions.append(column >= lo)
    if hi is not None:
        conditions.append(column < hi)
    return sa.and_(sa.true(), *conditions)


def campaign(start: date | None, end: date | None) -> dict:
    """Every campaign figure for a period of local days (open-ended when a bound is missing)."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    lo, hi = local_bounds(start, end, tz)
    as_of = end or clock.now().astimezone(tz).date()
    registered = sa.func.coalesce(Shop.recorded_at, Shop.created_at)
    in_force = sa.and_(
        Commitment.valid_from <= as_of,
        Commitment.valid_until >= as_of,
        Commitment.superseded_at.is_(None)
        if hi is None
        else sa.or_(Commitment.superseded_at.is_(None), Commitment.superseded_at >= hi),
    )
    if hi is not None:
        in_force = sa.and_(in_force, Commitment.signed_at < hi)

    notices = sa.select(
        sa.func.count(Notice.id),
        sa.func.count(Notice.delivered_at),
        sa.func.count(Notice.acknowledged_at),
    ).where(_within(Notice.issued_at, lo, hi))
    issued, delivered, acknowledged = db.session.execute(notices).one()
    patrols = dict(
        db.session.execute(
            sa.select(Patrol.shift, sa.func.count(Patrol.id))
            .where(_within(Patrol.started_at, lo, hi))
            .group_by(Patrol.shift)
        ).all()
    )
    hazards = rectification(Filters(start=start, end=end), ("shift", "category"))
    shifts = rectification(Filters(start=start, end=end), ("shift",))
    total = rectification(Filters(start=start, end=end), ())
    return {
        "meta": {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "as_of": as_of.isoformat(),
            "time_zone": tz.key,
            "definitions": {
                "shops_registered": "shops put on the ledger in the period (by the phone's recorded time)",
                "commitments_in_force": "shops whose commitment is valid on the period's last day",
                "coverage": "per zone and road, shares of the shops on the ledger at the period's end",
                **hazards["meta"]["definitions"],
            },
        },
        "ledger": {
            "zones": _count(sa.select(sa.func.count(Zone.id))),
            "shops_registered": _count(sa.select(sa.func.count(Shop.id)).where(_within(registered, lo, hi))),
            "shops_on_ledger": _count(sa.select(sa.func.count(Shop.id)).where(_within(registered, None, hi))),
            "signs_registered": _count(
                sa.select(sa.func.count(Sign.id)).where(
                    _within(sa.func.coalesce(Sign.recorded_at, Sign.created_at), lo, hi)
                )
            ),
        },
        "paperwork": {
            "notices_issued": int(issued),
            "notices_delivered": int(delivered),
            "notices_acknowledged": int(acknowledged),
            "commitments_signed": _count(
                sa.select(sa.func.count(Commitment.id)).where(_within(Commitment.signed_at, lo, hi))
            ),
            "commitments_in_force": _count(
                sa.select(sa.func.count(sa.distinct(Commitment.shop_id))).where(in_force)
            ),
        },
        "patrols": {
            "day": int(patrols.get("day", 0)),
            "night": int(patrols.get("night", 0)),
            "shops_visited": _count(
                sa.select(sa.func.count(sa.distinct(Visit.shop_id))).where(_within(Visit.visited_at, lo, hi))
            ),
        },
        "hazards": {
            "total": total["groups"][0] if total["groups"] else None,
            "by_shift": shifts["groups"],
            "by_shift_and_category": hazards["groups"],
        },
        "coverage": _coverage(lo, hi, in_force),
    }


def _coverage(lo, hi, in_force) -> dict:
    """Per zone and per road: shops, and the shares with a notice, a commitment, a night visit."""
    registered = sa.func.coalesce(Shop.recorded_at, Shop.created_at)
    has_notice = sa.exists().where(Notice.shop_id == Shop.id, _within(Notice.issued_at, None, hi))
    has_commitment = sa.exists().where(Commitment.shop_id == Shop.id, in_force)
    night_visit = sa.exists().where(
        Visit.shop_id == Shop.id,
        Visit.patrol_id == Patrol.id,
        Patrol.shift == "night",
        _within(Visit.visited_at, lo, hi),
    )

    def flag(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    def rows(*keys):
        stmt = (
            sa.select(
                *keys,
                sa.func.count().label("shops"),
                flag(has_notice).label("with_notice"),
                flag(has_commitment).label("with_commitment"),
                flag(night_visit).label("visited_at_night"),
            )
            .select_from(Shop)
            .join(Zone, Zone.id == Shop.zone_id)
            .outerjoin(Road, Road.id == Shop.road_id)
            .where(_within(registered, None, hi))
            .group_by(*keys)
            .order_by(*keys)
        )
        out = []
        for row in db.session.execute(stmt):
            shops = int(row.shops)
            entry = {k.key: row[i] for i, k in enumerate(keys)}
            for name in ("with_notice", "with_commitment", "visited_at_night"):
                entry[name] = int(row._mapping[name] or 0)
                entry[f"{name}_share"] = rate(entry[name], shops)
            entry["shops"] = shops
            out.append(entry)
        return out

    return {
        "zones": rows(Zone.code.label("zone")),
        "roads": rows(Zone.code.label("zone"), sa.func.coalesce(Road.name, "").label("road")),
    }
