"""The patrol plan: what a patrol should visit next in a zone, ordered into a walking route.

Stops, by priority: hazards overdue; lighting fixes awaiting night verification (night
shift only); other fixes awaiting verification; hazards due within a day; then shops never
visited (day), or never visited at night though they have a lit sign (night); shops without
a notice or a commitment (day). The `limit` stops of highest priority (nearer first among
equals) are then ordered nearest-next by geodesic distance from the start point.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from signage.catalog import LIGHTING_CATEGORIES, HazardState
from signage.core.db import db
from signage.hazards.models import OPEN_STATES, Hazard
from signage.ledger.models import Shop, Sign
from signage.paperwork.models import Commitment, Notice
from signage.patrols.geo import LatLng, distance_m
from signage.patrols.models import Patrol, Visit
from signage.zones.models import Zone

DUE_SOON = timedelta(hours=24)

# Code -> (priority, zh, en); lower priority numbers are visited first when stops must be cut.
REASONS: dict[str, tuple[int, str, str]] = {
    "overdue": (0, "隐患已超期", "Hazard past its deadline"),
    "night_verification": (1, "亮化整改待夜间验收", "Lighting fix awaiting night verification"),
    "awaiting_verification": (2, "整改待验收", "Fix awaiting verification"),
    "due_soon": (3, "隐患即将到期", "Hazard due within a day"),
    "never_visited": (4, "尚未走访", "Shop never visited"),
    "lit_not_checked_at_night": (4, "亮化招牌未经夜查", "Lit sign never checked at night"),
    "no_notice": (5, "未送达告知书", "No notice handed over"),
    "no_commitment": (6, "未签承诺书", "No commitment signed"),
}


@dataclass
class Stop:
    """One place to go: a shop (or a stand-alone sign) and why."""

    key: uuid.UUID
    kind: str
    name: str
    lat: float
    lng: float
    shop_id: uuid.UUID | None = None
    sign_id: uuid.UUID | None = None
    reasons: list[str] = field(default_factory=list)
    hazard_ids: list[uuid.UUID] = field(default_factory=list)
    leg_m: float = 0.0
    cumulative_m: float = 0.0

    @property
    def priority(self) -> int:
        """The most urgent of the stop's reasons."""
        return min(REASONS[r][0] for r in self.reasons)

    @property
    def reason_labels(self) -> list[dict]:
        """The reasons with their labels, most urgent first."""
        ordered = sorted(self.reasons, key=lambda r: REASONS[r][0])
        return [{"code": r, "zh": REASONS[r][1], "en": REASONS[r][2]} for r in ordered]


def _hazard_reasons(hazard: Hazard, shift: str, now: datetime) -> list[str]:
    reasons = []
    if hazard.deadline_at < now:
        reasons.append("overdue")
    elif hazard.deadline_at < now + DUE_SOON and hazard.state != HazardState.FIX_SUBMITTED:
        reasons.append("due_soon")
    if hazard.state == HazardState.FIX_SUBMITTED:
        if hazard.category in LIGHTING_CATEGORIES:
            if shift == "night":
                reasons.append("night_verification")
        else:
            reasons.append("awaiting_verification")
    return reasons


def _add(stops: dict[uuid.UUID, Stop], stop: Stop, reason: str, hazard_id: uuid.UUID | None = None) -> None:
    """Add a reason (and hazard) to the stop at that place, creating the stop the first time."""
    stop = stops.setdefault(stop.key, stop)
    if reason not in stop.reasons:
        stop.reasons.append(reason)
    if hazard_id is not None and hazard_id not in stop.hazard_ids:
        stop.hazard_ids.append(hazard_id)


def _shop_stop(shop: Shop) -> Stop:
    return Stop(shop.id, "shop", shop.name, shop.lat, shop.lng, shop_id=shop.id)


