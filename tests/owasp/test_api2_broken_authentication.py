"""API2:2023 Broken Authentication.

Token lifetimes, rotation, reuse of a rotated refresh token ending the family, logout and
disabled accounts are tested in tests/test_tokens.py; owner sign-in guesses in tests/test_owner.py.
Here: the guessing limits (per account and per address), answers that do not tell which
usernames exist, and tokens that are not ours.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import PASSWORD, assert_problem, bearer, make_user, sign_in

LIMIT = {"SIGNIN_MAX_FAILURES": 3}
WRONG = "wrong-password-1"


def _try(client, username: str, password: str = WRONG, address: str = "10.0.0.1"):
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.mark.parametrize("app_config", [LIMIT])
def test_an_account_is_locked_after_its_failures_even_from_new_addresses(app, client):
    make_user(app, "root", "admin")
    for n in range(3):
        assert_problem(_try(client, "root", address=f"10.0.1.{n}"), 401)
    assert_problem(_try(client, "root", PASSWORD, address="10.0.2.1"), 429)


@pytest.mark.parametrize("app_config", [LIMIT])
def test_an_address_is_locked_after_failures_across_usernames(app, client):
    make_user(app, "root", "admin")
    for name in ("alice", "bob", "carol"):
        assert_problem(_try(client, name), 401)
    assert_problem(_try(client, "root", PASSWORD), 429)
    assert _try(client, "root", PASSWORD, address="10.9.9.9").status_code == 200


def test_unknown_user_and_wrong_password_get_the_same_answer(app, client):
    make_user(app, "root", "admin")
    unknown = assert_problem(_try(client, "nobody-here"), 401)
    wrong = assert_problem(_try(client, "root"), 401)
    assert (unknown["type"], unknown["detail"]) == (wrong["type"], wrong["detail"])


def test_a_token_signed_with_another_key_is_refused(app, client):
    make_user(app, "root", "admin")
    claims = jwt.decode(sign_in(client, "root")["access_token"], TEST_SECRET, algorithms=["HS256"])
    forged = jwt.encode(
        {**claims, "role": "admin"}, "another-key-that-is-long-enough-000000", algorithm="HS256"
    )
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_a_well_signed_token_of_a_session_that_does_not_exist_is_refused(app, client):
    make_user(app, "root", "admin")
    claims = jwt.decode(sign_in(client, "root")["access_token"], TEST_SECRET, algorithms=["HS256"])
    later = int((datetime.now(UTC) + timedelta(days=365)).timestamp())
    made_up = jwt.encode({**claims, "sid": str(uuid.uuid4()), "exp": later}, TEST_SECRET, algorithm="HS256")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {made_up}"}), 401)


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic cm9vdDpwYXNz", "Token abc", "Bearer a.b.c"])
def test_malformed_authorization_is_401_problem(client, header):
    assert_problem(client.get("/api/v1/me", headers={"Authorization": header}), 401)


def test_sign_in_answer_is_never_cached(app, client):
    make_user(app, "root", "admin")
    response = client.post("/api/v1/auth/token", json={"username": "root", "password": PASSWORD})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/me", headers=bearer(response.get_json())).status_code == 200
