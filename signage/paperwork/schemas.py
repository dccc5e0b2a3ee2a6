"""Schemas of templates, notices, commitments and their lists."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from signage.catalog import DeliveryMethod
from signage.core.fields import AwareDateTime, LocalDay
from signage.core.pagination import PageArgsSchema
from signage.ledger.coords import SYSTEMS
from signage.paperwork import service
from signage.paperwork.models import TEMPLATE_KINDS

DELIVERY = validate.OneOf([m.value for m in DeliveryMethod])
LAT = validate.Range(min=-90, max=90)
LNG = validate.Range(min=-180, max=180)
STATUSES = ("in_force", "expired", "superseded")


class TemplateSchema(ma.Schema):
    """One stored version of a document template."""

    id = ma.fields.UUID(dump_only=True)
    kind = ma.fields.String(dump_only=True)
    version_no = ma.fields.Integer(dump_only=True, metadata={"description": "1, 2, ... per kind"})
    title = ma.fields.String(dump_only=True)
    body = ma.fields.String(dump_only=True, metadata={"description": "Jinja2 text with placeholders"})
    note = ma.fields.String(dump_only=True)
    created_by_id = ma.fields.UUID(dump_only=True, allow_none=True)
    created_at = AwareDateTime(dump_only=True)


class TemplateCreateSchema(ma.Schema):
    """A new version of a template; documents already made keep the version they were made from."""

    kind = ma.fields.String(required=True, validate=validate.OneOf(TEMPLATE_KINDS))
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=20000))
    note = ma.fields.String(load_default="", validate=validate.Length(max=300))


class TemplateQueryArgsSchema(ma.Schema):
    """Filter the template versions by kind."""

    kind = ma.fields.String(validate=validate.OneOf(TEMPLATE_KINDS))


class _Place(ma.Schema):
    lat = ma.fields.Float(load_default=None, allow_none=True, validate=LAT)
    lng = ma.fields.Float(load_default=None, allow_none=True, validate=LNG)
    coord_system = ma.fields.String(
        load_default="wgs84", validate=validate.OneOf(SYSTEMS), metadata={"description": "Of lat/lng"}
    )

    @ma.validates_schema
    def both_or_neither(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ma.ValidationError("send both lat and lng, or neither", "lat")


class NoticeCreateSchema(_Place):
    """Issue a notice to a shop (the server numbers it and renders the current template)."""

    id = ma.fields.UUID(load_default=None, metadata={"description": "Optional id made on the phone"})
    shop_id = ma.fields.UUID(required=True)
    place = ma.fields.String(
        load_default=None, validate=validate.Length(max=300), metadata={"description": "Default: address"}
    )
    delivery_method = ma.fields.String(load_default=None, allow_none=True, validate=DELIVERY)
    delivery_note = ma.fields.String(load_default="", validate=validate.Length(max=300))
    recorded_at = AwareDateTime(load_default=None, allow_none=True)


class NoticeSchema(ma.Schema):
    """A notice as issued: its number, exact text, hash, delivery and acknowledgement."""

    id = ma.fields.UUID()
    number = ma.fields.String(metadata={"description": "e.g. 瓜沥执法告〔2026〕第0001号"})
    year = ma.fields.Integer()
    seq = ma.fields.Integer()
    shop_id = ma.fields.UUID()
    shop_name = ma.fields.String(attribute="shop.name")
    zone = ma.fields.String(attribute="shop.zone.code")
    template_id = ma.fields.UUID()
    template_version = ma.fields.Integer(attribute="template.version_no")
    title = ma.fields.String()
    body = ma.fields.String(metadata={"description": "The exact text served and printed"})
    content_sha256 = ma.fields.String(metadata={"description": "SHA-256 (hex) of body in UTF-8"})
    access_code = ma.fields.String(metadata={"description": "Printed on the notice; opens the owner's view"})
    owner_url = ma.fields.Function(service.owner_url, metadata={"description": "What the QR code opens"})
    issued_by_id = ma.fields.UUID()
    issued_at = AwareDateTime()
    lat = ma.fields.Float(allow_none=True)
    lng = ma.fields.Float(allow_none=True)
    place = ma.fields.String()
    delivery_method = ma.fields.String(allow_none=True)
    delivered_at = AwareDateTime(allow_none=True)
    delivered_by_id = ma.fields.UUID(allow_none=True)
    delivery_note = ma.fields.String()
    acknowledged_at = AwareDateTime(allow_none=True)
    acknowledged_by_id = ma.fields.UUID(allow_none=True)
    recorded_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()
    updated_at = AwareDateTime()
    version = ma.fields.Integer(metadata={"description": "Changes with each update (the ETag)"})


class NoticeListItemSchema(NoticeSchema):
    """A notice in a list (without its full text)."""

    class Meta:
        exclude = ("body",)


class DeliverySchema(ma.Schema):
    """How the notice reached the shop."""

    method = ma.fields.String(required=True, validate=DELIVERY)
    note = ma.fields.String(load_default="", validate=validate.Length(max=300))
    recorded_at = AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "When the phone recorded it"}
    )


class _Area(PageArgsSchema):
    zone = ma.fields.String(metadata={"description": "Zone code"})
    road = ma.fields.UUID(metadata={"description": "Road id"})
    shop_id = ma.fields.UUID()


class NoticeQueryArgsSchema(_Area):
    """Filters for the notice list (dates are days in the team's time zone, inclusive)."""

    issued_from = LocalDay()
    issued_to = LocalDay()
    delivery = ma.fields.String(
        validate=validate.OneOf([*DELIVERY.choices, "none"]),
        metadata={"description": "A delivery method, or none for notices not yet delivered"},
    )
    acknowledged = ma.fields.Boolean()


class ShopQueryArgsSchema(PageArgsSchema):
    """Filters for the shops lacking paperwork."""

    zone = ma.fields.String(metadata={"description": "Zone code"})
    road = ma.fields.UUID(metadata={"description": "Road id"})


class ShopBriefSchema(ma.Schema):
    """A shop as the paperwork lists show it."""

    id = ma.fields.UUID()
    name = ma.fields.String()
    address = ma.fields.String()
    zone = ma.fields.String(attribute="zone.code")
    road_id = ma.fields.UUID(allow_none=True)
    road = ma.fields.String(attribute="road.name", allow_none=True)
    owner_name = ma.fields.String(allow_none=True)
    status = ma.fields.String()


class CommitmentCreateSchema(ma.Schema):
    """A commitment signed for a shop, witnessed by the inspector sending it."""

    id = ma.fields.UUID(load_default=None, metadata={"description": "Optional id made on the phone"})
    shop_id = ma.fields.UUID(required=True)
    signer_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    signer_role = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "e.g. 店主, 负责人, 店长"},
    )
    signature_photo_id = ma.fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "The signature drawn on the phone"}
    )
    paper_photo_id = ma.fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "A photo of the signed paper"}
    )
    signed_at = AwareDateTime(load_default=None, allow_none=True)
    valid_until = ma.fields.Date(
        load_default=None, allow_none=True, metadata={"description": "Default: one year after signing"}
    )
    recorded_at = AwareDateTime(load_default=None, allow_none=True)


