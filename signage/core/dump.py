"""A leaner marshmallow dump for response schemas: the same output with less machinery per field.

marshmallow serialises a record field by field through `Field.serialize`, which looks the value
up through the schema's accessor, handles defaults and then formats it. For a page of 50 shops
that is a thousand such calls, and the profile of the list endpoint showed them. `LeanSchema`
plans a schema's fields once and compiles, per shape of object (attribute objects, mappings,
SQLAlchemy rows with given columns), a straight-line function that reads each value directly
(a row's column by position) and formats plain field types inline; any other field still runs
its own `_serialize`, and `pre_dump`/`post_dump` hooks still run: only the per-object loop is
replaced. tests/unit/test_lean_dump.py checks the output equals marshmallow's.

A response schema (`LeanSchema.for_json`, which the API's blueprints use) goes one step further:
ids and UTC times are left as they are for orjson to write, which it does in the same text as
`str` and `isoformat` at a fraction of their cost (half the Python time of dumping a page of 50
shops was those two). Its dump is a `JsonReady` dict or list, which the app's JSON encoder
(signage/core/jsonio.py) knows to write that way.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import marshmallow as ma
from marshmallow import fields, utils
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from sqlalchemy.engine import Row

MISSING = ma.missing
_IDENTITY = fields.Field._serialize
_NUMBER = fields.Number._serialize
_STRING = fields.String._serialize
_UUID = fields.UUID._serialize
_DATETIME = fields.DateTime._serialize
_AS_IS = object()  # the field passes values through unchanged
# What orjson writes exactly as the field's own formatting would: the value's class, its format.
_NATIVE = {uuid.UUID: str, dt.datetime: dt.datetime.isoformat, dt.date: dt.date.isoformat}


class JsonReady(dict):
    """A response schema's dump: may hold UUIDs, dates and UTC (or naive) datetimes as they are,
    for orjson to write as the schema would have."""


class JsonReadyList(list):
    """A response schema's dump of many records (see JsonReady)."""


def _text(value: Any) -> str:
    return value if value.__class__ is str else utils.ensure_text_type(value)


class _Entry(NamedTuple):
    key: str
    attribute: str | None  # None: the field computes from the whole object (Function, Method)
    dotted: bool
    name: str
    convert: Any  # a formatter for non-None values, _AS_IS, or None for the field's _serialize
    field: fields.Field
    native: type | None  # values of exactly this class pass as they are (str; for_json: for orjson)


def _native_class(convert: Any) -> type | None:
    return next((cls for cls, formatter in _NATIVE.items() if convert is formatter), None)


def _converter(field: fields.Field, native: bool) -> Any:
    """An inline formatter for a non-None value, _AS_IS, or None to call the field's _serialize."""
    method = type(field)._serialize
    if method is _IDENTITY:
        return _AS_IS
    if method is _STRING:
        return _text
    if method is _UUID:
        return str
    if method is _NUMBER and type(field)._format_num is fields.Number._format_num and not field.as_string:
        return field.num_type
    if method is _DATETIME:
        return field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
    if type(field) is fields.List and type(field.inner) is fields.Nested:
        # A list of records (a page's items): marshmallow runs the nested schema's whole dump per
        # item; without hooks to run, its compiled dump per item gives the same.
        nested = field.inner.schema
        if (
            isinstance(nested, LeanSchema)
            and not (nested.many or field.inner.many)
            and not (nested._hooks[PRE_DUMP] or nested._hooks[POST_DUMP])
        ):
            return nested._dump_items_for_json if native else nested._dump_items
    return None


def _plan(schema: ma.Schema, native: bool) -> list[_Entry] | None:
    """One entry per dumped field, or None when the schema reads values its own way."""
    if type(schema).get_attribute is not ma.Schema.get_attribute:
        return None
    plan = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = (field.attribute or name) if field._CHECK_ATTRIBUTE else None
        dotted = attribute is not None and "." in attribute
        convert = _converter(field, native)
        # Text already str passes as it is, in any dump (most values of a page: no call for them).
        passes = str if convert is _text else _native_class(convert) if native else None
        plan.append(_Entry(key, attribute, dotted, name, convert, field, passes))
    return plan


