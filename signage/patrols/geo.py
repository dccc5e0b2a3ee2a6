"""Geodesic distances on the WGS-84 ellipsoid (the same solution geopy's `geodesic` uses)."""

from __future__ import annotations

from geographiclib.geodesic import Geodesic

LatLng = tuple[float, float]

# geopy.distance.geodesic wraps this same solver; calling it directly halves the cost,
# which matters when a plan measures every candidate stop.
_WGS84 = Geodesic.WGS84


def distance_m(a: LatLng, b: LatLng) -> float:
    """Geodesic distance in metres between two (lat, lng) points."""
    if a == b:
        return 0.0
    return _WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"]
