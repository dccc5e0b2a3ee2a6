"""Signed commitments: recording (with supersession), signature uploads, the lists."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from signage.core.access import STAFF, roles, signed_in
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.errors import field_error, get_or_404
from signage.core.etag import etag
from signage.core.pagination import keyset_page, page_schema
from signage.core.scope import filter_zone_id, in_readable_zones, require_readable, shop_in_readable_zones
from signage.core.web import accepts
from signage.ledger.models import Shop
from signage.paperwork import queries, service, signatures
from signage.paperwork.models import Commitment
from signage.paperwork.schemas import (
    CommitmentCreateSchema,
    CommitmentListItemSchema,
    CommitmentQueryArgsSchema,
    CommitmentSchema,
    ShopBriefSchema,
    ShopQueryArgsSchema,
    SignatureSchema,
    SignatureUploadSchema,
)

blp = Blueprint(
    "commitments", __name__, url_prefix="/api/v1/commitments", description="Signed commitments (承诺书)"
)


@blp.route("")
class Commitments(MethodView):
    @roles(*STAFF)
    @blp.arguments(CommitmentQueryArgsSchema, location="query")
    @blp.response(200, page_schema(CommitmentListItemSchema, "CommitmentPage"))
    def get(self, args):
        """List commitments by signing time, or with expiring_within=N those lapsing soonest first."""
        page = {k: args.pop(k) for k in ("limit", "cursor")}
        if args.get("expiring_within") is not None:
            keys, key_of = [Commitment.valid_until, Commitment.id], lambda c: [c.valid_until, c.id]
        else:
            keys, key_of = [Commitment.signed_at, Commitment.id], lambda c: [c.signed_at, c.id]
        zone_id = filter_zone_id(g.current_user, args.pop("zone", None))
        stmt = queries.commitments(zone_id=zone_id, **args).where(
            shop_in_readable_zones(g.current_user, Commitment.shop_id)
        )
        items, nxt = keyset_page(stmt, keys=keys, key_of=key_of, **page)
        return {"items": items, "next": nxt}

    @roles(*STAFF)
    @blp.arguments(CommitmentCreateSchema)
    @blp.response(201, CommitmentSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Record a signed commitment; the shop's previous one is superseded and kept in history."""
        shop = db.session.get(Shop, body.pop("shop_id"))
        if shop is None:
            raise field_error("shop_id", "no such shop")
        commitment = service.record_commitment(shop=shop, witnessed_by=g.current_user, **body)
        db.session.commit()
        return commitment, 201, {"ETag": etag(commitment), "Location": f"/api/v1/commitments/{commitment.id}"}


@blp.route("/<uuid:commitment_id>")
class CommitmentById(MethodView):
    @signed_in
    @blp.response(200, CommitmentSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, commitment_id):
        """Get one commitment (owners: their own shops' only; inspectors: their zones')."""
        commitment = get_or_404(Commitment, commitment_id, "commitment")
        require_readable(
            g.current_user, zone_id=commitment.shop.zone_id, shop_id=commitment.shop_id, what="commitment"
        )
        return commitment, 200, {"ETag": etag(commitment)}


@blp.route("/signatures")
class Signatures(MethodView):
    @roles(*STAFF)
    @accepts("multipart/form-data")
    @blp.arguments(SignatureUploadSchema, location="files")
    @blp.response(201, SignatureSchema)
    def post(self, files):
        """Upload a signature image or a photo of the signed paper; refer to it by the id returned."""
        photo = signatures.store_signature(data=files["file"].read(), uploaded_by=g.current_user)
        db.session.commit()
        return photo, 201


@blp.route("/shops-without-commitment")
class ShopsWithoutCommitment(MethodView):
    @roles(*STAFF)
    @blp.arguments(ShopQueryArgsSchema, location="query")
    @blp.response(200, page_schema(ShopBriefSchema, "ShopWithoutCommitmentPage"))
    def get(self, args):
        """Open shops with no commitment in force (never signed, or lapsed), by name."""
        zone_id = filter_zone_id(g.current_user, args.get("zone"))
        items, nxt = keyset_page(
            queries.shops_without_commitment(zone_id=zone_id, road=args.get("road")).where(
                in_readable_zones(g.current_user, Shop.zone_id)
            ),
            keys=[Shop.name, Shop.id],
            key_of=lambda s: [s.name, s.id],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next": nxt}
