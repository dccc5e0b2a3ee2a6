"""Deadline rules: how long a merchant gets, by category and severity; admins edit them."""

from __future__ import annotations

from flask.views import MethodView

from signage.core.access import STAFF, roles
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.errors import get_or_404
from signage.core.etag import check_if_match, etag, requires_if_match
from signage.hazards.models import DeadlineRule
from signage.hazards.rules import list_rules
from signage.hazards.schemas import DeadlineRuleSchema, DeadlineRuleUpdateSchema

blp = Blueprint(
    "deadline_rules",
    __name__,
    url_prefix="/api/v1/deadline-rules",
    description="Default rectification deadlines by hazard category and severity",
)


@blp.route("")
class DeadlineRules(MethodView):
    @roles(*STAFF)
    @blp.response(200, DeadlineRuleSchema(many=True))
    def get(self):
        """List every rule (one per category and severity)."""
        return list_rules()


@blp.route("/<uuid:rule_id>")
class DeadlineRuleById(MethodView):
    @roles(*STAFF)
    @blp.response(200, DeadlineRuleSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, rule_id):
        """Get one rule."""
        rule = get_or_404(DeadlineRule, rule_id, "deadline rule")
        return rule, 200, {"ETag": etag(rule)}

    @roles("admin")
    @requires_if_match
    @blp.arguments(DeadlineRuleUpdateSchema)
    @blp.response(200, DeadlineRuleSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, body, rule_id):
        """Change a rule's hours; hazards already reported keep their deadlines."""
        rule = get_or_404(DeadlineRule, rule_id, "deadline rule")
        check_if_match(rule, DeadlineRuleSchema())
        rule.hours = body["hours"]
        db.session.commit()
        return rule, 200, {"ETag": etag(rule)}
