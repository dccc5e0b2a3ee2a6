"""A leaner marshmallow dump for response schemas: the same output with less machinery per field.

marshmallow serialises a record field by field through `Field.serialize`, which looks the value
up through the schema's accessor, handles defaults and then formats it. For a page of 50 shops
that is a thousand such calls, and the profile of the list endpoint showed them. `LeanSchema`
plans each schema's fields once and then reads attributes directly, formatting the plain field
types (strings, numbers, UUIDs, ISO datetimes, pass-through values) inline and handing any
other field to its own `_serialize`. Hooks (`pre_dump`, `post_dump`) still run: only the
per-object loop is replaced. tests/unit/test_lean_dump.py checks the output equals marshmallow's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields, utils

MISSING = ma.missing
_IDENTITY = fields.Field._serialize
_NUMBER = fields.Number._serialize
_STRING = fields.String._serialize
_UUID = fields.UUID._serialize
_DATETIME = fields.DateTime._serialize


def _text(value: Any) -> str:
    return value if value.__class__ is str else utils.ensure_text_type(value)


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """An inline formatter for a non-None value, or None to call the field's own _serialize."""
    method = type(field)._serialize
    if method is _IDENTITY:
        return lambda value: value
    if method is _STRING:
        return _text
    if method is _UUID:
        return str
    if method is _NUMBER and type(field)._format_num is fields.Number._format_num and not field.as_string:
        return field.num_type
    if method is _DATETIME:
        return field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
    return None


def _plan(schema: ma.Schema) -> list[tuple] | None:
    """(key, attribute, name, converter, field) per dumped field, or None when not plain enough."""
    if type(schema).get_attribute is not ma.Schema.get_attribute:
        return None
    plan = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = (field.attribute or name) if field._CHECK_ATTRIBUTE else None
        plan.append((key, attribute, name, _converter(field), field))
    return plan


def _value(obj: Any, attribute: str) -> Any:
    if "." not in attribute and not hasattr(obj, "__getitem__"):
        return getattr(obj, attribute, MISSING)
    return utils.get_value(obj, attribute, MISSING)


class LeanSchema(ma.Schema):
    """A response schema whose dump runs a plan made once per schema instance."""

    def _serialize(self, obj: Any, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        plan = self.__dict__.get("_lean_plan", False)
        if plan is False:
            plan = self.__dict__["_lean_plan"] = _plan(self)
        if plan is None:
            return super()._serialize(obj)
        out = self.dict_class()
        for key, attribute, name, convert, field in plan:
            if attribute is None:  # Function and Method fields compute from the object
                value = field._serialize(None, name, obj)
                if value is not MISSING:
                    out[key] = value
                continue
            value = _value(obj, attribute)
            if value is MISSING:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is MISSING:
                    continue
            if convert is None:
                out[key] = field._serialize(value, name, obj)
            else:
                out[key] = None if value is None else convert(value)
        return out
