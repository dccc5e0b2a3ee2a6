"""Templates and notices: issuing, delivery, acknowledgement, the printable page, the lists."""

from __future__ import annotations

from flask import Response, g
from flask.views import MethodView

from signage.core.access import STAFF, roles, signed_in
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.errors import field_error, get_or_404
from signage.core.etag import check_if_match, etag, requires_if_match
from signage.core.location import in_service_area
from signage.core.pagination import keyset_page, page_schema
from signage.core.scope import filter_zone_id, in_readable_zones, require_readable, shop_in_readable_zones
from signage.ledger.models import Shop
from signage.paperwork import documents, printing, queries, service
from signage.paperwork.models import DocumentTemplate, Notice
from signage.paperwork.schemas import (
    DeliverySchema,
    NoticeCreateSchema,
    NoticeListItemSchema,
    NoticeQueryArgsSchema,
    NoticeSchema,
    ShopBriefSchema,
    ShopQueryArgsSchema,
    TemplateCreateSchema,
    TemplateQueryArgsSchema,
    TemplateSchema,
)

templates_blp = Blueprint(
    "templates", __name__, url_prefix="/api/v1/templates", description="Notice and commitment templates"
)
notices_blp = Blueprint("notices", __name__, url_prefix="/api/v1/notices", description="Notices (告知书)")

HTML = {"type": "string", "description": "An HTML page"}
TEXT = {"type": "string", "description": "The exact text, UTF-8"}


@templates_blp.route("")
class Templates(MethodView):
    @roles(*STAFF)
    @templates_blp.arguments(TemplateQueryArgsSchema, location="query")
    @templates_blp.response(200, TemplateSchema(many=True))
    def get(self, args):
        """List every version of the templates, by kind and version."""
        items = documents.list_templates(args.get("kind"))
        db.session.commit()  # version 1 may have just been stored
        return items

    @roles("admin")
    @templates_blp.arguments(TemplateCreateSchema)
    @templates_blp.response(201, TemplateSchema)
    @templates_blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Save an edit as the next version; documents already issued keep their text."""
        template = documents.create_version(**body, created_by=g.current_user)
        db.session.commit()
        return template, 201, {"Location": f"/api/v1/templates/{template.id}"}


@templates_blp.route("/<uuid:template_id>")
class TemplateById(MethodView):
    @roles(*STAFF)
    @templates_blp.response(200, TemplateSchema)
    @templates_blp.alt_response(404, response="NOT_FOUND")
    def get(self, template_id):
        """Get one template version."""
        return get_or_404(DocumentTemplate, template_id, "template")


def _shop_for(shop_id) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise field_error("shop_id", "no such shop")
    return shop


def _notice(notice_id) -> Notice:
    """A notice the signed-in user may see (owners: their own shops', 404; inspectors: their zones', 403)."""
    notice = get_or_404(Notice, notice_id, "notice")
    require_readable(g.current_user, zone_id=notice.shop.zone_id, shop_id=notice.shop_id, what="notice")
    return notice


@notices_blp.route("")
class Notices(MethodView):
    @roles(*STAFF)
    @notices_blp.arguments(NoticeQueryArgsSchema, location="query")
    @notices_blp.response(200, page_schema(NoticeListItemSchema, "NoticePage"))
    def get(self, args):
        """List notices by number, filtered by zone, road, shop, issue days, delivery, acknowledgement."""
        page = {k: args.pop(k) for k in ("limit", "cursor")}
        zone_id = filter_zone_id(g.current_user, args.pop("zone", None))
        items, nxt = keyset_page(
            queries.notices(zone_id=zone_id, **args).where(
                shop_in_readable_zones(g.current_user, Notice.shop_id)
            ),
            keys=[Notice.year, Notice.seq],
            key_of=lambda n: [n.year, n.seq],
            **page,
        )
        return {"items": items, "next": nxt}

    @roles(*STAFF)
    @notices_blp.arguments(NoticeCreateSchema)
    @notices_blp.response(201, NoticeSchema)
    @notices_blp.alt_response(403, response="FORBIDDEN")
    @notices_blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Issue a notice to a shop: numbered, rendered from the current template, hashed."""
        shop = _shop_for(body.pop("shop_id"))
        system = body.pop("coord_system")
        if body["lat"] is not None:
            body["lat"], body["lng"] = in_service_area(body["lat"], body["lng"], system)
        notice = service.issue_notice(shop=shop, issued_by=g.current_user, **body)
        db.session.commit()
        return notice, 201, {"ETag": etag(notice), "Location": f"/api/v1/notices/{notice.id}"}


