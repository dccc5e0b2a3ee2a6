"""Shops on the ledger: registration, credit codes, duplicates, coordinates, near, pagination, zones."""

from __future__ import annotations

import threading

import pytest
from geopy.distance import geodesic

from signage.core.db import db
from signage.ledger.credit_code import make_credit_code
from tests import factories
from tests.helpers import assert_problem, bearer, make_user, sign_in
from tests.unit.test_coords import REFERENCE_POINTS

VALID_CODE = "914403001922038216"  # Huawei Technologies, published


@pytest.fixture
def roads(app):
    with app.app_context():
        gl = factories.road("GL", "航坞路")
        ks = factories.road("KS", "坎红路")
        db.session.commit()
        return {"GL": str(gl.id), "KS": str(ks.id)}


@pytest.fixture
def inspector(app, client, roads):
    make_user(app, "insp_gl", "inspector", zones=("GL",))
    return bearer(sign_in(client, "insp_gl"))


@pytest.fixture
def supervisor(app, client):
    make_user(app, "captain", "supervisor")
    return bearer(sign_in(client, "captain"))


def shop_body(roads, **overrides):
    body = {
        "name": "阿芳小吃店",
        "address": "航坞路12号",
        "road_id": roads["GL"],
        "side": "north",
        "lat": 30.1815,
        "lng": 120.4600,
        "owner_name": "沈阿芳",
        "owner_phone": "13800001234",
        "credit_code": VALID_CODE,
        "business_type": "catering",
    }
    body.update(overrides)
    return body


def test_register_shop_returns_it_with_zone_and_registrar(client, inspector, roads):
    response = client.post("/api/v1/shops", json=shop_body(roads), headers=inspector)
    assert response.status_code == 201, response.get_json()
    shop = response.get_json()
    assert shop["zone"] == "GL" and shop["road"] == "航坞路" and shop["status"] == "open"
    assert shop["registered_by_id"] == client.get("/api/v1/me", headers=inspector).get_json()["id"]
    assert response.headers["ETag"] and response.headers["Location"].endswith(shop["id"])
    again = client.get(f"/api/v1/shops/{shop['id']}", headers=inspector)
    assert again.get_json()["credit_code"] == VALID_CODE


def test_register_shop_with_client_made_id_keeps_it(client, inspector, roads):
    shop_id = "6f1e6c1e-8a56-4c54-9d7e-2b0d4a3c9f11"
    response = client.post("/api/v1/shops", json=shop_body(roads, id=shop_id), headers=inspector)
    assert response.status_code == 201 and response.get_json()["id"] == shop_id


def test_a_client_id_taken_by_someone_else_is_409_id_taken(app, client, inspector, roads, supervisor):
    shop_id = "6f1e6c1e-8a56-4c54-9d7e-2b0d4a3c9f12"
    assert (
        client.post("/api/v1/shops", json=shop_body(roads, id=shop_id), headers=inspector).status_code == 201
    )
    # Another account's retry scope differs, so the database's key is what refuses it.
    other = client.post(
        "/api/v1/shops",
        json=shop_body(roads, id=shop_id, name="另一家店", confirm_distinct=True),
        headers=supervisor,
    )
    assert assert_problem(other, 409, "id-taken")["errors"] == {"id": ["is taken"]}
    shop = client.get(f"/api/v1/shops/{shop_id}", headers=supervisor).get_json()
    assert shop["name"] != "另一家店"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("914403001922038217", "check character"),
        ("91440300192203821", "18 characters"),
        ("9144030019220382IO", "not allowed"),
        ("C14403001922038213", "authority"),
    ],
)
def test_register_shop_with_bad_credit_code_is_422_naming_it(client, inspector, roads, code, reason):
    response = client.post("/api/v1/shops", json=shop_body(roads, credit_code=code), headers=inspector)
    body = assert_problem(response, 422, "validation-error")
    assert list(body["errors"]) == ["credit_code"]
    assert reason in body["errors"]["credit_code"][0]


