"""Believable demo geography of Guali's three market-town areas, and a shop generator."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from geopy.distance import geodesic

from signage.catalog import BusinessType, RoadSide, SignKind

LatLng = tuple[float, float]


@dataclass(frozen=True)
class Road:
    """A main road drawn as one straight WGS-84 segment, with the sides shops stand on."""

    name: str
    zone_code: str
    start: LatLng
    end: LatLng
    sides: tuple[RoadSide, ...]

    @property
    def length_m(self) -> float:
        """Geodesic length of the segment in metres."""
        return geodesic(self.start, self.end).meters


@dataclass(frozen=True)
class Zone:
    """One of the three market-town areas (三片集镇)."""

    code: str
    name: str
    name_en: str
    centre: LatLng
    roads: tuple[Road, ...]


_NS = (RoadSide.NORTH, RoadSide.SOUTH)
_EW = (RoadSide.EAST, RoadSide.WEST)

# Approximate centres (the town seat near 30.18 N 120.46 E, Kanshan to the west, Dangshan
# to the north-east). The roads are drawn straight, east-west or north-south, within about
# 2 km of their centre: good enough to look right on a map, not a survey.
ZONES: tuple[Zone, ...] = (
    Zone(
        code="GL",
        name="瓜沥集镇",
        name_en="Guali town centre",
        centre=(30.1800, 120.4600),
        roads=(
            Road("航坞路", "GL", (30.1815, 120.4520), (30.1815, 120.4700), _NS),
            Road("东灵路", "GL", (30.1720, 120.4635), (30.1880, 120.4635), _EW),
            Road("友谊路", "GL", (30.1770, 120.4550), (30.1770, 120.4680), _NS),
            Road("人民路", "GL", (30.1740, 120.4570), (30.1860, 120.4570), _EW),
            Road("瓜港路", "GL", (30.1850, 120.4580), (30.1850, 120.4670), _NS),
        ),
    ),
    Zone(
        code="DS",
        name="党山集镇",
        name_en="Dangshan market town",
        centre=(30.2100, 120.5300),
        roads=(
            Road("群益路", "DS", (30.2100, 120.5220), (30.2100, 120.5380), _NS),
            Road("党山路", "DS", (30.2030, 120.5300), (30.2170, 120.5300), _EW),
            Road("新民路", "DS", (30.2065, 120.5250), (30.2065, 120.5350), _NS),
            # Runs along a river on its east side, so only the west side has shops.
            Road(
                "沿河路",
                "DS",
                (30.2050, 120.5345),
                (30.2140, 120.5345),
                (RoadSide.WEST,),
            ),
        ),
    ),
    Zone(
        code="KS",
        name="坎山集镇",
        name_en="Kanshan market town",
        centre=(30.1900, 120.4000),
        roads=(
            Road("坎红路", "KS", (30.1820, 120.4020), (30.1970, 120.4020), _EW),
            Road("振兴路", "KS", (30.1905, 120.3920), (30.1905, 120.4070), _NS),
            Road("坎山路", "KS", (30.1870, 120.3950), (30.1870, 120.4050), _NS),
            Road("石门路", "KS", (30.1850, 120.3960), (30.1950, 120.3960), _EW),
        ),
    ),
)

ROADS: tuple[Road, ...] = tuple(road for zone in ZONES for road in zone.roads)
ZONES_BY_CODE: dict[str, Zone] = {zone.code: zone for zone in ZONES}

# The short place name used as a shop-name prefix ("瓜沥五金店").
_ZONE_PLACE = {"GL": "瓜沥", "DS": "党山", "KS": "坎山"}


def _words(text: str) -> tuple[str, ...]:
    """Split a space-separated word list; keeps the long Chinese lists compact."""
    return tuple(text.split())


_NICKNAMES = _words(
    "阿芳 阿强 阿英 阿娟 阿明 阿林 阿华 阿琴 阿根 阿萍 老王 老陈 老沈 老俞 老傅 老杨 小李 小芳 小丁 小周"
)
_LUCKY = _words(
    "鑫源 恒丰 福满 兴隆 金鼎 永盛 万家 和顺 瑞丰 佳和 众诚 好运来 聚福 华丰 宏达 利民 新发 德顺 旺旺 春晖"
)

# Per business type: prefixes and trade words; a shop name is prefix + trade word. Bank
# trade words carry {road} so each branch is named after the road it stands on.
SHOP_NAME_PARTS: dict[str, dict[str, tuple[str, ...]]] = {
    BusinessType.CATERING: {
        "prefixes": _NICKNAMES + _words("好味道 家常 老街 香满园 德香"),
        "trades": _words("小吃店 面馆 快餐店 饺子馆 馄饨店 早餐店 土菜馆 农家菜馆 烧烤店 奶茶店 包子铺 酒家"),
    },
    BusinessType.RETAIL: {
        "prefixes": _LUCKY + _NICKNAMES[:8],
        "trades": _words("便利店 烟酒店 日杂店 副食品店 水果店 茶叶店 文具店 母婴店"),
    },
    BusinessType.SUPERMARKET: {
        "prefixes": _LUCKY + _words("邻里 便民 惠家 乐家"),
        "trades": _words("超市 生活超市 便民超市 平价超市 购物中心"),
    },
    BusinessType.PHARMACY: {
        "prefixes": _words("康宁 安康 济民 寿仁 德济 惠康 康泰 益寿 仁心"),
        "trades": _words("大药房 药店 医药 药房"),
    },
    BusinessType.HAIR_BEAUTY: {
        "prefixes": _NICKNAMES + _words("靓丽 名剪 丝语 美颜 时尚"),
        "trades": _words("美发店 理发店 美容院 美甲店 造型 发型工作室"),
    },
    BusinessType.PHONE_REPAIR: {
        "prefixes": _NICKNAMES + _words("迅捷 信达 通达 快修"),
        "trades": _words("手机维修 通讯店 手机店 数码维修"),
    },
    BusinessType.HARDWARE: {
        "prefixes": _LUCKY,
        "trades": _words("五金店 五金建材 水电五金 灯具店 五金机电"),
    },
    BusinessType.CLOTHING: {
        "prefixes": _LUCKY[:10] + _NICKNAMES[:10] + _words("衣秀 时代 童趣 布衣"),
        "trades": _words("服饰 服装店 童装店 女装 鞋店 布艺店"),
    },
    BusinessType.HOTEL: {
        "prefixes": _LUCKY + _words("锦程 悦来 客来 如家乐"),
        "trades": _words("宾馆 旅馆 快捷酒店 民宿 大酒店"),
    },
    BusinessType.BANK: {
        "prefixes": _words("兴农银行 惠民村镇银行 钱塘商业银行 江东信用社"),
        "trades": _words("{road}支行 {road}分理处 {road}营业部"),
    },
    BusinessType.EDUCATION: {
        "prefixes": _words("启明 博雅 新苗 育英 智多星 墨香 童乐 明德"),
        "trades": _words("培训学校 书法教室 舞蹈培训 艺术培训 托管中心 英语培训 美术班"),
    },
    BusinessType.AUTO_REPAIR: {
        "prefixes": _NICKNAMES + _words("车之友 顺达 安驰 路通"),
        "trades": _words("汽修 汽车维修 轮胎店 汽车美容 电动车维修 摩托车修理"),
    },
    BusinessType.OTHER: {
        "prefixes": _NICKNAMES + _LUCKY[:10],
        "trades": _words("打印店 照相馆 洗衣店 花店 家政服务 快递驿站 眼镜店 钟表维修"),
    },
}

# Rough mix of trades along a small town's main streets; eating places lead.
_TYPE_WEIGHTS: dict[str, int] = {
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

_SURNAMES = _words("沈 陈 王 俞 李 张 周 徐 孙 朱 傅 来 韩 杨 汪 楼 施 倪 吴 金")
_GIVEN_NAMES = _words(
    "建国 丽娟 国强 美芳 小红 伟 杰 海燕 建华 志明 秀英 雪芬 林峰 佳怡 晓东 "
    "春燕 永良 月仙 金龙 桂芳 立新 素娥 浩 敏 建军 玲 伟军 红梅 国平 丹"
)

# Clearly fake mobile numbers: a prefix of zeros after the carrier digits, then a serial.
_PHONE_PREFIXES = ("1380000", "1590000", "1860000")

_LED_TEXTS = ("欢迎光临", "诚信经营 欢迎惠顾", "文明经营 热情服务")
_BANNER_TEXTS = ("新店开业 欢迎光临", "店庆优惠进行中", "诚信经营 顾客至上")

_OFFSET_M = (10.0, 15.0)  # shops stand this far from the road's centre line
_M_PER_DEG_LAT = 110_900.0  # near 30° N; ample precision for a 15 m offset


def _pick_weighted(rng: random.Random, weights: dict[str, int]) -> str:
    """Pick one key of weights with probability proportional to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _shares(n: int, lengths: list[float]) -> list[int]:
    """Split n into integers proportional to lengths (largest remainder, stable ties)."""
    total = sum(lengths)
    exact = [n * length / total for length in lengths]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(lengths)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _offset(point: LatLng, side: RoadSide, metres: float) -> LatLng:
    """Move a point the given distance towards one side (roads run N-S or E-W)."""
    lat, lng = point
    m_per_deg_lng = _M_PER_DEG_LAT * math.cos(math.radians(lat))
    d_north = {RoadSide.NORTH: metres, RoadSide.SOUTH: -metres}.get(side, 0.0)
    d_east = {RoadSide.EAST: metres, RoadSide.WEST: -metres}.get(side, 0.0)
    return lat + d_north / _M_PER_DEG_LAT, lng + d_east / m_per_deg_lng