class CommitmentSchema(ma.Schema):
    """A signed commitment and where it stands (in force, expired or superseded)."""

    id = ma.fields.UUID()
    shop_id = ma.fields.UUID()
    shop_name = ma.fields.String(attribute="shop.name")
    zone = ma.fields.String(attribute="shop.zone.code")
    status = ma.fields.Function(service.commitment_status, metadata={"enum": list(STATUSES)})
    template_id = ma.fields.UUID()
    template_version = ma.fields.Integer(attribute="template.version_no")
    title = ma.fields.String()
    body = ma.fields.String(metadata={"description": "The exact text of the commitment"})
    content_sha256 = ma.fields.String()
    signer_name = ma.fields.String()
    signer_role = ma.fields.String()
    signed_at = AwareDateTime()
    valid_from = ma.fields.Date()
    valid_until = ma.fields.Date()
    witnessed_by_id = ma.fields.UUID()
    signature_photo_id = ma.fields.UUID(allow_none=True)
    paper_photo_id = ma.fields.UUID(allow_none=True)
    superseded_at = AwareDateTime(allow_none=True)
    superseded_by_id = ma.fields.UUID(allow_none=True)
    recorded_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()
    updated_at = AwareDateTime()
    version = ma.fields.Integer()


class CommitmentListItemSchema(CommitmentSchema):
    """A commitment in a list (without its full text)."""

    class Meta:
        exclude = ("body",)


class CommitmentQueryArgsSchema(_Area):
    """Filters for the commitment list (dates are days in the team's time zone, inclusive)."""

    signed_from = LocalDay()
    signed_to = LocalDay()
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    expiring_within = ma.fields.Integer(
        validate=validate.Range(min=0, max=3660),
        metadata={"description": "Days: in force and lapsing within this many days, soonest first"},
    )


class SignatureUploadSchema(ma.Schema):
    """The signature image or the photo of the signed paper."""

    file = Upload(required=True, metadata={"description": "JPEG, PNG, WebP or HEIC"})


class SignatureSchema(ma.Schema):
    """A stored signature image: send its id as signature_photo_id or paper_photo_id."""

    id = ma.fields.UUID()
    sha256 = ma.fields.String()
    mime = ma.fields.String()
    size = ma.fields.Integer()
    width = ma.fields.Integer()
    height = ma.fields.Integer()
