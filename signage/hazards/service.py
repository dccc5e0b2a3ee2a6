"""Hazard workflows: reporting one, who sees which, the list's filters, the history.

The lifecycle actions are in signage.hazards.lifecycle (apply_action).
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from signage.accounts.models import User
from signage.catalog import HazardState
from signage.core import audit, clock, reads
from signage.core.access import STAFF
from signage.core.audit import Event
from signage.core.db import at_hand, db
from signage.core.errors import Problem, field_error
from signage.core.location import in_service_area
from signage.core.recorded import not_in_future
from signage.core.scope import (
    filter_zone_id,
    in_readable_zones,
    known_zone_id,
    owned_shop_ids,
    require_readable,
    require_zone,
)
from signage.hazards import photos as hazard_photos
from signage.hazards.daylight import is_after_dark
from signage.hazards.models import OPEN_STATES, Hazard, HazardTransition
from signage.hazards.rules import deadline_from, rule_hours
from signage.ledger.models import Shop, Sign
from signage.patrols.geo import LatLng
from signage.patrols.models import Patrol, Visit
from signage.zones.models import Zone


def _patrol_for(actor: User, patrol_id: uuid.UUID | None, sign: sa.Row, found_at: datetime) -> Patrol | None:
    if patrol_id is None:
        return None
    patrol = db.session.get(Patrol, patrol_id)
    if patrol is None or patrol.zone_id != sign.zone_id:
        raise field_error("patrol_id", "no such patrol in the sign's zone")
    if actor.role == "inspector" and actor.id not in patrol.member_ids:
        raise field_error("patrol_id", "you are not on this patrol")
    if found_at < patrol.started_at or (patrol.ended_at is not None and found_at > patrol.ended_at):
        raise field_error("patrol_id", "the hazard was found outside the patrol's time span")
    return patrol


def _place(sign: sa.Row, lat, lng, coord_system: str) -> LatLng:
    if (lat is None) != (lng is None):
        raise field_error("lat", "give both lat and lng, or neither")
    if lat is not None:
        return in_service_area(lat, lng, coord_system)
    place = _sign_place(sign)
    if place is None:
        raise field_error("lat", "the sign has no position on the ledger; send where the hazard is")
    return place


def _sign_place(sign: sa.Row) -> LatLng | None:
    """Where the sign stands, from its row: its own position, else its shop's (as
    `photos.sign_place` finds it for a stored hazard)."""
    if sign.lat is not None and sign.lng is not None:
        return sign.lat, sign.lng
    if sign.shop_lat is not None and sign.shop_lng is not None:
        return sign.shop_lat, sign.shop_lng
    return None


# Built once: every hazard reported runs it. The sign's columns, its shop's position, its
# zone's code (the answer shows it) and the deadline rule, in one Core statement: an ORM load of
# the sign and its zone cost more than the statement's round trip. Run on the cursor where it
# can be (`reads.Prepared`): SQLAlchemy's execution of it cost half again its round trip.
_signs, _zones, _shops = Sign.__table__.c, Zone.__table__.c, Shop.__table__.c
_SIGN_ZONE_RULE = reads.Prepared(
    sa.select(
        _signs.id,
        _signs.shop_id,
        _signs.zone_id,
        _signs.road_id,
        _signs.status,
        _signs.lat,
        _signs.lng,
        _shops.lat.label("shop_lat"),
        _shops.lng.label("shop_lng"),
        _zones.code.label("zone_code"),
        rule_hours(sa.bindparam("category"), sa.bindparam("severity")).label("hours"),
    )
    .join_from(Sign.__table__, Zone.__table__, _zones.id == _signs.zone_id)
    .outerjoin(Shop.__table__, _shops.id == _signs.shop_id)
    .where(_signs.id == sa.bindparam("sign_id"))
)


def report_hazard(
    *,
    actor: User,
    sign_id: uuid.UUID,
    category: str,
    severity: str,
    description: str = "",
    patrol_id: uuid.UUID | None = None,
    visit_id: uuid.UUID | None = None,
    shift: str | None = None,
    found_at: datetime | None = None,
    lat: float | None = None,
    lng: float | None = None,
    coord_system: str = "wgs84",
    photo_ids: Sequence[uuid.UUID] = (),
    deadline_at: datetime | None = None,
    id: uuid.UUID | None = None,
    recorded_at: datetime | None = None,
    received_at: datetime | None = None,
) -> Hazard:
    """Record a hazard found on a sign, with its finding photos and its default deadline.

    found_at defaults to recorded_at, else now. The shift comes from the patrol when one is
    named, else from the body, else from the hour (after dark at the sign: night).
    received_at is the server's receipt time the photo checks compare with (default now).
    """
    if actor.role not in STAFF:
        raise Problem(403, "Only the team's staff report hazards.", slug="forbidden")
    session = db.session()
    sign = _SIGN_ZONE_RULE.first_in(
        session.connection(), sign_id=sign_id, category=category, severity=severity
    )
    if sign is None:
        raise field_error("sign_id", "no such sign")
    require_zone(actor, sign.zone_id)
    if sign.status != "active":
        raise field_error("sign_id", "the sign has been removed")
    not_in_future(recorded_at)
    found_at = not_in_future(found_at, "found_at") or recorded_at or clock.now()
    patrol = _patrol_for(actor, patrol_id, sign, found_at)
    if patrol is not None and shift is not None and shift != patrol.shift:
        raise field_error("shift", f"the patrol is on the {patrol.shift} shift")
    if visit_id is not None:
        visit = db.session.get(Visit, visit_id)
        if (
            visit is None
            or (patrol is not None and visit.patrol_id != patrol.id)
            or visit.shop_id != sign.shop_id
        ):
            raise field_error("visit_id", "no such visit to this sign's shop on the patrol")
    lat, lng = _place(sign, lat, lng, coord_system)
    if patrol is not None:
        shift = patrol.shift
    elif shift is None:
        shift = "night" if is_after_dark(found_at, lat, lng) else "day"
    if deadline_at is not None and deadline_at <= found_at:
        raise field_error("deadline_at", "must be after the hazard was found")
    photos = hazard_photos.load(photo_ids, actor=actor)
    hazard = Hazard(
        id=id or uuid.uuid4(),
        sign_id=sign.id,
        shop_id=sign.shop_id,
        zone_id=sign.zone_id,
        zone=at_hand(session, Zone, sign.zone_id, code=sign.zone_code),
        road_id=sign.road_id,
        patrol_id=patrol.id if patrol else None,
        visit_id=visit_id,
        category=category,
        severity=severity,
        shift=shift,
        description=description,
        state=HazardState.REPORTED.value,
        found_at=found_at,
        found_by_id=actor.id,
        lat=lat,
        lng=lng,
        deadline_at=deadline_at or deadline_from(sign.hours, category, severity, found_at),
        recorded_at=recorded_at,
        photos=[],  # known empty until the links below: the answer needs no query for them
    )
    # Flagged (a doubtful photo) before the row is written; linked once it is.
    received_at = received_at or clock.now()
    evidence = hazard_photos.checked(
        hazard, photos, stage="finding", received_at=received_at, place=_sign_place(sign) or (lat, lng)
    )
    audit.write_created(session, hazard)  # a reported hazard has no hours to rectify to keep
    hazard_photos.link(hazard, evidence, stage="finding", actor=actor, at=found_at)
    return hazard


def visible_hazard(actor: User, hazard_id: uuid.UUID) -> Hazard:
    """The hazard, if actor may see it: owners their shops' (else 404), inspectors their zones' (else 403)."""
    hazard = db.session.get(Hazard, hazard_id)
    if hazard is None:
        raise Problem(404, "No such hazard.")
    require_readable(actor, zone_id=hazard.zone_id, shop_id=hazard.shop_id, what="hazard")
    return hazard


def overdue_clause(now: datetime):
    """SQL for "open and past its deadline" at now."""
    return sa.and_(Hazard.state.in_([s.value for s in OPEN_STATES]), Hazard.deadline_at < now)


def filtered(actor: User, args: dict) -> sa.Select:
    """The hazards actor may see, narrowed by the list's filters."""
    stmt = sa.select(Hazard).options(sa.orm.selectinload(Hazard.photos), sa.orm.joinedload(Hazard.zone))
    if actor.role == "owner":
        shops = owned_shop_ids(actor)
        stmt = stmt.where(Hazard.shop_id.in_(shops) if shops else sa.false())
        zone_id = known_zone_id(args["zone"]) if "zone" in args else None
    else:
        zone_id = filter_zone_id(actor, args.get("zone"))
        stmt = stmt.where(in_readable_zones(actor, Hazard.zone_id))
    if zone_id is not None:
        stmt = stmt.where(Hazard.zone_id == zone_id)
    for key, column in (
        ("road", Hazard.road_id),
        ("shop", Hazard.shop_id),
        ("sign", Hazard.sign_id),
        ("patrol", Hazard.patrol_id),
        ("inspector", Hazard.found_by_id),
    ):
        if key in args:
            stmt = stmt.where(column == args[key])
    for key, column in (
        ("category", Hazard.category),
        ("state", Hazard.state),
        ("shift", Hazard.shift),
        ("severity", Hazard.severity),
    ):
        if args.get(key):
            stmt = stmt.where(column.in_(args[key]))
    if "overdue" in args:
        clause = overdue_clause(clock.now())
        stmt = stmt.where(clause if args["overdue"] else sa.not_(clause))
    if "flagged" in args:
        if actor.role not in ("admin", "supervisor"):
            raise field_error("flagged", "only supervisors filter by evidence flags")
        stmt = stmt.where(Hazard.flagged == args["flagged"])
    if "updated_since" in args:
        stmt = stmt.where(Hazard.updated_at >= args["updated_since"])
    return stmt


