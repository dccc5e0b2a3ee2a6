"""Hot reads run on the DBAPI cursor (reads.Prepared) and answer exactly as through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from signage.core import reads
from signage.core.db import db
from signage.ledger import routes
from signage.ledger.models import Shop, SignVersion
from tests import factories
from tests.conftest import PG_URL
from tests.helpers import (
    assert_problem,
    bearer,
    end_connections,
    make_user,
    sign_in,
    statements_during,
    until,
)

HOT_READS = ("SHOP_BY_ID", "SIGN_BY_ID", "VERSION_OF_SIGN", "VERSIONS_OF_SIGN")


@pytest.fixture
def ids(app):
    with app.app_context():
        shop = factories.shop(
            recorded_at=datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC), credit_code=None
        )
        sign = factories.sign(shop, lit=True)
        db.session.commit()
        version_id = db.session.scalar(sa.select(SignVersion.id).where(SignVersion.sign_id == sign.id))
        return {"shop": shop.id, "sign": sign.id, "version": version_id}


@pytest.fixture
def captain(app, client):
    make_user(app, "captain", "supervisor")
    return bearer(sign_in(client, "captain"))


def _paths(ids) -> list[str]:
    return [
        f"/api/v1/shops/{ids['shop']}",
        f"/api/v1/signs/{ids['sign']}",
        f"/api/v1/signs/{ids['sign']}/versions",
        f"/api/v1/signs/{ids['sign']}/versions/{ids['version']}",
    ]


def _answers(client, headers, ids) -> list[tuple[int, object, str | None]]:
    out = []
    for path in _paths(ids):
        response = client.get(path, headers=headers)
        out.append((response.status_code, response.get_json(), response.headers.get("ETag")))
    return out


def _plans(app) -> dict[str, object]:
    with app.app_context():
        dialect = reads.read_engine(app).dialect
    return {name: getattr(routes, name)._plans.get(dialect, "unused") for name in HOT_READS}


def test_hot_reads_answer_the_same_on_the_cursor_as_through_sqlalchemy(
    app, client, captain, ids, monkeypatch
):
    on_cursor = _answers(client, captain, ids)
    # Again, on rows proven (made without the description, in binary), through the cursor the
    # connection keeps for these reads, each statement setting the shape of its rows.
    assert _answers(client, captain, ids) == on_cursor
    plans = _plans(app)
    if PG_URL:
        # The four statements convert nothing on PostgreSQL: each ran on the cursor.
        assert all(p is not None and p.rows is not None for p in plans.values()), plans
    else:
        assert set(plans.values()) == {None}, plans  # SQLite: SQLAlchemy's way
    for name in HOT_READS:
        monkeypatch.setattr(getattr(routes, name), "_plain_sql", lambda _dialect: None)
        getattr(routes, name)._plans.clear()
    through_sqlalchemy = _answers(client, captain, ids)
    assert set(_plans(app).values()) == {None}
    assert on_cursor == through_sqlalchemy
    assert all(status == 200 for status, _, _ in on_cursor)
    assert on_cursor[0][1]["recorded_at"] == "2024-05-01T08:30:15.123456+00:00"


def _first(app, stmt, **params):
    return _first_with(app, reads.Prepared(stmt), **params)


def _first_with(app, prepared: reads.Prepared, **params):
    """(prepared, its first row for params in a read-only request, its plan after)."""
    with app.test_request_context():
        reads.start()
        try:
            return (
                prepared,
                prepared.first(**params),
                prepared._plans.get(reads.read_engine(app).dialect, "unused"),
            )
        finally:
            app.do_teardown_request()


@pytest.mark.skipif(not PG_URL, reason="SQLite reads always go through SQLAlchemy")
def test_a_column_sqlalchemy_would_convert_sends_the_statement_back_to_it(app):
    # numeric comes from psycopg as a Decimal; this column asks for a float, which only
    # SQLAlchemy's conversion gives.
    stmt = sa.select(sa.cast(sa.literal_column("1.25"), sa.Numeric(6, 2, asdecimal=False)).label("x"))
    _, row, plan = _first(app, stmt)
    assert row.x == 1.25 and isinstance(row.x, float)
    assert plan is None
    plain = sa.select(sa.cast(sa.literal_column("1.25"), sa.Float).label("x"), Shop.__table__.c.id)
    _, _, plan = _first(app, plain.where(Shop.id.is_(None)))
    assert plan is not None and plan.rows is not None


@pytest.mark.skipif(not PG_URL, reason="SQLite reads always go through SQLAlchemy")
def test_a_parameter_with_a_value_or_written_into_the_sql_stays_with_sqlalchemy(app):
    _, _, plan = _first(app, sa.select(Shop.id).where(Shop.name == "x"))  # a bound value
    assert plan is None
    _, _, plan = _first(
        app, sa.select(Shop.id).limit(sa.bindparam("n", type_=sa.Integer, literal_execute=True)), n=1
    )
    assert plan is None
    _, _, plan = _first(
        app, sa.select(Shop.id).where(Shop.name == sa.bindparam("shop.name")), **{"shop.name": "x"}
    )
    assert plan is None  # a name SQLAlchemy escapes in the SQL


@pytest.mark.skipif(not PG_URL, reason="SQLite reads always go through SQLAlchemy")
def test_cursor_rows_read_as_sqlalchemy_rows_do_and_odd_names_stay_with_it(app, ids):
    prepared, proving, plan = _first(app, routes.SHOP_BY_ID.stmt, shop_id=ids["shop"])
    assert plan.rows is not None
    with app.test_request_context():  # once proven, rows come from the plan's own factory
        reads.start()
        try:
            on_cursor = prepared.first(shop_id=ids["shop"])
        finally:
            app.do_teardown_request()
    assert type(on_cursor) is type(proving) and on_cursor == proving
    with app.app_context(), db.engine.connect() as conn:
        through_sqlalchemy = conn.execute(routes.SHOP_BY_ID.stmt, {"shop_id": ids["shop"]}).first()
    assert on_cursor._mapping == dict(through_sqlalchemy._mapping)
    assert on_cursor.zone_code == through_sqlalchemy.zone_code and tuple(on_cursor) == tuple(
        through_sqlalchemy
    )
    # A label a named tuple cannot take as it is (a keyword): SQLAlchemy's row, under that name.
    _, row, plan = _first(
        app, sa.select(Shop.id.label("from")).where(Shop.id == sa.bindparam("i")), i=ids["shop"]
    )
    assert plan is None and row._mapping["from"] == ids["shop"]


@pytest.mark.skipif(not PG_URL, reason="SQLite reads always go through SQLAlchemy")
def test_rows_come_in_binary_only_where_every_column_reads_the_same_so(app, ids):
    # A real (float4) reads 0.10000000149011612 from binary rows and 0.1 from text, as
    # SQLAlchemy gives it; money has no binary loader and would read as bytes.
    for column, expected in (("0.1::real", 0.1), ("12.5::money", "$12.50")):
        stmt = sa.select(sa.literal_column(column).label("x"), Shop.id).where(Shop.id == sa.bindparam("i"))
        prepared, first, plan = _first(app, stmt, i=ids["shop"])
        assert plan.rows is not None and plan.binary is False
        _, again, _ = _first_with(app, prepared, i=ids["shop"])  # proven: the plan's own rows
        assert first.x == again.x == expected
    _, _, plan = _first(app, routes.SHOP_BY_ID.stmt, shop_id=ids["shop"])
    assert plan.binary is True  # ids, text, numbers and times: in binary


@pytest.mark.skipif(not PG_URL, reason="ending the server side of a connection needs PostgreSQL")
@pytest.mark.parametrize(
    "app_config", [{"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False}, "DB_PING_IDLE_SECONDS": 3600}]
)
def test_a_lost_connection_under_a_cursor_read_is_a_503_and_the_next_request_works(app, client, captain, ids):
    path = f"/api/v1/shops/{ids['shop']}"

    # The sign-in check remembered (the read is the request's only statement), so the read
    # is what meets the lost connection; no ping before use (3600 s) saves it either.
    def only_the_read():
        sent, response = statements_during(app, lambda: client.get(path, headers=captain))
        return response.status_code == 200 and len(sent) == 1

    assert until(only_the_read)
    assert client.get(path, headers=captain).status_code == 200
    assert _plans(app)["SHOP_BY_ID"].rows is not None  # on the cursor
    assert end_connections(app, keep_listener=True) >= 1
    assert_problem(client.get(path, headers=captain), 503, "service-unavailable")
    assert client.get(path, headers=captain).status_code == 200


@pytest.mark.skipif(not PG_URL, reason="SQLite reads always go through SQLAlchemy")
def test_a_read_that_fails_on_the_cursor_leaves_the_next_read_working(app, ids):
    failing = reads.Prepared(sa.select(sa.cast(sa.bindparam("text", type_=sa.String), sa.Integer).label("n")))
    shop = reads.Prepared(sa.select(Shop.id, Shop.name).where(Shop.id == sa.bindparam("shop_id")))
    with app.test_request_context():
        reads.start()
        try:
            assert shop.first(shop_id=ids["shop"]).id == ids["shop"]
            with pytest.raises(sa.exc.DataError):
                failing.first(text="not a number")
            assert failing.first(text="42").n == 42
            assert shop.first(shop_id=ids["shop"]).id == ids["shop"]
        finally:
            app.do_teardown_request()


@pytest.mark.skipif(not PG_URL, reason="SQLite reads always go through SQLAlchemy")
def test_a_parameter_sqlalchemy_converts_is_converted_on_the_cursor_too(app, ids):
    # UTCDateTime converts the time it is given to UTC (and refuses a naive one): the cursor
    # is sent what SQLAlchemy would send.
    stmt = sa.select(Shop.id).where(Shop.recorded_at == sa.bindparam("at", type_=Shop.recorded_at.type))
    at = datetime(2024, 5, 1, 16, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    _, row, plan = _first(app, stmt, at=at)
    assert plan is not None and plan.rows is not None
    converted = plan.converters["at"](at)  # UTCDateTime's own conversion
    assert converted == at and converted.tzinfo is UTC
    assert row.id == ids["shop"]


def _walk(client, headers, query: str) -> list:
    pages, cursor = [], None
    while True:
        response = client.get(
            f"/api/v1/shops?limit=2&{query}" + (f"&cursor={cursor}" if cursor else ""), headers=headers
        )
        assert response.status_code == 200, response.get_json()
        pages.append(response.get_json())
        cursor = pages[-1]["next"]
        if not cursor:
            return pages


def test_shop_pages_answer_the_same_on_the_cursor_as_through_sqlalchemy(app, client, captain, monkeypatch):
    with app.app_context():
        for n, road in enumerate(["航坞路", "航坞路", "坎红路", "航坞路", "坎红路"]):
            factories.shop(f"小店{n}", road_name=road, status="closed" if n == 3 else "open")
        factories.shop("别处的店", zone_code="KS", road_name="坎红路")
        db.session.commit()
        road_id = db.session.scalar(sa.text("SELECT id FROM roads WHERE name = '坎红路' LIMIT 1"))
    make_user(app, "insp", "inspector", zones=("GL",))
    inspector = bearer(sign_in(client, "insp"))
    queries = [
        "",
        "zone=GL",
        f"road={road_id}",
        "status=open",
        "q=小店",
        "updated_since=2000-01-01T00:00:00Z",
    ]
    walks = [_walk(client, who, q) for who in (captain, inspector) for q in queries]
    assert sum(len(page["items"]) for page in walks[0]) == 6
    with app.app_context():
        dialect = reads.read_engine(app).dialect
    assert sum(len(page["items"]) for page in walks[len(queries)]) == 5  # the inspector's zone's
    # The lead's pages and the inspector's (their zones one array parameter): on the cursor.
    for shape in (frozenset(), frozenset({"zones"})):
        first_page = routes._shop_page(shape, False, 2)._plans.get(dialect)
        assert (first_page.rows is not None) if PG_URL else (first_page is None)
    monkeypatch.setattr(reads.Prepared, "_plain_sql", lambda _self, _dialect: None)
    routes._shop_page.cache_clear()
    assert walks == [_walk(client, who, q) for who in (captain, inspector) for q in queries]
