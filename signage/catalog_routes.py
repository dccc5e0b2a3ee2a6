"""The catalog: every enumeration with its Chinese and English labels, for any client."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from signage.catalog import ENUMS, catalog
from signage.core.access import public
from signage.core.api import Blueprint

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/catalog", description="Enumerations and labels")


class CatalogEntrySchema(ma.Schema):
    """One code and its labels."""

    code = ma.fields.String(required=True)
    zh = ma.fields.String(required=True)
    en = ma.fields.String(required=True)


CatalogSchema = ma.Schema.from_dict(
    {key: ma.fields.List(ma.fields.Nested(CatalogEntrySchema), required=True) for key in ENUMS},
    name="CatalogSchema",
)


@blp.route("")
class Catalog(MethodView):
    # Public: the owner's page needs the labels before anyone signs in, and they hold no secrets.
    @public
    @blp.response(200, CatalogSchema)
    def get(self):
        """Every enumeration (hazard categories, severities, shifts, sign kinds...) with zh/en labels."""
        return catalog(), 200, {"Cache-Control": "public, max-age=3600"}
