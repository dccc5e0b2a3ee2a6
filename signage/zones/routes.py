"""Zones and roads: managed by admins, read by all staff."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView

from signage.core.access import STAFF, roles
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.errors import Problem, get_or_404
from signage.core.etag import check_if_match, etag, requires_if_match
from signage.core.pagination import keyset_page, page_schema
from signage.core.scope import known_zone_id
from signage.zones.models import Road, Zone
from signage.zones.schemas import (
    RoadQueryArgsSchema,
    RoadSchema,
    RoadUpdateSchema,
    ZoneSchema,
    ZoneUpdateSchema,
)

blp = Blueprint("zones", __name__, url_prefix="/api/v1", description="Zones and roads")


@blp.route("/zones")
class Zones(MethodView):
    @roles(*STAFF)
    @blp.response(200, ZoneSchema(many=True))
    def get(self):
        """List the zones."""
        return db.session.scalars(sa.select(Zone).order_by(Zone.code)).all()

    @roles("admin")
    @blp.arguments(ZoneSchema)
    @blp.response(201, ZoneSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Add a zone."""
        if db.session.scalar(sa.select(Zone.id).where(Zone.code == body["code"])):
            raise Problem(409, f"Zone {body['code']} exists.", errors={"code": ["is taken"]})
        zone = Zone(**body)
        db.session.add(zone)
        db.session.commit()
        return zone, 201, {"ETag": etag(zone)}


@blp.route("/zones/<uuid:zone_id>")
class ZoneById(MethodView):
    @roles(*STAFF)
    @blp.response(200, ZoneSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, zone_id):
        """Get one zone."""
        zone = get_or_404(Zone, zone_id)
        return zone, 200, {"ETag": etag(zone)}

    @roles("admin")
    @requires_if_match
    @blp.arguments(ZoneUpdateSchema)
    @blp.response(200, ZoneSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, body, zone_id):
        """Change a zone."""
        zone = get_or_404(Zone, zone_id)
        check_if_match(zone, ZoneSchema())
        for key, value in body.items():
            setattr(zone, key, value)
        db.session.commit()
        return zone, 200, {"ETag": etag(zone)}


@blp.route("/roads")
class Roads(MethodView):
    @roles(*STAFF)
    @blp.arguments(RoadQueryArgsSchema, location="query")
    @blp.response(200, page_schema(RoadSchema, "RoadPage"))
    def get(self, args):
        """List roads, optionally of one zone (every zone's roads are open to all staff)."""
        stmt = sa.select(Road).options(sa.orm.joinedload(Road.zone))
        if "zone" in args:
            stmt = stmt.where(Road.zone_id == known_zone_id(args["zone"]))
        items, nxt = keyset_page(
            stmt,
            keys=[Road.name, Road.id],
            key_of=lambda r: [r.name, r.id],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next": nxt}

    @roles("admin")
    @blp.arguments(RoadSchema)
    @blp.response(201, RoadSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Add a road to a zone."""
        zone = db.session.get(Zone, body["zone_id"])
        if zone is None:
            raise Problem(422, "zone_id: no such zone", errors={"zone_id": ["no such zone"]})
        if db.session.scalar(sa.select(Road.id).where(Road.zone_id == zone.id, Road.name == body["name"])):
            raise Problem(
                409, f"{zone.name} already has a road named {body['name']}.", errors={"name": ["is taken"]}
            )
        road = Road(**body)
        db.session.add(road)
        db.session.commit()
        return road, 201, {"ETag": etag(road)}


@blp.route("/roads/<uuid:road_id>")
class RoadById(MethodView):
    @roles(*STAFF)
    @blp.response(200, RoadSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, road_id):
        """Get one road."""
        road = get_or_404(Road, road_id)
        return road, 200, {"ETag": etag(road)}

    @roles("admin")
    @requires_if_match
    @blp.arguments(RoadUpdateSchema)
    @blp.response(200, RoadSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, body, road_id):
        """Change a road."""
        road = get_or_404(Road, road_id)
        check_if_match(road, RoadSchema())
        for key, value in body.items():
            setattr(road, key, value)
        db.session.commit()
        return road, 200, {"ETag": etag(road)}
