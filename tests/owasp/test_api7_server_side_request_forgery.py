"""API7:2023 Server Side Request Forgery: the server fetches nothing a client names.

No request field takes a URL, photos arrive as bytes in the request (a URL in their place is
refused), and the application code imports no HTTP client with which it could fetch one.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import signage

URL_FORMATS = {
    "uri",
    "url",
    "iri",
    "uri-reference",
    "iri-reference",
    "hostname",
    "idn-hostname",
    "uri-template",
}
URL_NAMES = ("url", "uri", "href", "link", "callback", "webhook", "endpoint", "host")
HTTP_CLIENTS = {
    "requests",
    "httpx",
    "urllib.request",
    "urllib3",
    "http.client",
    "aiohttp",
    "pycurl",
    "socket",
}


def _request_properties(spec: dict):
    """(where, name, schema) of every parameter and request body property, $refs followed."""
    comps = spec["components"]["schemas"]

    def walk(schema, where, seen=()):
        ref = schema.get("$ref")
        if ref:
            if ref in seen:
                return
            yield from walk(comps[ref.split("/")[-1]], where, (*seen, ref))
            return
        for name, prop in schema.get("properties", {}).items():
            yield where, name, prop
            yield from walk(prop, f"{where}.{name}", seen)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                yield from walk(schema[key], where, seen)
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                yield from walk(sub, where, seen)

    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for param in op.get("parameters", []):
                yield f"{method} {path}", param["name"], param.get("schema", {})
            for content in op.get("requestBody", {}).get("content", {}).values():
                yield from walk(content["schema"], f"{method} {path}")


def test_no_request_field_takes_a_url(client):
    props = list(_request_properties(client.get("/api/v1/openapi.json").get_json()))
    assert len(props) > 100
    for where, name, schema in props:
        assert schema.get("format") not in URL_FORMATS, f"{where} {name}"
        assert not any(part in URL_NAMES for part in name.lower().split("_")), f"{where} {name}"


def test_photo_given_as_a_url_instead_of_bytes_is_refused(world):
    _, client, sc = world
    for form in (
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"file": "http://169.254.169.254/latest/meta-data/"},
        {"file": (io.BytesIO(b"http://127.0.0.1:5432/"), "p.jpg")},
    ):
        response = client.post(
            "/api/v1/photos", data=form, headers=sc.who("insp_1"), content_type="multipart/form-data"
        )
        assert response.status_code in (415, 422), (form, response.get_json())


def test_application_code_imports_no_http_client():
    root = Path(signage.__file__).parent
    found = []
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [
                f"{source.relative_to(root)}: {n}"
                for n in names
                if n in HTTP_CLIENTS or n.split(".")[0] in {"requests", "httpx", "urllib3", "aiohttp"}
            ]
    assert found == []
