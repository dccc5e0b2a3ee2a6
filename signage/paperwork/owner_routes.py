"""The shop owner's API (sign-in with a notice's code, their shops) and the QR link's page."""

from __future__ import annotations

import secrets

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Response, g
from flask.views import MethodView
from marshmallow import validate

from signage.accounts.schemas import TokenSchema
from signage.accounts.service import client_address
from signage.core.access import public, roles
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.errors import Problem, get_or_404
from signage.core.ratelimit import failures
from signage.core.scope import require_own_shop
from signage.ledger.models import Shop
from signage.paperwork import owner, printing
from signage.paperwork.schemas import ShopBriefSchema

blp = Blueprint("owner", __name__, url_prefix="/api/v1", description="Shop owners: sign-in and their shops")
pages = FlaskBlueprint("owner_pages", __name__)


class OwnerTokenRequestSchema(ma.Schema):
    """The access code printed on a notice (or in its QR link) and the shop's phone number."""

    code = ma.fields.String(required=True, validate=validate.Length(min=4, max=32))
    phone = ma.fields.String(
        required=True,
        validate=[validate.Length(min=5, max=24), validate.Regexp(r"^[0-9+\- ()]+$", error="digits only")],
    )


@blp.route("/auth/owner-token", methods=["POST"])
@public
@blp.arguments(OwnerTokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def owner_token(body):
    """Sign a shop owner in with a notice's access code and the phone number on the ledger."""
    pair = owner.owner_sign_in(code=body["code"], phone=body["phone"])
    db.session.commit()
    return pair


@blp.route("/owner/shops")
class OwnerShops(MethodView):
    @roles("owner")
    @blp.response(200, ShopBriefSchema(many=True))
    def get(self):
        """The signed-in owner's shops."""
        return owner.owner_shops_of(g.current_user)


@blp.route("/owner/shops/<uuid:shop_id>")
class OwnerShopById(MethodView):
    @roles("owner")
    @blp.response(200, owner.OwnerShopViewSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, shop_id):
        """One of the owner's shops with its notices and commitments (another shop answers 404)."""
        require_own_shop(g.current_user, shop_id, "shop")
        return owner.owner_shop_view(get_or_404(Shop, shop_id, "shop"))


def _page(html: str, status: int, nonce: str, headers: dict | None = None) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers or {})
    return response


@pages.get("/o/<code>")
@public
def owner_page(code: str):
    """The page a notice's QR code opens: the notice in brief and the owner's sign-in."""
    nonce = secrets.token_urlsafe(16)
    # Unknown codes count as failed guesses, like wrong owner sign-ins from the same address.
    key = ("owner-signin", "addr", client_address())
    try:
        failures.check(key)
    except Problem as exc:
        html = printing.owner_page(None, nonce=nonce, reason="too_many")
        return _page(html, 429, nonce, exc.headers)
    notice = owner.notice_by_code(code)
    if notice is None:
        failures.fail(key)
        return _page(printing.owner_page(None, nonce=nonce, reason="unknown"), 404, nonce)
    return _page(printing.owner_page(notice, nonce=nonce), 200, nonce)
