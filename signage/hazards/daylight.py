"""When it is dark enough to judge a lit sign: the one rule for "after dark".

After dark means the sun is more than 6° below the horizon where the sign stands: the end
of civil twilight (civil dusk) until civil dawn. In Guali that is about 19:30 to 04:30 local
time (Asia/Shanghai) in midsummer and 17:30 to 06:25 in midwinter; a fixed clock window
would be wrong by an hour in one season or the other. Because it is computed from the sun,
the result does not depend on the time zone a time stamp was written in.

The sun's position uses the Astronomical Almanac's low-precision formulas (good to about
0.01° for years near 2000), which is far finer than the question needs.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

CIVIL_TWILIGHT_DEG = -6.0
_J2000 = 2451545.0
_UNIX_EPOCH_JD = 2440587.5


def sun_elevation_deg(when: datetime, lat: float, lng: float) -> float:
    """The sun's elevation above the horizon in degrees, at an aware time and a WGS-84 place."""
    if when.tzinfo is None:
        raise ValueError("sun_elevation_deg needs an aware datetime")
    n = when.astimezone(UTC).timestamp() / 86400.0 + _UNIX_EPOCH_JD - _J2000
    mean_longitude = (280.460 + 0.9856474 * n) % 360.0
    anomaly = math.radians((357.528 + 0.9856003 * n) % 360.0)
    ecliptic_longitude = math.radians(
        mean_longitude + 1.915 * math.sin(anomaly) + 0.020 * math.sin(2 * anomaly)
    )
    obliquity = math.radians(23.439 - 0.0000004 * n)
    right_ascension = math.atan2(
        math.cos(obliquity) * math.sin(ecliptic_longitude), math.cos(ecliptic_longitude)
    )
    declination = math.asin(math.sin(obliquity) * math.sin(ecliptic_longitude))
    sidereal_deg = (280.46061837 + 360.98564736629 * n) % 360.0
    hour_angle = math.radians(sidereal_deg + lng) - right_ascension
    phi = math.radians(lat)
    sin_elevation = math.sin(phi) * math.sin(declination) + math.cos(phi) * math.cos(declination) * math.cos(
        hour_angle
    )
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_elevation))))


def is_after_dark(when: datetime, lat: float, lng: float) -> bool:
    """True between civil dusk and civil dawn at the place: lit signs can be judged."""
    return sun_elevation_deg(when, lat, lng) < CIVIL_TWILIGHT_DEG