def _compile(plan: list[_Entry], shape: Any, dict_class: type) -> Callable[[Any], dict]:
    """A function dumping objects of one shape: "attributes", "dict", "mapping" or a row's columns."""
    columns = {column: i for i, column in enumerate(shape)} if isinstance(shape, tuple) else {}
    ns: dict[str, Any] = {
        "MISSING": MISSING,
        "get_value": utils.get_value,
        "dict_class": dict_class,
        "UTC": dt.UTC,
    }
    lines = ["def dump(obj):", "    out = dict_class()"]
    for n, e in enumerate(plan):
        ns[f"f{n}"] = e.field
        if e.attribute is None:
            lines += [
                f"    v = f{n}._serialize(None, {e.name!r}, obj)",
                "    if v is not MISSING:",
                f"        out[{e.key!r}] = v",
            ]
            continue
        position = None if e.dotted else columns.get(e.attribute)
        indent = "    "
        if position is not None:  # a row's column: what marshmallow's getattr gives, by position
            lines.append(f"    v = obj[{position}]")
        elif columns and not e.dotted and not hasattr(Row, e.attribute):
            # Neither a column of the row nor a Row attribute: getattr would raise (slowly, through
            # the row's key lookup) and marshmallow would take it as missing.
            default = e.field.dump_default
            if default is MISSING:
                continue
            lines.append("    v = MISSING")
            ns[f"d{n}"] = default
            lines.append(f"    v = d{n}()" if callable(default) else f"    v = d{n}")
        else:
            if shape == "dict" and not e.dotted:  # marshmallow: obj[key], else getattr
                a = repr(e.attribute)
                lines.append(f"    v = obj[{a}] if {a} in obj else getattr(obj, {a}, MISSING)")
            elif shape == "mapping" or e.dotted:
                lines.append(f"    v = get_value(obj, {e.attribute!r}, MISSING)")
            else:
                lines.append(f"    v = getattr(obj, {e.attribute!r}, MISSING)")
            default = e.field.dump_default
            if default is MISSING:
                lines.append("    if v is not MISSING:")
                indent = "        "
            else:
                ns[f"d{n}"] = default
                lines += [
                    "    if v is MISSING:",
                    f"        v = d{n}()" if callable(default) else f"        v = d{n}",
                ]
        if e.convert is None:
            lines.append(f"{indent}out[{e.key!r}] = f{n}._serialize(v, {e.name!r}, obj)")
        elif e.convert is _AS_IS:
            lines.append(f"{indent}out[{e.key!r}] = v")
        elif e.native is dt.datetime:  # orjson writes other zones' offsets its own way
            ns[f"c{n}"], ns[f"t{n}"] = e.convert, e.native
            lines.append(
                f"{indent}out[{e.key!r}] = v if v is None or (v.__class__ is t{n} and"
                f" (v.tzinfo is UTC or v.tzinfo is None)) else c{n}(v)"
            )
        elif e.native is not None:
            ns[f"c{n}"], ns[f"t{n}"] = e.convert, e.native
            lines.append(f"{indent}out[{e.key!r}] = v if v is None or v.__class__ is t{n} else c{n}(v)")
        else:
            ns[f"c{n}"] = e.convert
            lines.append(f"{indent}out[{e.key!r}] = None if v is None else c{n}(v)")
    lines.append("    return out")
    exec("\n".join(lines), ns)  # noqa: S102 - made from the schema's own field names, quoted with repr
    return ns["dump"]


def _shape(obj: Any) -> Any:
    """How marshmallow would read obj: get_value tries obj[key] on anything with __getitem__ (a
    SQLAlchemy Row refuses string keys and ends at getattr, so it counts as attributes)."""
    if isinstance(obj, Row) or (isinstance(obj, tuple) and hasattr(obj, "_fields")):
        return obj._fields  # a SQLAlchemy row, or a named tuple (a cursor's: reads.Prepared)
    if type(obj) is dict:
        return "dict"
    return "attributes" if not hasattr(obj, "__getitem__") else "mapping"


class LeanSchema(ma.Schema):
    """A response schema whose dump runs functions compiled once per schema instance and shape."""

    _for_json = False

    def for_json(self) -> LeanSchema:
        """This schema as a response's: its dump is JsonReady (see the module's docstring).

        Schemas with dump hooks stay as they are: a hook may expect the formatted values.
        """
        if self._hooks[PRE_DUMP] or self._hooks[POST_DUMP]:
            return self
        twin = copy.copy(self)
        twin.__dict__.pop("_lean_plan", None)
        twin.__dict__.pop("_lean_dumpers", None)
        twin._for_json = True
        return twin

    def dump(self, obj: Any, *, many: bool | None = None):
        result = super().dump(obj, many=many)
        if not self._for_json:
            return result
        return JsonReadyList(result) if isinstance(result, list) else JsonReady(result)

    def _serialize(self, obj: Any, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        plan = self._planned(self._for_json)
        if plan is None:
            return super()._serialize(obj)
        return self._dumper(plan, _shape(obj), self._for_json)(obj)

    def _planned(self, native: bool) -> list[_Entry] | None:
        state = self.__dict__
        plans = state.get("_lean_plan")
        if plans is None:
            plans = state["_lean_plan"] = {}
            state["_lean_dumpers"] = {}
        plan = plans.get(native, False)
        if plan is False:
            plan = plans[native] = _plan(self, native)
        return plan

    def _dumper(self, plan: list[_Entry], shape: Any, native: bool) -> Callable[[Any], dict]:
        dumpers = self.__dict__["_lean_dumpers"]
        dumper = dumpers.get((shape, native))
        if dumper is None:
            dumper = dumpers[shape, native] = _compile(plan, shape, self.dict_class)
        return dumper

    def _dump_items(self, items, native: bool = False) -> list:
        """Each item as `_serialize` gives it; rows of one result share their columns, so their
        shape is read once (a row builds its tuple of column names anew on every ask)."""
        plan = self._planned(native)
        if plan is None:
            return [self._serialize(item) for item in items]
        out, parent, dumper = [], None, None
        for item in items:
            if item is None:
                out.append(None)
                continue
            # Rows of one result share their columns; other objects of one class their shape.
            kind = item._parent if isinstance(item, Row) else item.__class__
            if kind is not parent:
                parent = kind
                dumper = self._dumper(plan, _shape(item), native)
            out.append(dumper(item))
        return out

    def _dump_items_for_json(self, items) -> list:
        """`_dump_items` for a response schema's page (see for_json)."""
        return self._dump_items(items, native=True)
