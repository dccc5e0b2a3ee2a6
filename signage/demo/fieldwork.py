"""The demo campaign's paperwork and fieldwork, through the same services the API uses.

It reproduces the published figures: 99 notices handed out, 99 commitments signed,
11 hazards found on day patrols across the five day-time categories and 9 lit signs with
dark characters found at night, every one rectified and verified. The campaign runs over
the six weeks before the load, so deadlines, weeks and commitments look current.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from signage.accounts.models import User
from signage.core import audit
from signage.core.db import db
from signage.demo.images import evidence_jpeg, signature_png
from signage.hazards.lifecycle import apply_action
from signage.hazards.service import report_hazard
from signage.ledger.models import Shop, Sign
from signage.paperwork import service as paperwork
from signage.paperwork.models import Notice
from signage.paperwork.signatures import store_signature
from signage.patrols.models import Patrol
from signage.patrols.service import add_track_points, end_patrol, record_visit, start_patrol
from signage.photos import service as photos

CAMPAIGN_DAYS = 42
DAY_CATEGORIES = [
    "damaged", "damaged", "damaged", "tilted", "tilted", "loose_or_fallen",
    "loose_or_fallen", "rusted", "rusted", "exposed_wiring", "exposed_wiring",
]  # fmt: skip
SEVERITY = {"damaged": "medium", "tilted": "high", "loose_or_fallen": "critical", "rusted": "low",
            "exposed_wiring": "critical"}  # fmt: skip
MEASURE = {"loose_or_fallen": "cordoned", "exposed_wiring": "power_off", "tilted": "secured"}


class Campaign:
    """Local times of the campaign, counted in days from its first day."""

    def __init__(self):
        self.tz = ZoneInfo(current_app.config["TIMEZONE"])
        today = datetime.now(UTC).astimezone(self.tz).date()
        self.first_day: date = today - timedelta(days=CAMPAIGN_DAYS)

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """Local clock time on a campaign day, as aware UTC."""
        local = datetime.combine(self.first_day + timedelta(days=day), time(hour, minute), self.tz)
        return local.astimezone(UTC)


def _photo(user: User, sign: Sign, when: datetime, seed: int, night: bool) -> uuid.UUID:
    data = evidence_jpeg(
        seed=seed, taken_at=when, lat=sign.lat, lng=sign.lng, tz=current_app.config["TIMEZONE"], night=night
    )
    photo, _ = photos.store_bytes(user=user, data=data, recorded_at=when, commit=False)
    return photo.id


def load_paperwork(shops: list[Shop], inspectors: dict[uuid.UUID, User], demo_id: Callable) -> int:
    """A notice and a signed commitment for each of the given shops, over the first month."""
    if db.session.get(Notice, demo_id("notice", 0)) is not None:
        return 0
    campaign = Campaign()
    for k, shop in enumerate(shops):
        inspector = inspectors[shop.zone_id]
        audit.set_actor(inspector.id, inspector.role)
        issued = campaign.at(k % 30, 9 + k % 8, (k * 7) % 60)
        paperwork.issue_notice(
            id=demo_id("notice", k),
            shop=shop,
            issued_by=inspector,
            issued_at=issued,
            recorded_at=issued,
            lat=shop.lat,
            lng=shop.lng,
            place=shop.address,
            delivery_method="in_person",
        )
        signature = store_signature(data=signature_png(k), uploaded_by=inspector, recorded_at=issued)
        paperwork.record_commitment(
            id=demo_id("commitment", k),
            shop=shop,
            witnessed_by=inspector,
            signer_name=shop.owner_name or "店主",
            signer_role="店主 Owner",
            signature_photo_id=signature.id,
            signed_at=issued + timedelta(minutes=10),
            recorded_at=issued + timedelta(minutes=10),
        )
    return len(shops)


def _patrol(inspector, zone_id, shift, start, end, shops, demo_key, demo_id):
    patrol = start_patrol(
        id=demo_id("patrol", *demo_key), actor=inspector, zone_id=zone_id, shift=shift, started_at=start
    )
    steps = max(len(shops), 2)
    points = [
        {
            "at": start + (end - start) * i / (steps + 1),
            "lat": shops[min(i, len(shops) - 1)].lat,
            "lng": shops[min(i, len(shops) - 1)].lng,
        }
        for i in range(steps)
    ]
    add_track_points(patrol=patrol, actor=inspector, points=points)
    visits = []
    for i, shop in enumerate(shops):
        visits.append(
            record_visit(
                patrol=patrol,
                actor=inspector,
                shop_id=shop.id,
                visited_at=points[min(i, len(points) - 1)]["at"] + timedelta(minutes=1),
                checked=["signs"],
                lat=shop.lat,
                lng=shop.lng,
            )
        )
    return patrol, visits


def load_fieldwork(inspectors: dict[uuid.UUID, User], demo_id: Callable) -> tuple[int, int, int]:
    """Day and night patrols, and the 11 day and 9 night hazards followed to a verified fix."""
    if db.session.get(Patrol, demo_id("patrol", "day", 0, 0)) is not None:
        return 0, 0, 0
    campaign = Campaign()
    zones = sorted(inspectors, key=str)
    day_found = night_found = patrols = 0
    for z, zone_id in enumerate(zones):
        inspector = inspectors[zone_id]
        audit.set_actor(inspector.id, inspector.role)
        zone_shops = db.session.scalars(
            sa.select(Shop).where(Shop.zone_id == zone_id).order_by(Shop.road_id, Shop.address, Shop.id)
        ).all()
        lit = [s for s in zone_shops if any(sign.lit for sign in s.signs)]
        for week in range(4):
            day = 7 * week + z + 1
            start, end = campaign.at(day, 9), campaign.at(day, 11, 30)
            stop_shops = zone_shops[week * 8 : week * 8 + 8]
            patrol, visits = _patrol(
                inspector, zone_id, "day", start, end, stop_shops, ("day", z, week), demo_id
            )
            patrols += 1
            # Hazards 0..10 spread over the zones' day patrols.
            for index in range(len(DAY_CATEGORIES)):
                if index % 12 != week * 3 + z:
                    continue
                _day_hazard(index, inspector, patrol, visits[index % len(visits)], campaign, day, demo_id)
                day_found += 1
            end_patrol(patrol=patrol, actor=inspector, ended_at=end)
        for week in range(3):
            day = 7 * week + z + 3
            start, end = campaign.at(day, 20), campaign.at(day, 22)
            stop_shops = lit[week * 6 : week * 6 + 6]
            patrol, visits = _patrol(
                inspector, zone_id, "night", start, end, stop_shops, ("night", z, week), demo_id
            )
            patrols += 1
            index = z * 3 + week  # 9 night hazards: 3 per zone
            _night_hazard(index, inspector, patrol, visits[0], campaign, day, demo_id)
            night_found += 1
            end_patrol(patrol=patrol, actor=inspector, ended_at=end)
    return patrols, day_found, night_found


def _lit_sign(shop_id) -> Sign:
    signs = db.session.scalars(sa.select(Sign).where(Sign.shop_id == shop_id).order_by(Sign.id)).all()
    return next((s for s in signs if s.lit), signs[0])


def _day_hazard(index, inspector, patrol, visit, campaign, day, demo_id) -> None:
    category = DAY_CATEGORIES[index]
    sign = _lit_sign(visit.shop_id)
    found = visit.visited_at + timedelta(minutes=2)
    hazard = report_hazard(
        id=demo_id("hazard", "day", index),
        actor=inspector,
        sign_id=sign.id,
        category=category,
        severity=SEVERITY[category],
        description="巡查发现 Found on the day patrol",
        patrol_id=patrol.id,
        visit_id=visit.id,
        found_at=found,
        recorded_at=found,
        received_at=found,
        photo_ids=[_photo(inspector, sign, found, 1000 + index, night=False)],
    )
    if index in (3, 7):  # a tilted and a rusted sign put right while the inspector waited
        fixed = found + timedelta(minutes=20)
        apply_action(
            hazard=hazard, action="fix_on_spot", actor=inspector, at=fixed, received_at=fixed,
            photo_ids=[_photo(inspector, sign, fixed, 2000 + index, night=False)],
        )  # fmt: skip
        return
    notified = found + timedelta(minutes=10)
    apply_action(
        hazard=hazard, action="notify", actor=inspector, at=notified, received_at=notified,
        contact_method="in_person", immediate_measure=MEASURE.get(category, "none"),
    )  # fmt: skip
    # Urgent categories get 24 hours: put right the same afternoon; the rest within two days.
    fix_at = (
        found + timedelta(hours=5)
        if category in ("exposed_wiring", "loose_or_fallen")
        else campaign.at(day + 2, 10)
    )
    _submit_and_verify(hazard, inspector, sign, fix_at, 3000 + index, night=False, rework=index == 0)


def _night_hazard(index, inspector, patrol, visit, campaign, day, demo_id) -> None:
    sign = _lit_sign(visit.shop_id)
    found = visit.visited_at + timedelta(minutes=2)
    hazard = report_hazard(
        id=demo_id("hazard", "night", index),
        actor=inspector,
        sign_id=sign.id,
        category="unlit_characters",
        severity="medium",
        description="夜查发现招牌断字缺亮 Dark characters on the lit sign",
        patrol_id=patrol.id,
        visit_id=visit.id,
        found_at=found,
        recorded_at=found,
        received_at=found,
        photo_ids=[_photo(inspector, sign, found, 4000 + index, night=True)],
    )
    notified = found + timedelta(minutes=5)
    apply_action(
        hazard=hazard, action="notify", actor=inspector, at=notified, received_at=notified,
        contact_method="in_person", immediate_measure="power_off",
    )  # fmt: skip
    # Repaired within two days; the after-photo is taken after dark, which verification needs.
    _submit_and_verify(hazard, inspector, sign, campaign.at(day + 2, 20, 30), 5000 + index, night=True)


def _submit_and_verify(hazard, inspector, sign, fix_at, seed, night: bool, rework: bool = False) -> None:
    if rework:
        # The first repair did not hold: sent back once, then done properly.
        apply_action(
            hazard=hazard, action="submit_fix", actor=inspector, at=fix_at, received_at=fix_at,
            photo_ids=[_photo(inspector, sign, fix_at, seed + 500, night)],
        )  # fmt: skip
        checked = fix_at + timedelta(hours=1)
        apply_action(
            hazard=hazard, action="verify", actor=inspector, at=checked, received_at=checked,
            result="fail", reason="固定不牢 Still loose",
        )  # fmt: skip
        fix_at = fix_at + timedelta(hours=3)
    apply_action(
        hazard=hazard, action="submit_fix", actor=inspector, at=fix_at, received_at=fix_at,
        photo_ids=[_photo(inspector, sign, fix_at, seed, night)],
    )  # fmt: skip
    verified = fix_at + timedelta(minutes=30)
    apply_action(
        hazard=hazard, action="verify", actor=inspector, at=verified, received_at=verified, result="pass"
    )
