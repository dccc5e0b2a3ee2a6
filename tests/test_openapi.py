"""The OpenAPI document: valid 3.1, complete, and its docs page needs no internet."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def test_openapi_document_validates_as_3_1(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_operation_has_summary_tag_unique_id_errors_and_security(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    seen = set()
    for path, method, op in _operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert op.get("tags"), where
        assert op.get("operationId") and op["operationId"] not in seen, where
        seen.add(op["operationId"])
        assert "security" in op, where
        assert "default" in op["responses"], where
        if op["security"]:
            assert "401" in op["responses"], where
        if "requestBody" in op:
            assert {"400", "413", "415", "422"} <= set(op["responses"]), where
    assert len(seen) >= 10


def test_error_responses_are_documented_as_problem_json(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert "application/problem+json" in unauthorized["content"]


def test_every_api_route_is_in_the_document(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(p, m) for p, m, _ in _operations(spec)}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(("api-docs", "docs_assets")):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods & {m.upper() for m in HTTP_METHODS}:
            assert (path, method.lower()) in documented, f"{method} {path} is not documented"


def test_docs_page_refers_to_no_external_url(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "SwaggerUIBundle" in html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
    assert urls, "the page should load its assets"
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"external asset {url}"
        with client.get(url) as asset:
            assert asset.status_code == 200, url
    assert "https://" not in html.replace("https://swagger.io", "")


def test_docs_assets_hold_no_cdn_fetches(client):
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as response:
        script = response.get_data(as_text=True)
    assert "unpkg.com" not in script and "cdn.jsdelivr" not in script


def test_every_write_documents_the_body_checks_even_without_a_body(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, method, op in _operations(spec):
        if method in ("post", "put", "patch"):
            assert {"413", "415"} <= set(op["responses"]), f"{method.upper()} {path}"