def _sign_stop(sign: Sign, hazard: Hazard) -> Stop:
    """A stand-alone sign (no shop): at its own position, else where its hazard was found."""
    lat, lng = (
        (sign.lat, sign.lng) if sign.lat is not None and sign.lng is not None else (hazard.lat, hazard.lng)
    )
    return Stop(sign.id, "sign", sign.text, lat, lng, sign_id=sign.id)


def _hazard_stops(stops: dict, zone: Zone, shift: str, now: datetime) -> None:
    rows = db.session.execute(
        sa.select(Hazard, Shop, Sign)
        .join(Sign, Sign.id == Hazard.sign_id)
        .outerjoin(Shop, Shop.id == Hazard.shop_id)
        .where(Hazard.zone_id == zone.id, Hazard.state.in_([s.value for s in OPEN_STATES]))
        .order_by(Hazard.found_at, Hazard.id)
    )
    for hazard, shop, sign in rows:
        for reason in _hazard_reasons(hazard, shift, now):
            stop = _shop_stop(shop) if shop is not None else _sign_stop(sign, hazard)
            _add(stops, stop, reason, hazard.id)


def _shop_stops(stops: dict, zone: Zone, shift: str, now: datetime) -> None:
    open_shops = sa.select(Shop).where(Shop.zone_id == zone.id, Shop.status == "open")
    visits = sa.select(Visit.shop_id).join(Patrol, Patrol.id == Visit.patrol_id)
    checks: list[tuple[str, sa.Select]] = []
    if shift == "day":
        today = now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
        in_force = sa.and_(Commitment.superseded_at.is_(None), Commitment.valid_until >= today)
        checks = [
            ("never_visited", open_shops.where(Shop.id.not_in(visits))),
            ("no_notice", open_shops.where(~sa.exists().where(Notice.shop_id == Shop.id))),
            ("no_commitment", open_shops.where(~sa.exists().where(Commitment.shop_id == Shop.id, in_force))),
        ]
    else:
        lit = sa.select(Sign.shop_id).where(Sign.lit, Sign.status == "active", Sign.shop_id.is_not(None))
        checks = [
            (
                "lit_not_checked_at_night",
                open_shops.where(Shop.id.in_(lit), Shop.id.not_in(visits.where(Patrol.shift == "night"))),
            )
        ]
    for reason, stmt in checks:
        for shop in db.session.scalars(stmt.order_by(Shop.id)):
            _add(stops, _shop_stop(shop), reason)


def route(stops: list[Stop], start: LatLng) -> list[Stop]:
    """Order stops nearest-next from start (ties: the lower key), filling in leg lengths."""
    remaining = list(stops)
    ordered, here, total = [], start, 0.0
    while remaining:
        legs = [(distance_m(here, (s.lat, s.lng)), str(s.key), s) for s in remaining]
        leg, _, nearest = min(legs, key=lambda item: (item[0], item[1]))
        total += leg
        nearest.leg_m, nearest.cumulative_m = round(leg, 1), round(total, 1)
        ordered.append(nearest)
        remaining.remove(nearest)
        here = (nearest.lat, nearest.lng)
    return ordered


def plan(*, zone: Zone, shift: str, start: LatLng, now: datetime, limit: int) -> dict:
    """The plan for a patrol in zone on shift, starting at start, as of now."""
    stops: dict[uuid.UUID, Stop] = {}
    _hazard_stops(stops, zone, shift, now)
    _shop_stops(stops, zone, shift, now)
    candidates = sorted(
        stops.values(), key=lambda s: (s.priority, distance_m(start, (s.lat, s.lng)), str(s.key))
    )
    chosen = route(candidates[:limit], start)
    return {
        "zone": zone.code,
        "shift": shift,
        "start": {"lat": start[0], "lng": start[1]},
        "generated_at": now,
        "candidates": len(candidates),
        "total_m": chosen[-1].cumulative_m if chosen else 0.0,
        "stops": chosen,
    }
