"""Every error the API returns is RFC 9457 problem+json, framework errors included."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from flask import Blueprint

from signage import create_app
from signage.core.access import public
from signage.core.db import db
from tests.helpers import assert_problem, bearer, make_user, sign_in, statements_during


@pytest.fixture
def admin(app, client):
    make_user(app, "root", "admin")
    return bearer(sign_in(client, "root"))


def test_unknown_path_is_404_problem(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not-found")


def test_unknown_record_is_404_problem(client, admin):
    body = assert_problem(
        client.get("/api/v1/users/00000000-0000-4000-8000-000000000000", headers=admin), 404
    )
    assert "account" in body["detail"]


def test_wrong_method_is_405_problem_with_allow(client):
    response = client.delete("/api/v1/auth/token")
    assert_problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/token", data='{"username": "a",', content_type="application/json")
    body = assert_problem(response, 400, "malformed-json")
    assert "JSON" in body["detail"]


def test_wrong_content_type_is_415(client):
    response = client.post("/api/v1/auth/token", data="username=a&password=b", content_type="text/plain")
    body = assert_problem(response, 415, "unsupported-media-type")
    assert "application/json" in body["detail"]


def test_oversized_body_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post(
        "/api/v1/auth/token", data='{"username": "' + "a" * 2000 + '"}', content_type="application/json"
    )
    assert_problem(response, 413, "payload-too-large")


def test_validation_error_is_422_with_field_errors(client, admin):
    response = client.post(
        "/api/v1/users", json={"username": "x!", "role": "wizard", "extra": 1}, headers=admin
    )
    body = assert_problem(response, 422, "validation-error")
    assert set(body["errors"]) >= {"username", "role", "extra"}
    assert "username" in body["detail"]


def test_query_validation_error_names_the_parameter(client, admin):
    body = assert_problem(client.get("/api/v1/users?limit=100000", headers=admin), 422)
    assert "limit" in body["errors"]


def test_bad_cursor_is_422_naming_cursor(client, admin):
    body = assert_problem(client.get("/api/v1/users?cursor=not-a-cursor", headers=admin), 422)
    assert body["errors"] == {"cursor": ["is not a cursor this list gave out"]}


def _cursor(items) -> str:
    return base64.urlsafe_b64encode(json.dumps(items).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "items",
    [
        [["t", "2024-01-01T00:00:00"], ["u", "0" * 32]],  # a time without its offset
        [["v", 1], ["u", "0" * 32]],  # a number where a time goes
        [["t", "2024-01-01T00:00:00+00:00"], ["v", "x"]],  # text where an id goes
        [["t", "2024-01-01T00:00:00+00:00"], ["v", True]],
        [["t", "0001-01-01T00:00:00+05:00"], ["u", "0" * 32]],  # before year 1 in UTC
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/shops", "/api/v1/users", "/api/v1/changes"])
def test_a_forged_cursor_of_the_right_shape_is_422_naming_cursor(client, admin, path, items):
    # Decodable, two values, but not what the list's keys hold: before, the statement failed (500).
    body = assert_problem(client.get(f"{path}?cursor={_cursor(items)}", headers=admin), 422)
    assert body["errors"] == {"cursor": ["is not a cursor this list gave out"]}


def test_conflict_is_409(app, client, admin):
    make_user(app, "taken", "inspector")
    response = client.post(
        "/api/v1/users",
        json={"username": "taken", "role": "inspector", "password": "long-enough-pw"},
        headers=admin,
    )
    body = assert_problem(response, 409, "username-taken")
    assert body["errors"] == {"username": ["is taken"]}


def test_patch_without_if_match_is_428_and_stale_is_412_with_current(app, client, admin):
    user_id = make_user(app, "ivan", "inspector")
    url = f"/api/v1/users/{user_id}"
    assert_problem(
        client.patch(url, json={"display_name": "Ivan"}, headers=admin), 428, "precondition-required"
    )
    etag = client.get(url, headers=admin).headers["ETag"]
    assert (
        client.patch(url, json={"display_name": "Ivan"}, headers={**admin, "If-Match": etag}).status_code
        == 200
    )
    stale = client.patch(url, json={"display_name": "Ivan 2"}, headers={**admin, "If-Match": etag})
    body = assert_problem(stale, 412, "precondition-failed")
    assert body["current"]["display_name"] == "Ivan"
    assert stale.headers["ETag"] != etag


def test_unexpected_exception_is_500_problem_with_request_id_and_no_trace(app, caplog):
    boom = Blueprint("boom", __name__)

    @boom.get("/api/v1/boom")
    @public
    def explode():
        raise RuntimeError("secret internals")

    app.register_blueprint(boom)
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="signage.errors"):
        response = client.get("/api/v1/boom", headers={"X-Request-ID": "req-123"})
    body = assert_problem(response, 500, "internal-error")
    assert body["request_id"] == "req-123"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert any(getattr(r, "request_id", None) == "req-123" for r in caplog.records)


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-1"}).headers["X-Request-ID"] == "abc-1"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert len(made) == 32


def test_a_problem_names_the_request_id_its_answer_carries(client):
    # The id is made as the request arrives, once: the header and the body give the same one.
    response = client.get("/api/v1/shops")
    assert assert_problem(response, 401)["request_id"] == response.headers["X-Request-ID"]
    assert response.headers.getlist("X-Request-ID") == [response.headers["X-Request-ID"]]


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok"}


def test_readiness_reports_unreachable_database():
    broken = create_app(
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none", "SECRET_KEY": "x" * 40}
    )
    response = broken.test_client().get("/readyz")
    assert_problem(response, 503, "service-unavailable")
    with broken.app_context():
        db.engine.dispose()


def test_request_log_does_not_read_the_database_after_a_rollback(app, client, admin):
    # An error's rollback expires the signed-in user's attributes; logging them used to read the
    # database again, so a database lost mid-request turned the answer into a 500.
    statements, response = statements_during(
        app, lambda: client.get("/api/v1/users/00000000-0000-4000-8000-000000000000", headers=admin)
    )
    assert_problem(response, 404)
    # The lookup, once: the user of the log line is not read again (the sign-in check, if it
    # runs, reads users through auth_sessions).
    assert len([s for s in statements if "\nFROM users" in s]) == 1


@pytest.mark.parametrize("edge", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_the_calendar_cannot_hold_in_utc_is_422_naming_it(client, admin, edge):
    # Valid ISO 8601, but year 0 or 10000 once in UTC, as times are stored: it used to fail
    # on the way to the database (500).
    for path in ("/api/v1/shops", "/api/v1/signs", "/api/v1/hazards", "/api/v1/patrols"):
        response = client.get(path, query_string={"updated_since": edge}, headers=admin)
        assert "updated_since" in assert_problem(response, 422, "validation-error")["errors"], path
    body = client.post("/api/v1/shops", json={"recorded_at": edge}, headers=admin)
    assert "recorded_at" in assert_problem(body, 422, "validation-error")["errors"]
    # The same instant written in another zone reads as in UTC.
    near_edge = (
        edge.replace("+01:00", "-01:00") if edge.startswith("0001") else edge.replace("-01:00", "+01:00")
    )
    assert (
        client.get("/api/v1/shops", query_string={"updated_since": near_edge}, headers=admin).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("path", "first", "last"),
    [
        ("/api/v1/reports/rectification", "from", "to"),
        ("/api/v1/notices", "issued_from", "issued_to"),
        ("/api/v1/commitments", "signed_from", "signed_to"),
    ],
)
def test_a_period_at_the_calendars_ends_is_422_naming_it(client, admin, path, first, last):
    # A period's days become instants in UTC (its start, the day after its end): on the
    # calendar's first or last day that failed as a 500.
    start = client.get(path, query_string={first: "0001-01-01"}, headers=admin)
    assert first in assert_problem(start, 422, "validation-error")["errors"]
    end = client.get(path, query_string={last: "9999-12-31"}, headers=admin)
    assert last in assert_problem(end, 422, "validation-error")["errors"]
    inside = client.get(path, query_string={first: "0001-01-02", last: "9999-12-30"}, headers=admin)
    assert inside.status_code == 200, inside.get_data(as_text=True)


def test_nul_character_in_a_query_or_json_value_is_422_naming_it(client, admin):
    query = client.get("/api/v1/shops", query_string={"q": "阿\x00芳"}, headers=admin)
    assert "q" in assert_problem(query, 422, "validation-error")["errors"]
    body = client.post("/api/v1/zones", json={"code": "XQ", "name": "新\x00区"}, headers=admin)
    assert "name" in assert_problem(body, 422, "validation-error")["errors"]
    nested = client.post(
        "/api/v1/sync", json={"operations": [{"method": "POST", "path": "/api/v1/x\x00"}]}, headers=admin
    )
    assert "operations.0.path" in assert_problem(nested, 422)["errors"]
    key = client.post("/api/v1/zones", json={"code": "XQ", "na\x00me": "新区"}, headers=admin)
    assert "na\x00me" in assert_problem(key, 422, "validation-error")["errors"]
    chunked = client.post(
        "/api/v1/zones",
        data=json.dumps({"code": "XQ", "name": "新\x00区"}).encode(),
        headers={**admin, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn sets for a chunked body
    )
    assert "NUL" in assert_problem(chunked, 422, "validation-error")["errors"]["name"][0]
    # A backslash written before u0000 is text, not a NUL: the body's bytes hold \\u0000.
    text = client.post("/api/v1/zones", json={"code": "XQ", "name": "新区\\u0000"}, headers=admin)
    assert text.status_code == 201 and text.get_json()["name"] == "新区\\u0000", text.get_json()


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/roads"])
def test_a_made_up_cursor_holding_a_nul_in_its_text_is_422(client, admin, path):
    # Lists ordered by text (usernames, road names) take text from the cursor; a NUL inside
    # its base64 passes the query's own NUL check and must not reach PostgreSQL (a 500 there).
    items = [["v", "阿\x00芳"], ["u", "00000000-0000-4000-8000-000000000000"]][
        : 1 if path.endswith("users") else 2
    ]
    cursor = base64.urlsafe_b64encode(json.dumps(items).encode()).decode().rstrip("=")
    response = client.get(path, query_string={"cursor": cursor}, headers=admin)
    assert "cursor" in assert_problem(response, 422, "validation-error")["errors"]