def _shop_name(rng: random.Random, btype: str, zone_code: str, road: Road, taken: set[str]) -> str:
    """Build a shop name not yet used on this road."""
    parts = SHOP_NAME_PARTS[btype]
    for _ in range(30):
        # A place-name prefix now and then ("坎山五金店"), as small-town shops often use.
        if btype != BusinessType.BANK and rng.random() < 0.1:
            prefix = _ZONE_PLACE[zone_code]
        else:
            prefix = rng.choice(parts["prefixes"])
        name = prefix + rng.choice(parts["trades"]).format(road=road.name)
        if name not in taken:
            return name
    # Crowded combinations: number the branch, which real shops do as well.
    base, k = name, 2
    while f"{base}{k}店" in taken:
        k += 1
    return f"{base}{k}店"


def _signs(rng: random.Random, name: str, btype: str, lit_shop: bool) -> list[dict]:
    """Make the one or two signs of a shop; a lit shop gets at least one lit sign."""
    main = {
        "kind": SignKind.SHOP_SIGN.value,
        "text": name,
        "width_m": round(rng.uniform(3.0, 8.0), 1),
        "height_m": round(rng.uniform(0.8, 1.5), 1),
        "height_above_ground_m": round(rng.uniform(2.8, 4.5), 1),
        "lit": False,
    }
    signs = [main]
    if rng.random() < 0.3:
        kind = rng.choice(
            [
                SignKind.LIGHT_BOX,
                SignKind.PROJECTING,
                SignKind.LED_SCREEN,
                SignKind.BANNER,
            ]
            + ([SignKind.ROOFTOP] if btype in (BusinessType.HOTEL, BusinessType.SUPERMARKET) else [])
            + ([SignKind.WALL] if btype != BusinessType.BANK else [])
        )
        if kind == SignKind.LIGHT_BOX:  # a standing box by the door
            extra = {
                "text": name,
                "width_m": 0.6,
                "height_m": 1.2,
                "height_above_ground_m": 0.0,
            }
        elif kind == SignKind.PROJECTING:
            extra = {
                "text": name,
                "width_m": round(rng.uniform(0.5, 0.8), 1),
                "height_m": round(rng.uniform(1.5, 3.0), 1),
                "height_above_ground_m": round(rng.uniform(3.0, 6.0), 1),
            }
        elif kind == SignKind.LED_SCREEN:
            extra = {
                "text": rng.choice(_LED_TEXTS),
                "width_m": round(rng.uniform(2.0, 4.0), 1),
                "height_m": round(rng.uniform(0.4, 1.0), 1),
                "height_above_ground_m": round(rng.uniform(2.5, 3.5), 1),
            }
        elif kind == SignKind.BANNER:
            extra = {
                "text": rng.choice(_BANNER_TEXTS),
                "width_m": round(rng.uniform(3.0, 6.0), 1),
                "height_m": round(rng.uniform(0.6, 0.9), 1),
                "height_above_ground_m": round(rng.uniform(2.5, 3.5), 1),
            }
        elif kind == SignKind.ROOFTOP:
            extra = {
                "text": name,
                "width_m": round(rng.uniform(6.0, 12.0), 1),
                "height_m": round(rng.uniform(1.5, 3.0), 1),
                "height_above_ground_m": round(rng.uniform(9.0, 18.0), 1),
            }
        else:  # wall
            extra = {
                "text": name,
                "width_m": round(rng.uniform(2.0, 4.0), 1),
                "height_m": round(rng.uniform(1.0, 3.0), 1),
                "height_above_ground_m": round(rng.uniform(3.0, 8.0), 1),
            }
        # LED screens always glow; banners never do.
        lit = kind == SignKind.LED_SCREEN or (lit_shop and kind != SignKind.BANNER)
        signs.append({"kind": kind.value, **extra, "lit": lit})
    if lit_shop and not any(s["lit"] for s in signs):
        main["lit"] = True  # glowing channel letters on the shop front
    return signs


