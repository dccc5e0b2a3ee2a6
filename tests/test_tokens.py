"""Token lifetimes and revocation beyond the basics in test_auth.py.

Access tokens are checked against real time (the JWT `exp`); sessions, refresh rotation and
revocation against the app's clock, which these tests move.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.conftest import PG_URL, TEST_SECRET
from tests.helpers import PASSWORD, assert_problem, bearer, make_user, sign_in
from tests.paperwork_helpers import OWNER_PHONE, issue, make_shop, staff


def _refresh(client, tokens: dict):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})


def _me(client, tokens: dict):
    return client.get("/api/v1/me", headers=bearer(tokens))


def _session_events(client, admin: dict, tokens: dict) -> list[str]:
    sid = jwt.decode(tokens["access_token"], TEST_SECRET, algorithms=["HS256"])["sid"]
    response = client.get(f"/api/v1/events?entity=session&entity_id={sid}", headers=admin)
    assert response.status_code == 200, response.get_json()
    return [e["action"] for e in response.get_json()["items"]]


def _disable(client, admin: dict, user_id, active: bool = False) -> None:
    tag = client.get(f"/api/v1/users/{user_id}", headers=admin).headers["ETag"]
    response = client.patch(
        f"/api/v1/users/{user_id}", json={"is_active": active}, headers={**admin, "If-Match": tag}
    )
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def admin(app, client) -> dict:
    make_user(app, "root", "admin")
    return bearer(sign_in(client, "root"))


# ----------------------------------------------------------------------------- expiry


def test_access_token_lives_fifteen_minutes_and_works_within_them(app, client):
    make_user(app, "alice", "inspector")
    tokens = sign_in(client, "alice")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == tokens["expires_in"] == 15 * 60
    assert _me(client, tokens).status_code == 200
    # One second left of a token's life still works (expiry itself: the next test).
    app.config["ACCESS_TOKEN_TTL"] = 2
    assert _me(client, sign_in(client, "alice")).status_code == 200


def test_expired_access_token_is_refreshed_within_the_session(app, client):
    make_user(app, "alice", "inspector")
    # Token lifetimes run on the wall clock: issue one that is already past its end.
    app.config["ACCESS_TOKEN_TTL"] = -60
    tokens = sign_in(client, "alice")
    app.config["ACCESS_TOKEN_TTL"] = 900
    assert "expired" in assert_problem(_me(client, tokens), 401)["detail"]
    fresh = _refresh(client, tokens)
    assert fresh.status_code == 200
    assert _me(client, fresh.get_json()).status_code == 200


@pytest.mark.parametrize("app_config", [{"REFRESH_TOKEN_TTL": 7 * 24 * 3600}])
def test_session_ends_at_its_lifetime_and_rotation_does_not_extend_it(app, client, clock):
    make_user(app, "alice", "inspector")
    start = datetime.now(UTC)
    tokens = sign_in(client, "alice")
    clock.set(start + timedelta(days=6))
    rotated = _refresh(client, tokens)
    assert rotated.status_code == 200
    assert rotated.get_json()["refresh_expires_at"] == tokens["refresh_expires_at"]
    clock.set(start + timedelta(days=7, seconds=1))
    body = assert_problem(_refresh(client, rotated.get_json()), 401)
    assert "ended" in body["detail"]


def test_an_access_token_stops_when_its_session_ends_not_at_its_own_expiry(app, client, clock):
    # The access token (wall clock, 15 minutes) would outlive its session by up to its lifetime;
    # every request checks the session's end (app clock), remembered sign-in or not.
    make_user(app, "alice", "inspector")
    start = datetime.now(UTC)
    clock.set(start)
    tokens = sign_in(client, "alice")
    assert client.get("/api/v1/shops", headers=bearer(tokens)).status_code == 200
    clock.set(start + timedelta(seconds=app.config["REFRESH_TOKEN_TTL"] + 1))
    body = assert_problem(client.get("/api/v1/shops", headers=bearer(tokens)), 401)  # read-only view
    assert "ended" in body["detail"]
    assert "ended" in assert_problem(_me(client, tokens), 401)["detail"]


def test_unsigned_token_is_refused(app, client):
    make_user(app, "alice", "admin")
    claims = jwt.decode(sign_in(client, "alice")["access_token"], TEST_SECRET, algorithms=["HS256"])

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    unsigned = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {unsigned}"}), 401)


def test_refresh_token_is_not_an_access_token(app, client):
    make_user(app, "alice", "admin")
    tokens = sign_in(client, "alice")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert_problem(response, 401)


# --------------------------------------------------------------------------- rotation


def test_every_refresh_hands_out_a_new_refresh_token(app, client):
    make_user(app, "alice", "inspector")
    first = sign_in(client, "alice")
    second = _refresh(client, first).get_json()
    third = _refresh(client, second).get_json()
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert _me(client, third).status_code == 200


def test_reuse_of_any_earlier_refresh_token_ends_the_whole_family(app, client, admin):
    make_user(app, "alice", "inspector")
    first = sign_in(client, "alice")
    second = _refresh(client, first).get_json()
    third = _refresh(client, second).get_json()
    # The oldest token comes back, two rotations later: a copy was taken somewhere.
    assert_problem(_refresh(client, first), 401)
    for tokens in (first, second, third):
        assert_problem(_me(client, tokens), 401)
    assert_problem(_refresh(client, third), 401)
    assert _session_events(client, admin, first)[-1] == "refresh_reuse"


def test_reuse_ends_only_that_family_not_the_accounts_other_sessions(app, client):
    make_user(app, "alice", "inspector")
    phone, desk = sign_in(client, "alice"), sign_in(client, "alice")
    _refresh(client, phone)
    assert_problem(_refresh(client, phone), 401)
    assert _me(client, desk).status_code == 200
    assert _refresh(client, desk).status_code == 200


@pytest.mark.skipif(not PG_URL, reason="racing refreshes need PostgreSQL's concurrent writers")
def test_two_refreshes_racing_with_one_token_leave_no_second_valid_family(app, client):
    make_user(app, "alice", "inspector")
    tokens = sign_in(client, "alice")
    racers = 4
    barrier = threading.Barrier(racers)
    answers: list[tuple[int, dict]] = []

    def race():
        with app.test_client() as own:
            barrier.wait()
            response = _refresh(own, tokens)
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [body for status, body in answers if status == 200]
    assert len(winners) <= 1 and sorted(s for s, _ in answers).count(401) >= racers - 1
    # Whoever won, the others were reuses: nothing of the family is left working.
    for body in winners:
        assert_problem(_refresh(client, body), 401)
        assert_problem(_me(client, body), 401)


# ----------------------------------------------------------------------------- logout


def test_logout_is_audited_and_a_second_logout_with_the_same_token_is_401(app, client, admin):
    make_user(app, "alice", "inspector")
    tokens = sign_in(client, "alice")
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens)).status_code == 204
    assert_problem(client.post("/api/v1/auth/logout", headers=bearer(tokens)), 401)
    assert _session_events(client, admin, tokens) == ["sign_in", "sign_out"]


def test_logout_after_rotation_ends_the_newest_pair_too(app, client):
    make_user(app, "alice", "inspector")
    first = sign_in(client, "alice")
    second = _refresh(client, first).get_json()
    assert client.post("/api/v1/auth/logout", headers=bearer(first)).status_code == 204
    assert_problem(_me(client, second), 401)
    assert_problem(_refresh(client, second), 401)


# ------------------------------------------------------------------- disabled accounts


def test_disabling_ends_sessions_so_enabling_again_revives_no_old_token(app, client, admin):
    alice = make_user(app, "alice", "inspector")
    tokens = sign_in(client, "alice")
    _disable(client, admin, alice)
    assert_problem(_me(client, tokens), 401)
    _disable(client, admin, alice, active=True)
    assert_problem(_me(client, tokens), 401)
    assert_problem(_refresh(client, tokens), 401)
    assert _session_events(client, admin, tokens)[-1] == "account_disabled"
    assert _me(client, sign_in(client, "alice")).status_code == 200


def test_role_and_zone_changes_apply_to_tokens_already_issued(app, client, admin):
    staff(app, client, "seed", "inspector", zones=("GL", "DS"))  # makes both zones
    shop = make_shop(app, "东山超市", zone_code="DS", road_name="东山路")
    boss = make_user(app, "boss", "supervisor")
    tokens = sign_in(client, "boss")
    assert client.get(f"/api/v1/shops/{shop}", headers=bearer(tokens)).status_code == 200
    tag = client.get(f"/api/v1/users/{boss}", headers=admin).headers["ETag"]
    demoted = client.patch(
        f"/api/v1/users/{boss}",
        json={"role": "inspector", "zones": ["GL"]},
        headers={**admin, "If-Match": tag},
    )
    assert demoted.status_code == 200
    assert_problem(client.get(f"/api/v1/shops/{shop}", headers=bearer(tokens)), 403, "outside-zone")
    assert_problem(client.get("/api/v1/events", headers=bearer(tokens)), 403)


# ------------------------------------------------------------------------------ owners


def _owner_sign_in(client, code: str):
    return client.post("/api/v1/auth/owner-token", json={"code": code, "phone": OWNER_PHONE})


def test_owner_tokens_rotate_and_log_out_like_staff_tokens(app, client):
    inspector = staff(app, client, "insp", "inspector")
    notice = issue(client, inspector, make_shop(app))
    first = _owner_sign_in(client, notice["access_code"]).get_json()
    second = _refresh(client, first)
    assert second.status_code == 200 and second.get_json()["user"]["role"] == "owner"
    second = second.get_json()
    assert client.get("/api/v1/owner/shops", headers=bearer(second)).status_code == 200
    assert_problem(_refresh(client, first), 401)  # reuse: the family ends
    assert_problem(client.get("/api/v1/owner/shops", headers=bearer(second)), 401)
    third = _owner_sign_in(client, notice["access_code"]).get_json()
    assert client.post("/api/v1/auth/logout", headers=bearer(third)).status_code == 204
    assert_problem(client.get("/api/v1/owner/shops", headers=bearer(third)), 401)


def test_disabled_owner_is_refused_at_once_and_cannot_sign_in_again(app, client, admin):
    inspector = staff(app, client, "insp", "inspector")
    notice = issue(client, inspector, make_shop(app))
    tokens = _owner_sign_in(client, notice["access_code"]).get_json()
    _disable(client, admin, tokens["user"]["id"])
    assert_problem(client.get("/api/v1/owner/shops", headers=bearer(tokens)), 401)
    assert_problem(_refresh(client, tokens), 401)
    assert_problem(_owner_sign_in(client, notice["access_code"]), 403, "account-disabled")


def test_owner_token_is_refused_at_staff_sign_in(app, client):
    inspector = staff(app, client, "insp", "inspector")
    notice = issue(client, inspector, make_shop(app))
    owner = _owner_sign_in(client, notice["access_code"]).get_json()["user"]
    # Owner accounts have no password: the staff sign-in never opens for them.
    response = client.post("/api/v1/auth/token", json={"username": owner["username"], "password": PASSWORD})
    assert_problem(response, 401, "bad-credentials")
