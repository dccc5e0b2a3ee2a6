"""Fuzzing every operation of the API document with schemathesis, as each kind of caller.

Each generated request (valid and invalid ones) is sent as an anonymous caller, an owner, an
inspector, a supervisor and an admin, against the shared authorization scenario, and each answer
must be no server error, carry a status and a content type the document declares for the
operation, and match the documented schema for that status. FUZZ_EXAMPLES raises the number of
examples per operation (`make check` runs a longer pass); the database is put back after each
example that wrote, so one example's logout or disabled account does not blind the next.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from signage import create_app
from tests.authz_scenario import module_app
from tests.conftest import TEST_SECRET

LONG = bool(os.environ.get("FUZZ_EXAMPLES"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CALLERS = ("anon", "owner_a", "insp_1", "supervisor", "admin")


@schemathesis.check
def status_code_listed(ctx, response, case):
    """Stricter than status_code_conformance, which any status passes when `default` is documented."""
    if case.method.upper() != case.operation.method.upper():
        return  # the coverage phase's other methods on the path: 405 with Allow (tests/test_errors.py)
    listed = case.operation.responses.status_codes
    if str(response.status_code) not in listed and f"{str(response.status_code)[0]}XX" not in listed:
        raise AssertionError(f"{response.status_code} is not among the documented {sorted(listed)}")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    status_code_listed,
    content_type_conformance,
    response_schema_conformance,
]


def _read_whole(wsgi_app):
    """Read each answer whole and close it, as a WSGI server does.

    schemathesis' WSGI client reads a streamed body but never closes it, which leaves a file
    download's open file to the garbage collector (a ResourceWarning, an error under our filters).
    """

    def app(environ, start_response):
        body = wsgi_app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return app


@pytest.fixture(scope="module")
def fuzz_world(database_template, tmp_path_factory):
    for app, client, sc, snapshot in module_app(database_template, tmp_path_factory):
        app.wsgi_app = _read_whole(app.wsgi_app)
        yield app, client, sc, snapshot


def _document() -> dict:
    """The API document, from an app that needs no database to describe itself."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": TEST_SECRET, "TESTING": True})
    return app.extensions["signage_api"].spec.to_dict()


# Loaded at import: schemathesis' lazy fixture loader relies on pytest internals pytest 9 dropped.
# The coverage phase (boundary values of every parameter, however many examples are asked for)
# runs in the long pass only; the quick one keeps to hypothesis' examples.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": LONG}}})
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


def test_the_fuzzed_document_has_every_operation():
    # An empty or partial document would make the fuzzing below pass with little to call: it
    # holds exactly the operations the authorization matrix has a row for.
    from tests.authz_rows import ROWS

    fuzzed = {op.ok().definition.raw["operationId"] for op in schema.get_all_operations()}
    assert fuzzed == set(ROWS)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG,  # the quick pass is the same on every run
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_as_every_caller_answers_as_documented(case, fuzz_world):
    app, _, sc, snapshot = fuzz_world
    try:
        for caller in CALLERS:
            headers = dict(case.headers or {})
            headers.pop("Authorization", None)
            # identity: the WSGI client does not undo Flask-Compress, and the checks read the body.
            headers = {**headers, **sc.who(caller), "Accept-Encoding": "identity"}
            case.call_and_validate(headers=headers, checks=CHECKS, app=app)
    finally:
        if case.method.upper() != "GET":
            snapshot.restore()
