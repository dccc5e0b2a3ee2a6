"""Unit tests for signage.ledger.coords (WGS-84 / GCJ-02 / BD-09 conversions)."""

import pytest
from geopy.distance import geodesic

from signage.ledger.coords import (
    SYSTEMS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

Point = tuple[float, float]

# Independently published points whose WGS-84, GCJ-02 and BD-09 values are all
# known, as (name, wgs84, gcj02, bd09), every point (lat, lng).
REFERENCE_POINTS: list[tuple[str, Point, Point, Point]] = [
    # Glatzel/pyxis, crates/geotool-cli/tests/test_crypto.rs: the WGS84_/GCJ02_/BD09_
    # LON/LAT constants of its CLI tests (a point near Jiaxing, Zhejiang).
    (
        "pyxis-jiaxing",
        (30.6107779, 121.0917077),
        (30.608604331756705, 121.09626935575027),
        (30.61484572185035, 121.10271732371203),
    ),
    # hujiulong/gcoord, test/fixtures/china-cities.json, entry 金华市 (Jinhua,
    # Zhejiang); the fixture stores [lng, lat] rounded to 7 decimals.
    (
        "gcoord-jinhua",
        (29.0820414, 119.6427465),
        (29.0790641, 119.6474509),
        (29.0854003, 119.6538875),
    ),
    # hujiulong/gcoord, test/fixtures/china-cities.json, 泰州市 (Taizhou, Jiangsu).
    (
        "gcoord-taizhou",
        (32.4580023, 119.9183831),
        (32.4557802, 119.9231242),
        (32.4615531, 119.9296902),
    ),
    # hujiulong/gcoord, test/fixtures/china-cities.json, 泉州市 (Quanzhou, Fujian).
    (
        "gcoord-quanzhou",
        (24.8770487, 118.6711365),
        (24.8741363, 118.6756787),
        (24.8804872, 118.6821251),
    ),
]

# WGS-84 -> GCJ-02 pairs published with full precision by googollee/eviltransform
# (go/transform_test.go and python/test.py, "shanghai", "shenzhen", "beijing"),
# as (name, wgs84, gcj02).
EVILTRANSFORM_PAIRS: list[tuple[str, Point, Point]] = [
    ("shanghai", (31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ("shenzhen", (22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ("beijing", (39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]

# Hangzhou grid for round trips: lat 30.1-30.3 and lng 120.3-120.6 in 0.02 degree steps.
HANGZHOU_GRID: list[Point] = [(30.1 + 0.02 * i, 120.3 + 0.02 * j) for i in range(11) for j in range(16)]


def metres(a: Point, b: Point) -> float:
    """Return the geodesic distance in metres between two (lat, lng) points."""
    return geodesic(a, b).meters


def ids(cases: list[tuple]) -> list[str]:
    """Return the leading name of each case, for readable parametrize ids."""
    return [case[0] for case in cases]


# --- published reference points ------------------------------------------------


@pytest.mark.parametrize(("name", "wgs", "gcj", "bd"), REFERENCE_POINTS, ids=ids(REFERENCE_POINTS))
def test_reference_gcj02_converts_back_to_wgs84_within_1m(
    name: str, wgs: Point, gcj: Point, bd: Point
) -> None:
    assert metres(gcj02_to_wgs84(*gcj), wgs) < 1.0


@pytest.mark.parametrize(("name", "wgs", "gcj", "bd"), REFERENCE_POINTS, ids=ids(REFERENCE_POINTS))
def test_reference_bd09_converts_back_to_wgs84_within_1m(
    name: str, wgs: Point, gcj: Point, bd: Point
) -> None:
    assert metres(bd09_to_wgs84(*bd), wgs) < 1.0


@pytest.mark.parametrize(("name", "wgs", "gcj", "bd"), REFERENCE_POINTS, ids=ids(REFERENCE_POINTS))
def test_reference_to_wgs84_dispatches_on_system(name: str, wgs: Point, gcj: Point, bd: Point) -> None:
    assert metres(to_wgs84(*gcj, "gcj02"), wgs) < 1.0
    assert metres(to_wgs84(*bd, "bd09"), wgs) < 1.0
    assert to_wgs84(*wgs, "wgs84") == wgs


@pytest.mark.parametrize(("name", "wgs", "gcj", "bd"), REFERENCE_POINTS, ids=ids(REFERENCE_POINTS))
def test_reference_forward_conversions_within_1m(name: str, wgs: Point, gcj: Point, bd: Point) -> None:
    assert metres(wgs84_to_gcj02(*wgs), gcj) < 1.0
    assert metres(wgs84_to_bd09(*wgs), bd) < 1.0
    # GCJ-02 -> BD-09 is a closed formula; only the 7-decimal rounding of the
    # gcoord fixture separates us from the published value.
    assert metres(gcj02_to_bd09(*gcj), bd) < 0.02
    assert metres(bd09_to_gcj02(*bd), gcj) < 0.02


@pytest.mark.parametrize(("name", "wgs", "gcj"), EVILTRANSFORM_PAIRS, ids=ids(EVILTRANSFORM_PAIRS))
def test_wgs84_to_gcj02_matches_eviltransform_exactly(name: str, wgs: Point, gcj: Point) -> None:
    lat, lng = wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=1e-9)
    assert lng == pytest.approx(gcj[1], abs=1e-9)


@pytest.mark.parametrize(("name", "wgs", "gcj"), EVILTRANSFORM_PAIRS, ids=ids(EVILTRANSFORM_PAIRS))
def test_gcj02_to_wgs84_inverts_eviltransform_to_centimetres(name: str, wgs: Point, gcj: Point) -> None:
    # The one-step approximation is metres off here (eviltransform only asks
    # 5 m of it); the iterative inverse must land on the published WGS-84 point.
    assert metres(gcj02_to_wgs84(*gcj), wgs) < 0.01


def test_matches_wandergis_coordtransform_readme_example() -> None:
    # wandergis/coordtransform README.md "result" block for input (116.404, 39.915),
    # given there as [lng, lat].
    assert wgs84_to_gcj02(39.915, 116.404) == pytest.approx((39.91640428150164, 116.41024449916938), abs=1e-9)
    assert gcj02_to_bd09(39.915, 116.404) == pytest.approx((39.92133699351021, 116.41036949371029), abs=1e-9)
    # The README's inverse is the closed-form approximation; ours refines it, so
    # the two agree only to a few centimetres.
    assert metres(bd09_to_gcj02(39.915, 116.404), (39.90865673957631, 116.39762729119315)) < 0.1


# --- round trips -----------------------------------------------------------------


@pytest.mark.parametrize("point", HANGZHOU_GRID)
def test_wgs84_gcj02_round_trip_in_hangzhou(point: Point) -> None:
    gcj = wgs84_to_gcj02(*point)
    # Sanity: the point really was shifted (by a few hundred metres in Hangzhou).
    assert 100.0 < metres(point, gcj) < 1000.0
    assert metres(gcj02_to_wgs84(*gcj), point) < 0.01


@pytest.mark.parametrize("point", HANGZHOU_GRID)
def test_wgs84_bd09_round_trip_in_hangzhou(point: Point) -> None:
    assert metres(bd09_to_wgs84(*wgs84_to_bd09(*point)), point) < 0.01


@pytest.mark.parametrize("point", HANGZHOU_GRID[::17])
def test_gcj02_bd09_round_trip_in_hangzhou(point: Point) -> None:
    assert metres(bd09_to_gcj02(*gcj02_to_bd09(*point)), point) < 0.01


# --- outside China and argument handling -----------------------------------------


@pytest.mark.parametrize(
    "point",
    [
        (51.5007, -0.1246),
        (40.6892, -74.0445),
        (-33.8568, 151.2153),
        (35.6586, 139.7454),
    ],
    ids=["london", "new-york", "sydney", "tokyo"],
)
def test_points_outside_china_are_not_shifted_by_gcj02(point: Point) -> None:
    assert out_of_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
    assert to_wgs84(*point, "gcj02") == point


def test_hangzhou_is_inside_the_china_box() -> None:
    assert not out_of_china(30.25, 120.17)


def test_systems_lists_every_accepted_name() -> None:
    assert SYSTEMS == ("wgs84", "gcj02", "bd09")
    for system in SYSTEMS:
        assert isinstance(to_wgs84(30.25, 120.17, system), tuple)


@pytest.mark.parametrize("system", ["", "mercator", "GCJ02", "bd-09", "wgs 84"])
def test_to_wgs84_rejects_unknown_system(system: str) -> None:
    # Names are matched exactly; callers normalise before calling.
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(30.25, 120.17, system)
