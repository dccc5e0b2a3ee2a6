"""A hazard report's statements run on the DBAPI cursor (reads.Prepared.first_in / run_in), in
the session's transaction, and store and answer exactly what SQLAlchemy's execution would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from signage.core import audit, reads
from signage.core.audit import Event
from signage.core.db import db
from signage.hazards import service
from signage.hazards.models import Hazard
from signage.ledger.models import Sign
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


# Every value a parameter, none SQLAlchemy fills in: runs on the cursor on PostgreSQL.
_EVENT = reads.Prepared(
    sa.insert(Event).values(
        id=sa.bindparam("id", type_=sa.BigInteger),
        occurred_at=sa.bindparam("at", type_=Event.__table__.c.occurred_at.type),
        entity=sa.bindparam("entity", type_=sa.String),
        entity_id=sa.bindparam("entity_id", type_=sa.String),
        action=sa.bindparam("action", type_=sa.String),
    )
)


def _event(n: int) -> dict:
    return {"id": n, "at": datetime.now(UTC), "entity": "test", "entity_id": f"e{n}", "action": "create"}


@pytest.mark.skipif(not PG_URL, reason="SQLite statements always go through SQLAlchemy")
def test_a_write_that_fails_on_the_cursor_raises_sqlalchemys_error_and_rolls_back_whole(app):
    _, sign = shop_with_sign(app)
    with app.app_context():
        session = db.session()
        base = 10**12
        before = session.scalar(sa.select(sa.func.count()).select_from(Event))
        rule = service._SIGN_ZONE_RULE.first_in(
            session.connection(), sign_id=sign, category="rusted", severity="low"
        )
        assert rule.id == sign and rule.hours > 0
        _EVENT.run_in(session.connection(), **_event(base))  # written, in the transaction
        assert _EVENT._plans[session.connection().dialect] is not None  # it ran on the cursor
        with pytest.raises(sa.exc.IntegrityError):
            _EVENT.run_in(session.connection(), **_event(base))  # the same id again
        session.rollback()
        # Both writes went with the transaction; the connection works on, on a new cursor.
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == before
        _EVENT.run_in(session.connection(), **_event(base + 1))
        assert service._SIGN_ZONE_RULE.first_in(
            session.connection(), sign_id=sign, category="rusted", severity="low"
        )
        assert session.scalar(sa.select(Event.entity_id).where(Event.id == base + 1)) == f"e{base + 1}"
        session.rollback()  # events are append-only: the test leaves none behind
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == before


def test_a_statement_with_a_value_sqlalchemy_fills_in_stays_with_it(app):
    from sqlalchemy.dialects.postgresql import psycopg

    dialect = psycopg.dialect()
    assert _EVENT._plain_sql(dialect) is not None
    # created_at and updated_at have Python defaults: SQLAlchemy computes them per execution.
    signs = Sign.__table__
    insert = sa.insert(signs).values(
        {c.name: sa.bindparam(c.name) for c in signs.c if c.name != "created_at"}
    )
    assert reads.Prepared(insert)._plain_sql(dialect) is None
    update = sa.update(signs).where(signs.c.id == sa.bindparam("sign_id")).values(text=sa.bindparam("text"))
    assert reads.Prepared(update)._plain_sql(dialect) is None  # updated_at's onupdate
