"""Sign-in checks remembered by a worker (PostgreSQL), and every way they are forgotten.

signage/accounts/signins.py: a read-only view's first request of a session checks it in the
database; the next ones use the worker's answer until the session or account changes. These
tests make the change the ways production does (through the API in this process, by plain SQL
from another connection as another worker or psql would) and show the next request sees it.
"""

from __future__ import annotations

import pytest

from signage.accounts import signins
from tests.conftest import PG_URL
from tests.helpers import assert_problem, bearer, make_user, outside_sql, sign_in, statements_during, until
from tests.paperwork_helpers import make_shop, staff

needs_pg = pytest.mark.skipif(not PG_URL, reason="NOTIFY needs PostgreSQL; SQLite checks every request")


def _statements(app, client, path: str, headers: dict, body: dict | None = None) -> tuple[int, int]:
    """(status, statements sent) for one GET, or one POST of body."""
    if body is None:
        sent, response = statements_during(app, lambda: client.get(path, headers=headers))
    else:
        sent, response = statements_during(app, lambda: client.post(path, json=body, headers=headers))
    return response.status_code, len(sent)


def _remembered(app, client, path: str, headers: dict) -> bool:
    """Whether this session's reads come to be answered from memory (one statement) within 5 s.

    A notice sent by a change just before (a user given zones, a sign-out) arrives a moment
    later and voids what was read meanwhile, so the first reads after one may check again.
    """
    return until(lambda: _statements(app, client, path, headers) == (200, 1), 5)


@pytest.fixture
def shop_path(app, client) -> str:
    """A shop to read, with this process listening for notices (PostgreSQL) before the test starts."""
    seed = staff(app, client, "seed", "inspector", zones=("GL", "DS"))
    path = f"/api/v1/shops/{make_shop(app, '东山超市', zone_code='DS', road_name='东山路')}"
    assert client.get(path, headers=seed).status_code == 200
    if PG_URL:  # a worker starts listening at its first signed-in read, and remembers nothing before
        assert until(lambda: app.extensions["signage_signins"].listening, 10)
        assert _remembered(app, client, path, seed)  # and the set-up's notices have come in
    return path


def _signed_in(app, client, username: str = "boss", role: str = "supervisor", zones=()) -> tuple:
    user_id = make_user(app, username, role, zones=zones)
    tokens = sign_in(client, username)
    return user_id, tokens, bearer(tokens)


def test_the_second_read_of_a_session_sends_no_sign_in_check_on_postgresql(app, client, shop_path):
    _user, _tokens, headers = _signed_in(app, client)
    first = _statements(app, client, shop_path, headers)
    second = _statements(app, client, shop_path, headers)
    assert first == (200, 2)  # the sign-in check, then the shop
    # PostgreSQL: remembered; SQLite (no NOTIFY to forget by): checked again.
    assert second == ((200, 1) if PG_URL else (200, 2))


def test_sign_out_stops_a_remembered_session_at_once(app, client, shop_path):
    _user, _tokens, headers = _signed_in(app, client)
    assert client.get(shop_path, headers=headers).status_code == 200
    if PG_URL:  # what is stopped is a remembered session, not one checked anyway
        assert _remembered(app, client, shop_path, headers)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert_problem(client.get(shop_path, headers=headers), 401)


def test_a_sign_out_ends_only_its_own_session_the_accounts_other_one_reads_on(app, client, shop_path):
    _user, _tokens, phone = _signed_in(app, client)
    laptop = bearer(sign_in(client, "boss"))
    for headers in (phone, laptop):
        assert client.get(shop_path, headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=laptop).status_code == 204
    # A change to the account's sessions forgets all of them: the phone's is checked afresh,
    # and still good, remembered again (PostgreSQL).
    assert _statements(app, client, shop_path, phone) == (200, 2)
    if PG_URL:
        assert _remembered(app, client, shop_path, phone)
    assert_problem(client.get(shop_path, headers=laptop), 401)


@needs_pg
def test_a_session_ended_by_plain_sql_is_refused_once_the_notice_arrives(app, client, shop_path):
    _user, _tokens, headers = _signed_in(app, client)
    assert client.get(shop_path, headers=headers).status_code == 200
    assert _remembered(app, client, shop_path, headers)
    outside_sql(app, "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'sql'")
    # Not through this process's session: only the trigger's NOTIFY can tell the worker.
    assert until(lambda: client.get(shop_path, headers=headers).status_code == 401, 5)


