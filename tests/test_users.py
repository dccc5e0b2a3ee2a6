"""Admin account management and the audit trail it leaves."""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem, bearer, make_user, sign_in


@pytest.fixture
def admin(app, client):
    make_user(app, "root", "admin")
    return bearer(sign_in(client, "root"))


def _create_zone(client, admin, code="GL", name="瓜沥集镇"):
    response = client.post("/api/v1/zones", json={"code": code, "name": name}, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_admin_creates_inspector_with_zone_and_they_can_sign_in(client, admin):
    _create_zone(client, admin)
    response = client.post(
        "/api/v1/users",
        json={"username": "insp1", "role": "inspector", "password": "a-long-password", "zones": ["GL"]},
        headers=admin,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["zones"] == ["GL"] and "password" not in body
    assert response.headers["ETag"]
    assert sign_in(client, "insp1", "a-long-password")["user"]["zones"] == ["GL"]


def test_create_user_with_unknown_zone_is_422_naming_zones(client, admin):
    response = client.post(
        "/api/v1/users",
        json={"username": "insp1", "role": "inspector", "password": "a-long-password", "zones": ["XX"]},
        headers=admin,
    )
    body = assert_problem(response, 422)
    assert "XX" in body["errors"]["zones"][0]


def test_staff_account_needs_a_long_password(client, admin):
    body = assert_problem(
        client.post("/api/v1/users", json={"username": "a1", "role": "inspector"}, headers=admin), 422
    )
    assert "password" in body["errors"]
    body = assert_problem(
        client.post(
            "/api/v1/users", json={"username": "a1", "role": "inspector", "password": "short"}, headers=admin
        ),
        422,
    )
    assert "password" in body["errors"]


def test_list_users_pages_through_everyone_once(app, client, admin):
    for i in range(7):
        make_user(app, f"user{i:02d}", "inspector")
    seen, cursor = [], None
    while True:
        url = "/api/v1/users?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=admin).get_json()
        seen += [u["username"] for u in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 8


def test_list_users_filters_by_role_and_text(app, client, admin):
    make_user(app, "captain", "supervisor")
    make_user(app, "ivan", "inspector")
    names = [
        u["username"] for u in client.get("/api/v1/users?role=supervisor", headers=admin).get_json()["items"]
    ]
    assert names == ["captain"]
    names = [u["username"] for u in client.get("/api/v1/users?q=iva", headers=admin).get_json()["items"]]
    assert names == ["ivan"]


def test_admin_cannot_disable_self(app, client, admin):
    me = client.get("/api/v1/me", headers=admin)
    response = client.patch(
        f"/api/v1/users/{me.get_json()['id']}",
        json={"is_active": False},
        headers={
            **admin,
            "If-Match": client.get(f"/api/v1/users/{me.get_json()['id']}", headers=admin).headers["ETag"],
        },
    )
    assert_problem(response, 409, "self-disable")


def test_changes_are_in_the_audit_trail_with_before_and_after(app, client):
    make_user(app, "root", "admin")
    make_user(app, "captain", "supervisor")
    admin = bearer(sign_in(client, "root"))
    created = client.post(
        "/api/v1/users",
        json={"username": "ivan", "role": "inspector", "password": "a-long-password", "display_name": "Ivan"},
        headers={**admin, "X-Request-ID": "create-ivan"},
    ).get_json()
    etag = client.get(f"/api/v1/users/{created['id']}", headers=admin).headers["ETag"]
    client.patch(
        f"/api/v1/users/{created['id']}",
        json={"display_name": "Ivan P."},
        headers={**admin, "If-Match": etag},
    )
    supervisor = bearer(sign_in(client, "captain"))
    events = client.get(
        f"/api/v1/events?entity=users&entity_id={created['id']}", headers=supervisor
    ).get_json()
    actions = [e["action"] for e in events["items"]]
    assert actions == ["create", "update"]
    create, update = events["items"]
    root_id = client.get("/api/v1/me", headers=admin).get_json()["id"]
    assert create["actor_id"] == root_id and create["actor_role"] == "admin"
    assert create["request_id"] == "create-ivan"
    assert create["after"]["password_hash"] == "[redacted]"
    assert update["before"] == {"display_name": "Ivan"} and update["after"] == {"display_name": "Ivan P."}


def test_signin_and_logout_are_audited(app, client):
    make_user(app, "root", "admin")
    tokens = sign_in(client, "root")
    client.post("/api/v1/auth/logout", headers=bearer(tokens))
    events = client.get("/api/v1/events?entity=session", headers=bearer(sign_in(client, "root"))).get_json()[
        "items"
    ]
    assert [e["action"] for e in events][:2] == ["sign_in", "sign_out"]


def test_inspector_cannot_read_the_audit_trail(app, client):
    make_user(app, "ivan", "inspector")
    assert_problem(client.get("/api/v1/events", headers=bearer(sign_in(client, "ivan"))), 403)


def test_zones_and_roads_admin_writes_staff_reads(app, client, admin):
    zone = _create_zone(client, admin)
    road = client.post("/api/v1/roads", json={"zone_id": zone["id"], "name": "航坞路"}, headers=admin)
    assert road.status_code == 201
    make_user(app, "ivan", "inspector", zones=("GL",))
    ivan = bearer(sign_in(client, "ivan"))
    assert [z["code"] for z in client.get("/api/v1/zones", headers=ivan).get_json()] == ["GL"]
    roads = client.get("/api/v1/roads?zone=GL", headers=ivan).get_json()["items"]
    assert [(r["name"], r["zone"]) for r in roads] == [("航坞路", "GL")]
    assert_problem(client.post("/api/v1/zones", json={"code": "KS", "name": "坎山"}, headers=ivan), 403)
    assert_problem(
        client.post("/api/v1/roads", json={"zone_id": zone["id"], "name": "航坞路"}, headers=admin), 409
    )
