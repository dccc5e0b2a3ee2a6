"""LeanSchema dumps exactly what marshmallow's own dump gives."""

from __future__ import annotations

import decimal
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import marshmallow as ma
import orjson
import pytest
import sqlalchemy as sa

from signage.core.dump import LeanSchema
from signage.core.pagination import page_schema
from signage.ledger.schemas import ShopSchema, SignSchema, SignVersionSchema


def _twin(schema_cls: type[ma.Schema]) -> ma.Schema:
    """The same fields on a plain marshmallow Schema."""
    return ma.Schema.from_dict(dict(schema_cls._declared_fields))()


def _shop(**overrides) -> SimpleNamespace:
    values = {
        "id": uuid.uuid4(),
        "name": "阿芳小吃店",
        "address": "航坞路1号",
        "zone_id": uuid.uuid4(),
        "zone": SimpleNamespace(code="GL"),
        "road_id": uuid.uuid4(),
        "road": SimpleNamespace(name="航坞路"),
        "side": "north",
        "lat": 30.18,
        "lng": 120.46,
        "owner_name": "沈阿芳",
        "owner_phone": "13800000001",
        "credit_code": None,
        "business_type": "catering",
        "status": "open",
        "registered_by_id": uuid.uuid4(),
        "created_at": datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC),
        "recorded_at": None,
        "updated_at": datetime(2024, 5, 2, tzinfo=timezone(timedelta(hours=8))),
        "version": 3,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    "shop",
    [
        _shop(),
        _shop(road_id=None, road=None, side=None, lat=30, lng=120),  # ints become floats
        _shop(distance_m=12.3),  # only set by near searches
    ],
)
def test_dump_shop_matches_marshmallow(shop):
    assert ShopSchema().dump(shop) == _twin(ShopSchema).dump(shop)
    assert list(ShopSchema().dump(shop)) == list(_twin(ShopSchema).dump(shop))  # same key order


def test_dump_signs_and_versions_match_marshmallow():
    sign = SimpleNamespace(
        **{
            **dict.fromkeys(SignSchema._declared_fields),
            **{"id": uuid.uuid4(), "kind": "shop_sign", "lit": True, "width_m": 4, "version": 1},
        }
    )
    assert SignSchema().dump([sign, sign], many=True) == _twin(SignSchema).dump([sign, sign], many=True)
    version = SimpleNamespace(**dict.fromkeys(SignVersionSchema._declared_fields))
    version.text, version.version_no, version.lit = "招牌", 2, 0  # lit passes through, as in marshmallow
    assert SignVersionSchema().dump(version) == _twin(SignVersionSchema).dump(version)


def test_dump_page_matches_marshmallow():
    page = {"items": [_shop(), _shop()], "next": "abc"}
    lean = page_schema(ShopSchema, "LeanPage")().dump(page)
    plain = ma.Schema.from_dict(
        {"items": ma.fields.List(ma.fields.Nested(_twin(ShopSchema).__class__)), "next": ma.fields.String()}
    )().dump(page)
    assert lean == plain


class _Odd(LeanSchema):
    renamed = ma.fields.String(data_key="shown")
    sourced = ma.fields.Integer(attribute="deep.value")
    defaulted = ma.fields.String(dump_default="none given")
    computed = ma.fields.Function(lambda obj: obj.deep.value * 2)
    method = ma.fields.Method("_double")
    money = ma.fields.Decimal(places=2)
    counted = ma.fields.Integer(as_string=True)
    stamp = ma.fields.DateTime(format="%Y/%m/%d")
    nested = ma.fields.Nested(ShopSchema, only=("name",))
    hidden = ma.fields.String(load_only=True)

    def _double(self, obj):
        return obj.deep.value + 1

    @ma.post_dump
    def _mark(self, data, **kwargs):
        return {**data, "marked": True}


def test_dump_unusual_fields_match_marshmallow():
    obj = SimpleNamespace(
        renamed=7,
        deep=SimpleNamespace(value=21),
        computed=None,
        money=decimal.Decimal("1.005"),
        counted=5,
        stamp=datetime(2024, 1, 2, tzinfo=UTC),
        nested=_shop(),
        hidden="secret",
    )
    plain = ma.Schema.from_dict(dict(_Odd._declared_fields))
    plain._hooks = _Odd._hooks  # the post_dump hook too
    plain._mark, plain._double = _Odd._mark, _Odd._double
    assert _Odd().dump(obj) == plain().dump(obj)


def test_dump_mappings_matches_marshmallow():
    fields = {
        "renamed": ma.fields.String(data_key="shown"),
        "sourced": ma.fields.Integer(attribute="deep.value"),
    }
    data = {"renamed": "a", "deep": {"value": 1}}
    assert LeanSchema.from_dict(fields)().dump(data) == ma.Schema.from_dict(fields)().dump(data)


