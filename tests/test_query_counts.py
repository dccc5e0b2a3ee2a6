"""N+1 guard: the SQL statements a read sends do not grow with the rows it returns."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from signage.core.db import db
from signage.ledger.models import SignVersion
from tests import factories
from tests.fieldwork import photo
from tests.helpers import bearer, make_user, sign_in, statements_during

CENTRE = factories.GL_CENTRE
# Statements per request, sign-in check included; a change that needs more should say why.
BUDGET = {
    "GET /shops": 2,
    "GET /shops/{id}": 2,
    "GET /shops?near": 3,  # the candidates as bare points, then the records of those in range
    "GET /signs": 2,
    "GET /signs/{id}/versions": 3,
    # the events, then one query per kind of record on the page (zones, roads, shops, signs,
    # versions), and the zones and roads that roads and shops show, each loaded for the page
    "GET /changes": 10,
}


def _fill(app, shops: int) -> dict:
    """shops shops within 100 m of CENTRE on many roads in three zones, two signs each."""
    with app.app_context():
        first_sign = None
        for i in range(shops):
            shop = factories.shop(
                f"店{i}",
                zone_code=f"Z{i % 3}",
                road_name=f"路{i % 12}",
                lat=CENTRE[0] + (i % 10) * 0.0001,
                lng=CENTRE[1] + (i // 10) * 0.0001,
            )
            for kind in ("shop_sign", "light_box"):
                sign = factories.sign(shop, kind=kind)
                first_sign = first_sign or sign
        db.session.commit()
        return {"shop": str(shop.id), "sign": str(first_sign.id)}


def _add_versions(app, sign: str, upto: int) -> None:
    """Give the sign versions 2..upto (the factory made version 1)."""
    sign_id = uuid.UUID(sign)
    with app.app_context():
        have = db.session.scalar(
            sa.select(sa.func.max(SignVersion.version_no)).where(SignVersion.sign_id == sign_id)
        )
        by = db.session.scalar(sa.select(SignVersion.recorded_by_id).where(SignVersion.sign_id == sign_id))
        for n in range(have + 1, upto + 1):
            db.session.add(
                SignVersion(
                    sign_id=sign_id,
                    version_no=n,
                    kind="shop_sign",
                    text=f"v{n}",
                    width_m=4,
                    height_m=1,
                    lit=False,
                    recorded_by_id=by,
                )
            )
        db.session.commit()


def _paths(ids: dict) -> dict[str, str]:
    return {
        "GET /shops": "/api/v1/shops?limit=50",
        "GET /shops/{id}": f"/api/v1/shops/{ids['shop']}",
        "GET /shops?near": f"/api/v1/shops?near={CENTRE[0]},{CENTRE[1]}&radius=200&limit=50",
        "GET /signs": "/api/v1/signs?limit=50",
        "GET /signs/{id}/versions": f"/api/v1/signs/{ids['sign']}/versions",
        "GET /changes": "/api/v1/changes?limit=500",
    }


def _count(app, client, path: str) -> tuple[int, int]:
    """(statements sent, items returned) for one GET, the first of a new sign-in.

    A worker remembers a session's sign-in check after its first request (on PostgreSQL,
    signage/accounts/signins.py): a fresh sign-in counts the check, as the budget says.
    """
    headers = bearer(sign_in(client, "captain"))
    statements, response = statements_during(app, lambda: client.get(path, headers=headers))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    items = body.get("items", body.get("changes")) if isinstance(body, dict) else body
    return len(statements), len(items) if isinstance(items, list) else 1


@pytest.mark.parametrize("endpoint", list(BUDGET))
def test_count_queries_same_for_5_and_50_rows(app, client, endpoint):
    make_user(app, "captain", "supervisor")
    ids = _fill(app, 5)
    _add_versions(app, ids["sign"], 5)
    few, few_items = _count(app, client, _paths(ids)[endpoint])

    _fill(app, 45)
    _add_versions(app, ids["sign"], 50)
    many, many_items = _count(app, client, _paths(ids)[endpoint])

    if endpoint != "GET /shops/{id}":
        assert many_items > few_items >= 5  # the second request really returned more rows
    assert many == few, f"{endpoint}: {few} statements for {few_items} rows, {many} for {many_items}"
    assert many <= BUDGET[endpoint], f"{endpoint}: {many} statements, budget {BUDGET[endpoint]}"


@pytest.mark.parametrize("role", ["supervisor", "inspector"])
def test_hazard_report_sends_three_statements_and_reads_nothing_after_its_commit(app, client, role):
    # Sign-in check (with an inspector's zones), the sign with its zone and deadline rule, then
    # the hazard and its audit event: one statement on PostgreSQL (the hazard's INSERT a CTE of
    # the event's), two elsewhere. The answer shows the zone's code: it comes with the sign, not
    # from a read after the commit.
    ids = _fill(app, 1)
    make_user(app, "walker", role, zones=("Z0",) if role == "inspector" else ())
    headers = bearer(sign_in(client, "walker"))
    sent, response = statements_during(
        app,
        lambda: client.post(
            "/api/v1/hazards",
            json={"sign_id": ids["sign"], "category": "rusted", "severity": "low"},
            headers=headers,
        ),
    )
    statements = [statement.split()[0].upper() for statement in sent]
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["zone"] == "Z0"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert statements == ["SELECT", "SELECT", "WITH"]
        assert "INSERT INTO hazards" in sent[2] and "INSERT INTO events" in sent[2]
    else:
        assert statements == ["SELECT", "SELECT", "INSERT", "INSERT"]


def test_hazard_report_checks_all_its_photos_in_one_statement(app, client):
    # Whether the reporter may put each photo on the hazard is asked of the database once for
    # all of them, not once per photo (up to 20).
    ids = _fill(app, 1)
    make_user(app, "walker", "inspector", zones=("Z0",))
    counts = []
    for how_many in (1, 12):
        photos = [photo(app, uploaded_by="walker") for _ in range(how_many)]
        headers = bearer(sign_in(client, "walker"))  # each count with the sign-in check (see `_count`)
        body = {"sign_id": ids["sign"], "category": "rusted", "severity": "low", "photo_ids": photos}
        statements, response = statements_during(
            app, lambda body=body, headers=headers: client.post("/api/v1/hazards", json=body, headers=headers)
        )
        assert response.status_code == 201, response.get_json()
        assert len(response.get_json()["photos"]) == how_many
        counts.append(len(statements))
        # The sign's position for the photos' distance check comes with the sign's own read.
        assert len([s for s in statements if s.lstrip().startswith("SELECT signs.")]) == 1, statements
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_a_lead_reading_a_photo_reads_it_once(app, client, role):
    # Leads see every stored photo: loading it is the check (no visibility query besides).
    make_user(app, "lead", role)
    photo_id = photo(app)
    headers = bearer(sign_in(client, "lead"))
    sent, response = statements_during(app, lambda: client.get(f"/api/v1/photos/{photo_id}", headers=headers))
    assert response.status_code == 200, response.get_json()
    assert len([s for s in sent if "FROM photos" in s]) == 1, sent