def test_register_shop_accepts_lower_case_and_spaces_around_a_valid_code(client, inspector, roads):
    made = make_credit_code("92330109MA2H4XY10")
    response = client.post(
        "/api/v1/shops", json=shop_body(roads, credit_code=f" {made.lower()} "), headers=inspector
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["credit_code"] == made


def test_register_shop_with_same_credit_code_is_409_pointing_at_existing(client, inspector, roads):
    first = client.post("/api/v1/shops", json=shop_body(roads), headers=inspector).get_json()
    other = shop_body(roads, name="另一家店", lat=30.1830, lng=120.4650)
    body = assert_problem(client.post("/api/v1/shops", json=other, headers=inspector), 409, "duplicate-shop")
    assert body["existing"]["id"] == first["id"]
    confirmed = client.post("/api/v1/shops", json={**other, "confirm_distinct": True}, headers=inspector)
    assert confirmed.status_code == 201


def test_register_shop_with_same_name_a_few_metres_away_is_409(client, inspector, roads):
    client.post("/api/v1/shops", json=shop_body(roads, credit_code=None), headers=inspector)
    close = shop_body(roads, credit_code=None, lat=30.18155, lng=120.46003)  # about 6 m away
    assert_problem(client.post("/api/v1/shops", json=close, headers=inspector), 409, "duplicate-shop")
    far = shop_body(roads, credit_code=None, lat=30.1830, lng=120.4600)  # about 170 m away
    assert client.post("/api/v1/shops", json=far, headers=inspector).status_code == 201


def test_register_shop_outside_service_area_or_range_is_422(client, inspector, roads):
    body = assert_problem(
        client.post("/api/v1/shops", json=shop_body(roads, lat=39.9, lng=116.4), headers=inspector), 422
    )
    assert "service area" in body["errors"]["lat"][0]
    body = assert_problem(
        client.post("/api/v1/shops", json=shop_body(roads, lat=95.0), headers=inspector), 422
    )
    assert "lat" in body["errors"]
    body = assert_problem(
        client.post("/api/v1/shops", json=shop_body(roads, coord_system="mercator"), headers=inspector), 422
    )
    assert "coord_system" in body["errors"]


def test_register_shop_missing_fields_is_422_naming_each(client, inspector):
    body = assert_problem(client.post("/api/v1/shops", json={"address": "x"}, headers=inspector), 422)
    assert {"name", "road_id", "lat", "lng"} <= set(body["errors"])


@pytest.mark.parametrize(
    ("name", "wgs", "gcj", "bd"), REFERENCE_POINTS[:3], ids=[p[0] for p in REFERENCE_POINTS[:3]]
)
def test_gcj02_and_bd09_inputs_land_within_1m_of_the_reference(
    app, client, inspector, roads, name, wgs, gcj, bd
):
    app.config["SERVICE_AREA"] = (18.0, 73.0, 54.0, 135.0)  # all of China for these reference points
    for system, point in (("gcj02", gcj), ("bd09", bd), ("wgs84", wgs)):
        body = shop_body(
            roads, name=f"{name}-{system}", credit_code=None, lat=point[0], lng=point[1], coord_system=system
        )
        response = client.post("/api/v1/shops", json=body, headers=inspector)
        assert response.status_code == 201, response.get_json()
        stored = response.get_json()
        assert geodesic(wgs, (stored["lat"], stored["lng"])).meters < 1.0, system


def test_near_returns_shops_within_radius_nearest_first_with_distances(app, client, inspector):
    centre = (30.1800, 120.4600)
    with app.app_context():
        # Shops due north of the centre at known distances (1 m of latitude ~ 1/110850 degree here).
        for metres in (150, 20, 80, 260):
            factories.shop(f"店{metres}", lat=centre[0] + metres / 110_850, lng=centre[1])
        db.session.commit()
    response = client.get(f"/api/v1/shops?near={centre[0]},{centre[1]}&radius=200", headers=inspector)
    items = response.get_json()["items"]
    assert [s["name"] for s in items] == ["店20", "店80", "店150"]
    for shop in items:
        expected = geodesic(centre, (shop["lat"], shop["lng"])).meters
        assert shop["distance_m"] == pytest.approx(expected, abs=0.1)
        assert abs(shop["distance_m"] - float(shop["name"][1:])) < 1.0


def test_near_accepts_a_gcj02_point(app, client, inspector):
    from signage.ledger.coords import wgs84_to_gcj02

    with app.app_context():
        factories.shop("目标店", lat=30.1800, lng=120.4600)
        db.session.commit()
    lat, lng = wgs84_to_gcj02(30.1800, 120.4600)
    items = client.get(
        f"/api/v1/shops?near={lat},{lng}&radius=5&coord_system=gcj02", headers=inspector
    ).get_json()["items"]
    assert [s["name"] for s in items] == ["目标店"] and items[0]["distance_m"] < 0.5


def test_list_filters_by_zone_text_and_status(app, client, supervisor):
    with app.app_context():
        factories.shop("瓜沥五金", zone_code="GL", road_name="航坞路")
        factories.shop("坎山超市", zone_code="KS", road_name="坎红路", status="closed")
        db.session.commit()
    names = lambda url: [s["name"] for s in client.get(url, headers=supervisor).get_json()["items"]]  # noqa: E731
    assert names("/api/v1/shops?zone=KS") == ["坎山超市"]
    assert names("/api/v1/shops?q=五金") == ["瓜沥五金"]
    assert names("/api/v1/shops?status=closed") == ["坎山超市"]
    assert_problem(client.get("/api/v1/shops?zone=XX", headers=supervisor), 422)


def test_inspector_lists_and_reads_shops_of_their_zones_only(app, client, inspector):
    with app.app_context():
        factories.shop("瓜沥五金", zone_code="GL", road_name="航坞路")
        far = factories.shop("坎山超市", zone_code="KS", road_name="坎红路", owner_phone="13911112222")
        db.session.commit()
        far_id = str(far.id)
    listed = client.get("/api/v1/shops", headers=inspector).get_json()["items"]
    assert [s["name"] for s in listed] == ["瓜沥五金"]
    near = client.get("/api/v1/shops?near=30.18,120.46&radius=5000", headers=inspector).get_json()["items"]
    assert [s["name"] for s in near] == ["瓜沥五金"]
    assert_problem(client.get("/api/v1/shops?zone=KS", headers=inspector), 403, "outside-zone")
    body = assert_problem(client.get(f"/api/v1/shops/{far_id}", headers=inspector), 403, "outside-zone")
    assert "坎山超市" not in str(body) and "13911112222" not in str(body)


def test_pagination_visits_every_row_exactly_once_while_rows_are_added(app, client, inspector):
    with app.app_context():
        for i in range(25):
            factories.shop(f"原有{i:02d}", lat=30.17 + i * 0.001)
        db.session.commit()
    seen, cursor, added = [], None, 0
    while True:
        url = "/api/v1/shops?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=inspector).get_json()
        seen += [s["name"] for s in page["items"]]
        with app.app_context():  # someone registers a shop between pages
            factories.shop(f"新增{added:02d}", lat=30.19 + added * 0.001)
            db.session.commit()
            added += 1
        cursor = page["next"]
        if not cursor:
            break
    originals = [n for n in seen if n.startswith("原有")]
    assert sorted(originals) == [f"原有{i:02d}" for i in range(25)]
    assert len(seen) == len(set(seen))


def test_updated_since_lists_only_changed_shops(app, client, inspector, clock):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    clock.set(start)
    with app.app_context():
        factories.shop("旧店")
        db.session.commit()
    clock.set(start + timedelta(hours=2))
    with app.app_context():
        factories.shop("新店", lat=30.185)
        db.session.commit()
    since = (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    names = [
        s["name"]
        for s in client.get(f"/api/v1/shops?updated_since={since}", headers=inspector).get_json()["items"]
    ]
    assert names == ["新店"]


def test_inspector_is_refused_outside_their_zone(client, inspector, roads):
    body = assert_problem(
        client.post(
            "/api/v1/shops",
            json=shop_body(roads, road_id=roads["KS"], lat=30.19, lng=120.40),
            headers=inspector,
        ),
        403,
    )
    assert body["type"].endswith("outside-zone")


def test_inspector_cannot_edit_a_shop_in_another_zone_but_supervisor_can(app, client, inspector, supervisor):
    with app.app_context():
        shop = factories.shop("坎山超市", zone_code="KS", road_name="坎红路")
        db.session.commit()
        url = f"/api/v1/shops/{shop.id}"
    etag = client.get(url, headers=supervisor).headers["ETag"]
    assert_problem(client.patch(url, json={"name": "改名"}, headers={**inspector, "If-Match": etag}), 403)
    # A stale ETag does not make the refusal a 412 carrying the record.
    stale = client.patch(url, json={"name": "改名"}, headers={**inspector, "If-Match": '"stale"'})
    assert "坎山超市" not in assert_problem(stale, 403, "outside-zone")["detail"]
    assert "current" not in stale.get_json()
    response = client.patch(url, json={"name": "坎山超市(新)"}, headers={**supervisor, "If-Match": etag})
    assert response.status_code == 200 and response.get_json()["name"] == "坎山超市(新)"


def test_update_shop_needs_if_match_and_refuses_stale(client, inspector, roads):
    shop = client.post("/api/v1/shops", json=shop_body(roads), headers=inspector)
    url, etag = f"/api/v1/shops/{shop.get_json()['id']}", shop.headers["ETag"]
    assert_problem(client.patch(url, json={"status": "closed"}, headers=inspector), 428)
    assert (
        client.patch(url, json={"status": "closed"}, headers={**inspector, "If-Match": etag}).status_code
        == 200
    )
    stale = assert_problem(
        client.patch(url, json={"status": "open"}, headers={**inspector, "If-Match": etag}), 412
    )
    assert stale["current"]["status"] == "closed"


def test_owner_cannot_use_the_ledger_endpoints(app, client):
    make_user(app, "owner1", "owner", password="owner-password-1")
    owner = bearer(sign_in_owner(app))
    assert_problem(client.get("/api/v1/shops", headers=owner), 403)


def sign_in_owner(app):
    from signage.accounts import tokens
    from signage.accounts.models import User

    with app.test_request_context():
        user = db.session.scalar(db.select(User).where(User.username == "owner1"))
        pair = tokens.start_session(user)
        db.session.commit()
        return pair


def test_shop_changes_are_audited(client, inspector, roads, supervisor):
    shop = client.post("/api/v1/shops", json=shop_body(roads), headers=inspector)
    url = f"/api/v1/shops/{shop.get_json()['id']}"
    client.patch(
        url, json={"owner_phone": "13900000000"}, headers={**inspector, "If-Match": shop.headers["ETag"]}
    )
    events = client.get(
        f"/api/v1/events?entity=shops&entity_id={shop.get_json()['id']}", headers=supervisor
    ).get_json()["items"]
    assert [e["action"] for e in events] == ["create", "update"]
    assert events[1]["before"] == {"owner_phone": "13800001234"} and events[1]["after"] == {
        "owner_phone": "13900000000"
    }


def test_concurrent_registrations_of_distinct_shops_all_land(app, client, inspector, roads):
    results = []

    def register(i):
        c = app.test_client()
        r = c.post(
            "/api/v1/shops",
            json=shop_body(roads, name=f"并发{i}", credit_code=None, lat=30.17 + i * 0.002),
            headers=inspector,
        )
        results.append(r.status_code)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] * 4
