"""Zone and road schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from signage.core.fields import AwareDateTime
from signage.core.pagination import PageArgsSchema

LAT = validate.Range(min=-90, max=90)
LNG = validate.Range(min=-180, max=180)


class ZoneSchema(ma.Schema):
    """A market-town area."""

    id = ma.fields.UUID(dump_only=True)
    code = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9]{1,16}$"))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    center_lat = ma.fields.Float(allow_none=True, validate=LAT)
    center_lng = ma.fields.Float(allow_none=True, validate=LNG)
    updated_at = AwareDateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


class ZoneUpdateSchema(ma.Schema):
    """Changes to a zone."""

    name = ma.fields.String(validate=validate.Length(min=1, max=100))
    center_lat = ma.fields.Float(allow_none=True, validate=LAT)
    center_lng = ma.fields.Float(allow_none=True, validate=LNG)


class RoadSchema(ma.Schema):
    """A main road in a zone."""

    id = ma.fields.UUID(dump_only=True)
    zone_id = ma.fields.UUID(required=True)
    zone = ma.fields.String(attribute="zone.code", dump_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    start_lat = ma.fields.Float(allow_none=True, validate=LAT)
    start_lng = ma.fields.Float(allow_none=True, validate=LNG)
    end_lat = ma.fields.Float(allow_none=True, validate=LAT)
    end_lng = ma.fields.Float(allow_none=True, validate=LNG)
    updated_at = AwareDateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


class RoadUpdateSchema(ma.Schema):
    """Changes to a road."""

    name = ma.fields.String(validate=validate.Length(min=1, max=100))
    start_lat = ma.fields.Float(allow_none=True, validate=LAT)
    start_lng = ma.fields.Float(allow_none=True, validate=LNG)
    end_lat = ma.fields.Float(allow_none=True, validate=LAT)
    end_lng = ma.fields.Float(allow_none=True, validate=LNG)


class RoadQueryArgsSchema(PageArgsSchema):
    """Filters for the road list."""

    zone = ma.fields.String(metadata={"description": "Zone code"})
