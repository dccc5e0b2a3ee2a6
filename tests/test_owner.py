"""Shop owners: sign-in with a notice's code, their own shops only, acknowledgement, the QR page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from signage.accounts.models import User
from signage.core.db import db
from signage.paperwork.owner import OWNER_SECTIONS
from tests.conftest import PG_URL
from tests.helpers import assert_problem, bearer
from tests.paperwork_helpers import (
    OWNER_PHONE,
    commit,
    events,
    issue,
    make_shop,
    owner_token,
    signature_id,
    staff,
)

OTHER_PHONE = "13900000002"


@pytest.fixture
def shops(app):
    """Two shops with different owners."""
    return make_shop(app, "阿芳小吃店"), make_shop(app, "老陈理发", owner_phone=OTHER_PHONE, owner_name="陈")


@pytest.fixture
def inspector(app, client, shops):
    return staff(app, client, "insp_gl")


@pytest.fixture
def supervisor(app, client):
    return staff(app, client, "boss", "supervisor", zones=())


@pytest.fixture
def notices(client, shops, inspector):
    return issue(client, inspector, shops[0]), issue(client, inspector, shops[1])


def test_owner_signs_in_with_code_and_phone_and_sees_their_shop(client, shops, notices, supervisor):
    mine = notices[0]
    response = client.post(
        "/api/v1/auth/owner-token", json={"code": mine["access_code"], "phone": OWNER_PHONE}
    )
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    assert tokens["user"]["role"] == "owner" and tokens["user"]["phone"] == OWNER_PHONE
    assert tokens["refresh_token"]
    owner = bearer(tokens)
    assert client.get("/api/v1/me", headers=owner).get_json()["role"] == "owner"
    listed = client.get("/api/v1/owner/shops", headers=owner).get_json()
    assert [s["id"] for s in listed] == [str(shops[0])]
    assert events(client, supervisor, "owner_shop", shops[0]) == ["bind"]


def test_owner_code_may_be_typed_in_lower_case_with_a_dash_and_phone_with_country_code(client, notices):
    code = notices[0]["access_code"].lower()
    typed = f"{code[:5]}-{code[5:]}"
    response = client.post("/api/v1/auth/owner-token", json={"code": typed, "phone": "+86 138 0000 0001"})
    assert response.status_code == 200, response.get_json()


def test_owner_sign_in_with_wrong_code_or_phone_is_401(client, notices):
    mine, theirs = notices
    for code, phone in (
        ("ZZZZZZZZZZ", OWNER_PHONE),  # unknown code
        (mine["access_code"], OTHER_PHONE),  # another shop's phone
        (theirs["access_code"], OWNER_PHONE),  # another shop's code
    ):
        body = assert_problem(
            client.post("/api/v1/auth/owner-token", json={"code": code, "phone": phone}),
            401,
            "bad-owner-credentials",
        )
        assert "access_token" not in body


def test_owner_sign_in_for_shop_without_phone_on_ledger_is_401(app, client, inspector):
    no_phone = make_shop(app, "无电话店", owner_phone=None)
    notice = issue(client, inspector, no_phone)
    response = client.post(
        "/api/v1/auth/owner-token", json={"code": notice["access_code"], "phone": OWNER_PHONE}
    )
    assert_problem(response, 401)


def test_owner_sign_in_guesses_are_rate_limited(client, notices):
    code = notices[0]["access_code"]
    for _ in range(5):
        wrong = {"code": code, "phone": "13711112222"}
        assert_problem(client.post("/api/v1/auth/owner-token", json=wrong), 401)
    limited = client.post("/api/v1/auth/owner-token", json={"code": code, "phone": OWNER_PHONE})
    body = assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0 and body["retry_after"] > 0


def test_same_phone_for_two_shops_is_one_owner_bound_to_both(app, client, inspector, notices):
    second_shop = make_shop(app, "阿芳奶茶", address="航坞路9号")
    second = issue(client, inspector, second_shop)
    first = client.post(
        "/api/v1/auth/owner-token", json={"code": notices[0]["access_code"], "phone": OWNER_PHONE}
    )
    again = client.post(
        "/api/v1/auth/owner-token", json={"code": second["access_code"], "phone": OWNER_PHONE}
    )
    assert first.get_json()["user"]["id"] == again.get_json()["user"]["id"]
    names = [
        s["name"] for s in client.get("/api/v1/owner/shops", headers=bearer(again.get_json())).get_json()
    ]
    assert names == ["阿芳奶茶", "阿芳小吃店"]


def test_owner_view_holds_notices_and_commitments_of_their_shop(client, shops, notices, inspector):
    sig = signature_id(client, inspector)
    old = commit(client, inspector, shops[0], sig, signed_at="2026-01-05T10:00:00+08:00")
    new = commit(client, inspector, shops[0], sig, signed_at="2026-03-05T10:00:00+08:00")
    commit(client, inspector, shops[1], sig)
    owner = owner_token(client, notices[0]["access_code"])
    response = client.get(f"/api/v1/owner/shops/{shops[0]}", headers=owner)
    assert response.status_code == 200, response.get_json()
    view = response.get_json()
    assert set(view) == {"shop", *(s.name for s in OWNER_SECTIONS)}
    assert view["shop"]["name"] == "阿芳小吃店"
    assert [n["id"] for n in view["notices"]] == [notices[0]["id"]]
    assert view["notices"][0]["body"] == notices[0]["body"]
    assert view["commitment"]["id"] == new["id"] and view["commitment"]["status"] == "in_force"
    assert [c["id"] for c in view["commitments"]] == [new["id"], old["id"]]


def test_every_owner_section_is_in_the_api_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    properties = spec["components"]["schemas"]["OwnerShopView"]["properties"]
    assert set(properties) == {"shop", *(s.name for s in OWNER_SECTIONS)}


def test_owner_asking_for_another_shops_records_gets_404_without_their_data(
    client, shops, notices, inspector
):
    sig = signature_id(client, inspector)
    theirs = commit(client, inspector, shops[1], sig, signer_name="陈师傅")
    owner = owner_token(client, notices[0]["access_code"])
    other_notice = notices[1]["id"]
    for url in (
        f"/api/v1/notices/{other_notice}",
        f"/api/v1/notices/{other_notice}/text",
        f"/api/v1/notices/{other_notice}/print",
        f"/api/v1/commitments/{theirs['id']}",
        f"/api/v1/owner/shops/{shops[1]}",
    ):
        response = client.get(url, headers=owner)
        body = assert_problem(response, 404)
        text = response.get_data(as_text=True)
        assert "老陈理发" not in text and "陈师傅" not in text and notices[1]["number"] not in text, url
        assert body["detail"].startswith("No such")
    assert_problem(client.post(f"/api/v1/notices/{other_notice}/acknowledge", headers=owner), 404)
    # Their own records are there, so the 404s above are about ownership, not existence.
    assert client.get(f"/api/v1/notices/{notices[0]['id']}", headers=owner).status_code == 200
    assert client.get(f"/api/v1/notices/{notices[0]['id']}/print", headers=owner).status_code == 200


def test_owner_cannot_use_staff_lists_or_issue(client, shops, notices):
    owner = owner_token(client, notices[0]["access_code"])
    assert_problem(client.get("/api/v1/notices", headers=owner), 403)
    assert_problem(client.get("/api/v1/commitments", headers=owner), 403)
    assert_problem(client.post("/api/v1/notices", json={"shop_id": str(shops[0])}, headers=owner), 403)


def test_owner_acknowledges_a_notice_once(client, notices, supervisor, clock):
    owner = owner_token(client, notices[0]["access_code"])
    url = f"/api/v1/notices/{notices[0]['id']}/acknowledge"
    first_time = datetime.now(UTC).replace(microsecond=0)
    clock.set(first_time)
    first = client.post(url, headers=owner)
    assert first.status_code == 200, first.get_json()
    acknowledged = first.get_json()
    assert datetime.fromisoformat(acknowledged["acknowledged_at"]) == first_time
    assert acknowledged["acknowledged_by_id"]
    clock.set(first_time + timedelta(hours=2))
    again = client.post(url, headers=owner).get_json()
    assert (
        again["acknowledged_at"] == acknowledged["acknowledged_at"]
        and again["version"] == acknowledged["version"]
    )
    assert events(client, supervisor, "notice", notices[0]["id"]) == ["issue", "acknowledge"]
    listed = client.get("/api/v1/notices?acknowledged=true", headers=supervisor).get_json()["items"]
    assert [n["id"] for n in listed] == [notices[0]["id"]]


def test_staff_cannot_acknowledge_for_the_owner(client, notices, inspector):
    assert_problem(client.post(f"/api/v1/notices/{notices[0]['id']}/acknowledge", headers=inspector), 403)


def test_owner_page_shows_the_notice_summary_and_a_phone_sign_in_form(client, notices):
    notice = notices[0]
    response = client.get(f"/o/{notice['access_code']}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for expected in (
        "商家服务",
        notice["number"],
        "阿芳小吃店",
        "航坞路1号",
        'type="tel"',
        "/api/v1/auth/owner-token",
    ):
        assert expected in page
    assert OWNER_PHONE not in page  # the page never hints at the number on the ledger
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp).group(1)
    assert f'<script nonce="{nonce}">' in page and "unsafe-inline" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", page)
    assert not re.search(r"https?://", page)


def test_owner_page_for_unknown_code_is_a_404_page_and_counts_as_a_guess(client, notices):
    response = client.get("/o/NOPE234567")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "未找到告知书" in response.get_data(as_text=True)
    for _ in range(4):
        client.get("/o/NOPE234567")
    limited = client.get(f"/o/{notices[0]['access_code']}")
    assert limited.status_code == 429 and "请稍后再试" in limited.get_data(as_text=True)


def test_changing_the_ledger_phone_ends_the_old_owner_binding(client, shops, notices, inspector):
    owner = owner_token(client, notices[0]["access_code"], OWNER_PHONE)
    assert client.get(f"/api/v1/owner/shops/{shops[0]}", headers=owner).status_code == 200
    shop = client.get(f"/api/v1/shops/{shops[0]}", headers=inspector)
    changed = client.patch(
        f"/api/v1/shops/{shops[0]}",
        json={"owner_phone": "13700000009"},
        headers={**inspector, "If-Match": shop.headers["ETag"]},
    )
    assert changed.status_code == 200
    assert_problem(client.get(f"/api/v1/owner/shops/{shops[0]}", headers=owner), 404)


@pytest.mark.skipif(not PG_URL, reason="signing in at the same moment needs PostgreSQL")
def test_owner_signing_in_on_several_phones_at_once_gets_one_account(app, client, notices, supervisor):
    # The first sign-in makes the owner's account: several at once must not race to a 409.
    import threading

    barrier = threading.Barrier(6)
    statuses = []

    def sign_in_now():
        own = app.test_client()
        barrier.wait()
        response = own.post(
            "/api/v1/auth/owner-token", json={"code": notices[0]["access_code"], "phone": OWNER_PHONE}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=sign_in_now) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    with app.app_context():
        owners = db.session.scalars(sa.select(User).where(User.role == "owner")).all()
    assert len(owners) == 1
    assert events(client, supervisor, "owner_shop", notices[0]["shop_id"]) == ["bind"]


def test_an_owner_account_made_on_another_phone_meanwhile_is_taken_not_doubled(app, client, notices):
    """The other phone's sign-in commits the account between this one's look for the phone's
    account and its look at the name it would take: it signs in to that account."""
    from signage.accounts import service as accounts

    made = []

    def other_phone_commits(_conn, _cursor, statement, *_args):
        if made or not statement.startswith("SELECT users.id \nFROM users \nWHERE users.username"):
            return
        made.append(True)
        with app.app_context():  # its own session and connection, committed before this goes on
            accounts.create_user(username=f"owner-{OWNER_PHONE}", role="owner", phone=OWNER_PHONE)
            db.session.commit()

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", other_phone_commits)
    try:
        response = client.post(
            "/api/v1/auth/owner-token", json={"code": notices[0]["access_code"], "phone": OWNER_PHONE}
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", other_phone_commits)
    assert made and response.status_code == 200, response.get_json()
    with app.app_context():
        owners = db.session.scalars(
            sa.select(User).where(User.role == "owner", User.phone == OWNER_PHONE)
        ).all()
    assert [o.username for o in owners] == [f"owner-{OWNER_PHONE}"]
    assert response.get_json()["user"]["id"] == str(owners[0].id)
