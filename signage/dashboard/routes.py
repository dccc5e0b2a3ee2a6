"""Dashboard pages. The browser holds the staff tokens in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

import json
import uuid
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from signage.accounts import service as accounts
from signage.accounts import tokens
from signage.catalog import LABELS
from signage.core import clock
from signage.core.access import public
from signage.core.db import db
from signage.core.errors import Problem
from signage.hazards import service as hazard_service
from signage.hazards.models import OPEN_STATES, Hazard
from signage.ledger.models import Shop
from signage.reports.campaign import campaign
from signage.reports.rectification import Filters, rectification
from signage.zones.models import Zone

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")
COOKIE = "signage_dashboard"
# The same people the report API answers: the figures cover every zone.
READERS = frozenset({"admin", "supervisor"})


def _set_cookie(response, pair: dict):
    value = json.dumps({"access": pair["access_token"], "refresh": pair["refresh_token"]})
    response.set_cookie(
        COOKIE,
        value,
        max_age=current_app.config["REFRESH_TOKEN_TTL"],
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
        path="/dashboard",
    )
    return response


def _signed_in():
    """The staff user of the cookie's tokens (refreshing them when the access token expired)."""
    try:
        stored = json.loads(request.cookies.get(COOKIE, ""))
        access, refresh = stored["access"], stored["refresh"]
    except (ValueError, TypeError, KeyError):
        return None, None
    if not (isinstance(access, str) and isinstance(refresh, str)):
        return None, None  # a cookie someone wrote by hand: sign in again
    try:
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {access}"
        user = tokens.authenticate_request()
        return (user if user.role in READERS else None), None
    except Problem:
        try:
            pair = tokens.rotate(refresh)
            db.session.commit()
        except Problem:
            return None, None
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {pair['access_token']}"
        user = tokens.authenticate_request()
        return (user if user.role in READERS else None), pair


@bp.get("/sign-in")
@public
def sign_in_page():
    """The sign-in form."""
    return render_template("dashboard/sign_in.html", error=None)


@bp.post("/sign-in")
@public
def sign_in():
    """Check the password and keep the tokens in a cookie."""
    username = request.form.get("username", "")[:64]
    password = request.form.get("password", "")[:256]
    try:
        pair = accounts.sign_in(username, password)
        if pair["user"].role not in READERS:
            raise Problem(403, "Only supervisors' and admins' accounts open the dashboard.")
        db.session.commit()
    except Problem as problem:
        db.session.rollback()
        page = render_template("dashboard/sign_in.html", error=problem.detail)
        return make_response(page, problem.status, problem.headers)
    return _set_cookie(redirect(url_for("dashboard.home")), pair)


@bp.post("/sign-out")
@public
def sign_out():
    """End the session and forget the cookie."""
    user, _ = _signed_in()
    if user is not None:
        tokens.end_session(g.session_id)
        db.session.commit()
    response = redirect(url_for("dashboard.sign_in_page"))
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


def _page(template: str, context):
    """Render a page for the signed-in staff member, or send the browser to sign in."""
    user, refreshed = _signed_in()
    if user is None:
        return redirect(url_for("dashboard.sign_in_page"))
    response = make_response(render_template(template, user=user, labels=LABELS, **context(user)))
    response.headers["Cache-Control"] = "no-store"
    return _set_cookie(response, refreshed) if refreshed else response


def _bars(groups: list[dict], key: str) -> list[dict]:
    """Bars for an inline SVG chart: label, rate, counts."""
    return [
        {
            "label": g["group"][key],
            "rate": g["rectification_rate"],
            "found": g["found"],
            "rectified": g["rectified"],
        }
        for g in groups
    ]


def _overdue(now):
    stmt = (
        sa.select(Hazard, Shop.name, Zone.code)
        .join(Zone, Zone.id == Hazard.zone_id)
        .outerjoin(Shop, Shop.id == Hazard.shop_id)
        .where(Hazard.state.in_([s.value for s in OPEN_STATES]), Hazard.deadline_at < now)
        .order_by(Hazard.deadline_at)
        .limit(100)
    )
    return db.session.execute(stmt).all()


@bp.get("")
@public
def home():
    """The campaign at a glance, the rate by zone and by week, and the overdue list."""

    def context(user):
        now = clock.now()
        return {
            "report": campaign(None, None),
            "by_zone": _bars(rectification(Filters(), ("zone",))["groups"], "zone"),
            "by_week": _bars(rectification(Filters(), ("week",))["groups"], "week"),
            "overdue": _overdue(now),
            "now": now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])),
            "tz": ZoneInfo(current_app.config["TIMEZONE"]),
        }

    return _page("dashboard/home.html", context)


@bp.get("/hazards/<uuid:hazard_id>")
@public
def hazard(hazard_id: uuid.UUID):
    """One hazard and its history."""

    def context(user):
        found = db.session.get(Hazard, hazard_id)
        if found is None:
            raise NotFound("No such hazard.")
        shop = db.session.get(Shop, found.shop_id) if found.shop_id else None
        return {
            "hazard": found,
            "shop": shop,
            "history": hazard_service.history(found, show_flags=True),
            "tz": ZoneInfo(current_app.config["TIMEZONE"]),
        }

    return _page("dashboard/hazard.html", context)


@bp.errorhandler(NotFound)
def not_found(error: NotFound):
    """A page the browser shows, not the API's problem+json."""
    return render_template("dashboard/not_found.html", message=error.description), 404
