"""Hazard, action, history and deadline-rule schemas."""

from __future__ import annotations

import marshmallow as ma
from flask import g, has_request_context
from marshmallow import validate

from signage.catalog import ContactMethod, HazardCategory, HazardState, ImmediateMeasure, Severity, Shift
from signage.core.dump import LeanSchema
from signage.core.fields import AwareDateTime
from signage.core.pagination import PageArgsSchema
from signage.hazards.lifecycle import allowed_actions
from signage.patrols.schemas import LAT, LNG, client_id_field, coord_system_field, recorded_at_field

CATEGORY = validate.OneOf([c.value for c in HazardCategory])
SEVERITY = validate.OneOf([s.value for s in Severity])
SHIFT = validate.OneOf([s.value for s in Shift])
STATE = validate.OneOf([s.value for s in HazardState])
FLAG_READERS = frozenset({"admin", "supervisor"})


def _photo_ids(required: bool = False) -> ma.fields.List:
    extra = {"required": True} if required else {"load_default": list}
    return ma.fields.List(
        ma.fields.UUID(),
        validate=validate.Length(min=1 if required else 0, max=20),
        metadata={"description": "Ids of photos uploaded with POST /api/v1/photos"},
        **extra,
    )


class HazardPhotoSchema(LeanSchema):
    """A photo on a hazard, at the stage it was attached."""

    photo_id = ma.fields.UUID()
    stage = ma.fields.String(metadata={"description": "finding, fix or verification"})
    added_by_id = ma.fields.UUID()
    added_at = AwareDateTime()


class EvidenceFlagSchema(ma.Schema):
    """Why a photo's EXIF casts doubt on it (it was accepted all the same)."""

    photo_id = ma.fields.UUID()
    stage = ma.fields.String()
    code = ma.fields.String(
        metadata={
            "description": "far_from_sign (>100 m), taken_long_before (>1 day before receipt), "
            "taken_in_future, taken_before_finding (after-photos), no_gps, no_time"
        }
    )
    detail = ma.fields.String()
    distance_m = ma.fields.Float()
    age_hours = ma.fields.Float()


class HazardSchema(LeanSchema):
    """A hazard on a sign. `flagged` and `evidence_flags` are sent to supervisors and admins only."""

    id = ma.fields.UUID()
    sign_id = ma.fields.UUID()
    shop_id = ma.fields.UUID(allow_none=True)
    zone_id = ma.fields.UUID()
    zone = ma.fields.String(attribute="zone_code")
    road_id = ma.fields.UUID(allow_none=True)
    patrol_id = ma.fields.UUID(allow_none=True)
    visit_id = ma.fields.UUID(allow_none=True)
    category = ma.fields.String()
    severity = ma.fields.String()
    shift = ma.fields.String()
    description = ma.fields.String()
    state = ma.fields.String()
    overdue = ma.fields.Boolean(metadata={"description": "Open and past its deadline now (derived)"})
    allowed_actions = ma.fields.Function(
        lambda h: allowed_actions(h.state),
        metadata={"description": "Actions the lifecycle allows from the current state"},
    )
    found_at = AwareDateTime()
    found_by_id = ma.fields.UUID()
    lat = ma.fields.Float()
    lng = ma.fields.Float()
    deadline_at = AwareDateTime()
    notified_at = AwareDateTime(allow_none=True)
    contact_method = ma.fields.String(allow_none=True)
    immediate_measure = ma.fields.String(allow_none=True)
    fix_submitted_at = AwareDateTime(allow_none=True)
    rectified_at = AwareDateTime(allow_none=True)
    verified_by_id = ma.fields.UUID(allow_none=True)
    fixed_on_spot = ma.fields.Boolean()
    rework_count = ma.fields.Integer(metadata={"description": "Failed verifications"})
    reopen_count = ma.fields.Integer()
    photos = ma.fields.List(ma.fields.Nested(HazardPhotoSchema))
    flagged = ma.fields.Boolean(metadata={"description": "Supervisors and admins only"})
    evidence_flags = ma.fields.List(
        ma.fields.Nested(EvidenceFlagSchema), metadata={"description": "Supervisors and admins only"}
    )
    recorded_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()
    updated_at = AwareDateTime()
    version = ma.fields.Integer()

    @ma.post_dump
    def hide_flags(self, data, **kwargs):
        # Owners and field staff do not learn which checks evidence must pass.
        user = g.get("current_user") if has_request_context() else None
        if user is None or user.role not in FLAG_READERS:
            data.pop("flagged", None)
            data.pop("evidence_flags", None)
        return data


class HazardCreateSchema(ma.Schema):
    """Report a hazard found on a sign."""

    id = client_id_field()
    sign_id = ma.fields.UUID(required=True)
    category = ma.fields.String(required=True, validate=CATEGORY)
    severity = ma.fields.String(required=True, validate=SEVERITY)
    description = ma.fields.String(load_default="", validate=validate.Length(max=1000))
    patrol_id = ma.fields.UUID(metadata={"description": "The patrol it was found on; sets the shift"})
    visit_id = ma.fields.UUID()
    shift = ma.fields.String(
        validate=SHIFT, metadata={"description": "Without a patrol: default night if found after dark"}
    )
    found_at = AwareDateTime(metadata={"description": "Default: recorded_at, else now"})
    lat = ma.fields.Float(validate=LAT, metadata={"description": "Default: the sign's position"})
    lng = ma.fields.Float(validate=LNG)
    coord_system = coord_system_field()
    photo_ids = _photo_ids()
    deadline_at = AwareDateTime(metadata={"description": "Default: found_at plus the deadline rule's hours"})
    recorded_at = recorded_at_field()


