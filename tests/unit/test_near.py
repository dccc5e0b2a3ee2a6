"""The near search's distances: tangent-plane figures agree with the geodesic where it matters."""

from __future__ import annotations

import random

import pytest
from geopy.distance import geodesic

from signage.ledger.service import flat_distance_m, geodesic_m


def test_flat_distance_within_a_centimetre_of_geodesic_up_to_5_km():
    rng = random.Random(9)
    checked = 0
    for _ in range(2000):
        lat, lng = rng.uniform(29.9, 30.45), rng.uniform(120.1, 120.8)
        lat2, lng2 = lat + rng.uniform(-0.045, 0.045), lng + rng.uniform(-0.05, 0.05)
        exact = geodesic((lat, lng), (lat2, lng2)).meters
        if exact <= 5000:
            assert flat_distance_m(lat, lng, lat2, lng2) == pytest.approx(exact, abs=0.01)
            checked += 1
    assert checked > 1000  # most pairs fall within 5 km: the check is not thinned out to nothing


def test_geodesic_m_is_geopys_geodesic():
    assert geodesic_m(30.165, 120.27, 30.1661, 120.2712) == pytest.approx(
        geodesic((30.165, 120.27), (30.1661, 120.2712)).meters, abs=1e-6
    )
