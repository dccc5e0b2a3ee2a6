"""Patrol, track, visit and plan schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from signage.catalog import CoordSystem, Shift
from signage.core.fields import AwareDateTime
from signage.core.pagination import PageArgsSchema

LAT = validate.Range(min=-90, max=90)
LNG = validate.Range(min=-180, max=180)
SHIFT = validate.OneOf([s.value for s in Shift])


def coord_system_field() -> ma.fields.String:
    """The datum a client's coordinates are in (converted to WGS-84 on the way in)."""
    return ma.fields.String(
        load_default="wgs84",
        validate=validate.OneOf([c.value for c in CoordSystem]),
        metadata={"description": "Datum of the coordinates sent; stored as WGS-84"},
    )


def client_id_field() -> ma.fields.UUID:
    """The optional id a phone makes offline."""
    return ma.fields.UUID(metadata={"description": "Optional id made on the phone"})


def recorded_at_field() -> AwareDateTime:
    """When the phone recorded the thing it sends."""
    return AwareDateTime(
        metadata={"description": "When the phone recorded it; refused if in the future beyond clock skew"}
    )


class PatrolSchema(ma.Schema):
    """A patrol and the figures the server keeps for it."""

    id = ma.fields.UUID()
    zone_id = ma.fields.UUID()
    zone = ma.fields.String(attribute="zone.code")
    shift = ma.fields.String()
    started_at = AwareDateTime()
    ended_at = AwareDateTime(allow_none=True)
    started_by_id = ma.fields.UUID()
    member_ids = ma.fields.List(ma.fields.UUID())
    note = ma.fields.String()
    distance_m = ma.fields.Float(metadata={"description": "Geodesic length along the track, in time order"})
    duration_s = ma.fields.Integer(allow_none=True, metadata={"description": "Null while under way"})
    shops_visited = ma.fields.Integer(metadata={"description": "Distinct shops with a visit"})
    point_count = ma.fields.Integer()
    recorded_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()
    updated_at = AwareDateTime()
    version = ma.fields.Integer()


class PatrolCreateSchema(ma.Schema):
    """Start a patrol: the signed-in inspector walks it, with any partners named."""

    id = client_id_field()
    zone_id = ma.fields.UUID(required=True)
    shift = ma.fields.String(required=True, validate=SHIFT)
    started_at = AwareDateTime(metadata={"description": "Default: recorded_at, else now"})
    member_ids = ma.fields.List(
        ma.fields.UUID(), load_default=list, metadata={"description": "Partners on the patrol"}
    )
    note = ma.fields.String(load_default="", validate=validate.Length(max=500))
    recorded_at = recorded_at_field()


class PatrolEndSchema(ma.Schema):
    """End a patrol."""

    ended_at = AwareDateTime(metadata={"description": "Default: now"})


class PatrolQueryArgsSchema(PageArgsSchema):
    """Filters for the patrol list."""

    zone = ma.fields.String(metadata={"description": "Zone code"})
    shift = ma.fields.String(validate=SHIFT)
    member = ma.fields.UUID(metadata={"description": "Patrols this user walked"})
    active = ma.fields.Boolean(metadata={"description": "true: under way; false: ended"})
    updated_since = AwareDateTime()


class TrackPointSchema(ma.Schema):
    """One GPS fix."""

    at = AwareDateTime(required=True)
    lat = ma.fields.Float(required=True, validate=LAT)
    lng = ma.fields.Float(required=True, validate=LNG)
    accuracy_m = ma.fields.Float(allow_none=True, validate=validate.Range(min=0))


class TrackBatchSchema(ma.Schema):
    """A batch of fixes, in any order; a fix already stored (same time) is skipped."""

    coord_system = coord_system_field()
    points = ma.fields.List(
        ma.fields.Nested(TrackPointSchema), required=True, validate=validate.Length(min=1, max=2000)
    )


class RejectedPointSchema(ma.Schema):
    """A fix that was not kept, and why."""

    index = ma.fields.Integer()
    at = AwareDateTime()
    reason = ma.fields.String()


