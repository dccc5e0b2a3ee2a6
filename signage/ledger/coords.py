"""Conversions between the WGS-84, GCJ-02 and BD-09 coordinate systems of Chinese maps.

Every function takes and returns (latitude, longitude) in decimal degrees, latitude
first.  GCJ-02 is the obfuscated datum that AMap (Gaode) and Tencent maps use; BD-09
is Baidu's further shift of GCJ-02.  Neither has a public official specification;
the formulas here are the standard ones shared by the common open-source libraries.
"""

import math

__all__ = [
    "SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, which the GCJ-02 formulas are built on.
_A = 6378245.0
_EE = 0.00669342162296594323

# Baidu's constant for the BD-09 shift.
_X_PI = math.pi * 3000.0 / 180.0

# The iterative inverses stop once a step is below ~1e-5 m (1e-10 degrees); both
# forward maps are the identity plus a slowly varying shift, so each step shrinks
# the error several hundredfold and a handful of steps is always enough.
_INVERSE_TOLERANCE = 1e-10
_INVERSE_MAX_STEPS = 30


def out_of_china(lat: float, lng: float) -> bool:
    """Return True when a point lies outside the rough bounding box GCJ-02 shifts."""
    # The usual rectangle of the common open-source implementations; it also takes
    # in parts of neighbouring countries, which do not matter for a Chinese town.
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    """Return the raw GCJ-02 latitude offset polynomial for x=lng-105, y=lat-35."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    """Return the raw GCJ-02 longitude offset polynomial for x=lng-105, y=lat-35."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj02_offset(lat: float, lng: float) -> tuple[float, float]:
    """Return the (dlat, dlng) in degrees that GCJ-02 adds to a WGS-84 point."""
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    # Scale metres-like values to degrees on the Krasovsky ellipsoid.
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """Convert a WGS-84 point to GCJ-02 (AMap/Tencent)."""
    if out_of_china(lat, lng):
        return lat, lng
    dlat, dlng = _gcj02_offset(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Convert a GCJ-02 point to WGS-84 by iteratively inverting the forward shift."""
    if out_of_china(lat, lng):
        return lat, lng
    # Solve w + offset(w) = g by fixed-point iteration w <- g - offset(w).  The
    # one-step version (stopping after the first pass) is off by up to a few
    # metres, because the offset at g is not the offset at w.
    wlat, wlng = lat, lng
    for _ in range(_INVERSE_MAX_STEPS):
        dlat, dlng = _gcj02_offset(wlat, wlng)
        next_lat, next_lng = lat - dlat, lng - dlng
        converged = abs(next_lat - wlat) < _INVERSE_TOLERANCE and abs(next_lng - wlng) < _INVERSE_TOLERANCE
        wlat, wlng = next_lat, next_lng
        if converged:
            break
    return wlat, wlng


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    """Convert a GCJ-02 point to BD-09 (Baidu)."""
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _bd09_to_gcj02_closed_form(lat: float, lng: float) -> tuple[float, float]:
    """Return Baidu's standard closed-form BD-09 to GCJ-02 approximation."""
    x = lng - 0.0065
    y = lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """Convert a BD-09 point to GCJ-02 (standard formula, refined to exact)."""
    # The closed form alone is up to ~0.2 m away from the true inverse of
    # gcj02_to_bd09; a few Newton-like corrections (the forward map is the
    # identity plus a tiny perturbation) bring that to micrometres.
    glat, glng = _bd09_to_gcj02_closed_form(lat, lng)
    for _ in range(_INVERSE_MAX_STEPS):
        blat, blng = gcj02_to_bd09(glat, glng)
        dlat, dlng = blat - lat, blng - lng
        glat, glng = glat - dlat, glng - dlng
        if abs(dlat) < _INVERSE_TOLERANCE and abs(dlng) < _INVERSE_TOLERANCE:
            break
    return glat, glng


def wgs84_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    """Convert a WGS-84 point to BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lng))


def bd09_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Convert a BD-09 point to WGS-84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lng))


def to_wgs84(lat: float, lng: float, system: str) -> tuple[float, float]:
    """Convert a point given in `system` ("wgs84", "gcj02" or "bd09") to WGS-84."""
    if system == "wgs84":
        return lat, lng
    if system == "gcj02":
        return gcj02_to_wgs84(lat, lng)
    if system == "bd09":
        return bd09_to_wgs84(lat, lng)
    raise ValueError(f"unknown coordinate system {system!r}; expected one of {', '.join(SYSTEMS)}")
