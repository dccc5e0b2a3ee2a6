"""API4:2023 Unrestricted Resource Consumption: every request has a bounded cost.

Body size (413 before anything is parsed), page size (documented maximum, 422 past it), batch
sizes (sync, track points, photos per hazard), upload size and pixels, and sign-in guesses (429).
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from signage.sync.schemas import MAX_BATCH
from tests.authz_scenario import jpeg, upload
from tests.helpers import PASSWORD, assert_problem, make_user


def _list_operations(spec: dict):
    for path, item in spec["paths"].items():
        op = item.get("get")
        params = {p["name"]: p for p in (op or {}).get("parameters", []) if p["in"] == "query"}
        if "limit" in params:
            others = any(p.get("required") for name, p in params.items() if name != "limit")
            yield path, params["limit"]["schema"], others


def test_every_list_documents_a_page_size_cap_and_refuses_past_it(world):
    _, client, sc = world
    spec = client.get("/api/v1/openapi.json").get_json()
    lists = [row for row in _list_operations(spec) if "{" not in row[0]]
    assert len(lists) >= 10
    for path, schema, needs_more in lists:
        cap = schema.get("maximum")
        assert cap and cap <= 500, f"{path}: limit has no documented maximum"
        body = assert_problem(client.get(path, query_string={"limit": cap + 1}, headers=sc.who("admin")), 422)
        assert "limit" in body["errors"], path
        if not needs_more:
            at_cap = client.get(path, query_string={"limit": cap}, headers=sc.who("admin"))
            assert at_cap.status_code == 200, path


def test_sync_batch_is_capped(world):
    _, client, sc = world
    op = {"method": "PATCH", "path": f"/api/v1/shops/{sc.a.shop}", "body": {"address": "x"}, "if_match": "*"}
    response = client.post(
        "/api/v1/sync", json={"operations": [op] * (MAX_BATCH + 1)}, headers=sc.who("insp_1")
    )
    assert "operations" in assert_problem(response, 422)["errors"]


def test_track_points_per_batch_are_capped(world):
    _, client, sc = world
    points = [{"lat": 30.18, "lng": 120.46, "at": sc.now}] * 2001
    response = client.post(
        f"/api/v1/patrols/{sc.a.patrol}/track", json={"points": points}, headers=sc.who("insp_1")
    )
    assert "points" in assert_problem(response, 422)["errors"]


def test_photos_per_hazard_are_capped(world):
    _, client, sc = world
    body = {"sign_id": sc.a.sign, "category": "damaged", "severity": "low", "photo_ids": [sc.a.photo] * 21}
    assert (
        "photo_ids"
        in assert_problem(client.post("/api/v1/hazards", json=body, headers=sc.who("insp_1")), 422)["errors"]
    )


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 128 * 1024, "PHOTO_MAX_BYTES": 16 * 1024}])
def test_body_past_the_limit_is_413_before_it_is_read(app, client):
    make_user(app, "root", "admin")
    huge = b'{"username": "' + b"x" * (129 * 1024) + b'", "password": "p"}'
    response = client.post("/api/v1/auth/token", data=huge, content_type="application/json")
    assert_problem(response, 413)


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 4 * 1024 * 1024, "PHOTO_MAX_BYTES": 2000}])
def test_photo_past_its_size_limit_is_413_and_nothing_is_stored(app, client):
    from tests.helpers import bearer, sign_in

    make_user(app, "shen", "inspector")
    who = bearer(sign_in(client, "shen"))
    big = io.BytesIO()
    Image.effect_noise((200, 200), 64).convert("RGB").save(big, "JPEG", quality=95)
    assert big.tell() > 2000
    response = client.post(
        "/api/v1/photos",
        data={"file": (io.BytesIO(big.getvalue()), "big.jpg")},
        headers=who,
        content_type="multipart/form-data",
    )
    assert_problem(response, 413, "photo-too-large")
    assert upload(client, who, shade=5).status_code == 201  # a small one still goes through
    assert len(jpeg(5)) < 2000


@pytest.mark.parametrize("app_config", [{"PHOTO_MAX_PIXELS": 100 * 100}])
def test_photo_with_too_many_pixels_is_refused(app, client):
    from tests.helpers import bearer, sign_in

    make_user(app, "shen", "inspector")
    wide = io.BytesIO()
    Image.new("RGB", (400, 400), "white").save(wide, "PNG")
    response = client.post(
        "/api/v1/photos",
        data={"file": (io.BytesIO(wide.getvalue()), "wide.png")},
        headers=bearer(sign_in(client, "shen")),
        content_type="multipart/form-data",
    )
    assert response.status_code in (413, 422), response.get_json()
    assert "pixel" in response.get_json()["detail"]


@pytest.mark.parametrize("app_config", [{"SIGNIN_MAX_FAILURES": 3}])
def test_sign_in_guesses_are_limited_with_retry_after(app, client):
    make_user(app, "root", "admin")
    for _ in range(3):
        bad = client.post("/api/v1/auth/token", json={"username": "root", "password": "wrong-password"})
        assert_problem(bad, 401)
    limited = client.post("/api/v1/auth/token", json={"username": "root", "password": PASSWORD})
    body = assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1
