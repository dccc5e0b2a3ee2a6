"""Patrol workflows: start, track, visit, end. Keyword-only, usable from a loader with an explicit actor."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from signage.accounts.models import User
from signage.core import audit, clock
from signage.core.access import STAFF
from signage.core.db import db
from signage.core.errors import Problem, field_error
from signage.core.location import in_service_area, outside_service_area
from signage.core.recorded import not_in_future, skew
from signage.core.scope import require_zone
from signage.ledger.coords import to_wgs84
from signage.ledger.models import Shop
from signage.patrols.geo import distance_m
from signage.patrols.models import Patrol, TrackPoint, Visit
from signage.zones.models import Zone

# Who may lead or join a patrol in the field.
FIELD_ROLES = ("inspector", "supervisor")


def _staff(actor: User) -> None:
    if actor.role not in STAFF:
        raise Problem(403, "Only the team's staff work on patrols.", slug="forbidden")


def require_member(actor: User, patrol: Patrol) -> None:
    """Inspectors change only the patrols they walk; supervisors and admins any in scope."""
    _staff(actor)
    require_zone(actor, patrol.zone_id)
    if actor.role == "inspector" and actor.id not in patrol.member_ids:
        raise Problem(403, "You are not on this patrol.", slug="not-on-patrol")


def _members(actor: User, zone: Zone, member_ids: Iterable[uuid.UUID]) -> list[User]:
    members = [actor] if actor.role in FIELD_ROLES else []
    for member_id in dict.fromkeys(member_ids):
        if member_id == actor.id:
            continue
        user = db.session.get(User, member_id)
        if user is None or not user.is_active or user.role not in FIELD_ROLES:
            raise field_error("member_ids", f"{member_id} is not an active inspector or supervisor")
        # Not scope.can_work_in_zone: that one answers for the signed-in user.
        if user.role == "inspector" and zone.id not in {z.id for z in user.zones}:
            raise field_error("member_ids", f"{user.username} does not work in zone {zone.code}")
        members.append(user)
    if not members:
        raise field_error("member_ids", "a patrol needs at least one inspector or supervisor")
    return members


def start_patrol(
    *,
    actor: User,
    zone_id: uuid.UUID,
    shift: str,
    started_at: datetime | None = None,
    member_ids: Sequence[uuid.UUID] = (),
    note: str = "",
    id: uuid.UUID | None = None,
    recorded_at: datetime | None = None,
) -> Patrol:
    """Start a patrol in a zone on a shift; the actor walks it, with any partners named."""
    _staff(actor)
    zone = db.session.get(Zone, zone_id)
    if zone is None:
        raise field_error("zone_id", "no such zone")
    require_zone(actor, zone.id)
    not_in_future(recorded_at)
    started_at = not_in_future(started_at, "started_at") or recorded_at or clock.now()
    patrol = Patrol(
        id=id or uuid.uuid4(),
        zone_id=zone.id,
        shift=shift,
        started_at=started_at,
        started_by_id=actor.id,
        note=note,
        recorded_at=recorded_at,
        members=_members(actor, zone, member_ids),
    )
    db.session.add(patrol)
    db.session.flush()
    return patrol


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def add_track_points(
    *, patrol: Patrol, actor: User, points: Sequence[dict], coord_system: str = "wgs84"
) -> dict:
    """Store a batch of GPS fixes; repeats (same time) are skipped, order does not matter.

    Each point is {at, lat, lng, accuracy_m?}. A point outside the patrol's time span or in
    the future is refused on its own; the rest are kept. Returns the counts and refusals.
    """
    require_member(actor, patrol)
    limit = clock.now() + skew()
    sent = {_utc(point["at"]) for point in points}
    known = set(
        db.session.scalars(
            sa.select(TrackPoint.at).where(TrackPoint.patrol_id == patrol.id, TrackPoint.at.in_(sent))
        )
    )
    added: list[TrackPoint] = []
    duplicates, rejected = 0, []
    for index, point in enumerate(points):
        at = _utc(point["at"])
        if at in known:
            duplicates += 1
            continue
        if at < patrol.started_at or (patrol.ended_at and at > patrol.ended_at) or at > limit:
            rejected.append({"index": index, "at": at, "reason": "outside the patrol's time span"})
            continue
        lat, lng = to_wgs84(point["lat"], point["lng"], coord_system)
        if reason := outside_service_area(lat, lng):  # a GPS glitch, e.g. (0, 0)
            rejected.append({"index": index, "at": at, "reason": reason})
            continue
        known.add(at)
        added.append(
            TrackPoint(patrol_id=patrol.id, at=at, lat=lat, lng=lng, accuracy_m=point.get("accuracy_m"))
        )
    if added:
        db.session.add_all(added)
        db.session.flush()
        _measure(patrol, added)
        audit.tag(patrol, "track")
        db.session.flush()
    return {
        "accepted": len(added),
        "duplicates": duplicates,
        "rejected": rejected,
        "point_count": patrol.point_count,
        "distance_m": patrol.distance_m,
    }


def _measure(patrol: Patrol, added: list[TrackPoint]) -> None:
    """Recompute the segments a batch changed and the patrol's distance.

    Points may arrive late and out of order: a new point changes its own segment and the
    segment of the point right after it in time; every other stored segment stays valid, so
    only the track from the point before the earliest new one is read.
    """
    where = TrackPoint.patrol_id == patrol.id
    first = min(p.at for p in added)
    before = db.session.scalar(sa.select(sa.func.max(TrackPoint.at)).where(where, TrackPoint.at < first))
    stmt = sa.select(TrackPoint).where(where).order_by(TrackPoint.at)
    if before is not None:
        stmt = stmt.where(TrackPoint.at >= before)
    new_ids = {p.id for p in added}
    previous = None
    for point in db.session.scalars(stmt):
        if previous is None and before is None:
            point.segment_m = 0.0  # the track's first point
        elif previous is not None and (point.id in new_ids or previous.id in new_ids):
            point.segment_m = distance_m((previous.lat, previous.lng), (point.lat, point.lng))
        previous = point
    db.session.flush()
    count, total = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(TrackPoint.segment_m), 0.0)).where(where)
    ).one()
    patrol.point_count = count
    patrol.distance_m = round(float(total), 2)


def track(patrol: Patrol) -> list[TrackPoint]:
    """The patrol's points in time order."""
    return list(
        db.session.scalars(
            sa.select(TrackPoint).where(TrackPoint.patrol_id == patrol.id).order_by(TrackPoint.at)
        )
    )


