"""API5:2023 Broken Function Level Authorization: who may call an operation at all.

The document states each operation's roles ("Allowed roles: ..." and its security); these
tests hold the running app to it for every operation: anonymous callers get 401, signed-in
callers outside the roles 403, before any lookup or validation (a made-up id and no body).
The per-record answers are the matrix's (tests/test_authorization_matrix.py).
"""

from __future__ import annotations

import re
import uuid

from signage.core.access import ALL_ROLES, PUBLIC_BLUEPRINTS, view_access
from tests.helpers import assert_problem

METHODS = ("get", "post", "put", "patch", "delete")
ROLE_OF = {"owner_a": "owner", "insp_1": "inspector", "supervisor": "supervisor", "admin": "admin"}


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path), method, op


def _allowed(op: dict) -> set[str]:
    found = re.search(r"Allowed roles: ([a-z, ]+)\.", op.get("description", ""))
    return set(found.group(1).split(", ")) if found else set(ALL_ROLES)


def test_every_secured_operation_refuses_anonymous_callers_with_401(world):
    _, client, _ = world
    secured = [
        (p, m) for p, m, op in _operations(client.get("/api/v1/openapi.json").get_json()) if op["security"]
    ]
    assert len(secured) >= 70
    for path, method in secured:
        assert_problem(client.open(path, method=method.upper()), 401)


def test_every_operation_refuses_roles_it_does_not_list_with_403(world):
    _, client, sc = world
    checked = 0
    for path, method, op in _operations(client.get("/api/v1/openapi.json").get_json()):
        if not op["security"]:
            continue
        allowed = _allowed(op)
        assert "403" in op["responses"] or allowed == ALL_ROLES, f"{method} {path} does not document 403"
        for party, role in ROLE_OF.items():
            if role not in allowed:
                body = assert_problem(client.open(path, method=method.upper(), headers=sc.who(party)), 403)
                assert body["type"].endswith(":forbidden") and role in body["detail"], (method, path)
                checked += 1
    assert checked >= 80


def test_the_documented_roles_are_the_enforced_roles(world):
    app, client, _ = world
    spec = client.get("/api/v1/openapi.json").get_json()
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/api/v1/") or rule.endpoint.split(".")[0] in PUBLIC_BLUEPRINTS:
                continue
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                op = spec["paths"][path][method.lower()]
                access = view_access(rule.endpoint, method)
                assert access.public == (op["security"] == []), f"{method} {path}"
                if not access.public:
                    assert access.roles == _allowed(op), f"{method} {path}"


def test_every_api_view_declares_who_may_call_it(app):
    """The default (signed in) is safe, but a view that says nothing was not thought about."""
    undeclared = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.split(".")[0] in PUBLIC_BLUEPRINTS:
            continue
        view = app.view_functions[rule.endpoint]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            target = getattr(getattr(view, "view_class", None), method.lower(), None) or view
            if getattr(target, "_access", None) is None and getattr(view, "_access", None) is None:
                undeclared.append(f"{method} {rule.rule}")
    assert undeclared == []


def test_staff_cannot_raise_their_own_role(world):
    _, client, sc = world
    me = sc.user_ids["supervisor"]
    response = client.patch(
        f"/api/v1/users/{me}", json={"role": "admin"}, headers={**sc.who("supervisor"), "If-Match": "*"}
    )
    assert_problem(response, 403)
    assert client.get("/api/v1/me", headers=sc.who("supervisor")).get_json()["role"] == "supervisor"
