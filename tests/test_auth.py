"""Sign-in, tokens, refresh rotation, logout, roles and the sign-in limit."""

from __future__ import annotations

import jwt

from tests.conftest import TEST_SECRET
from tests.helpers import PASSWORD, assert_problem, bearer, make_user, sign_in


def test_signin_returns_tokens_and_me_shows_account(app, client):
    make_user(app, "alice", "inspector", zones=())
    tokens = sign_in(client, "alice")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60
    assert tokens["user"]["username"] == "alice"
    me = client.get("/api/v1/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.get_json()["role"] == "inspector"
    assert "password" not in me.get_data(as_text=True)


def test_signin_wrong_password_is_401(app, client):
    make_user(app, "alice", "admin")
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": "nope-nope"})
    assert_problem(response, 401, "bad-credentials")


def test_signin_unknown_user_is_401_same_as_wrong_password(client):
    response = client.post("/api/v1/auth/token", json={"username": "ghost", "password": "whatever1"})
    body = assert_problem(response, 401, "bad-credentials")
    assert body["detail"] == "The username or password is wrong."


def test_me_without_token_is_401(client):
    response = client.get("/api/v1/me")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_with_tampered_token_is_401(app, client):
    make_user(app, "alice", "admin")
    tokens = sign_in(client, "alice")
    head, payload, sig = tokens["access_token"].split(".")
    tampered = f"{head}.{payload}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"})
    assert_problem(response, 401)


def test_me_with_token_signed_by_another_key_is_401(app, client):
    make_user(app, "alice", "admin")
    tokens = sign_in(client, "alice")
    claims = jwt.decode(tokens["access_token"], TEST_SECRET, algorithms=["HS256"])
    claims["role"] = "admin"
    forged = jwt.encode(claims, "someone-elses-key-0123456789-abcdefghij", algorithm="HS256")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_me_with_expired_token_is_401(app, client, clock):
    make_user(app, "alice", "admin")
    tokens = sign_in(client, "alice")
    claims = jwt.decode(tokens["access_token"], TEST_SECRET, algorithms=["HS256"])
    # Sign a copy that expired a minute ago with the real key: only expiry is wrong.
    claims["exp"] = claims["iat"] - 60
    expired = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    body = assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}), 401)
    assert "expired" in body["detail"]


def test_refresh_rotates_and_old_refresh_token_reuse_ends_the_session(app, client):
    make_user(app, "alice", "admin")
    first = sign_in(client, "alice")
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    # The first refresh token comes back: someone has a copy, so the family ends.
    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reuse, 401)
    assert_problem(client.get("/api/v1/me", headers=bearer(second)), 401)
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(again, 401)


def test_refresh_with_unknown_token_is_401(client):
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 40}), 401)


def test_logout_revokes_access_and_refresh_tokens(app, client):
    make_user(app, "alice", "admin")
    tokens = sign_in(client, "alice")
    assert client.get("/api/v1/shops", headers=bearer(tokens)).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens)).status_code == 204
    assert_problem(client.get("/api/v1/me", headers=bearer(tokens)), 401)
    assert_problem(client.get("/api/v1/shops", headers=bearer(tokens)), 401)  # a read-only view too
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)


def test_logout_of_one_session_keeps_another(app, client):
    make_user(app, "alice", "admin")
    phone, desk = sign_in(client, "alice"), sign_in(client, "alice")
    client.post("/api/v1/auth/logout", headers=bearer(phone))
    assert client.get("/api/v1/me", headers=bearer(desk)).status_code == 200


def test_wrong_role_is_403(app, client):
    make_user(app, "ivan", "inspector")
    response = client.get("/api/v1/users", headers=bearer(sign_in(client, "ivan")))
    body = assert_problem(response, 403, "forbidden")
    assert "inspector" in body["detail"]


def test_disabled_account_tokens_stop_at_once(app, client):
    make_user(app, "root", "admin")
    ivan = make_user(app, "ivan", "inspector")
    admin = bearer(sign_in(client, "root"))
    ivan_tokens = sign_in(client, "ivan")
    etag = client.get(f"/api/v1/users/{ivan}", headers=admin).headers["ETag"]
    response = client.patch(
        f"/api/v1/users/{ivan}", json={"is_active": False}, headers={**admin, "If-Match": etag}
    )
    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    assert_problem(client.get("/api/v1/me", headers=bearer(ivan_tokens)), 401)
    # Read-only views check the session by their own statement (no ORM user): refused too.
    assert_problem(client.get("/api/v1/shops", headers=bearer(ivan_tokens)), 401)
    assert_problem(client.get(f"/api/v1/signs/{ivan}", headers=bearer(ivan_tokens)), 401)
    assert_problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": ivan_tokens["refresh_token"]}), 401
    )
    response = client.post("/api/v1/auth/token", json={"username": "ivan", "password": PASSWORD})
    assert_problem(response, 403, "account-disabled")


def test_repeated_failed_signins_for_one_account_get_429_with_retry_after(app, client):
    make_user(app, "alice", "admin")
    for _ in range(5):
        bad = client.post("/api/v1/auth/token", json={"username": "alice", "password": "wrong-guess"})
        assert bad.status_code == 401
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    body = assert_problem(response, 429, "too-many-requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert body["retry_after"] == int(response.headers["Retry-After"])


def test_repeated_failures_from_one_address_are_limited_across_accounts(app, client):
    for i in range(5):
        client.post("/api/v1/auth/token", json={"username": f"guess{i}", "password": "wrong-guess"})
    make_user(app, "alice", "admin")
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert_problem(response, 429)


def test_successful_signin_clears_the_account_counter(app, client):
    make_user(app, "alice", "admin")
    for _ in range(3):
        client.post("/api/v1/auth/token", json={"username": "alice", "password": "wrong-guess"})
    sign_in(client, "alice")
    for _ in range(1):
        client.post("/api/v1/auth/token", json={"username": "alice", "password": "wrong-guess"})
    # Three earlier failures were forgotten: only 1 of 5 used, but the address counter keeps 4.
    sign_in(client, "alice")
