"""The ledger's shops and signs: inspectors read and write their zones', supervisors and admins all."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import g
from flask.views import MethodView

from signage.core import reads
from signage.core.access import STAFF, read_only, roles
from signage.core.api import Blueprint
from signage.core.db import db, in_list
from signage.core.errors import Problem, field_error, get_or_404
from signage.core.etag import check_if_match, etag, requires_if_match
from signage.core.pagination import after_keys, keyset_page, page_schema, prepared_page
from signage.core.scope import filter_zone_id, in_readable_zones, readable_zone_ids, require_zone
from signage.ledger import service
from signage.ledger.coords import to_wgs84
from signage.ledger.models import Shop, Sign, SignVersion
from signage.ledger.schemas import (
    ShopCreateSchema,
    ShopQueryArgsSchema,
    ShopSchema,
    ShopUpdateSchema,
    SignCreateSchema,
    SignQueryArgsSchema,
    SignSchema,
    SignUpdateSchema,
    SignVersionCreateSchema,
    SignVersionSchema,
)
from signage.zones.models import Road, Zone

blp = Blueprint("ledger", __name__, url_prefix="/api/v1", description="The ledger: shops and signs")


def shop_rows(stmt: sa.Select) -> sa.Select:
    """stmt's shops as plain rows of what ShopSchema shows, the zone code and road name joined in.

    Reads that only show shops skip records (identity map, instance state, a record each for the
    zone and road): profiled, that was most of the Python time of a page of shops.
    """
    return (
        stmt.with_only_columns(*Shop.__table__.c, Zone.code.label("zone_code"), Road.name.label("road_name"))
        .join(Zone, Zone.id == Shop.zone_id)
        .outerjoin(Road, Road.id == Shop.road_id)
    )


# Built once (the hot reads): building and keying a statement per request cost as much as running it.
SHOP_BY_ID = reads.Prepared(shop_rows(sa.select(Shop)).where(Shop.id == sa.bindparam("shop_id")))
SIGN_BY_ID = reads.Prepared(sa.select(*Sign.__table__.c).where(Sign.id == sa.bindparam("sign_id")))
VERSION_OF_SIGN = reads.Prepared(
    sa.select(*SignVersion.__table__.c).where(
        SignVersion.sign_id == sa.bindparam("sign_id"), SignVersion.id == sa.bindparam("version_id")
    )
)
VERSIONS_OF_SIGN = reads.Prepared(
    sa.select(*SignVersion.__table__.c)
    .where(SignVersion.sign_id == sa.bindparam("sign_id"))
    .order_by(SignVersion.version_no.desc())
)


def _shops_where(filters: frozenset[str]) -> sa.Select:
    """Shops narrowed by the list's filters, their values left as parameters: zones (those the
    user may read), zone_id, road_id, status, like (name or address), since."""
    stmt = sa.select(Shop)
    if "zones" in filters:
        stmt = stmt.where(in_list(Shop.zone_id, "zones"))
    if "zone_id" in filters:
        stmt = stmt.where(Shop.zone_id == sa.bindparam("zone_id"))
    if "road_id" in filters:
        stmt = stmt.where(Shop.road_id == sa.bindparam("road_id"))
    if "status" in filters:
        stmt = stmt.where(Shop.status == sa.bindparam("status"))
    if "like" in filters:
        like = sa.bindparam("like", type_=sa.String)
        stmt = stmt.where(sa.or_(sa.func.lower(Shop.name).like(like), sa.func.lower(Shop.address).like(like)))
    if "since" in filters:
        stmt = stmt.where(Shop.updated_at >= sa.bindparam("since"))
    return stmt


def _shop_keys(filters: frozenset[str]) -> list:
    """What pages of shops are ordered by: change time when following changes (since), else
    registration."""
    return [Shop.updated_at, Shop.id] if "since" in filters else [Shop.created_at, Shop.id]


@functools.lru_cache(maxsize=256)
def _shop_page(filters: frozenset[str], after: bool, limit: int) -> reads.Prepared:
    """A page of shops of one shape (which filters, after a cursor or not, how many), built once:
    building and keying the statement anew cost about as much as running it (profiled)."""
    keys = _shop_keys(filters)
    stmt = _shops_where(filters)
    if after:
        stmt = after_keys(stmt, keys)
    # The LIMIT written in, as inline_limit does; the page size is part of the shape.
    return reads.Prepared(shop_rows(stmt).order_by(*keys).limit(sa.literal_column(str(int(limit) + 1))))


def _shop(shop_id) -> Shop:
    """A shop the signed-in user may work on (inspectors: their zones', else 403)."""
    shop = get_or_404(Shop, shop_id, "shop")
    require_zone(g.current_user, shop.zone_id)
    return shop


def _sign(sign_id) -> Sign:
    """A sign the signed-in user may work on (inspectors: their zones', else 403)."""
    sign = get_or_404(Sign, sign_id, "sign")
    require_zone(g.current_user, sign.zone_id)
    return sign


def _sign_row(sign_id):
    """A sign the signed-in user may read, as a plain row (read-only views)."""
    sign = SIGN_BY_ID.first(sign_id=sign_id)
    if sign is None:
        raise Problem(404, "No such sign.")
    require_zone(g.current_user, sign.zone_id)
    return sign


@blp.route("/shops")
class Shops(MethodView):
    @read_only
    @roles(*STAFF)
    @blp.arguments(ShopQueryArgsSchema, location="query")
    @blp.response(200, page_schema(ShopSchema, "ShopPage"))
    def get(self, args):
        """List shops: by zone, road, text, status, change time, or near a point."""
        zones = readable_zone_ids(g.current_user)
        params: dict = {"zones": sorted(zones)} if zones is not None else {}
        if "zone" in args:
            params["zone_id"] = filter_zone_id(g.current_user, args["zone"])
        if "road" in args:
            params["road_id"] = args["road"]
        if "status" in args:
            params["status"] = args["status"]
        if "q" in args:
            params["like"] = f"%{args['q'].lower()}%"
        if "updated_since" in args:
            params["since"] = args["updated_since"]
        if "near" in args:
            lat, lng = (float(x) for x in args["near"].split(","))
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise field_error("near", "latitude or longitude out of range")
            lat, lng = to_wgs84(lat, lng, args["coord_system"])
            stmt = _shops_where(frozenset(params))
            found = service.near(stmt, lat, lng, args["radius"], args["limit"], params)
            rows = reads.connection().execute(
                shop_rows(stmt).where(Shop.id.in_([i for i, _ in found])), params
            )
            by_id = {row.id: row for row in rows}
            # A shop gone since the candidates were read (a read-only view holds no snapshot) is left out.
            items = [{**by_id[i]._mapping, "distance_m": d} for i, d in found if i in by_id]
            return {"items": items, "next": None}
        shape = frozenset(params)
        items, nxt = prepared_page(
            lambda after, limit: _shop_page(shape, after, limit),
            params,
            keys=_shop_keys(shape),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next": nxt}

    @roles(*STAFF)
    @blp.arguments(ShopCreateSchema)
    @blp.response(201, ShopSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Register a shop (409 if it looks like one already on the ledger)."""
        shop = service.create_shop(actor=g.current_user, **body)
        db.session.commit()
        return shop, 201, {"ETag": etag(shop), "Location": f"/api/v1/shops/{shop.id}"}


@blp.route("/shops/<uuid:shop_id>")
class ShopById(MethodView):
    @read_only
    @roles(*STAFF)
    @blp.response(200, ShopSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, shop_id):
        """Get one shop."""
        shop = SHOP_BY_ID.first(shop_id=shop_id)
        if shop is None:
            raise Problem(404, "No such shop.")
        require_zone(g.current_user, shop.zone_id)
        return shop, 200, {"ETag": etag(shop)}

    @roles(*STAFF)
    @requires_if_match
    @blp.arguments(ShopUpdateSchema)
    @blp.response(200, ShopSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, body, shop_id):
        """Change a shop."""
        shop = _shop(shop_id)
        check_if_match(shop, ShopSchema())
        service.update_shop(shop, body, actor=g.current_user)
        db.session.commit()
        return shop, 200, {"ETag": etag(shop)}


@blp.route("/signs")
class Signs(MethodView):
    @read_only
    @roles(*STAFF)
    @blp.arguments(SignQueryArgsSchema, location="query")
    @blp.response(200, page_schema(SignSchema, "SignPage"))
    def get(self, args):
        """List signs: by shop, zone, road, kind, status, lit, change time."""
        stmt = sa.select(*Sign.__table__.c).where(in_readable_zones(g.current_user, Sign.zone_id))
        if "zone" in args:
            stmt = stmt.where(Sign.zone_id == filter_zone_id(g.current_user, args["zone"]))
        for arg, column in (("shop", Sign.shop_id), ("road", Sign.road_id), ("kind", Sign.kind)):
            if arg in args:
                stmt = stmt.where(column == args[arg])
        for arg in ("status", "lit"):
            if arg in args:
                stmt = stmt.where(getattr(Sign, arg) == args[arg])
        if "updated_since" in args:
            stmt = stmt.where(Sign.updated_at >= args["updated_since"])
            keys, key_of = [Sign.updated_at, Sign.id], lambda s: [s.updated_at, s.id]
        else:
            keys, key_of = [Sign.created_at, Sign.id], lambda s: [s.created_at, s.id]
        items, nxt = keyset_page(
            stmt, keys=keys, key_of=key_of, limit=args["limit"], cursor=args["cursor"], scalars=False
        )
        return {"items": items, "next": nxt}

    @roles(*STAFF)
    @blp.arguments(SignCreateSchema)
    @blp.response(201, SignSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Register a sign with its first version (and photo)."""
        sign = service.create_sign(actor=g.current_user, **body)
        db.session.commit()
        return sign, 201, {"ETag": etag(sign), "Location": f"/api/v1/signs/{sign.id}"}


@blp.route("/signs/<uuid:sign_id>")
class SignById(MethodView):
    @read_only
    @roles(*STAFF)
    @blp.response(200, SignSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, sign_id):
        """Get one sign."""
        sign = _sign_row(sign_id)
        return sign, 200, {"ETag": etag(sign)}

    @roles(*STAFF)
    @requires_if_match
    @blp.arguments(SignUpdateSchema)
    @blp.response(200, SignSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, body, sign_id):
        """Change a sign; new content (with its photo) becomes a new version."""
        sign = _sign(sign_id)
        check_if_match(sign, SignSchema())
        service.change_sign(sign, body, actor=g.current_user)
        db.session.commit()
        return sign, 200, {"ETag": etag(sign)}

    @roles(*STAFF)
    @requires_if_match
    @blp.response(200, SignSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, sign_id):
        """Remove a sign: it stays in the ledger, marked removed, with its history."""
        sign = _sign(sign_id)
        check_if_match(sign, SignSchema())
        service.remove_sign(sign, actor=g.current_user)
        db.session.commit()
        return sign, 200, {"ETag": etag(sign)}


@blp.route("/signs/<uuid:sign_id>/versions")
class SignVersions(MethodView):
    @read_only
    @roles(*STAFF)
    @blp.response(200, SignVersionSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, sign_id):
        """The sign's content history, newest first."""
        _sign_row(sign_id)
        return VERSIONS_OF_SIGN.all(sign_id=sign_id)

    @roles(*STAFF)
    @blp.arguments(SignVersionCreateSchema)
    @blp.response(201, SignVersionSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body, sign_id):
        """Record a new or replaced sign on the spot: its new content and photo."""
        sign = _sign(sign_id)
        version_id = body.pop("id", None)
        before = sign.current_version_no
        service.change_sign(sign, body, actor=g.current_user, version_id=version_id)
        if sign.current_version_no == before:
            raise field_error("text", "nothing changed: send the sign's new content")
        db.session.commit()
        version = db.session.scalar(
            sa.select(SignVersion).where(
                SignVersion.sign_id == sign.id, SignVersion.version_no == sign.current_version_no
            )
        )
        return version, 201, {"Location": f"/api/v1/signs/{sign.id}/versions/{version.id}"}


@blp.route("/signs/<uuid:sign_id>/versions/<uuid:version_id>")
class SignVersionById(MethodView):
    @read_only
    @roles(*STAFF)
    @blp.response(200, SignVersionSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, sign_id, version_id):
        """One version of the sign's content (a phone whose answer to recording it was lost
        is answered with it)."""
        _sign_row(sign_id)
        found = VERSION_OF_SIGN.first(sign_id=sign_id, version_id=version_id)
        if found is None:
            raise Problem(404, "No such version of this sign.")
        return found
