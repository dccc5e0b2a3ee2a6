"""Report query and response schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate
from webargs.fields import DelimitedList

from signage.catalog import HazardCategory, Severity, Shift
from signage.core.fields import LocalDay
from signage.reports.rectification import DEFINITIONS, GROUPINGS

FORMATS = ["json", "csv", "xlsx"]


class PeriodArgsSchema(ma.Schema):
    """A period of local days in the team's time zone, and the output format."""

    from_ = LocalDay(data_key="from", metadata={"description": "First local day (YYYY-MM-DD)"})
    to = LocalDay(metadata={"description": "Last local day, included"})
    format = ma.fields.String(load_default="json", validate=validate.OneOf(FORMATS))

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ma.ValidationError("must not be before from", "to")


class RectificationArgsSchema(PeriodArgsSchema):
    """Filters and up to two groupings for the rectification report."""

    group_by = DelimitedList(
        ma.fields.String(validate=validate.OneOf(GROUPINGS)),
        load_default=list,
        validate=validate.Length(max=2),
        metadata={"description": f"Up to two of {', '.join(GROUPINGS)}, comma-separated"},
    )
    zone = ma.fields.String(metadata={"description": "Zone code"})
    road = ma.fields.UUID(metadata={"description": "Road id"})
    category = ma.fields.String(validate=validate.OneOf([c.value for c in HazardCategory]))
    shift = ma.fields.String(validate=validate.OneOf([s.value for s in Shift]))
    inspector = ma.fields.String(metadata={"description": "Username of the inspector who found it"})
    severity = ma.fields.String(validate=validate.OneOf([s.value for s in Severity]))

    @ma.validates("group_by")
    def _distinct(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ma.ValidationError("name each grouping once")


class RateFields(ma.Schema):
    """The figures of one group; `definitions` in the metadata say what each divides."""

    found = ma.fields.Integer(required=True, metadata={"description": DEFINITIONS["found"]})
    rectified = ma.fields.Integer(required=True, metadata={"description": DEFINITIONS["rectified"]})
    open = ma.fields.Integer(required=True, metadata={"description": DEFINITIONS["open"]})
    overdue = ma.fields.Integer(required=True, metadata={"description": DEFINITIONS["overdue"]})
    due = ma.fields.Integer(required=True, metadata={"description": DEFINITIONS["due"]})
    rectified_on_time = ma.fields.Integer(
        required=True, metadata={"description": DEFINITIONS["rectified_on_time"]}
    )
    rework = ma.fields.Integer(required=True, metadata={"description": DEFINITIONS["rework"]})
    rectification_rate = ma.fields.Float(
        allow_none=True, required=True, metadata={"description": DEFINITIONS["rectification_rate"]}
    )
    on_time_rate = ma.fields.Float(
        allow_none=True, required=True, metadata={"description": DEFINITIONS["on_time_rate"]}
    )
    median_hours = ma.fields.Float(
        allow_none=True, required=True, metadata={"description": DEFINITIONS["median_hours"]}
    )
    p90_hours = ma.fields.Float(
        allow_none=True, required=True, metadata={"description": DEFINITIONS["p90_hours"]}
    )


class GroupSchema(RateFields):
    """One group: its key values and figures."""

    group = ma.fields.Dict(required=True, metadata={"description": "The grouping values, e.g. {zone: GL}"})


class RectificationReportSchema(ma.Schema):
    """Rectification figures per group, with the definitions used."""

    meta = ma.fields.Dict(required=True)
    groups = ma.fields.List(ma.fields.Nested(GroupSchema), required=True)


class CampaignReportSchema(ma.Schema):
    """The campaign at a glance."""

    meta = ma.fields.Dict(required=True)
    ledger = ma.fields.Dict(required=True)
    paperwork = ma.fields.Dict(required=True)
    patrols = ma.fields.Dict(required=True)
    hazards = ma.fields.Dict(required=True)
    coverage = ma.fields.Dict(required=True)
