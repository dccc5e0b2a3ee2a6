"""The change feed phones pull and the batch they upload after working offline."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from signage.core import idempotency
from signage.core.access import STAFF, roles, signed_in
from signage.core.api import Blueprint
from signage.core.scope import filter_zone_id, zone_ids
from signage.sync import batch, feed
from signage.sync.schemas import ChangesArgsSchema, ChangesSchema, SyncRequestSchema, SyncResultSchema

blp = Blueprint(
    "sync", __name__, url_prefix="/api/v1", description="Offline phones: change feed and batch upload"
)


@blp.route("/changes")
class Changes(MethodView):
    @roles(*STAFF)
    @blp.arguments(ChangesArgsSchema, location="query")
    @blp.response(200, ChangesSchema)
    def get(self, args):
        """Changes in your zones since the cursor: records created or changed, and tombstones."""
        user = g.current_user
        zones = None if user.role in ("admin", "supervisor") else zone_ids(user)
        if "zone" in args:
            zones = {filter_zone_id(user, args["zone"])}
        return feed.changes(cursor=args["cursor"], limit=args["limit"], zone_ids=zones)


@blp.route("/sync")
class Sync(MethodView):
    @signed_in
    @blp.arguments(SyncRequestSchema)
    @blp.response(200, SyncResultSchema)
    def post(self, body):
        """Upload operations recorded offline; each gets its own result, in order."""
        # Each operation is recognised on its own when the batch comes again, so a batch whose
        # answer was lost may simply run again.
        idempotency.rerun_safe()
        return batch.run_batch(body["operations"])
