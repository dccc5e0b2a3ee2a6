"""Shop and sign schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from signage.catalog import BusinessType, RoadSide, ShopStatus, SignKind, SignStatus
from signage.core.dump import LeanSchema
from signage.core.fields import AwareDateTime, RecordedAt
from signage.core.location import LocationSchema
from signage.core.pagination import PageArgsSchema
from signage.ledger.coords import SYSTEMS
from signage.ledger.credit_code import credit_code_error

PHONE = validate.Regexp(
    r"^(1\d{10}|0\d{2,3}-?\d{7,8})$", error="must be an 11-digit mobile or a landline like 0571-82345678"
)


def _values(enum) -> list[str]:
    return [e.value for e in enum]


def _credit_code(value: str, **kwargs) -> None:
    reason = credit_code_error(value)
    if reason:
        raise ma.ValidationError(f"not a valid unified social credit code: {reason}")


class ShopFields(LocationSchema):
    """Fields a client may set on a shop."""

    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    address = ma.fields.String(validate=validate.Length(max=300))
    road_id = ma.fields.UUID(metadata={"description": "The road the shop is on; sets its zone"})
    side = ma.fields.String(allow_none=True, validate=validate.OneOf(_values(RoadSide)))
    owner_name = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    owner_phone = ma.fields.String(allow_none=True, validate=PHONE)
    credit_code = ma.fields.String(
        allow_none=True,
        validate=_credit_code,
        metadata={"description": "统一社会信用代码: 18 characters, GB 32100 check character"},
    )
    business_type = ma.fields.String(allow_none=True, validate=validate.OneOf(_values(BusinessType)))
    status = ma.fields.String(validate=validate.OneOf(_values(ShopStatus)))

    @ma.pre_load
    def _normalise(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("credit_code"), str):
            data = {**data, "credit_code": data["credit_code"].strip().upper() or None}
        return data


class ShopCreateSchema(ShopFields):
    """A shop to register; `id` may be made on the phone."""

    location_required = True

    id = ma.fields.UUID(metadata={"description": "Client-made id (optional)"})
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    road_id = ma.fields.UUID(required=True)
    recorded_at = RecordedAt()
    confirm_distinct = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "true registers it even if it looks like a shop already on the ledger"},
    )


class ShopUpdateSchema(ShopFields):
    """Changes to a shop (send only what changes)."""


class ShopSchema(LeanSchema):
    """A shop on the ledger."""

    id = ma.fields.UUID()
    name = ma.fields.String()
    address = ma.fields.String()
    zone_id = ma.fields.UUID()
    zone = ma.fields.String(attribute="zone_code", metadata={"description": "Zone code"})
    road_id = ma.fields.UUID(allow_none=True)
    road = ma.fields.String(attribute="road_name", allow_none=True, metadata={"description": "Road name"})
    side = ma.fields.String(allow_none=True)
    lat = ma.fields.Float()
    lng = ma.fields.Float()
    owner_name = ma.fields.String(allow_none=True)
    owner_phone = ma.fields.String(allow_none=True)
    credit_code = ma.fields.String(allow_none=True)
    business_type = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    registered_by_id = ma.fields.UUID()
    registered_at = AwareDateTime(attribute="created_at")
    recorded_at = AwareDateTime(allow_none=True)
    updated_at = AwareDateTime()
    version = ma.fields.Integer()
    distance_m = ma.fields.Float(metadata={"description": "Only in `near` searches: metres from the point"})


class ShopQueryArgsSchema(PageArgsSchema):
    """Filters for the shop list."""

    near = ma.fields.String(
        validate=validate.Regexp(r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$", error="use near=lat,lng"),
        metadata={"description": "lat,lng: shops within `radius`, nearest first, with distance_m"},
    )
    radius = ma.fields.Float(load_default=200.0, validate=validate.Range(min=1, max=5000))
    coord_system = ma.fields.String(load_default="wgs84", validate=validate.OneOf(SYSTEMS))
    zone = ma.fields.String(metadata={"description": "Zone code"})
    road = ma.fields.UUID(metadata={"description": "Road id"})
    q = ma.fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "In name or address"}
    )
    status = ma.fields.String(validate=validate.OneOf(_values(ShopStatus)))
    updated_since = AwareDateTime(metadata={"description": "Changed at or after (for sync)"})


class SignContentFields(ma.Schema):
    """What a sign says and how big it is: changing any of these makes a new version."""

    kind = ma.fields.String(validate=validate.OneOf(_values(SignKind)))
    text = ma.fields.String(validate=validate.Length(max=200))
    width_m = ma.fields.Float(validate=validate.Range(min=0.01, max=200, min_inclusive=True))
    height_m = ma.fields.Float(validate=validate.Range(min=0.01, max=200))
    height_above_ground_m = ma.fields.Float(allow_none=True, validate=validate.Range(min=0, max=300))
    lit = ma.fields.Boolean()


CONTENT_FIELDS = ("kind", "text", "width_m", "height_m", "height_above_ground_m", "lit")


class SignCreateSchema(SignContentFields, LocationSchema):
    """A sign to register: of a shop, or standing alone on a road with its own owner."""

    id = ma.fields.UUID(metadata={"description": "Client-made id (optional)"})
    shop_id = ma.fields.UUID(metadata={"description": "The shop; omit for a standalone facility"})
    road_id = ma.fields.UUID(metadata={"description": "Required for a standalone facility"})
    owner_name = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    owner_phone = ma.fields.String(allow_none=True, validate=PHONE)
    kind = ma.fields.String(required=True, validate=validate.OneOf(_values(SignKind)))
    width_m = ma.fields.Float(required=True, validate=validate.Range(min=0.01, max=200))
    height_m = ma.fields.Float(required=True, validate=validate.Range(min=0.01, max=200))
    photo_id = ma.fields.UUID(metadata={"description": "Photo of the sign (upload it first)"})
    note = ma.fields.String(load_default="", validate=validate.Length(max=300))
    recorded_at = RecordedAt()

    @ma.validates_schema
    def _shop_or_road(self, data, **kwargs):
        if not data.get("shop_id") and not data.get("road_id"):
            raise ma.ValidationError("a sign needs a shop_id, or a road_id when it stands alone", "shop_id")


class SignUpdateSchema(SignContentFields, LocationSchema):
    """Changes to a sign; a content change needs `photo_id` and makes a new version."""

    owner_name = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    owner_phone = ma.fields.String(allow_none=True, validate=PHONE)
    photo_id = ma.fields.UUID(metadata={"description": "Photo of the changed sign"})
    note = ma.fields.String(validate=validate.Length(max=300))
    recorded_at = RecordedAt()


class SignVersionCreateSchema(SignContentFields):
    """A new or replaced sign recorded on the spot: its new content and photo."""

    id = ma.fields.UUID(metadata={"description": "Client-made id (optional)"})
    photo_id = ma.fields.UUID(required=True)
    note = ma.fields.String(load_default="", validate=validate.Length(max=300))
    recorded_at = RecordedAt()


class SignSchema(LeanSchema):
    """A sign on the ledger."""

    id = ma.fields.UUID()
    shop_id = ma.fields.UUID(allow_none=True)
    zone_id = ma.fields.UUID()
    road_id = ma.fields.UUID(allow_none=True)
    owner_name = ma.fields.String(allow_none=True)
    owner_phone = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    text = ma.fields.String()
    width_m = ma.fields.Float()
    height_m = ma.fields.Float()
    height_above_ground_m = ma.fields.Float(allow_none=True)
    lit = ma.fields.Boolean()
    lat = ma.fields.Float(allow_none=True)
    lng = ma.fields.Float(allow_none=True)
    status = ma.fields.String()
    removed_at = AwareDateTime(allow_none=True)
    current_version_no = ma.fields.Integer()
    current_photo_id = ma.fields.UUID(allow_none=True)
    created_by_id = ma.fields.UUID()
    created_at = AwareDateTime()
    recorded_at = AwareDateTime(allow_none=True)
    updated_at = AwareDateTime()
    version = ma.fields.Integer()


class SignVersionSchema(LeanSchema):
    """One entry of a sign's history."""

    id = ma.fields.UUID()
    sign_id = ma.fields.UUID()
    version_no = ma.fields.Integer()
    kind = ma.fields.String()
    text = ma.fields.String()
    width_m = ma.fields.Float()
    height_m = ma.fields.Float()
    height_above_ground_m = ma.fields.Float(allow_none=True)
    lit = ma.fields.Boolean()
    photo_id = ma.fields.UUID(allow_none=True)
    note = ma.fields.String()
    recorded_by_id = ma.fields.UUID()
    recorded_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()


class SignQueryArgsSchema(PageArgsSchema):
    """Filters for the sign list."""

    shop = ma.fields.UUID(metadata={"description": "Shop id"})
    zone = ma.fields.String(metadata={"description": "Zone code"})
    road = ma.fields.UUID(metadata={"description": "Road id"})
    kind = ma.fields.String(validate=validate.OneOf(_values(SignKind)))
    status = ma.fields.String(validate=validate.OneOf(_values(SignStatus)))
    lit = ma.fields.Boolean()
    updated_since = AwareDateTime()


class LedgerExportArgsSchema(ma.Schema):
    """The export's format and scope."""

    format = ma.fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))
    zone = ma.fields.String(metadata={"description": "Zone code"})
    status = ma.fields.String(validate=validate.OneOf(_values(SignStatus)))