# Audit fields that would tell a reader which evidence checks failed.
FLAG_FIELDS = frozenset({"flagged", "flags"})


def _redacted(values: dict | None, show_flags: bool) -> dict | None:
    if values is None or show_flags:
        return values
    return {k: v for k, v in values.items() if k not in FLAG_FIELDS}


def history(hazard: Hazard, *, show_flags: bool) -> list[dict]:
    """The hazard's lifecycle steps and its audit events (its photo links' too), oldest first.

    Without show_flags the evidence-flag fields are left out of the events' before and after.
    """
    steps = [
        {
            "kind": "transition",
            "step_no": t.step_no,
            "at": t.at,
            "received_at": t.created_at,
            "action": t.action,
            "from_state": t.from_state,
            "to_state": t.to_state,
            "actor_id": t.actor_id,
            "actor_role": t.actor_role,
            "patrol_id": t.patrol_id,
            "details": t.details,
            "id": str(t.id),
        }
        for t in db.session.scalars(
            sa.select(HazardTransition)
            .where(HazardTransition.hazard_id == hazard.id)
            .order_by(HazardTransition.step_no)
        )
    ]
    events = [
        {
            "kind": "event",
            "at": e.occurred_at,
            "received_at": e.occurred_at,
            "action": e.action,
            "actor_id": e.actor_id,
            "actor_role": e.actor_role,
            "entity": e.entity,
            "before": _redacted(e.before, show_flags),
            "after": _redacted(e.after, show_flags),
            "id": str(e.id),
        }
        for e in db.session.scalars(
            sa.select(Event)
            .where(
                sa.or_(
                    sa.and_(Event.entity == "hazards", Event.entity_id == str(hazard.id)),
                    sa.and_(
                        Event.entity == "hazard_photos",
                        Event.entity_id.in_([str(p.id) for p in hazard.photos] or [""]),
                    ),
                )
            )
            .order_by(Event.id)
        )
    ]
    # Interleave by time, keeping the steps in lifecycle order and the events in the order written
    # (a phone's clock may put a step's time out of order; its step number is the truth).
    return list(heapq.merge(steps, events, key=lambda i: (i["at"], i["kind"] == "event")))
