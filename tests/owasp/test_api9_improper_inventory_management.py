"""API9:2023 Improper Inventory Management: the document is the whole API, and nothing else answers.

Every Flask route under /api/v1 is an operation of the document and every operation a route;
there is one API version; the routes outside it are a known, short list.
"""

from __future__ import annotations

import re

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
# Outside the documented API: probes, the owner's printed-notice page, the dashboard, static files.
NON_API_PREFIXES = ("/healthz", "/readyz", "/o/", "/dashboard", "/static/")
DOCS_ENDPOINTS = ("api-docs.", "docs_assets.")


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(DOCS_ENDPOINTS):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        found |= {(path, m.lower()) for m in rule.methods & METHODS}
    return found


def _documented(client) -> set[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    return {(p, m) for p, item in spec["paths"].items() for m in item if m.upper() in METHODS}


def test_every_route_is_documented_and_every_operation_routed(app, client):
    routes, documented = _routes(app), _documented(client)
    assert len(routes) >= 70
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations nothing answers"


def test_only_one_api_version_is_served(app):
    versions = {m.group(1) for r in app.url_map.iter_rules() if (m := re.match(r"^/api/(v\d+)/", r.rule))}
    assert versions == {"v1"}
    assert not [
        r.rule
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/") and not r.rule.startswith("/api/v1/")
    ]


def test_routes_outside_the_api_are_the_known_few(app):
    strays = [
        r.rule
        for r in app.url_map.iter_rules()
        if not r.rule.startswith("/api/v1/") and not r.rule.startswith(NON_API_PREFIXES)
    ]
    assert strays == []


def test_document_names_its_version_and_server_relative_paths(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["version"] and spec["info"]["title"]
    assert all(path.startswith("/api/v1/") for path in spec["paths"])
    assert "servers" not in spec or all(not s["url"].startswith("http://") for s in spec["servers"])


def test_retired_or_guessed_paths_are_plain_404_problems(client):
    for path in ("/api/v0/shops", "/api/v2/shops", "/api/v1/admin", "/api/v1/debug", "/console"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path
