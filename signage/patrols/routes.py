"""Patrols: start, send the track, record visits, end; and the plan of what to visit next."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, request
from flask.views import MethodView

from signage.core import clock, idempotency
from signage.core.access import STAFF, roles
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.errors import Problem, get_or_404
from signage.core.etag import IF_MATCH_PARAM, check_if_match, etag
from signage.core.location import in_service_area
from signage.core.pagination import PageArgsSchema, keyset_page, page_schema
from signage.core.scope import filter_zone_id, in_readable_zones, require_zone
from signage.patrols import plan as planner
from signage.patrols import service
from signage.patrols.models import Patrol, Visit, patrol_members
from signage.patrols.schemas import (
    PatrolCreateSchema,
    PatrolEndSchema,
    PatrolQueryArgsSchema,
    PatrolSchema,
    PlanArgsSchema,
    PlanSchema,
    TrackBatchSchema,
    TrackResultSchema,
    TrackSchema,
    VisitCreateSchema,
    VisitSchema,
)
from signage.zones.models import Zone

blp = Blueprint("patrols", __name__, url_prefix="/api/v1/patrols", description="Day and night patrols")

FIELD = ("inspector", "supervisor")


def _patrol(patrol_id) -> Patrol:
    """A patrol the signed-in user may see (inspectors: their zones', else 403)."""
    patrol = get_or_404(Patrol, patrol_id, "patrol")
    require_zone(g.current_user, patrol.zone_id)
    return patrol


@blp.route("")
class Patrols(MethodView):
    @roles(*STAFF)
    @blp.arguments(PatrolQueryArgsSchema, location="query")
    @blp.response(200, page_schema(PatrolSchema, "PatrolPage"))
    def get(self, args):
        """List patrols, newest start last, by zone, shift, member or whether under way."""
        zone_id = filter_zone_id(g.current_user, args.get("zone"))
        stmt = (
            sa.select(Patrol)
            .options(sa.orm.selectinload(Patrol.members), sa.orm.joinedload(Patrol.zone))
            .where(in_readable_zones(g.current_user, Patrol.zone_id))
        )
        if zone_id is not None:
            stmt = stmt.where(Patrol.zone_id == zone_id)
        if "shift" in args:
            stmt = stmt.where(Patrol.shift == args["shift"])
        if "member" in args:
            stmt = stmt.where(
                Patrol.id.in_(
                    sa.select(patrol_members.c.patrol_id).where(patrol_members.c.user_id == args["member"])
                )
            )
        if "active" in args:
            stmt = stmt.where(Patrol.ended_at.is_(None) if args["active"] else Patrol.ended_at.is_not(None))
        if "updated_since" in args:
            stmt = stmt.where(Patrol.updated_at >= args["updated_since"])
        items, nxt = keyset_page(
            stmt,
            keys=[Patrol.started_at, Patrol.id],
            key_of=lambda p: [p.started_at, p.id],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next": nxt}

    @roles(*FIELD)
    @blp.arguments(PatrolCreateSchema)
    @blp.response(201, PatrolSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Start a patrol on the day or night shift in a zone."""
        patrol = service.start_patrol(actor=g.current_user, **body)
        db.session.commit()
        return patrol, 201, {"ETag": etag(patrol), "Location": f"/api/v1/patrols/{patrol.id}"}


@blp.route("/plan")
class PatrolPlan(MethodView):
    @roles(*STAFF)
    @blp.arguments(PlanArgsSchema, location="query")
    @blp.response(200, PlanSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args):
        """What to visit next in a zone on a shift, as a nearest-next walking route from a start point."""
        zone = db.session.scalar(sa.select(Zone).where(Zone.code == args["zone"]))
        if zone is None:
            raise Problem(404, f"No zone with code {args['zone']}.")
        require_zone(g.current_user, zone.id)
        if "lat" in args:
            start = in_service_area(args["lat"], args["lng"], args["coord_system"])
        elif zone.center_lat is not None and zone.center_lng is not None:
            start = (zone.center_lat, zone.center_lng)
        else:
            raise Problem(
                422, "lat: the zone has no centre; send a start point", errors={"lat": ["required"]}
            )
        return planner.plan(zone=zone, shift=args["shift"], start=start, now=clock.now(), limit=args["limit"])


@blp.route("/<uuid:patrol_id>")
class PatrolById(MethodView):
    @roles(*STAFF)
    @blp.response(200, PatrolSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, patrol_id):
        """Get one patrol with its distance, duration and shops visited."""
        patrol = _patrol(patrol_id)
        return patrol, 200, {"ETag": etag(patrol)}


@blp.route("/<uuid:patrol_id>/end", methods=["POST"])
@roles(*STAFF)
@blp.arguments(PatrolEndSchema)
@blp.response(200, PatrolSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(412, response="PRECONDITION_FAILED")
@blp.doc(parameters=[{**IF_MATCH_PARAM, "required": False}])
def end_patrol(body, patrol_id):
    """End a patrol (If-Match optional: a stale one is refused with 412)."""
    patrol = _patrol(patrol_id)
    _optional_if_match(patrol)
    service.end_patrol(patrol=patrol, actor=g.current_user, **body)
    db.session.commit()
    return patrol, 200, {"ETag": etag(patrol)}


def _optional_if_match(patrol: Patrol) -> None:
    # Ending only sets ended_at, so no update can be lost; a phone that sends its ETag still
    # learns (412) that the patrol changed, e.g. a partner ended it.
    if request.headers.get("If-Match"):
        check_if_match(patrol, PatrolSchema())


@blp.route("/<uuid:patrol_id>/track")
class PatrolTrack(MethodView):
    @roles(*STAFF)
    @blp.response(200, TrackSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, patrol_id):
        """The patrol's GPS track in time order."""
        patrol = _patrol(patrol_id)
        return {"patrol_id": patrol.id, "distance_m": patrol.distance_m, "points": service.track(patrol)}

    @roles(*STAFF)
    @blp.arguments(TrackBatchSchema)
    @blp.response(200, TrackResultSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body, patrol_id):
        """Send a batch of GPS fixes (any order; repeats skipped); the server updates the distance."""
        # Fixes already stored are skipped, so running an upload again is harmless: a retry
        # whose first answer was lost runs again instead of being refused as applied.
        idempotency.rerun_safe()
        patrol = _patrol(patrol_id)
        result = service.add_track_points(
            patrol=patrol, actor=g.current_user, points=body["points"], coord_system=body["coord_system"]
        )
        db.session.commit()
        return result, 200, {"ETag": etag(patrol)}


@blp.route("/<uuid:patrol_id>/visits")
class PatrolVisits(MethodView):
    @roles(*STAFF)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(VisitSchema, "VisitPage"))
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args, patrol_id):
        """The patrol's visits in time order."""
        patrol = _patrol(patrol_id)
        items, nxt = keyset_page(
            sa.select(Visit).where(Visit.patrol_id == patrol.id),
            keys=[Visit.visited_at, Visit.id],
            key_of=lambda v: [v.visited_at, v.id],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next": nxt}

    @roles(*STAFF)
    @blp.arguments(VisitCreateSchema)
    @blp.response(201, VisitSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body, patrol_id):
        """Record a visit to a shop of the patrol's zone."""
        patrol = _patrol(patrol_id)
        visit = service.record_visit(patrol=patrol, actor=g.current_user, **body)
        db.session.commit()
        return visit, 201, {"Location": f"/api/v1/patrols/{patrol.id}/visits/{visit.id}"}


@blp.route("/<uuid:patrol_id>/visits/<uuid:visit_id>")
class PatrolVisitById(MethodView):
    @roles(*STAFF)
    @blp.response(200, VisitSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, patrol_id, visit_id):
        """One visit of the patrol (a phone whose answer to recording it was lost is answered
        with it)."""
        patrol = _patrol(patrol_id)
        visit = db.session.get(Visit, visit_id)
        if visit is None or visit.patrol_id != patrol.id:
            raise Problem(404, "No such visit on this patrol.")
        return visit
