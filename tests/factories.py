"""Test data set-up through the models (assertions still go through HTTP)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from signage.accounts.models import User
from signage.core.db import db
from signage.ledger.models import Shop, Sign, SignVersion
from signage.photos.models import Photo, PhotoUpload
from signage.zones.models import Road, Zone

# Around Guali town centre, inside the default service area.
GL_CENTRE = (30.1800, 120.4600)


def zone(code: str = "GL", name: str = "瓜沥集镇", centre=GL_CENTRE) -> Zone:
    """Get or create a zone by code."""
    found = db.session.scalar(sa.select(Zone).where(Zone.code == code))
    if found:
        return found
    found = Zone(code=code, name=name, center_lat=centre[0], center_lng=centre[1])
    db.session.add(found)
    db.session.flush()
    return found


def road(zone_code: str = "GL", name: str = "航坞路") -> Road:
    """Get or create a road in a zone."""
    z = zone(zone_code)
    found = db.session.scalar(sa.select(Road).where(Road.zone_id == z.id, Road.name == name))
    if found:
        return found
    found = Road(zone_id=z.id, name=name)
    db.session.add(found)
    db.session.flush()
    return found


def _someone() -> uuid.UUID:
    user = db.session.scalar(sa.select(User).order_by(User.created_at))
    if user is None:
        user = User(username=f"factory-{uuid.uuid4().hex[:6]}", role="admin")
        db.session.add(user)
        db.session.flush()
    return user.id


def shop(
    name: str = "阿芳小吃店",
    *,
    zone_code: str = "GL",
    road_name: str = "航坞路",
    lat: float = GL_CENTRE[0],
    lng: float = GL_CENTRE[1],
    owner_phone: str | None = "13800000001",
    **fields,
) -> Shop:
    """A shop on a road (zone and road made as needed)."""
    r = road(zone_code, road_name)
    s = Shop(
        name=name,
        zone_id=r.zone_id,
        road_id=r.id,
        side=fields.pop("side", "north"),
        address=fields.pop("address", f"{road_name}1号"),
        lat=lat,
        lng=lng,
        owner_name=fields.pop("owner_name", "沈阿芳"),
        owner_phone=owner_phone,
        registered_by_id=fields.pop("registered_by_id", None) or _someone(),
        **fields,
    )
    db.session.add(s)
    db.session.flush()
    return s


def sign(
    shop_obj: Shop, *, kind: str = "shop_sign", text: str | None = None, lit: bool = False, **fields
) -> Sign:
    """A sign on a shop, with its first version."""
    by = fields.pop("created_by_id", None) or _someone()
    s = Sign(
        shop_id=shop_obj.id,
        zone_id=shop_obj.zone_id,
        road_id=shop_obj.road_id,
        kind=kind,
        text=text if text is not None else shop_obj.name,
        width_m=fields.pop("width_m", 4.0),
        height_m=fields.pop("height_m", 0.8),
        height_above_ground_m=fields.pop("height_above_ground_m", 3.0),
        lit=lit,
        lat=fields.pop("lat", shop_obj.lat),
        lng=fields.pop("lng", shop_obj.lng),
        created_by_id=by,
        **fields,
    )
    db.session.add(s)
    db.session.flush()
    db.session.add(
        SignVersion(
            sign_id=s.id,
            version_no=1,
            kind=s.kind,
            text=s.text,
            width_m=s.width_m,
            height_m=s.height_m,
            height_above_ground_m=s.height_above_ground_m,
            lit=s.lit,
            recorded_by_id=by,
        )
    )
    db.session.flush()
    return s


def photo(*, taken_at=None, lat: float | None = None, lng: float | None = None, uploaded_by_id=None) -> Photo:
    """A stored photo's record with the EXIF evidence given (no bytes are stored)."""
    digest = uuid.uuid4().hex * 2
    p = Photo(
        sha256=digest,
        mime="image/jpeg",
        size=1000,
        width=800,
        height=600,
        taken_at=taken_at,
        gps_lat=lat,
        gps_lng=lng,
        original_key=f"originals/{digest}",
        thumbnail_key=f"thumbs/{digest}",
        uploaded_by_id=uploaded_by_id or _someone(),
    )
    db.session.add(p)
    db.session.flush()
    # As a real upload does: the sender's upload row, by which they may see and use it.
    db.session.add(PhotoUpload(photo_id=p.id, user_id=p.uploaded_by_id))
    db.session.flush()
    return p
