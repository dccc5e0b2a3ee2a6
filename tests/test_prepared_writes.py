"""A hazard report's statements run on the DBAPI cursor (reads.Prepared.first_in / run_in), in
the session's transaction, and store and answer exactly what SQLAlchemy's execution would."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from signage.core import audit, reads
from signage.core.audit import Event
from signage.core.db import db
from signage.hazards import service
from signage.hazards.models import Hazard
from tests.conftest import PG_URL
from tests.fieldwork import DAY, shop_with_sign, staff

# What differs between two reports of the same sign by the same person at the same time.
_OWN = {"id", "category"}


def _statements(app):
    with app.app_context():
        return (service._SIGN_ZONE_RULE, audit._insert_with_event(Hazard.__table__)), db.engine.dialect


def _report(client, headers, sign_id, category) -> dict:
    body = {"sign_id": str(sign_id), "category": category, "severity": "medium"}
    response = client.post("/api/v1/hazards", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _stored(app, hazard_id: str) -> tuple[dict, dict]:
    """The hazard's row and its create event's, as SQLAlchemy reads them."""
    with app.app_context():
        row = db.session.execute(
            sa.select(*Hazard.__table__.c).where(Hazard.id == uuid.UUID(hazard_id))
        ).one()
        event = db.session.execute(
            sa.select(*Event.__table__.c).where(Event.entity_id == hazard_id, Event.action == "create")
        ).one()
        return dict(row._mapping), dict(event._mapping)


def test_a_hazard_reported_on_the_cursor_is_stored_and_answered_as_through_sqlalchemy(
    app, client, clock, monkeypatch
):
    headers = staff(app, client, "shen", "inspector", zones=("GL",))
    _, sign = shop_with_sign(app)
    clock.set(DAY)
    on_cursor = _report(client, headers, sign, "damaged")
    statements, dialect = _statements(app)
    plans = [statement._plans.get(dialect, "unused") for statement in statements]
    if PG_URL:
        assert all(plan is not None and plan != "unused" for plan in plans), plans  # both ran on the cursor
    else:
        assert plans == [None, "unused"], plans  # SQLite: SQLAlchemy's way, and no CTE

    for statement in statements:
        monkeypatch.setattr(statement, "_plain_sql", lambda _dialect: None)
        statement._plans.clear()
    through_sqlalchemy = _report(client, headers, sign, "rusted")
    assert {statement._plans.get(dialect, "unused") for statement in statements} <= {None, "unused"}

    def same(a: dict, b: dict, own: set[str]) -> None:
        assert {k: v for k, v in a.items() if k not in own} == {k: v for k, v in b.items() if k not in own}

    same(on_cursor, through_sqlalchemy, _OWN)
    cursor_row, cursor_event = _stored(app, on_cursor["id"])
    sqlalchemy_row, sqlalchemy_event = _stored(app, through_sqlalchemy["id"])
    same(cursor_row, sqlalchemy_row, _OWN)
    assert cursor_row["version"] == 1 and cursor_row["found_at"].tzinfo is not None
    same(cursor_event, sqlalchemy_event, {"id", "entity_id", "txid", "request_id", "after"})
    same(cursor_event["after"], sqlalchemy_event["after"], _OWN)
    assert cursor_event["after"]["category"] == "damaged" and cursor_event["after"]["id"] == on_cursor["id"]
    if PG_URL:
        assert cursor_event["txid"] and cursor_event["txid"] != sqlalchemy_event["txid"]


@pytest.mark.skipif(not PG_URL, reason="SQLite statements always go through SQLAlchemy")
def test_a_write_that_fails_on_the_cursor_raises_sqlalchemys_error_and_rolls_back_whole(app):
    _, sign = shop_with_sign(app)
    duplicate = reads.Prepared(
        sa.insert(Event).values(
            id=sa.bindparam("id"), occurred_at=sa.func.now(), entity="hazard", entity_id="x", action="create"
        )
    )
    with app.app_context():
        taken = db.session.scalar(sa.select(Event.id).limit(1))
        session = db.session()
        before = session.scalar(sa.select(sa.func.count()).select_from(Event))
        rule = service._SIGN_ZONE_RULE.first_in(
            session.connection(), sign_id=sign, category="rusted", severity="low"
        )
        assert rule.id == sign and rule.hours > 0
        with pytest.raises(sa.exc.IntegrityError):
            duplicate.run_in(session.connection(), id=taken)
        session.rollback()
        # The connection and its kept cursor work on: the next transaction reads and writes.
        assert service._SIGN_ZONE_RULE.first_in(
            session.connection(), sign_id=sign, category="rusted", severity="low"
        )
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == before
        session.rollback()
