"""API3:2023 Broken Object Property Level Authorization, mass assignment included.

A caller sets only the fields its schema names: a field reserved to staff or to the server
(a hazard's state, a shop's zone, ids, versions, who made a record) is refused with 422 naming
it, never silently applied or dropped; and no response shows a property its reader should not see.
"""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem

SERVER_FIELDS = ("id", "version", "created_at", "updated_at", "created_by_id")


def _etag(client, sc, path: str) -> str:
    return client.get(path, headers=sc.who("admin")).headers["ETag"]


def _notified(client, sc) -> None:
    url = f"/api/v1/hazards/{sc.a.hazard}/notify"
    tag = _etag(client, sc, f"/api/v1/hazards/{sc.a.hazard}")
    response = client.post(
        url, json={"contact_method": "phone"}, headers={**sc.who("insp_1"), "If-Match": tag}
    )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("field", ["state", "rectified_at", "verified_by_id", "deadline_at"])
def test_owner_submitting_a_fix_cannot_set_the_hazards_staff_fields(world, field):
    _, client, sc = world
    _notified(client, sc)
    value = "rectified" if field == "state" else "2030-01-01T00:00:00+08:00"
    body = {"photo_ids": [sc.a.photo], field: value}
    response = client.post(
        f"/api/v1/hazards/{sc.a.hazard}/submit_fix", json=body, headers={**sc.who("owner_a"), "If-Match": "*"}
    )
    assert field in assert_problem(response, 422)["errors"]
    hazard = client.get(f"/api/v1/hazards/{sc.a.hazard}", headers=sc.who("admin")).get_json()
    assert hazard["state"] == "notified" and hazard["rectified_at"] is None


def test_owner_cannot_move_a_shop_to_another_zone_by_any_path(world):
    _, client, sc = world
    moved = {"zone_id": sc.b.zone, "road_id": sc.b.road}
    direct = client.patch(
        f"/api/v1/shops/{sc.a.shop}", json=moved, headers={**sc.who("owner_a"), "If-Match": "*"}
    )
    assert_problem(direct, 403)
    op = {"method": "PATCH", "path": f"/api/v1/shops/{sc.a.shop}", "body": moved, "if_match": "*"}
    synced = client.post("/api/v1/sync", json={"operations": [op]}, headers=sc.who("owner_a"))
    assert synced.status_code == 200 and synced.get_json()["results"][0]["status"] == 403
    assert (
        client.get(f"/api/v1/shops/{sc.a.shop}", headers=sc.who("admin")).get_json()["zone_id"] == sc.a.zone
    )


def test_staff_set_a_shops_zone_only_through_its_road(world):
    _, client, sc = world
    url = f"/api/v1/shops/{sc.a.shop}"
    response = client.patch(
        url, json={"zone_id": sc.b.zone}, headers={**sc.who("admin"), "If-Match": _etag(client, sc, url)}
    )
    assert "zone_id" in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/v1/shops/{a.shop}", ("registered_by_id", "zone_id")),
        ("/api/v1/signs/{a.sign}", ("shop_id", "zone_id", "status")),
        ("/api/v1/users/{users[insp_1]}", ("username", "password_hash")),
        ("/api/v1/zones/{a.zone}", ("code",)),
        ("/api/v1/roads/{a.road}", ("zone_id",)),
    ],
)
def test_updates_refuse_server_and_readonly_fields_naming_each(world, path, extra):
    _, client, sc = world
    url = path.format(a=sc.a, users=sc.user_ids)
    for field in (*SERVER_FIELDS, *extra):
        headers = {**sc.who("admin"), "If-Match": _etag(client, sc, url)}
        response = client.patch(url, json={field: "x"}, headers=headers)
        assert field in assert_problem(response, 422)["errors"], (url, field)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/hazards", lambda sc: {"sign_id": sc.a.sign, "category": "damaged", "severity": "low"}),
        ("/api/v1/notices", lambda sc: {"shop_id": sc.a.shop}),
        ("/api/v1/zones", lambda sc: {"code": "XQ", "name": "新区"}),
    ],
)
@pytest.mark.parametrize("field", ["state", "version", "created_by_id", "issued_by_id", "found_by_id"])
def test_creates_refuse_fields_the_server_sets(world, path, body, field):
    _, client, sc = world
    response = client.post(path, json={**body(sc), field: "x"}, headers=sc.who("admin"))
    assert field in assert_problem(response, 422)["errors"]


def test_no_account_representation_shows_a_password_or_its_hash(world):
    _, client, sc = world
    for url, who in (("/api/v1/users", "admin"), ("/api/v1/me", "insp_1"), ("/api/v1/me", "owner_a")):
        response = client.get(url, headers=sc.who(who))
        text = response.get_data(as_text=True)
        assert response.status_code == 200 and "username" in text, url
        assert "password" not in text and "$argon2" not in text, url


def test_evidence_flags_are_for_supervisors_only(world):
    _, client, sc = world
    keys = {
        r: set(client.get(f"/api/v1/hazards/{sc.a.hazard}", headers=sc.who(r)).get_json())
        for r in ("supervisor", "insp_1", "owner_a")
    }
    assert "evidence_flags" in keys["supervisor"]
    assert "evidence_flags" not in keys["insp_1"] | keys["owner_a"]
