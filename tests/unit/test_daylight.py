"""The after-dark rule: civil twilight at the sign, checked against almanac times for Hangzhou."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from signage.hazards.daylight import is_after_dark, sun_elevation_deg

LOCAL = ZoneInfo("Asia/Shanghai")
GUALI = (30.18, 120.46)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL)


@pytest.mark.parametrize(
    ("when", "dark"),
    [
        # Midsummer: sunset about 19:03, civil dusk about 19:30, civil dawn about 04:30.
        (local(2024, 6, 21, 19, 0), False),
        (local(2024, 6, 21, 20, 0), True),
        (local(2024, 6, 21, 4, 0), True),
        (local(2024, 6, 21, 5, 15), False),
        # Midwinter: sunset about 17:03, civil dusk about 17:30, civil dawn about 06:25.
        (local(2024, 12, 21, 17, 0), False),
        (local(2024, 12, 21, 18, 0), True),
        (local(2024, 12, 21, 6, 0), True),
        (local(2024, 12, 21, 7, 0), False),
        # A fixed 18:30 cut-off would call this midsummer evening dark; it is not.
        (local(2024, 6, 21, 18, 45), False),
        (local(2024, 4, 10, 12, 0), False),
        (local(2024, 4, 10, 0, 0), True),
    ],
)
def test_after_dark_follows_civil_twilight_through_the_year(when, dark):
    assert is_after_dark(when, *GUALI) is dark


def test_sun_elevation_at_solar_noon_on_the_solstices():
    # Noon elevation is 90° - latitude ± 23.44°: about 83.3° in June and 36.4° in December.
    june = max(
        sun_elevation_deg(local(2024, 6, 21, 11, 0) + timedelta(minutes=m), *GUALI) for m in range(120)
    )
    december = max(
        sun_elevation_deg(local(2024, 12, 21, 11, 0) + timedelta(minutes=m), *GUALI) for m in range(120)
    )
    assert abs(june - (90 - 30.18 + 23.44)) < 0.2
    assert abs(december - (90 - 30.18 - 23.44)) < 0.2


def test_the_answer_does_not_depend_on_the_time_zone_written():
    when = local(2024, 6, 21, 19, 40)
    assert is_after_dark(when, *GUALI) == is_after_dark(when.astimezone(ZoneInfo("UTC")), *GUALI)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        sun_elevation_deg(datetime(2024, 6, 21, 20, 0), *GUALI)