class TrackResultSchema(ma.Schema):
    """What a batch added, and the patrol's figures after it."""

    accepted = ma.fields.Integer()
    duplicates = ma.fields.Integer()
    rejected = ma.fields.List(ma.fields.Nested(RejectedPointSchema))
    point_count = ma.fields.Integer()
    distance_m = ma.fields.Float()


class TrackSchema(ma.Schema):
    """The patrol's track, in time order."""

    patrol_id = ma.fields.UUID()
    distance_m = ma.fields.Float()
    points = ma.fields.List(ma.fields.Nested(TrackPointSchema))


class VisitSchema(ma.Schema):
    """A stop at a shop on a patrol."""

    id = ma.fields.UUID()
    patrol_id = ma.fields.UUID()
    shop_id = ma.fields.UUID()
    inspector_id = ma.fields.UUID()
    visited_at = AwareDateTime()
    checked = ma.fields.List(ma.fields.String())
    findings = ma.fields.String()
    notice_handed = ma.fields.Boolean()
    commitment_signed = ma.fields.Boolean()
    sign_changed = ma.fields.Boolean()
    note = ma.fields.String()
    lat = ma.fields.Float(allow_none=True)
    lng = ma.fields.Float(allow_none=True)
    recorded_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()


class VisitCreateSchema(ma.Schema):
    """Record a visit: what was checked and found, what was handed over or changed."""

    id = client_id_field()
    shop_id = ma.fields.UUID(required=True)
    visited_at = AwareDateTime(metadata={"description": "Default: recorded_at, else now"})
    checked = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=50)),
        load_default=list,
        validate=validate.Length(max=30),
        metadata={"description": "What was checked, e.g. signs, wiring, lighting"},
    )
    findings = ma.fields.String(load_default="", validate=validate.Length(max=1000))
    notice_handed = ma.fields.Boolean(load_default=False)
    commitment_signed = ma.fields.Boolean(load_default=False)
    sign_changed = ma.fields.Boolean(load_default=False, metadata={"description": "A new or replaced sign"})
    note = ma.fields.String(load_default="", validate=validate.Length(max=500))
    lat = ma.fields.Float(validate=LAT)
    lng = ma.fields.Float(validate=LNG)
    coord_system = coord_system_field()
    recorded_at = recorded_at_field()


class PlanArgsSchema(ma.Schema):
    """Which zone and shift to plan for, and where the patrol starts."""

    zone = ma.fields.String(required=True, metadata={"description": "Zone code"})
    shift = ma.fields.String(required=True, validate=SHIFT)
    lat = ma.fields.Float(validate=LAT, metadata={"description": "Start; default the zone's centre"})
    lng = ma.fields.Float(validate=LNG)
    coord_system = coord_system_field()
    limit = ma.fields.Integer(load_default=30, validate=validate.Range(min=1, max=100))

    @ma.validates_schema
    def both_or_neither(self, data, **kwargs):
        if ("lat" in data) != ("lng" in data):
            raise ma.ValidationError("give both lat and lng, or neither", "lat")


class ReasonSchema(ma.Schema):
    """Why a stop is on the plan."""

    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()


class StopSchema(ma.Schema):
    """One stop of the route."""

    kind = ma.fields.String(metadata={"description": "shop, or sign for a stand-alone sign"})
    shop_id = ma.fields.UUID(allow_none=True)
    sign_id = ma.fields.UUID(allow_none=True)
    name = ma.fields.String()
    lat = ma.fields.Float()
    lng = ma.fields.Float()
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema), attribute="reason_labels")
    hazard_ids = ma.fields.List(ma.fields.UUID())
    leg_m = ma.fields.Float(metadata={"description": "Geodesic metres from the previous stop (or the start)"})
    cumulative_m = ma.fields.Float()


class PointSchema(ma.Schema):
    """A WGS-84 point."""

    lat = ma.fields.Float()
    lng = ma.fields.Float()


class PlanSchema(ma.Schema):
    """The route to walk."""

    zone = ma.fields.String()
    shift = ma.fields.String()
    start = ma.fields.Nested(PointSchema)
    generated_at = AwareDateTime()
    candidates = ma.fields.Integer(metadata={"description": "Stops found before cutting to limit"})
    total_m = ma.fields.Float()
    stops = ma.fields.List(ma.fields.Nested(StopSchema))
