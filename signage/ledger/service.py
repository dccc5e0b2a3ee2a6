"""Ledger workflows: registering and changing shops and signs, keeping each sign's history."""

from __future__ import annotations

import math
import uuid

import sqlalchemy as sa
from geographiclib.geodesic import Geodesic

from signage.accounts.models import owner_shops
from signage.core import audit, clock, reads
from signage.core.db import db, with_defaults
from signage.core.errors import Problem, field_error
from signage.core.scope import require_zone
from signage.ledger.models import Shop, Sign, SignVersion
from signage.ledger.schemas import CONTENT_FIELDS
from signage.photos.service import usable_photo
from signage.zones.models import Road

# A second registration of the same name closer than this is taken to be the same shop.
DUPLICATE_RADIUS_M = 15.0
_M_PER_DEG_LAT = 111_320.0
# geopy's geodesic distance is this library's; called directly it costs a sixth as much.
_GEODESIC = Geodesic.WGS84
_WGS84_A, _WGS84_E2 = 6_378_137.0, 0.00669437999014
# The tangent-plane distance is good to a centimetre; within this of the edge the geodesic decides.
_SLACK_M = 1.0


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """South, west, north, east of a box that contains the circle (for the indexed prefilter)."""
    dlat = radius_m / _M_PER_DEG_LAT * 1.01
    dlng = radius_m / (_M_PER_DEG_LAT * max(math.cos(math.radians(lat)), 1e-6)) * 1.01
    return lat - dlat, lng - dlng, lat + dlat, lng + dlng


def flat_distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Distance on the WGS-84 ellipsoid's tangent plane: within a centimetre of geodesic up to 5 km.

    Meridian and prime-vertical radii at the mean latitude scale the degree differences; at the
    ranges searched here this agrees with the geodesic distance far below the 0.1 m shown
    (tests/unit/test_near.py checks it across the service area).
    """
    phi = math.radians((lat1 + lat2) / 2)
    w = 1 - _WGS84_E2 * math.sin(phi) ** 2
    north = math.radians(lat2 - lat1) * _WGS84_A * (1 - _WGS84_E2) / w**1.5
    east = math.radians(lng2 - lng1) * _WGS84_A / math.sqrt(w) * math.cos(phi)
    return math.hypot(north, east)


def geodesic_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The geodesic distance on WGS-84 (what geopy's geodesic gives, without its overhead)."""
    return _GEODESIC.Inverse(lat1, lng1, lat2, lng2, Geodesic.DISTANCE)["s12"]


def near(
    stmt: sa.Select, lat: float, lng: float, radius_m: float, limit: int, params: dict | None = None
) -> list[tuple[uuid.UUID, float]]:
    """(shop id, metres) of stmt's shops (its parameters in params) within radius of a point,
    nearest first.

    The indexed box gives candidates as bare (id, lat, lng) rows; the tangent-plane distance
    (centimetre-true here) ranks them and is the distance shown; the geodesic decides only the
    shops within a metre of the edge. Callers load the records or rows they show.
    """
    south, west, north, east = bounding_box(lat, lng, radius_m)
    box = stmt.where(Shop.lat.between(south, north), Shop.lng.between(west, east))
    found = []
    for p in reads.connection().execute(box.with_only_columns(Shop.id, Shop.lat, Shop.lng), params or {}):
        distance = flat_distance_m(lat, lng, p.lat, p.lng)
        if distance > radius_m + _SLACK_M:
            continue
        if distance > radius_m - _SLACK_M and geodesic_m(lat, lng, p.lat, p.lng) > radius_m:
            continue
        found.append((round(distance, 1), str(p.id), p.id))
    found.sort()
    return [(shop_id, distance) for distance, _, shop_id in found[:limit]]


def _road(road_id: uuid.UUID) -> Road:
    road = db.session.get(Road, road_id)
    if road is None:
        raise field_error("road_id", "no such road")
    return road


def _duplicate(data: dict, exclude: uuid.UUID | None = None) -> Shop | None:
    """A shop already on the ledger with the same credit code, or same name a few metres away;
    or one made earlier in this transaction and not written yet (a sync batch keeps its new
    shops back for one write at its end: they are looked at here, not written for the check)."""
    with db.session.no_autoflush:
        if data.get("credit_code"):
            stmt = sa.select(Shop).where(Shop.credit_code == data["credit_code"])
            if exclude:
                stmt = stmt.where(Shop.id != exclude)
            same_code = db.session.scalars(stmt.limit(1)).first()
            if same_code:
                return same_code
        if data.get("name") and data.get("lat") is not None:
            stmt = sa.select(Shop).where(Shop.name == data["name"])
            if exclude:
                stmt = stmt.where(Shop.id != exclude)
            close = near(stmt, data["lat"], data["lng"], DUPLICATE_RADIUS_M, 1)
            if close:
                return db.session.get(Shop, close[0][0])
    return next((shop for shop in db.session.new if _same_shop(shop, data, exclude)), None)


def _same_shop(shop, data: dict, exclude: uuid.UUID | None) -> bool:
    """Whether an unwritten record is a shop that data duplicates (as `_duplicate` judges)."""
    if not isinstance(shop, Shop) or shop.id == exclude:
        return False
    if data.get("credit_code") and shop.credit_code == data["credit_code"]:
        return True
    return (
        bool(data.get("name"))
        and shop.name == data["name"]
        and data.get("lat") is not None
        and shop.lat is not None
        and geodesic_m(data["lat"], data["lng"], shop.lat, shop.lng) <= DUPLICATE_RADIUS_M
    )