def demo_shops(n: int, seed: int = 2024) -> list[dict]:
    """Generate n shops deterministically along the demo roads, both sides, by road length."""
    if n < 0:
        raise ValueError("n must not be negative")
    rng = random.Random(seed)
    counts = _shares(n, [road.length_m for road in ROADS])
    shops: list[dict] = []
    for road, count in zip(ROADS, counts, strict=True):
        taken: set[str] = set()
        per_side = _shares(count, [1.0] * len(road.sides))
        for side_index, (side, k) in enumerate(zip(road.sides, per_side, strict=True)):
            # Odd numbers on the road's first side, even on the other, rising from start to end.
            number = 1 if side_index == 0 else 2
            for i in range(k):
                t = (i + 0.5 + rng.uniform(-0.3, 0.3)) / k
                on_road = (
                    road.start[0] + t * (road.end[0] - road.start[0]),
                    road.start[1] + t * (road.end[1] - road.start[1]),
                )
                lat, lng = _offset(on_road, side, rng.uniform(*_OFFSET_M))
                btype = _pick_weighted(rng, _TYPE_WEIGHTS)
                name = _shop_name(rng, btype, road.zone_code, road, taken)
                taken.add(name)
                serial = len(shops)
                shops.append(
                    {
                        "name": name,
                        "business_type": str(btype),
                        "zone": road.zone_code,
                        "road": road.name,
                        "side": side.value,
                        "lat": round(lat, 6),
                        "lng": round(lng, 6),
                        "address": f"{road.name}{number}号",
                        "owner_name": rng.choice(_SURNAMES) + rng.choice(_GIVEN_NAMES),
                        "owner_phone": f"{_PHONE_PREFIXES[serial % 3]}{serial % 10000:04d}",
                        "signs": _signs(rng, name, btype, lit_shop=rng.random() < 0.4),
                    }
                )
                # Now and then a plot without a shop, so numbers are not perfectly regular.
                number += 2 * (2 if rng.random() < 0.15 else 1)
    return shops