class _ActionSchema(ma.Schema):
    id = client_id_field()
    recorded_at = recorded_at_field()
    note = ma.fields.String(load_default=None, validate=validate.Length(max=1000))


class NotifySchema(_ActionSchema):
    """Notify the merchant: how, the deadline given, the immediate measure taken."""

    contact_method = ma.fields.String(
        required=True, validate=validate.OneOf([c.value for c in ContactMethod])
    )
    contact_name = ma.fields.String(load_default=None, validate=validate.Length(max=100))
    deadline_at = AwareDateTime(metadata={"description": "Default: keep the rule's deadline"})
    immediate_measure = ma.fields.String(
        load_default="none", validate=validate.OneOf([m.value for m in ImmediateMeasure])
    )


class SubmitFixSchema(_ActionSchema):
    """Submit the fix with after-photos (owner of the shop, or staff)."""

    photo_ids = _photo_ids(required=True)


class VerifySchema(_ActionSchema):
    """Verify a submitted fix: pass closes the case, fail sends it back with a reason."""

    result = ma.fields.String(required=True, validate=validate.OneOf(["pass", "fail"]))
    reason = ma.fields.String(
        load_default=None, validate=validate.Length(max=1000), metadata={"description": "Required on fail"}
    )
    photo_ids = _photo_ids()
    patrol_id = ma.fields.UUID(
        metadata={"description": "The patrol verifying; a night patrol lets a lighting hazard pass"}
    )
    deadline_at = AwareDateTime(metadata={"description": "On fail: a new deadline"})


class FixOnSpotSchema(_ActionSchema):
    """Fixed on the spot: found and verified in one visit."""

    photo_ids = _photo_ids(required=True)
    patrol_id = ma.fields.UUID(metadata={"description": "Default: the patrol it was found on"})


class ReopenSchema(_ActionSchema):
    """Reopen a rectified case (supervisors)."""

    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=1000))
    deadline_at = AwareDateTime(metadata={"description": "Default: now plus the rule's hours"})


class HazardQueryArgsSchema(PageArgsSchema):
    """Filters for the hazard list (repeat a parameter for several values)."""

    zone = ma.fields.String(metadata={"description": "Zone code"})
    road = ma.fields.UUID()
    shop = ma.fields.UUID()
    sign = ma.fields.UUID()
    patrol = ma.fields.UUID()
    inspector = ma.fields.UUID(metadata={"description": "Who found it"})
    category = ma.fields.List(ma.fields.String(validate=CATEGORY))
    state = ma.fields.List(ma.fields.String(validate=STATE))
    shift = ma.fields.List(ma.fields.String(validate=SHIFT))
    severity = ma.fields.List(ma.fields.String(validate=SEVERITY))
    overdue = ma.fields.Boolean(metadata={"description": "Open and past the deadline, now"})
    flagged = ma.fields.Boolean(metadata={"description": "Supervisors and admins only"})
    updated_since = AwareDateTime(
        metadata={"description": "Changed since; the list is then ordered by updated_at"}
    )


class HistoryItemSchema(ma.Schema):
    """A lifecycle step (kind=transition) or an audit event (kind=event) of a hazard."""

    id = ma.fields.String()
    kind = ma.fields.String()
    step_no = ma.fields.Integer(metadata={"description": "Transitions: 1, 2, 3... in lifecycle order"})
    at = AwareDateTime(metadata={"description": "When it happened"})
    received_at = AwareDateTime(metadata={"description": "When the server stored it"})
    action = ma.fields.String()
    from_state = ma.fields.String()
    to_state = ma.fields.String()
    actor_id = ma.fields.UUID(allow_none=True)
    actor_role = ma.fields.String(allow_none=True)
    patrol_id = ma.fields.UUID(allow_none=True)
    details = ma.fields.Dict()
    entity = ma.fields.String(metadata={"description": "Events: hazards, or hazard_photos for a photo link"})
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)


class HistorySchema(ma.Schema):
    """A hazard's full history, oldest first; evidence-flag fields only for supervisors and admins."""

    hazard_id = ma.fields.UUID()
    items = ma.fields.List(ma.fields.Nested(HistoryItemSchema))


class DeadlineRuleSchema(ma.Schema):
    """How many hours a merchant gets, by category and severity."""

    id = ma.fields.UUID()
    category = ma.fields.String()
    severity = ma.fields.String()
    hours = ma.fields.Integer()
    updated_at = AwareDateTime()
    version = ma.fields.Integer()


class DeadlineRuleUpdateSchema(ma.Schema):
    """Change a rule; hazards reported before keep the deadline they were given."""

    hours = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=24 * 180))
