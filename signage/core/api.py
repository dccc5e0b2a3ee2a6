"""flask-smorest wired to problem details, bearer auth and offline docs."""

from __future__ import annotations

import functools
import http
from inspect import iscoroutinefunction
from pathlib import Path
from typing import ClassVar

import flask_swagger_ui
import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, send_from_directory
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import (
    prepare_response,
    resolve_schema_instance,
    set_status_and_headers_in_response,
    unpack_tuple_response,
)
from webargs.flaskparser import FlaskParser
from werkzeug import Response
from werkzeug.datastructures import CombinedMultiDict

from signage.core.dump import LeanSchema
from signage.core.errors import PROBLEM_MIMETYPE

SWAGGER_DIST = Path(flask_swagger_ui.__file__).parent / "dist"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with extension members a problem type may add."""

    class Meta:
        # RFC 9457 section 3.2: a problem type may carry extension members; clients ignore unknown ones.
        unknown = ma.INCLUDE

    type = ma.fields.String(required=True, metadata={"description": "Stable URI naming the problem"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    instance = ma.fields.String()
    request_id = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={"description": "Per-field messages, for validation problems"},
    )
    retry_after = ma.fields.Integer(metadata={"description": "Seconds to wait, as in Retry-After (429)"})
    current = ma.fields.Dict(metadata={"description": "The record as it is now, for a stale If-Match (412)"})
    current_etag = ma.fields.String(metadata={"description": "Its ETag (412)"})


BODY_LOCATIONS = {"json", "form", "files", "multipart"}
BODY_METHODS = {"post", "put", "patch"}
# Every operation with a body can meet these before its own validation runs.
BODY_ERRORS = {
    400: "BAD_REQUEST",
    413: "REQUEST_ENTITY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class ArgumentsParser(FlaskParser):
    """webargs' Flask parser plus `multipart`: the form fields and files of one multipart body.

    smorest documents one body location per operation, so a photo and the fields sent with it
    are read, validated (unknown fields refused) and documented together as one schema.
    """

    __location_map__: ClassVar[dict] = {**FlaskParser.__location_map__, "multipart": "load_multipart"}
    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "multipart": None,
    }

    def load_multipart(self, req, schema):
        """Return form fields and files together as a MultiDictProxy."""
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class Blueprint(SmorestBlueprint):
    """A smorest Blueprint that names each operation after its view."""

    ARGUMENTS_PARSER = ArgumentsParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict] = {
        **SmorestBlueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    def arguments(self, schema, **kwargs):
        """As smorest's, with a schema class made an instance once, not by webargs per request."""
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)

    def response(self, status_code, schema=None, **kwargs):
        """As smorest's, documented by it; a LeanSchema dumps ready for orjson (LeanSchema.for_json).

        At run time the view is wrapped by `_respond`, not smorest's wrapper, which also keeps
        every dump in the app context for its ETag and pagination features (not used here) and
        asks for each view's sync wrapper: together a fiftieth of a signed-in GET of one shop
        (instructions counted). The answer is the same: the dump as JSON, with the view's
        status (else status_code) and headers, or the view's own Response as it is.
        """
        schema = resolve_schema_instance(schema) if schema is not None else None
        if isinstance(schema, LeanSchema):
            schema = schema.for_json()
        document = super().response(status_code, schema, **kwargs)

        def decorator(func):
            documented = document(func)
            if iscoroutinefunction(func):
                return documented  # smorest's wrapper runs it through the app's sync adapter
            respond = _respond(func, schema, status_code)
            respond._apidoc = documented._apidoc
            return respond

        return decorator

    def alt_response(self, status_code, *args, **kwargs):
        """As smorest's, for the documentation only: its wrapper at run time just calls the view."""
        document = super().alt_response(status_code, *args, **kwargs)

        def decorator(func):
            func._apidoc = document(func)._apidoc
            return func

        return decorator

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method == "parameters":
                continue
            manual = doc.setdefault("manual_doc", {})
            manual.setdefault("operationId", f"{method}{endpoint[0].upper()}{endpoint[1:]}")
            params = doc.get("arguments", {}).get("parameters", [])
            responses = doc.setdefault("response", {}).setdefault("responses", {})
            if any(p.get("in") in BODY_LOCATIONS for p in params):
                for status, name in BODY_ERRORS.items():
                    responses.setdefault(status, []).append(name)
            elif method in BODY_METHODS:
                # No body expected, but one sent is still checked (web.check_body_type): 413, 415.
                for status in (413, 415):
                    responses.setdefault(status, []).append(BODY_ERRORS[status])


def _respond(func, schema: ma.Schema | None, status_code):
    """The view func, its result answered as `Blueprint.response` documents it."""

    @functools.wraps(func)
    def respond(*args, **kwargs):
        body, status, headers = unpack_tuple_response(func(*args, **kwargs))
        if isinstance(body, Response):
            set_status_and_headers_in_response(body, status, headers)
            return body
        response = current_app.json.response(schema.dump(body) if schema is not None else body)
        set_status_and_headers_in_response(response, status, headers)
        if status is None:
            response.status_code = status_code
        return response

    return respond


class Api(SmorestApi):
    """Api whose errors are problem+json and whose docs need no internet."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        # signage.core.errors registers the handlers; smorest's JSON shape is not ours.
        pass

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def docs_assets_blueprint() -> FlaskBlueprint:
    """Serve Swagger UI's JavaScript and CSS ourselves, so the docs work offline."""
    bp = FlaskBlueprint("docs_assets", __name__)

    @bp.get("/api/v1/docs/assets/<path:filename>")
    def asset(filename: str):
        return send_from_directory(SWAGGER_DIST, filename, max_age=86400)

    return bp


def init_api(app: Flask, api: Api) -> None:
    """Configure the OpenAPI document and the interactive docs page."""
    app.config.update(
        API_TITLE="Signage API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
        OPENAPI_SWAGGER_UI_CONFIG={"persistAuthorization": True, "deepLinking": True},
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "REST API for the town enforcement team's shop-sign and outdoor-advertising "
                    "campaign: the ledger of shops and signs, notices and commitments, hazards "
                    "followed to a verified fix on day and night patrols, and the reports.\n\n"
                    "Errors are RFC 9457 problem details (application/problem+json)."
                ),
            },
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
        },
    )
    api.init_app(app)
    app.register_blueprint(docs_assets_blueprint())
