"""Read the audit trail."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView

from signage.core.access import roles
from signage.core.api import Blueprint
from signage.core.audit import Event
from signage.core.fields import AwareDateTime
from signage.core.pagination import PageArgsSchema, keyset_page, page_schema

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Audit trail")


class EventSchema(ma.Schema):
    """One recorded change."""

    id = ma.fields.Integer()
    occurred_at = AwareDateTime()
    actor_id = ma.fields.UUID(allow_none=True)
    actor_role = ma.fields.String(allow_none=True)
    entity = ma.fields.String()
    entity_id = ma.fields.String()
    action = ma.fields.String()
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    request_id = ma.fields.String(allow_none=True)


class EventQueryArgsSchema(PageArgsSchema):
    """Filters for the audit trail."""

    entity = ma.fields.String(
        validate=ma.validate.Length(max=40), metadata={"description": "e.g. user, shop"}
    )
    entity_id = ma.fields.String(validate=ma.validate.Length(max=64))
    action = ma.fields.String(validate=ma.validate.Length(max=40))
    actor_id = ma.fields.UUID()


@blp.route("")
class Events(MethodView):
    @roles("admin", "supervisor")
    @blp.arguments(EventQueryArgsSchema, location="query")
    @blp.response(200, page_schema(EventSchema, "EventPage"))
    def get(self, args):
        """List audit events, oldest first, filtered by entity, record, action or actor."""
        stmt = sa.select(Event)
        for key in ("entity", "entity_id", "action", "actor_id"):
            if key in args:
                stmt = stmt.where(getattr(Event, key) == args[key])
        items, nxt = keyset_page(
            stmt, keys=[Event.id], key_of=lambda e: [e.id], limit=args["limit"], cursor=args["cursor"]
        )
        return {"items": items, "next": nxt}
