"""The OWASP API Security Top 10 (2023) modules share the authorization matrix's scenario."""

from __future__ import annotations

import pytest

from tests.authz_scenario import module_app


@pytest.fixture(scope="module")
def shared(database_template, tmp_path_factory):
    """Two zones, shops A and B with their records and people, built once per module."""
    yield from module_app(database_template, tmp_path_factory)


@pytest.fixture
def world(shared):
    """The shared (app, client, scenario); the database is put back after each test."""
    app, client, sc, snapshot = shared
    yield app, client, sc
    snapshot.restore()
