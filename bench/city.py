"""A synthetic city for the benchmarks: the demo's three areas plus subdistricts around them.

Zones are 3.3 km cells packed around a city centre (nearest cells first, so the city is one
piece), each with a grid of five east-west and five north-south roads. Central zones get more
shops per metre of road than outlying ones. Everything is drawn from a seeded generator, so the
same arguments give the same city.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from signage.catalog import BusinessType, RoadSide, SignKind
from signage.demo.geography import SHOP_NAME_PARTS, ZONES

LatLng = tuple[float, float]
M_PER_DEG_LAT = 110_900.0  # near 30° N

CITY_CENTRE: LatLng = (30.165, 120.270)
CELL_M = 3_300.0
ROAD_HALF_LENGTH_M = 1_300.0
ROAD_OFFSETS_M = (-1_000.0, -500.0, 0.0, 500.0, 1_000.0)

# Subdistrict-style place names for the synthetic zones.
PLACES = [
    "城厢",
    "北干",
    "蜀山",
    "新塘",
    "闻堰",
    "宁围",
    "新街",
    "衙前",
    "益农",
    "靖江",
    "南阳",
    "义蓬",
    "河庄",
    "临浦",
    "义桥",
    "所前",
    "浦阳",
    "进化",
    "戴村",
    "河上",
    "楼塔",
    "盈丰",
    "钱江",
    "前进",
    "新湾",
    "头蓬",
    "党湾",
    "长河",
    "西兴",
    "浦沿",
    "湘湖",
    "城南",
    "城北",
    "高桥",
    "金城",
    "市心",
    "通惠",
    "萧然",
    "山阴",
    "振宁",
    "民和",
    "江寺",
    "永兴",
    "新华",
    "光明",
    "回澜",
    "拱秀",
    "兴议",
    "育才",
    "博学",
]
ROAD_STEMS = [
    "建设",
    "人民",
    "解放",
    "文化",
    "育才",
    "工人",
    "金城",
    "市心",
    "通惠",
    "萧然",
    "山阴",
    "体育",
    "晨晖",
    "博学",
    "弘慧",
    "振宁",
    "鸿宁",
    "民和",
    "江寺",
    "永兴",
    "新华",
    "商业",
    "兴议",
    "文明",
    "和平",
    "丰收",
    "光明",
    "回澜",
    "拱秀",
    "湘湖",
    "北塘",
    "南秀",
    "东河",
    "西河",
    "小南",
    "崇化",
    "银河",
    "潘水",
    "滨江",
    "利华",
]
BUSINESS_WEIGHTS = {
    BusinessType.CATERING: 25,
    BusinessType.RETAIL: 15,
    BusinessType.SUPERMARKET: 6,
    BusinessType.PHARMACY: 4,
    BusinessType.HAIR_BEAUTY: 10,
    BusinessType.PHONE_REPAIR: 5,
    BusinessType.HARDWARE: 6,
    BusinessType.CLOTHING: 10,
    BusinessType.HOTEL: 3,
    BusinessType.BANK: 2,
    BusinessType.EDUCATION: 4,
    BusinessType.AUTO_REPAIR: 4,
    BusinessType.OTHER: 6,
}
SECOND_SIGN_KINDS = (
    SignKind.LIGHT_BOX,
    SignKind.PROJECTING,
    SignKind.LED_SCREEN,
    SignKind.BANNER,
    SignKind.WALL,
    SignKind.ROOFTOP,
    SignKind.BILLBOARD,
)
SURNAMES = [
    "沈",
    "陈",
    "王",
    "俞",
    "李",
    "张",
    "周",
    "徐",
    "孙",
    "朱",
    "傅",
    "来",
    "韩",
    "杨",
    "汪",
    "楼",
    "施",
    "倪",
    "吴",
    "金",
]
GIVEN = [
    "建国",
    "丽娟",
    "国强",
    "美芳",
    "小红",
    "伟",
    "杰",
    "海燕",
    "建华",
    "志明",
    "秀英",
    "雪芬",
    "林峰",
    "佳怡",
    "晓东",
    "春燕",
    "永良",
    "桂芳",
    "立新",
    "敏",
]


@dataclass(frozen=True)
class CityRoad:
    """A straight road segment with the sides shops stand on."""

    name: str
    start: LatLng
    end: LatLng
    sides: tuple[str, ...]

    @property
    def length_m(self) -> float:
        """Approximate length in metres (the roads are short and run N-S or E-W)."""
        dlat = (self.end[0] - self.start[0]) * M_PER_DEG_LAT
        dlng = (self.end[1] - self.start[1]) * M_PER_DEG_LAT * math.cos(math.radians(self.start[0]))
        return math.hypot(dlat, dlng)


@dataclass(frozen=True)
class CityZone:
    """A zone of the city, its centre, its roads and how densely its roads are built up."""

    code: str
    name: str
    centre: LatLng
    roads: tuple[CityRoad, ...]
    density: float


def _move(point: LatLng, north_m: float, east_m: float) -> LatLng:
    lat, lng = point
    return lat + north_m / M_PER_DEG_LAT, lng + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))


def _distance_m(a: LatLng, b: LatLng) -> float:
    dlat = (a[0] - b[0]) * M_PER_DEG_LAT
    dlng = (a[1] - b[1]) * M_PER_DEG_LAT * math.cos(math.radians(a[0]))
    return math.hypot(dlat, dlng)


def _grid_roads(rng: random.Random, centre: LatLng) -> tuple[CityRoad, ...]:
    stems = rng.sample(ROAD_STEMS, 10)
    roads = []
    for i, offset in enumerate(ROAD_OFFSETS_M):
        jitter = rng.uniform(-80, 80)
        west = _move(centre, offset + jitter, -ROAD_HALF_LENGTH_M)
        east = _move(centre, offset + jitter, ROAD_HALF_LENGTH_M)
        roads.append(CityRoad(f"{stems[i]}路", west, east, (RoadSide.NORTH.value, RoadSide.SOUTH.value)))
        south = _move(centre, -ROAD_HALF_LENGTH_M, offset + jitter)
        north = _move(centre, ROAD_HALF_LENGTH_M, offset + jitter)
        roads.append(CityRoad(f"{stems[5 + i]}街", south, north, (RoadSide.EAST.value, RoadSide.WEST.value)))
    return tuple(roads)


def city(zone_count: int = 40, seed: int = 2024) -> list[CityZone]:
    """The demo's three zones and synthetic ones up to zone_count, nearest the centre first."""
    rng = random.Random(seed)
    zones = [
        CityZone(
            z.code,
            z.name,
            z.centre,
            tuple(CityRoad(r.name, r.start, r.end, tuple(s.value for s in r.sides)) for r in z.roads),
            1.0,
        )
        for z in ZONES
    ]
    cells = [_move(CITY_CENTRE, row * CELL_M, col * CELL_M) for row in range(-8, 9) for col in range(-8, 9)]
    cells.sort(key=lambda c: _distance_m(c, CITY_CENTRE))
    for cell in cells:
        if len(zones) >= zone_count:
            break
        if any(_distance_m(cell, z.centre) < CELL_M for z in zones[: len(ZONES)]):
            continue  # leave the demo's market towns as they are
        serial = len(zones) - len(ZONES)
        place = PLACES[serial % len(PLACES)] + ("" if serial < len(PLACES) else str(serial // len(PLACES)))
        density = 1.0 + 1.5 * math.exp(-_distance_m(cell, CITY_CENTRE) / 5_000)
        zones.append(CityZone(f"C{serial + 1:02d}", f"{place}片区", cell, _grid_roads(rng, cell), density))
    return zones


def shares(n: int, weights: list[float]) -> list[int]:
    """Split n into integers proportional to weights (largest remainder)."""
    total = sum(weights)
    exact = [n * w / total for w in weights]
    counts = [math.floor(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])[: n - sum(counts)]:
        counts[i] += 1
    return counts


def shops_along(rng: random.Random, zone: CityZone, road: CityRoad, count: int) -> Iterator[dict]:
    """count shops at random points along both sides of a road, 10-15 m off its centre line."""
    btypes, weights = list(BUSINESS_WEIGHTS), list(BUSINESS_WEIGHTS.values())
    for _ in range(count):
        t = rng.random()
        side = rng.choice(road.sides)
        point = (
            road.start[0] + t * (road.end[0] - road.start[0]),
            road.start[1] + t * (road.end[1] - road.start[1]),
        )
        off = rng.uniform(10.0, 15.0)
        north = {"north": off, "south": -off}.get(side, 0.0)
        east = {"east": off, "west": -off}.get(side, 0.0)
        lat, lng = _move(point, north, east)
        btype = rng.choices(btypes, weights)[0]
        parts = SHOP_NAME_PARTS[btype]
        name = rng.choice(parts["prefixes"]) + rng.choice(parts["trades"]).format(road=road.name)
        yield {
            "side": side,
            "name": name,
            "address": f"{road.name}{1 + int(t * 400) * 2 + (side in ('south', 'west'))}号",
            "lat": round(lat, 6),
            "lng": round(lng, 6),
            "owner_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "business_type": btype.value,
        }


def signs_of(rng: random.Random, shop: dict) -> list[dict]:
    """A shop's two signs: the sign over the door and one other facility."""
    lit = rng.random() < 0.4
    main = {
        "kind": SignKind.SHOP_SIGN.value,
        "text": shop["name"],
        "width_m": round(rng.uniform(3.0, 8.0), 1),
        "height_m": round(rng.uniform(0.8, 1.5), 1),
        "height_above_ground_m": round(rng.uniform(2.8, 4.5), 1),
        "lit": lit,
    }
    kind = rng.choice(SECOND_SIGN_KINDS)
    other = {
        "kind": kind.value,
        "text": shop["name"] if kind != SignKind.BANNER else "诚信经营 欢迎光临",
        "width_m": round(rng.uniform(0.6, 6.0), 1),
        "height_m": round(rng.uniform(0.5, 3.0), 1),
        "height_above_ground_m": round(rng.uniform(0.0, 12.0), 1),
        "lit": kind == SignKind.LED_SCREEN or (lit and kind != SignKind.BANNER),
    }
    return [main, other]