def test_dump_sqlalchemy_rows_matches_marshmallow():
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT 'a' AS name, 1.5 AS lat, NULL AS road_name")).all()
    fields = {
        "name": ma.fields.String(),
        "lat": ma.fields.Float(),
        "road": ma.fields.String(attribute="road_name"),
    }
    assert LeanSchema.from_dict(fields)().dump(rows, many=True) == ma.Schema.from_dict(fields)().dump(
        rows, many=True
    )
    engine.dispose()


def test_dump_rows_lacking_fields_and_pages_of_rows_match_marshmallow():
    # Rows without some schema fields (a shop row has no distance_m; one field has a default)
    # and a page of such rows (each item dumped by the nested schema's compiled dump).
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT 'a' AS name, 1 AS count UNION ALL SELECT 'b', 2")).all()
    fields = {
        "name": ma.fields.String(),
        "distance_m": ma.fields.Float(),
        "note": ma.fields.String(dump_default="none"),
        "count": ma.fields.Integer(),  # a column named like a Row method
    }
    item = LeanSchema.from_dict(fields, name="Item")
    plain_item = ma.Schema.from_dict(fields, name="PlainItem")
    lean = page_schema(item, "RowsPage")().dump({"items": rows, "next": None})
    plain = ma.Schema.from_dict(
        {"items": ma.fields.List(ma.fields.Nested(plain_item)), "next": ma.fields.String(allow_none=True)}
    )().dump({"items": rows, "next": None})
    assert lean == plain
    assert lean["items"][0] == {"name": "a", "note": "none", "count": 1}
    engine.dispose()


def test_dump_page_with_a_none_item_matches_marshmallow():
    page = {"items": [_shop(), None], "next": None}
    lean = page_schema(ShopSchema, "PageWithNone")().dump(page)
    plain = ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(_twin(ShopSchema).__class__)),
            "next": ma.fields.String(allow_none=True),
        }
    )().dump(page)
    assert lean == plain and lean["items"][1] is None


class _Dates(LeanSchema):
    day = ma.fields.Date(allow_none=True)
    at = ma.fields.AwareDateTime(allow_none=True)
    ref = ma.fields.UUID(allow_none=True)


def _written(app, dump) -> str:
    """What the app's JSON provider writes for a dump: its answer's body, and the same through
    the stdlib fallback (options orjson lacks, here an indent) must read back equal."""
    import json

    body = app.json.response(dump).get_data(as_text=True)
    with app.app_context():
        assert json.loads(app.json.dumps(dump, indent=2)) == json.loads(body)
    return body


@pytest.mark.parametrize(
    "values",
    [
        {
            "day": date(2024, 2, 29),
            "at": datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC),
            "ref": uuid.uuid4(),
        },
        {"day": None, "at": datetime(2024, 5, 1, tzinfo=UTC), "ref": None},  # no microseconds
        {"at": datetime(2024, 5, 2, 7, tzinfo=timezone(timedelta(hours=8)))},  # another zone's offset
        {"at": datetime(2024, 5, 2, 7, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=15)))},
        {"ref": "0d5e0b8c-43a4-4a3c-8a34-000000000001"},  # an id given as text stays text
    ],
)
def test_a_response_dump_writes_the_same_json_as_the_schema(app, values):
    # for_json leaves ids, dates and UTC times for orjson to write: the text must not change.
    obj = SimpleNamespace(**{"day": None, "at": None, "ref": None, **values})
    ready = _Dates().for_json().dump(obj)
    assert type(ready).__name__ == "JsonReady"
    assert orjson.loads(_written(app, ready)) == _Dates().dump(obj)


def test_a_response_page_writes_the_same_json_as_the_schema(app):
    page = {
        "items": [_shop(), None, _shop(road_id=None, updated_at=datetime(2024, 1, 1, tzinfo=UTC))],
        "next": "n",
    }
    schema = page_schema(ShopSchema, "ReadyPage")()
    ready = schema.for_json().dump(page)
    assert isinstance(ready["items"][0]["id"], uuid.UUID)  # left for orjson: the point of it
    assert orjson.loads(_written(app, ready)) == schema.dump(page)
    shops = [_shop()]
    many = ShopSchema(many=True).for_json().dump(shops)
    assert type(many).__name__ == "JsonReadyList"
    assert orjson.loads(_written(app, many)) == ShopSchema(many=True).dump(shops)


def test_schemas_with_dump_hooks_stay_as_they_are_for_responses():
    schema = _Odd()
    assert schema.for_json() is schema