def _within(patrol: Patrol, at: datetime, field: str) -> None:
    if at < patrol.started_at or (patrol.ended_at is not None and at > patrol.ended_at):
        raise field_error(field, "is outside the patrol's time span")


def record_visit(
    *,
    patrol: Patrol,
    actor: User,
    shop_id: uuid.UUID,
    visited_at: datetime | None = None,
    checked: Sequence[str] = (),
    findings: str = "",
    notice_handed: bool = False,
    commitment_signed: bool = False,
    sign_changed: bool = False,
    note: str = "",
    lat: float | None = None,
    lng: float | None = None,
    coord_system: str = "wgs84",
    id: uuid.UUID | None = None,
    recorded_at: datetime | None = None,
) -> Visit:
    """Record a stop at a shop of the patrol's zone: what was checked and found, what was handed over."""
    require_member(actor, patrol)
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise field_error("shop_id", "no such shop")
    if shop.zone_id != patrol.zone_id:
        raise field_error("shop_id", "the shop is not in the patrol's zone")
    not_in_future(recorded_at)
    visited_at = not_in_future(visited_at, "visited_at") or recorded_at or clock.now()
    _within(patrol, visited_at, "visited_at")
    if (lat is None) != (lng is None):
        raise field_error("lat", "give both lat and lng, or neither")
    if lat is not None:
        lat, lng = in_service_area(lat, lng, coord_system)
    visit = Visit(
        id=id or uuid.uuid4(),
        patrol_id=patrol.id,
        shop_id=shop.id,
        inspector_id=actor.id,
        visited_at=visited_at,
        checked=list(checked),
        findings=findings,
        notice_handed=notice_handed,
        commitment_signed=commitment_signed,
        sign_changed=sign_changed,
        note=note,
        lat=lat,
        lng=lng,
        recorded_at=recorded_at,
    )
    db.session.add(visit)
    db.session.flush()
    patrol.shops_visited = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Visit.shop_id))).where(Visit.patrol_id == patrol.id)
    )
    db.session.flush()
    return visit


def end_patrol(*, patrol: Patrol, actor: User, ended_at: datetime | None = None) -> Patrol:
    """End a patrol; it must end after its start and after everything recorded on it."""
    require_member(actor, patrol)
    if patrol.ended_at is not None:
        raise Problem(409, "The patrol has already ended.", slug="patrol-ended", ended_at=patrol.ended_at)
    ended_at = not_in_future(ended_at, "ended_at") or clock.now()
    last = db.session.scalar(sa.select(sa.func.max(TrackPoint.at)).where(TrackPoint.patrol_id == patrol.id))
    last_visit = db.session.scalar(
        sa.select(sa.func.max(Visit.visited_at)).where(Visit.patrol_id == patrol.id)
    )
    latest = max([t for t in (patrol.started_at, last, last_visit) if t is not None])
    if ended_at < latest:
        raise field_error(
            "ended_at", f"is before the patrol's start or its last recorded point ({latest.isoformat()})"
        )
    patrol.ended_at = ended_at
    audit.tag(patrol, "end")
    db.session.flush()
    return patrol
