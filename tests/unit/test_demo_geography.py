"""The demo geography: believable roads and a deterministic, well-placed set of shops."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import pytest
from geopy.distance import geodesic

from signage.catalog import BusinessType, RoadSide, SignKind
from signage.demo.geography import ROADS, ZONES, ZONES_BY_CODE, demo_shops

ROADS_BY_NAME = {road.name: road for road in ROADS}


@pytest.fixture(scope="module")
def shops():
    return demo_shops(990)


def _distance_to_segment_m(point, start, end) -> float:
    """Geodesic distance from a point to the nearest point of a short segment."""
    # Project in a local flat frame (fine over 2 km), then measure the true distance.
    k = math.cos(math.radians(start[0]))
    px, py = (point[1] - start[1]) * k, point[0] - start[0]
    ex, ey = (end[1] - start[1]) * k, end[0] - start[0]
    t = max(0.0, min(1.0, (px * ex + py * ey) / (ex * ex + ey * ey)))
    nearest = (start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
    return geodesic(point, nearest).meters


def _along(road, point) -> float:
    """Position of a point's projection along a road, 0 at its start and 1 at its end."""
    dy, dx = road.end[0] - road.start[0], road.end[1] - road.start[1]
    py, px = point[0] - road.start[0], point[1] - road.start[1]
    return (px * dx + py * dy) / (dx * dx + dy * dy)


def test_zones_and_roads_are_plausible():
    assert [zone.code for zone in ZONES] == ["GL", "DS", "KS"]
    for zone in ZONES:
        assert 3 <= len(zone.roads) <= 5
        for road in zone.roads:
            assert road.zone_code == zone.code
            assert 800 <= road.length_m <= 2000, road.name
            for end in (road.start, road.end):
                assert geodesic(zone.centre, end).meters <= 2100, road.name
            east_west = road.start[0] == road.end[0]
            north_south = road.start[1] == road.end[1]
            assert east_west != north_south, road.name
            allowed = {RoadSide.NORTH, RoadSide.SOUTH} if east_west else {RoadSide.EAST, RoadSide.WEST}
            assert set(road.sides) <= allowed and road.sides, road.name
    assert len({road.name for road in ROADS}) == len(ROADS)


def test_demo_shops_is_deterministic(shops):
    assert len(shops) == 990
    assert demo_shops(990) == shops
    assert demo_shops(990, seed=7) != shops
    assert demo_shops(0) == []


def test_names_unique_per_road(shops):
    per_road = defaultdict(list)
    for shop in shops:
        per_road[shop["road"]].append(shop["name"])
    for road, names in per_road.items():
        assert len(names) == len(set(names)), road


def test_every_shop_lies_beside_its_road(shops):
    for shop in shops:
        road = ROADS_BY_NAME[shop["road"]]
        assert shop["zone"] == road.zone_code
        assert shop["side"] in road.sides
        d = _distance_to_segment_m((shop["lat"], shop["lng"]), road.start, road.end)
        assert 5 <= d <= 100, shop


def test_all_zones_used_and_spread_by_length(shops):
    assert {shop["zone"] for shop in shops} == set(ZONES_BY_CODE)
    per_road = Counter(shop["road"] for shop in shops)
    total_m = sum(road.length_m for road in ROADS)
    for road in ROADS:
        assert abs(per_road[road.name] - 990 * road.length_m / total_m) <= 1, road.name
        if len(road.sides) == 2:
            sides = Counter(s["side"] for s in shops if s["road"] == road.name)
            assert abs(sides[road.sides[0]] - sides[road.sides[1]]) <= 1, road.name


def test_house_numbers_follow_the_side_and_rise_along_the_road(shops):
    groups = defaultdict(list)
    for shop in shops:
        groups[(shop["road"], shop["side"])].append(shop)
    for (road_name, side), group in groups.items():
        road = ROADS_BY_NAME[road_name]
        numbers = []
        for shop in group:
            match = re.fullmatch(re.escape(road_name) + r"(\d+)号", shop["address"])
            assert match, shop["address"]
            numbers.append(int(match.group(1)))
        parity = 1 if side == road.sides[0] else 0
        assert all(n % 2 == parity for n in numbers), (road_name, side)
        assert numbers == sorted(set(numbers)), (road_name, side)
        # Rising numbers walk from the road's start towards its end.
        along = [_along(road, (s["lat"], s["lng"])) for s in group]
        assert along == sorted(along), (road_name, side)


def test_shop_fields_and_signs(shops):
    codes = {m.value for m in BusinessType}
    kinds = {m.value for m in SignKind}
    phones = [shop["owner_phone"] for shop in shops]
    assert len(set(phones)) == len(phones)
    for shop in shops:
        assert shop["business_type"] in codes
        assert re.fullmatch(r"1[358]\d{9}", shop["owner_phone"])
        assert 2 <= len(shop["owner_name"]) <= 3
        assert 1 <= len(shop["signs"]) <= 2
        assert shop["signs"][0]["text"] == shop["name"]
        for sign in shop["signs"]:
            assert sign["kind"] in kinds
            assert sign["width_m"] > 0 and sign["height_m"] > 0
            assert sign["height_above_ground_m"] >= 0
            assert isinstance(sign["lit"], bool)
    lit_share = sum(any(s["lit"] for s in shop["signs"]) for shop in shops) / len(shops)
    assert 0.3 <= lit_share <= 0.5