@notices_blp.route("/<uuid:notice_id>")
class NoticeById(MethodView):
    @signed_in
    @notices_blp.response(200, NoticeSchema)
    @notices_blp.alt_response(403, response="FORBIDDEN")
    @notices_blp.alt_response(404, response="NOT_FOUND")
    def get(self, notice_id):
        """Get one notice (owners: their own shops' only; inspectors: their zones')."""
        notice = _notice(notice_id)
        return notice, 200, {"ETag": etag(notice)}


@notices_blp.route("/<uuid:notice_id>/text")
class NoticeText(MethodView):
    @signed_in
    @notices_blp.response(200, TEXT, content_type="text/plain")
    @notices_blp.alt_response(403, response="FORBIDDEN")
    @notices_blp.alt_response(404, response="NOT_FOUND")
    def get(self, notice_id):
        """The notice's exact text as plain UTF-8, the bytes its content_sha256 is taken over."""
        notice = _notice(notice_id)
        response = Response(notice.body.encode("utf-8"), mimetype="text/plain")
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        response.headers["X-Content-SHA256"] = notice.content_sha256
        return response


@notices_blp.route("/<uuid:notice_id>/print")
class NoticePrint(MethodView):
    @signed_in
    @notices_blp.response(200, HTML, content_type="text/html")
    @notices_blp.alt_response(403, response="FORBIDDEN")
    @notices_blp.alt_response(404, response="NOT_FOUND")
    def get(self, notice_id):
        """The notice as a printable A4 HTML page with its QR code (everything inline)."""
        notice = _notice(notice_id)
        response = Response(printing.notice_print_page(notice), mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'"
        )
        return response


@notices_blp.route("/<uuid:notice_id>/delivery")
class NoticeDelivery(MethodView):
    @roles(*STAFF)
    @requires_if_match
    @notices_blp.arguments(DeliverySchema)
    @notices_blp.response(200, NoticeSchema)
    @notices_blp.alt_response(403, response="FORBIDDEN")
    @notices_blp.alt_response(404, response="NOT_FOUND")
    @notices_blp.alt_response(409, response="CONFLICT")
    def post(self, body, notice_id):
        """Record how the notice reached the shop (in person, left at the shop, refused)."""
        notice = _notice(notice_id)
        check_if_match(notice, NoticeSchema())
        service.record_delivery(
            notice=notice,
            method=body["method"],
            by=g.current_user,
            delivered_at=body["recorded_at"],
            note=body["note"],
        )
        db.session.commit()
        return notice, 200, {"ETag": etag(notice)}


@notices_blp.route("/<uuid:notice_id>/acknowledge")
class NoticeAcknowledge(MethodView):
    @roles("owner")
    @notices_blp.response(200, NoticeSchema)
    @notices_blp.alt_response(404, response="NOT_FOUND")
    def post(self, notice_id):
        """The shop owner confirms having read the notice (recorded once; repeats change nothing)."""
        notice = _notice(notice_id)
        service.acknowledge_notice(notice=notice, owner=g.current_user)
        db.session.commit()
        return notice, 200, {"ETag": etag(notice)}


@notices_blp.route("/shops-without-notice")
class ShopsWithoutNotice(MethodView):
    @roles(*STAFF)
    @notices_blp.arguments(ShopQueryArgsSchema, location="query")
    @notices_blp.response(200, page_schema(ShopBriefSchema, "ShopBriefPage"))
    def get(self, args):
        """Open shops never issued a notice, by name."""
        zone_id = filter_zone_id(g.current_user, args.get("zone"))
        items, nxt = keyset_page(
            queries.shops_without_notice(zone_id=zone_id, road=args.get("road")).where(
                in_readable_zones(g.current_user, Shop.zone_id)
            ),
            keys=[Shop.name, Shop.id],
            key_of=lambda s: [s.name, s.id],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next": nxt}
