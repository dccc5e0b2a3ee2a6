"""The demo campaign: staff, zones and roads, close to 1,000 shops with their signs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from signage.accounts import service as accounts
from signage.accounts.models import User
from signage.core import audit
from signage.core.db import db
from signage.demo.geography import ZONES, demo_shops
from signage.ledger.credit_code import make_credit_code
from signage.ledger.models import Shop, Sign, SignVersion
from signage.zones.models import Road, Zone


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in printed by `demo load` and `make run`."""

    username: str
    role: str
    password: str
    display_name: str
    zones: tuple[str, ...] = ()


# Demo passwords are public by design: this data set is for trying the API locally.
DEMO_ACCOUNTS = (
    DemoAccount("admin", "admin", "demo-admin-2024", "系统管理员"),
    DemoAccount("captain", "supervisor", "demo-captain-2024", "执法队长 王队"),
    DemoAccount("insp_gl", "inspector", "demo-inspect-2024", "执法队员 沈明", ("GL",)),
    DemoAccount("insp_ds", "inspector", "demo-inspect-2024", "执法队员 陈立", ("DS",)),
    DemoAccount("insp_ks", "inspector", "demo-inspect-2024", "执法队员 俞江", ("KS",)),
)


DEMO_SHOP_COUNT = 990
# Demo records get stable ids, so a second load recognises what it made the first time.
DEMO_NAMESPACE = uuid.UUID("5d0c2a6e-9f4b-4b8e-8f1e-3a7c6b2d9e10")


def demo_id(*parts: object) -> uuid.UUID:
    """A stable id for a demo record."""
    return uuid.uuid5(DEMO_NAMESPACE, "/".join(str(p) for p in parts))


@dataclass
class Summary:
    """What a load added, as lines for the terminal."""

    lines: list[str] = field(default_factory=list)


def _load_zones() -> int:
    added = 0
    for spec in ZONES:
        zone = db.session.scalar(sa.select(Zone).where(Zone.code == spec.code))
        if zone is None:
            zone = Zone(code=spec.code, name=spec.name, center_lat=spec.centre[0], center_lng=spec.centre[1])
            db.session.add(zone)
            db.session.flush()
            added += 1
        existing = set(db.session.scalars(sa.select(Road.name).where(Road.zone_id == zone.id)))
        for road in spec.roads:
            if road.name not in existing:
                db.session.add(
                    Road(
                        zone_id=zone.id,
                        name=road.name,
                        start_lat=road.start[0],
                        start_lng=road.start[1],
                        end_lat=road.end[0],
                        end_lng=road.end[1],
                    )
                )
    return added


def _load_accounts() -> int:
    added = 0
    for account in DEMO_ACCOUNTS:
        if db.session.scalar(sa.select(User.id).where(User.username == account.username)):
            continue
        accounts.create_user(
            username=account.username,
            role=account.role,
            password=account.password,
            display_name=account.display_name,
            zones=list(account.zones),
        )
        added += 1
    return added


def _load_shops() -> int:
    zones = {z.code: z for z in db.session.scalars(sa.select(Zone))}
    roads = {(r.zone_id, r.name): r for r in db.session.scalars(sa.select(Road))}
    inspectors = {
        a.zones[0]: db.session.scalar(sa.select(User.id).where(User.username == a.username))
        for a in DEMO_ACCOUNTS
        if a.zones
    }
    existing = set(db.session.scalars(sa.select(Shop.id)))
    added = 0
    for serial, spec in enumerate(demo_shops(DEMO_SHOP_COUNT)):
        shop_id = demo_id("shop", serial)
        if shop_id in existing:
            continue
        zone = zones[spec["zone"]]
        road = roads[(zone.id, spec["road"])]
        by = inspectors[spec["zone"]]
        # Individual businesses (92…) registered in Xiaoshan (330109), with a valid check character.
        code = make_credit_code(f"92330109MA{serial:07d}")
        shop = Shop(
            id=shop_id,
            zone_id=zone.id,
            road_id=road.id,
            side=spec["side"],
            name=spec["name"],
            address=spec["address"],
            lat=spec["lat"],
            lng=spec["lng"],
            owner_name=spec["owner_name"],
            owner_phone=spec["owner_phone"],
            credit_code=code,
            business_type=spec["business_type"],
            registered_by_id=by,
        )
        db.session.add(shop)
        for index, sign_spec in enumerate(spec["signs"]):
            sign = Sign(
                id=demo_id("sign", serial, index),
                shop_id=shop_id,
                zone_id=zone.id,
                road_id=road.id,
                lat=spec["lat"],
                lng=spec["lng"],
                created_by_id=by,
                **sign_spec,
            )
            db.session.add(sign)
            db.session.add(
                SignVersion(
                    id=demo_id("sign-version", serial, index, 1),
                    sign_id=sign.id,
                    version_no=1,
                    recorded_by_id=by,
                    note="registered",
                    **sign_spec,
                )
            )
        added += 1
        if added % 200 == 0:
            db.session.flush()
    return added


def _load_fieldwork() -> tuple[int, int, int, int]:
    """Notices and commitments for every tenth demo shop, then the patrols and their hazards."""
    from signage.demo import fieldwork

    inspectors = {}
    for account in DEMO_ACCOUNTS:
        if account.zones:
            user = db.session.scalar(sa.select(User).where(User.username == account.username))
            zone_id = db.session.scalar(sa.select(Zone.id).where(Zone.code == account.zones[0]))
            inspectors[zone_id] = user
    shops = [db.session.get(Shop, demo_id("shop", serial)) for serial in range(0, DEMO_SHOP_COUNT, 10)]
    paper = fieldwork.load_paperwork(shops, inspectors, demo_id)
    return (paper, *fieldwork.load_fieldwork(inspectors, demo_id))


def load_demo() -> Summary:
    """Add whatever part of the demo campaign is missing, in one transaction."""
    audit.set_actor(None, "demo")
    summary = Summary()
    zones = _load_zones()
    users = _load_accounts()
    db.session.flush()
    shops = _load_shops()
    db.session.flush()
    paper, patrols, day_hazards, night_hazards = _load_fieldwork()
    db.session.commit()
    audit.set_actor(None, None)
    zone_count = db.session.scalar(sa.select(sa.func.count()).select_from(Zone))
    road_count = db.session.scalar(sa.select(sa.func.count()).select_from(Road))
    summary.lines.append(f"zones: {zone_count} ({zones} new), roads: {road_count}")
    summary.lines.append(f"staff accounts: {len(DEMO_ACCOUNTS)} ({users} new)")
    shop_count = db.session.scalar(sa.select(sa.func.count()).select_from(Shop))
    sign_count = db.session.scalar(sa.select(sa.func.count()).select_from(Sign))
    summary.lines.append(f"shops on the ledger: {shop_count} ({shops} new), signs: {sign_count}")
    summary.lines.append(f"notices and commitments: {paper} new; patrols: {patrols} new")
    summary.lines.append(
        f"hazards: {day_hazards} new from day patrols, {night_hazards} new from night patrols"
    )
    return summary
