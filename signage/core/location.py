"""Locations in requests: any coordinate system in, WGS-84 inside the service area stored."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from signage.core.errors import field_error
from signage.ledger.coords import SYSTEMS, to_wgs84

COORD_SYSTEM_HELP = "wgs84 (GPS, default), gcj02 (AMap, Tencent) or bd09 (Baidu); stored as WGS-84"


class LocationSchema(ma.Schema):
    """`lat`, `lng` and the `coord_system` they are in; converted to WGS-84 on load."""

    lat = ma.fields.Float(validate=validate.Range(min=-90, max=90), metadata={"description": "Latitude"})
    lng = ma.fields.Float(validate=validate.Range(min=-180, max=180), metadata={"description": "Longitude"})
    coord_system = ma.fields.String(
        load_only=True, validate=validate.OneOf(SYSTEMS), metadata={"description": COORD_SYSTEM_HELP}
    )

    # Subclasses set this to True when a location is mandatory.
    location_required = False

    @ma.validates_schema(skip_on_field_errors=False)
    def _both_or_neither(self, data, **kwargs):
        has_lat, has_lng = "lat" in data, "lng" in data
        if has_lat != has_lng:
            missing = "lng" if has_lat else "lat"
            raise ma.ValidationError("lat and lng come together", missing)
        if self.location_required and not has_lat:
            missing = ["Missing data for required field."]
            raise ma.ValidationError({"lat": missing, "lng": missing})
        if "coord_system" in data and not has_lat:
            raise ma.ValidationError("coord_system needs lat and lng", "coord_system")

    @ma.post_load
    def _to_wgs84(self, data, **kwargs):
        system = data.pop("coord_system", "wgs84")
        if data.get("lat") is None or data.get("lng") is None:
            return data
        lat, lng = to_wgs84(data["lat"], data["lng"], system)
        if reason := outside_service_area(lat, lng):
            raise ma.ValidationError(reason, "lat")
        data["lat"], data["lng"] = round(lat, 7), round(lng, 7)
        return data


def outside_service_area(lat: float, lng: float) -> str | None:
    """Why a WGS-84 point is refused (outside the town's service area), or None."""
    south, west, north, east = current_app.config["SERVICE_AREA"]
    if south <= lat <= north and west <= lng <= east:
        return None
    return f"({lat:.5f}, {lng:.5f}) is outside the service area ({south}..{north} N, {west}..{east} E)"


def in_service_area(lat: float, lng: float, system: str, field: str = "lat") -> tuple[float, float]:
    """lat, lng in system as WGS-84, or a 422 naming field when outside the service area."""
    lat, lng = to_wgs84(lat, lng, system)
    if reason := outside_service_area(lat, lng):
        raise field_error(field, reason)
    return round(lat, 7), round(lng, 7)
