"""The supervisors' dashboard: server-rendered, signed-in staff only, nothing from the internet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from signage.core.db import db
from signage.hazards.models import Hazard
from tests import factories
from tests.helpers import PASSWORD, make_user


@pytest.fixture
def overdue_hazard(app):
    make_user(app, "captain", "supervisor")
    with app.app_context():
        from signage.accounts.models import User

        captain = db.session.scalar(db.select(User).where(User.username == "captain"))
        shop = factories.shop("逾期小店")
        sign = factories.sign(shop)
        found = datetime.now(UTC) - timedelta(days=5)
        hazard = Hazard(
            sign_id=sign.id, shop_id=shop.id, zone_id=shop.zone_id, road_id=shop.road_id,
            category="rusted", severity="low", shift="day", state="notified", found_at=found,
            found_by_id=captain.id, lat=shop.lat, lng=shop.lng, deadline_at=found + timedelta(days=2),
        )  # fmt: skip
        db.session.add(hazard)
        db.session.commit()
        return str(hazard.id)


def _sign_in(client, username="captain", password=PASSWORD):
    return client.post("/dashboard/sign-in", data={"username": username, "password": password})


def test_dashboard_sends_strangers_to_sign_in(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/sign-in")
    page = client.get("/dashboard/sign-in")
    assert page.status_code == 200 and "登录" in page.get_data(as_text=True)


def test_wrong_password_shows_the_form_again_with_the_reason(client, overdue_hazard):
    response = _sign_in(client, password="wrong-password")
    assert response.status_code == 401
    assert "username or password is wrong" in response.get_data(as_text=True)


def test_dashboard_shows_figures_charts_and_the_overdue_list(client, overdue_hazard):
    signed = _sign_in(client)
    assert signed.status_code == 302
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    page = client.get("/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "整改率" in html and html.count("<svg") == 2
    assert "逾期小店" in html and f"/dashboard/hazards/{overdue_hazard}" in html
    # Nothing is fetched from elsewhere: no external scripts, styles, fonts or images.
    assert not re.findall(r"""(?:src|href)=["'](?:https?:)?//""", html)
    detail = client.get(f"/dashboard/hazards/{overdue_hazard}")
    assert detail.status_code == 200 and "锈蚀" in detail.get_data(as_text=True)


def test_sign_out_ends_the_session(client, overdue_hazard):
    _sign_in(client)
    client.post("/dashboard/sign-out")
    assert client.get("/dashboard").status_code == 302


def test_owner_accounts_cannot_open_the_dashboard(app, client):
    make_user(app, "owner1", "owner", password="an-owner-password")
    response = _sign_in(client, "owner1", "an-owner-password")
    # Owners sign in with their notice's code and phone, never a password: refused before any role check.
    assert response.status_code == 401
    assert client.get("/dashboard").status_code == 302


def test_inspectors_cannot_open_the_dashboard_as_they_cannot_read_reports(app, client, overdue_hazard):
    # The dashboard shows every zone's figures and hazards; the report API refuses inspectors too.
    make_user(app, "insp_gl", "inspector", zones=("GL",))
    response = _sign_in(client, "insp_gl")
    assert response.status_code == 403 and "supervisors" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    assert client.get(f"/dashboard/hazards/{overdue_hazard}").status_code == 302


def test_hazard_page_shows_the_lifecycle_and_answers_an_unknown_hazard_with_a_page(client, overdue_hazard):
    _sign_in(client)
    missing = client.get("/dashboard/hazards/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "未找到" in missing.get_data(as_text=True)


def test_a_malformed_session_cookie_sends_the_browser_to_sign_in(client):
    for value in ('{"access": 1, "refresh": 2}', '["x"]', "not json"):
        client.set_cookie("signage_dashboard", value, path="/dashboard")
        assert client.get("/dashboard").status_code == 302, value
