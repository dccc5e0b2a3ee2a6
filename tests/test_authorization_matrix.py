"""Every operation of the API document, called as each of seven parties, against one scenario.

The rows (tests/authz_rows.py) say what each party gets; an operation without a row fails
the suite. Beyond the status, no answer to a party may carry another party's data: the owner
of shop A never sees shop B's ids, name, phone or notice number, the inspector of zone 2 never
sees zone 1's records, and so on (markers the request itself names are not counted: an error
may echo the path it was asked for).
"""

from __future__ import annotations

import io
import json

import pytest

from tests.authz_rows import ROWS, Row
from tests.authz_scenario import ROLES, Scenario, jpeg, module_app

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def world(database_template, tmp_path_factory):
    yield from module_app(database_template, tmp_path_factory)


def operations(spec: dict) -> dict[str, tuple[str, str]]:
    """operationId -> (method, path) for every operation in the document."""
    return {
        op["operationId"]: (method, path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def foreign_markers(sc: Scenario, role: str) -> set[str]:
    """What this party must never be shown."""
    a, b = sc.a.markers(), sc.b.markers()
    return {"anon": a | b, "owner_a": b, "owner_b": a, "insp_1": b, "insp_2": a}.get(role, set())


def call(client, sc: Scenario, op: tuple[str, str], row: Row, role: str):
    """Make the row's request as role; returns (status that counts, response text, request text)."""
    method, template = op
    path = template
    for name, value in row.path.items():
        path = path.replace("{" + name + "}", str(value(sc)))
    assert "{" not in path, f"unfilled path parameter in {path}"
    if row.setup:
        row.setup(client, sc, role)
    headers = sc.who(role)
    if row.etag_of:
        headers["If-Match"] = client.get(row.etag_of(sc), headers=sc.who("admin")).headers["ETag"]
    kwargs: dict = {"headers": headers, "query_string": row.query(sc) if row.query else None}
    if row.json is not None:
        kwargs["json"] = row.json(sc)
    if row.photo:
        kwargs["data"] = {"file": (io.BytesIO(jpeg(ROLES.index(role) + 11)), "p.jpg")}
        kwargs["content_type"] = "multipart/form-data"
    with client.open(path, method=method.upper(), **kwargs) as response:
        status, data = response.status_code, response.get_data()
        if row.inner and status == 200:
            status = response.get_json()["results"][0]["status"]
    asked = path + json.dumps(kwargs.get("json"), ensure_ascii=False) + json.dumps(kwargs["query_string"])
    return status, data, asked


def test_every_operation_has_a_row_and_every_row_an_operation(app, client):
    documented = set(operations(client.get("/api/v1/openapi.json").get_json()))
    assert len(documented) >= 70  # an empty document or table would agree with each other
    assert documented - set(ROWS) == set(), "operations without a row in tests/authz_rows.py"
    assert set(ROWS) - documented == set(), "rows for operations the document no longer has"


def test_every_row_names_every_party():
    for op_id, row in ROWS.items():
        assert set(row.expect) == set(ROLES), op_id


@pytest.mark.parametrize("op_id", sorted(ROWS))
def test_operation_answers_each_party_as_the_matrix_says(world, op_id):
    app, client, sc, snapshot = world
    ops = operations(app.extensions["signage_api"].spec.to_dict())
    if op_id not in ops:
        pytest.fail(f"{op_id} is not in the API document")
    row = ROWS[op_id]
    wrong, leaks = [], []
    for role in ROLES:
        status, data, asked = call(client, sc, ops[op_id], row, role)
        if ops[op_id][0] != "get" or row.setup:
            snapshot.restore()  # the next party meets the same records
        if status != row.expect[role]:
            wrong.append(
                f"{role}: expected {row.expect[role]}, got {status}: {data[:300].decode(errors='replace')}"
            )
        if row.leak_check:
            seen = {m for m in foreign_markers(sc, role) if m.encode() in data and m not in asked}
            if seen:
                leaks.append(f"{role} was shown {sorted(seen)}")
    assert not wrong and not leaks, "\n".join(wrong + leaks)