@needs_pg
def test_an_account_disabled_or_moved_by_plain_sql_is_heard(app, client, shop_path):
    user, _tokens, headers = _signed_in(app, client, "walker", "inspector", zones=("DS",))
    assert client.get(shop_path, headers=headers).status_code == 200
    assert _remembered(app, client, shop_path, headers)
    outside_sql(app, "DELETE FROM user_zones WHERE user_id = :user", user=user)  # zones: a table of its own
    assert until(lambda: client.get(shop_path, headers=headers).status_code == 403, 5)
    outside_sql(app, "UPDATE users SET is_active = false WHERE id = :user", user=user)
    assert until(lambda: client.get(shop_path, headers=headers).status_code == 401, 5)


@needs_pg
def test_a_lost_listening_connection_forgets_everything_and_listens_again(app, client, shop_path):
    _user, _tokens, headers = _signed_in(app, client)
    assert client.get(shop_path, headers=headers).status_code == 200
    remembered = app.extensions["signage_signins"]
    assert remembered.listening and _remembered(app, client, shop_path, headers)

    epoch = remembered.epoch
    outside_sql(app, "SELECT pg_terminate_backend(:pid)", pid=remembered.backend_pid)  # this process's only
    assert until(lambda: remembered.epoch != epoch and not remembered.listening, 5)
    # What is sent while nobody listens is never heard: nothing remembered may survive it.
    outside_sql(app, "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'sql'")
    assert_problem(client.get(shop_path, headers=headers), 401)

    assert until(lambda: remembered.listening, 10)
    fresh = bearer(sign_in(client, "boss"))
    assert _statements(app, client, shop_path, fresh) == (200, 2)
    assert _remembered(app, client, shop_path, fresh)


def test_writes_use_the_remembered_check_too_and_stop_when_it_is_forgotten(app, client, shop_path):
    user, _tokens, headers = _signed_in(app, client, "walker", "inspector", zones=("DS",))
    body = {"shop_id": shop_path.rsplit("/", 1)[1]}
    assert client.post("/api/v1/notices", json=body, headers=headers).status_code == 201  # the year's counter
    if PG_URL:  # the notice of the walker's new zones, arriving late, would void what is read before it
        assert _remembered(app, client, shop_path, headers)
    remembered = _statements(app, client, "/api/v1/notices", headers, body)
    fresh = _statements(app, client, "/api/v1/notices", bearer(sign_in(client, "walker")), body)
    assert remembered[0] == fresh[0] == 201
    # PostgreSQL: a session's later writes are spared the sign-in check; SQLite checks every request.
    assert remembered[1] == (fresh[1] - 1 if PG_URL else fresh[1])
    # The zones remembered still decide: a zone taken away (through the API) stops the writes.
    make_user(app, "root", "admin")
    admin = bearer(sign_in(client, "root"))
    tag = client.get(f"/api/v1/users/{user}", headers=admin).headers["ETag"]
    moved = client.patch(f"/api/v1/users/{user}", json={"zones": ["GL"]}, headers={**admin, "If-Match": tag})
    assert moved.status_code == 200
    assert_problem(client.post("/api/v1/notices", json=body, headers=headers), 403)


@needs_pg
def test_answers_are_not_used_past_their_age_or_while_the_listener_is_unproven(
    app, client, shop_path, monkeypatch
):
    _user, _tokens, headers = _signed_in(app, client)
    remembered = app.extensions["signage_signins"]
    assert _remembered(app, client, shop_path, headers)
    # A listening connection that stalls without failing hears nothing: once it has not proved
    # alive for a while (its ping is due every 10 s), nothing remembered is used. Here "a while"
    # is made shorter than any gap, rather than the listener's last ping moved.
    with monkeypatch.context() as patched:
        patched.setattr(signins, "_PING_SLACK_SECONDS", -signins._QUIET_SECONDS - 1)
        assert _statements(app, client, shop_path, headers) == (200, 2)
        assert _statements(app, client, shop_path, headers) == (200, 2)
    # And no answer outlives SIGNIN_CACHE_SECONDS (made negative: every answer is too old).
    with monkeypatch.context() as patched:
        patched.setattr(remembered, "seconds", -1)
        assert _statements(app, client, shop_path, headers) == (200, 2)
        assert _statements(app, client, shop_path, headers) == (200, 2)
    assert _remembered(app, client, shop_path, headers)
