"""Hazards: report, list (overdue and filters), one, its history, and the lifecycle actions."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from signage.core.access import STAFF, roles, signed_in
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.etag import check_if_match, etag, requires_if_match
from signage.core.pagination import keyset_page, page_schema
from signage.hazards import service
from signage.hazards.lifecycle import apply_action
from signage.hazards.models import Hazard
from signage.hazards.schemas import (
    FLAG_READERS,
    FixOnSpotSchema,
    HazardCreateSchema,
    HazardQueryArgsSchema,
    HazardSchema,
    HistorySchema,
    NotifySchema,
    ReopenSchema,
    SubmitFixSchema,
    VerifySchema,
)

blp = Blueprint(
    "hazards",
    __name__,
    url_prefix="/api/v1/hazards",
    description="Hazards on signs, followed from finding to verified fix",
)

LIFECYCLE_DOC = (
    "Refused with 409 (naming the current `state` and its `allowed_actions`) when the "
    "lifecycle does not allow the action from the current state. Send If-Match with the "
    "hazard's ETag: 428 without it, 412 when stale."
)


@blp.route("")
class Hazards(MethodView):
    @signed_in
    @blp.arguments(HazardQueryArgsSchema, location="query")
    @blp.response(200, page_schema(HazardSchema, "HazardPage"))
    @blp.alt_response(403, response="FORBIDDEN")
    def get(self, args):
        """List hazards (owners: their shops'; inspectors: their zones'), by overdue, zone, road, state..."""
        stmt = service.filtered(g.current_user, args)
        if "updated_since" in args:
            keys, key_of = [Hazard.updated_at, Hazard.id], lambda h: [h.updated_at, h.id]
        else:
            keys, key_of = [Hazard.found_at, Hazard.id], lambda h: [h.found_at, h.id]
        items, nxt = keyset_page(stmt, keys=keys, key_of=key_of, limit=args["limit"], cursor=args["cursor"])
        return {"items": items, "next": nxt}

    @roles(*STAFF)
    @blp.arguments(HazardCreateSchema)
    @blp.response(201, HazardSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Report a hazard on a sign; its deadline defaults from the deadline rules."""
        hazard = service.report_hazard(actor=g.current_user, **body)
        db.session.commit()
        return hazard, 201, {"ETag": etag(hazard), "Location": f"/api/v1/hazards/{hazard.id}"}


@blp.route("/<uuid:hazard_id>")
class HazardById(MethodView):
    @signed_in
    @blp.response(200, HazardSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, hazard_id):
        """Get one hazard (owners: their shops' only; inspectors: their zones')."""
        hazard = service.visible_hazard(g.current_user, hazard_id)
        return hazard, 200, {"ETag": etag(hazard)}


@blp.route("/<uuid:hazard_id>/events")
class HazardEvents(MethodView):
    @roles(*STAFF)
    @blp.response(200, HistorySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, hazard_id):
        """The hazard's full history: lifecycle steps and audit events, oldest first."""
        hazard = service.visible_hazard(g.current_user, hazard_id)
        show_flags = g.current_user.role in FLAG_READERS
        return {"hazard_id": hazard.id, "items": service.history(hazard, show_flags=show_flags)}


def _act(hazard_id, action: str, body: dict):
    hazard = service.visible_hazard(g.current_user, hazard_id)
    check_if_match(hazard, HazardSchema())
    apply_action(hazard=hazard, action=action, actor=g.current_user, **body)
    db.session.commit()
    return hazard, 200, {"ETag": etag(hazard)}


def _action_doc():
    """The responses every lifecycle action shares (roles are declared per action)."""

    def decorator(func):
        func = blp.alt_response(422, response="UNPROCESSABLE_ENTITY")(func)
        func = blp.alt_response(409, response="CONFLICT")(func)
        func = blp.alt_response(404, response="NOT_FOUND")(func)
        func = blp.alt_response(403, response="FORBIDDEN")(func)
        func = blp.response(200, HazardSchema)(func)
        func = blp.doc(description=LIFECYCLE_DOC)(func)
        return func

    return decorator


@blp.route("/<uuid:hazard_id>/notify", methods=["POST"])
@roles(*STAFF)
@requires_if_match
@blp.arguments(NotifySchema)
@_action_doc()
def notify_hazard(body, hazard_id):
    """Notify the merchant (reported → notified): how, the deadline, the immediate measure."""
    return _act(hazard_id, "notify", body)


@blp.route("/<uuid:hazard_id>/submit_fix", methods=["POST"])
@roles(*STAFF, "owner")
@requires_if_match
@blp.arguments(SubmitFixSchema)
@_action_doc()
def submit_hazard_fix(body, hazard_id):
    """Submit the fix with after-photos (notified → fix_submitted); owners for their own shop only."""
    return _act(hazard_id, "submit_fix", body)


@blp.route("/<uuid:hazard_id>/verify", methods=["POST"])
@roles(*STAFF)
@requires_if_match
@blp.arguments(VerifySchema)
@_action_doc()
def verify_hazard(body, hazard_id):
    """Verify the fix: pass (→ rectified) or fail with a reason (→ notified); lighting needs night proof."""
    return _act(hazard_id, "verify", body)


@blp.route("/<uuid:hazard_id>/fix_on_spot", methods=["POST"])
@roles(*STAFF)
@requires_if_match
@blp.arguments(FixOnSpotSchema)
@_action_doc()
def fix_hazard_on_spot(body, hazard_id):
    """Fixed on the spot: found and verified in one visit (reported → rectified)."""
    return _act(hazard_id, "fix_on_spot", body)


@blp.route("/<uuid:hazard_id>/reopen", methods=["POST"])
@roles("admin", "supervisor")
@requires_if_match
@blp.arguments(ReopenSchema)
@_action_doc()
def reopen_hazard(body, hazard_id):
    """Reopen a rectified case with a reason (rectified → notified), with a new deadline."""
    return _act(hazard_id, "reopen", body)
