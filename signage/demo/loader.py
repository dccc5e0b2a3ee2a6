"""The demo campaign: staff, zones and roads (later: shops, paperwork, hazards)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from signage.accounts import service as accounts
from signage.accounts.models import User
from signage.core import audit
from signage.core.db import db
from signage.demo.geography import ZONES
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


def load_demo() -> Summary:
    """Add whatever part of the demo campaign is missing, in one transaction."""
    audit.set_actor(None, "demo")
    summary = Summary()
    zones = _load_zones()
    users = _load_accounts()
    db.session.commit()
    zone_count = db.session.scalar(sa.select(sa.func.count()).select_from(Zone))
    road_count = db.session.scalar(sa.select(sa.func.count()).select_from(Road))
    summary.lines.append(f"zones: {zone_count} ({zones} new), roads: {road_count}")
    summary.lines.append(f"staff accounts: {len(DEMO_ACCOUNTS)} ({users} new)")
    return summary
