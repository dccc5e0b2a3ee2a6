"""Set-up shared by the patrol and hazard tests: people, a shop with signs, photos, a fixed day.

Sign everyone in before moving the clock: access tokens are checked against real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from signage.accounts.models import User, owner_shops
from signage.accounts.tokens import start_session
from signage.core.db import db
from signage.photos.models import PhotoUpload
from tests import factories
from tests.helpers import bearer, make_user, sign_in

# 2024-04-10 in Guali: civil dusk about 18:48, civil dawn about 05:14 local (UTC+8).
DAY = datetime(2024, 4, 10, 2, 0, tzinfo=UTC)  # 10:00 local
NIGHT = datetime(2024, 4, 10, 13, 0, tzinfo=UTC)  # 21:00 local
SHOP_AT = factories.GL_CENTRE


def staff(app, client, username: str, role: str = "inspector", zones=("GL",)) -> dict:
    """A staff account in the given zones, signed in; returns its Authorization header."""
    with app.app_context():
        factories.zone("GL")
        factories.zone("DS", "党山集镇", (30.20, 120.50))
        db.session.commit()
    make_user(app, username, role, zones=zones if role == "inspector" else ())
    return bearer(sign_in(client, username))


def owner(app, username: str, shop_id) -> dict:
    """An owner account bound to a shop, signed in; returns its Authorization header."""
    make_user(app, username, "owner")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        db.session.execute(sa.insert(owner_shops).values(user_id=user.id, shop_id=shop_id))
        pair = start_session(user)
        db.session.commit()
    return bearer(pair)


def user_id(app, username: str):
    """The id of an account."""
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def shop_with_sign(app, name="阿芳小吃店", *, zone_code="GL", at=SHOP_AT, lit=False, road_name="航坞路"):
    """A shop and one sign on it; returns (shop_id, sign_id)."""
    with app.app_context():
        factories.zone("DS", "党山集镇", (30.20, 120.50))
        s = factories.shop(name, zone_code=zone_code, road_name=road_name, lat=at[0], lng=at[1])
        sign = factories.sign(s, lit=lit)
        db.session.commit()
        return s.id, sign.id


def photo(app, *, taken_at=None, at=SHOP_AT, uploaded_by=None):
    """A photo whose EXIF says it was taken at `at` (lat, lng) at taken_at; returns its id."""
    with app.app_context():
        lat, lng = at if at else (None, None)
        p = factories.photo(
            taken_at=taken_at,
            lat=lat,
            lng=lng,
            uploaded_by_id=user_id(app, uploaded_by) if uploaded_by else None,
        )
        if uploaded_by is None:
            # Sent by the team's inspectors: each may put it on a record (they may see it).
            inspectors = db.session.scalars(
                sa.select(User.id).where(User.role == "inspector", User.id != p.uploaded_by_id)
            )
            db.session.add_all(PhotoUpload(photo_id=p.id, user_id=i) for i in inspectors)
        db.session.commit()
        return p.id


def north_of(point, metres: float):
    """A point `metres` due north (1° of latitude is about 110.85 km near 30° N)."""
    return point[0] + metres / 110_850.0, point[1]


def iso(when: datetime) -> str:
    """ISO 8601 with offset, as a phone sends it."""
    return when.isoformat()


def later(when: datetime, **delta) -> datetime:
    """when plus a timedelta."""
    return when + timedelta(**delta)