def _refuse_duplicate(existing: Shop) -> None:
    raise Problem(
        409,
        f"This looks like {existing.name} ({existing.address}) already on the ledger; "
        "send confirm_distinct: true if it is a different shop.",
        slug="duplicate-shop",
        existing={"id": str(existing.id), "name": existing.name, "address": existing.address},
    )


def create_shop(*, actor, confirm_distinct: bool = False, **data) -> Shop:
    """Register a shop on a road in the actor's zones; refuse a likely duplicate unless confirmed."""
    road = _road(data["road_id"])
    require_zone(actor, road.zone_id)
    if not confirm_distinct and (existing := _duplicate(data)):
        _refuse_duplicate(existing)
    shop = Shop(zone_id=road.zone_id, registered_by_id=actor.id, **data)
    db.session.add(shop)
    db.session.flush()
    return shop


def update_shop(shop: Shop, changes: dict, *, actor) -> Shop:
    """Change a shop; moving it to another road moves it to that road's zone."""
    require_zone(actor, shop.zone_id)
    if "road_id" in changes:
        road = _road(changes["road_id"])
        require_zone(actor, road.zone_id)
        shop.zone_id = road.zone_id
    code = changes.get("credit_code")
    if code and code != shop.credit_code and (existing := _duplicate({"credit_code": code}, exclude=shop.id)):
        _refuse_duplicate(existing)
    if "owner_phone" in changes and changes["owner_phone"] != shop.owner_phone:
        # Owner accounts were bound through the old number: the new owner signs in afresh.
        db.session.execute(sa.delete(owner_shops).where(owner_shops.c.shop_id == shop.id))
    for key, value in changes.items():
        setattr(shop, key, value)
    # Signs follow their shop's zone and road so zone-scoped lists stay right.
    if "road_id" in changes:
        for sign in shop.signs:
            sign.zone_id, sign.road_id = shop.zone_id, shop.road_id
    return shop


def _add_version(sign: Sign, *, actor, photo_id, note: str, recorded_at, version_id=None) -> SignVersion:
    version = SignVersion(
        id=version_id or uuid.uuid4(),
        sign_id=sign.id,
        version_no=sign.current_version_no,
        photo_id=photo_id,
        note=note,
        recorded_by_id=actor.id,
        recorded_at=recorded_at,
        **{key: getattr(sign, key) for key in CONTENT_FIELDS},
    )
    db.session.add(version)
    return version


def create_sign(*, actor, photo_id=None, note: str = "", **data) -> Sign:
    """Register a sign (of a shop, or standalone on a road) and its first version."""
    if data.get("shop_id"):
        shop = db.session.get(Shop, data["shop_id"])
        if shop is None:
            raise field_error("shop_id", "no such shop")
        zone_id = shop.zone_id
        if data.get("road_id") is None:
            data["road_id"] = shop.road_id
        elif _road(data["road_id"]).zone_id != zone_id:  # a corner shop's sign may face another road
            raise field_error("road_id", "the road is not in the shop's zone")
        if data.get("lat") is None:
            data["lat"], data["lng"] = shop.lat, shop.lng
    else:
        zone_id = _road(data["road_id"]).zone_id
        if not data.get("owner_name"):
            raise field_error("owner_name", "a standalone facility needs its owner's name")
    require_zone(actor, zone_id)
    photo_id = usable_photo(actor, photo_id, "photo_id")
    # Defaults now (id, version number, content) so the sign and its first version go in one flush.
    sign = with_defaults(Sign(zone_id=zone_id, created_by_id=actor.id, current_photo_id=photo_id, **data))
    db.session.add(sign)
    _add_version(
        sign, actor=actor, photo_id=photo_id, note=note or "registered", recorded_at=sign.recorded_at
    )
    db.session.flush()
    return sign


def change_sign(sign: Sign, changes: dict, *, actor, version_id=None) -> Sign:
    """Change a sign; a change of content is a new version, which needs a photo."""
    require_zone(actor, sign.zone_id)
    if sign.status == "removed":
        raise Problem(409, "The sign has been removed; register a new one.", slug="sign-removed")
    photo_id = usable_photo(actor, changes.pop("photo_id", None), "photo_id")
    note = changes.pop("note", "")
    recorded_at = changes.pop("recorded_at", None)
    content = {k: v for k, v in changes.items() if k in CONTENT_FIELDS and getattr(sign, k) != v}
    if content and photo_id is None:
        raise field_error("photo_id", "a change of the sign's content needs a photo of it")
    if photo_id is not None and not content:
        # Kept only with a new version: saying nothing would let the phone think it was stored.
        raise field_error("photo_id", "a photo is kept with a change of the sign's content; nothing changed")
    for key, value in changes.items():
        setattr(sign, key, value)
    if content:
        sign.current_version_no += 1
        sign.current_photo_id = photo_id
        audit.tag(sign, "new_version")
        _add_version(
            sign, actor=actor, photo_id=photo_id, note=note, recorded_at=recorded_at, version_id=version_id
        )
    return sign


def remove_sign(sign: Sign, *, actor) -> Sign:
    """Mark a sign removed; it stays in the ledger with its history."""
    require_zone(actor, sign.zone_id)
    if sign.status == "removed":
        raise Problem(409, "The sign is already removed.", slug="sign-removed")
    sign.status = "removed"
    sign.removed_at = clock.now()
    audit.tag(sign, "remove")
    return sign
