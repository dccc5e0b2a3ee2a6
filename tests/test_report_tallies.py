"""The hazard tallies: a report over all time sums them, and they follow every change of hazards.

A report with a period reads the hazards themselves, so the same report asked over a period that
holds everything is the independent figure the tallies must match, after every kind of change:
the lifecycle through HTTP, and plain SQL that no application code sees.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from signage.core.db import db
from signage.reports import tallies
from tests.fieldwork import DAY, later, shop_with_sign, staff
from tests.test_hazard_lifecycle import act, body_for, report

EVERYTHING = "from=2000-01-01&to=2099-12-31"  # a period: counted from the hazards
GROUPINGS = ["", "zone", "category", "zone,category", "category,zone"]


@pytest.fixture
def world(app, client, clock):
    """A supervisor (who may take every step) and a sign in zone GL, at 10:00 one day."""
    _, sign = shop_with_sign(app)
    clock.set(DAY)
    return {"sup": staff(app, client, "captain", "supervisor"), "sign": sign}


def _figures(client, headers, query: str) -> dict:
    response = client.get(f"/api/v1/reports/rectification?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {
        tuple(g["group"].values()): {k: v for k, v in g.items() if k != "group"}
        for g in response.get_json()["groups"]
    }


def assert_tallies_match_hazards(client, headers, filters: str = "") -> dict:
    """Every grouping over all time equals the same report counted from the hazards."""
    for group_by in GROUPINGS:
        query = f"group_by={group_by}&{filters}"
        tallied = _figures(client, headers, query)
        assert tallied == _figures(client, headers, f"{query}&{EVERYTHING}"), group_by
    return _figures(client, headers, filters)


def test_over_all_time_an_empty_total_is_one_row_of_zeros(app, client, world):
    sup = world["sup"]
    for filters in ("", "zone=GL", "category=rusted"):
        total = _figures(client, sup, filters)
        assert total == _figures(client, sup, f"{filters}&{EVERYTHING}"), filters
        assert total[()]["found"] == 0 and total[()]["rectification_rate"] is None
    assert _figures(client, sup, "group_by=zone") == {}


def test_a_truncate_of_hazards_empties_the_tallies(app, client, world):
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has no TRUNCATE; a DELETE without WHERE fires the row triggers")
    sup = world["sup"]
    _walk(app, client, world, report(client, world, category="rusted", headers=sup), ["fix_on_spot"])
    assert _figures(client, sup, "")[()]["found"] == 1
    with app.app_context():
        db.session.execute(sa.text("TRUNCATE hazards CASCADE"))
        db.session.commit()
    assert _tally_rows(app) == 0
    assert _figures(client, sup, "")[()]["found"] == 0


def test_a_truncate_waits_for_a_fold_and_leaves_nothing_of_it(app, client, world):
    # A report folding the tallies holds their rows until it commits. A TRUNCATE of hazards
    # meanwhile must wait for it and then empty the folded rows too, or the report would go on
    # counting hazards that are gone.
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL: SQLite has one writer at a time and no TRUNCATE")
        url = db.engine.url
    sup = world["sup"]
    for category in ("rusted", "damaged"):
        _walk(app, client, world, report(client, world, category=category, headers=sup), ["fix_on_spot"])
    engine = sa.create_engine(url)
    try:
        with engine.connect() as folding, engine.connect() as truncating:
            folding.begin()
            tallies.compact(folding)  # holds the old rows, deleted, and its new ones, uncommitted
            pid = truncating.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            truncating.commit()
            done = threading.Event()

            def truncate():
                truncating.exec_driver_sql("TRUNCATE hazards CASCADE")
                truncating.commit()
                done.set()

            worker = threading.Thread(target=truncate)
            worker.start()
            waiting = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"
            with engine.connect() as watch:
                for _ in range(500):
                    if watch.execute(sa.text(waiting), {"pid": pid}).scalar() == "Lock":
                        break
                    time.sleep(0.01)
                else:
                    pytest.fail("the TRUNCATE never waited on the fold")
            folding.commit()
            worker.join(10)
            assert done.is_set()
    finally:
        engine.dispose()
    assert _tally_rows(app) == 0
    assert _figures(client, sup, "")[()]["found"] == 0


def _walk(app, client, world, hazard_id: str, variants: list[str]) -> None:
    for variant in variants:
        action, body = body_for(app, variant)
        response = act(client, hazard_id, action, body, world["sup"])
        assert response.status_code == 200, response.get_json()


def _tally_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.text("SELECT count(*) FROM hazard_tallies"))


def test_the_tallies_follow_the_lifecycle_and_plain_sql(app, client, world, clock):
    sup = world["sup"]
    _, far_sign = shop_with_sign(app, "党山五金", zone_code="DS", at=(30.2001, 120.5001))
    hazards = {
        "fixed after a failed check": report(
            client, world, category="damaged", severity="critical", headers=sup
        ),
        "fixed on the spot": report(client, world, category="damaged", severity="low", headers=sup),
        "reopened": report(client, world, category="rusted", severity="high", headers=sup),
        "notified": report(client, world, category="rusted", severity="critical", headers=sup),
        "far": report(client, world, category="tilted", severity="low", sign=far_sign, headers=sup),
        "far, late": report(
            client, world, category="tilted", severity="critical", sign=far_sign, headers=sup
        ),
    }
    _walk(app, client, world, hazards["fixed after a failed check"], ["notify", "submit_fix", "verify_fail"])
    _walk(app, client, world, hazards["fixed after a failed check"], ["submit_fix", "verify_pass"])
    _walk(app, client, world, hazards["fixed on the spot"], ["fix_on_spot"])
    _walk(app, client, world, hazards["reopened"], ["fix_on_spot", "reopen"])
    _walk(app, client, world, hazards["notified"], ["notify"])
    clock.set(later(DAY, hours=48))  # past the 24-hour deadlines, before the others
    _walk(app, client, world, hazards["far, late"], ["fix_on_spot"])  # after its deadline

    total = assert_tallies_match_hazards(client, sup)[()]
    assert (total["found"], total["rectified"], total["rectified_on_time"], total["rework"]) == (6, 3, 2, 1)
    assert 0 < total["overdue"] < total["open"], "some open hazards are overdue, not all"
    assert_tallies_match_hazards(client, sup, "zone=DS&category=tilted")

    # Writes no application code sees: the triggers count them all the same.
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE hazards SET category = 'other', rework_count = 3 WHERE id = :id"),
            {"id": _key(hazards["far"])},
        )
        db.session.commit()
    total = assert_tallies_match_hazards(client, sup)[()]
    assert total["rework"] == 4


def test_a_hazard_deleted_or_moved_by_sql_leaves_the_tallies_right(app, client, world):
    sup = world["sup"]
    _, far_sign = shop_with_sign(app, "党山五金", zone_code="DS", at=(30.2001, 120.5001))
    kept = report(client, world, category="rusted", headers=sup)
    gone = report(client, world, category="damaged", sign=far_sign, headers=sup)
    _walk(app, client, world, kept, ["fix_on_spot"])
    with app.app_context():
        key = _key(gone)
        db.session.execute(sa.text("DELETE FROM hazard_transitions WHERE hazard_id = :id"), {"id": key})
        db.session.execute(sa.text("DELETE FROM hazard_photos WHERE hazard_id = :id"), {"id": key})
        db.session.execute(sa.text("DELETE FROM hazards WHERE id = :id"), {"id": key})
        db.session.execute(
            sa.text("UPDATE hazards SET zone_id = (SELECT id FROM zones WHERE code = 'DS') WHERE id = :id"),
            {"id": _key(kept)},
        )
        db.session.commit()
    figures = assert_tallies_match_hazards(client, sup, "")
    assert figures[()]["found"] == 1
    by_zone = _figures(client, sup, "group_by=zone")
    assert list(by_zone) == [("DS",)], "the zone whose only hazard moved away is not shown"


@pytest.mark.parametrize("app_config", [{"REPORT_TALLY_SLACK": 0}])
def test_a_report_folds_the_tallies_and_its_figures_stand(app, client, world, app_config):
    sup = world["sup"]
    for category in ("damaged", "damaged", "rusted", "rusted", "rusted"):
        _walk(app, client, world, report(client, world, category=category, headers=sup), ["fix_on_spot"])
    assert _tally_rows(app) >= 10  # rows for each report and each fix
    before = _figures(client, sup, f"group_by=category&{EVERYTHING}")
    assert _figures(client, sup, "group_by=category") == before  # this report folds the rows
    assert _tally_rows(app) == 2  # one row per zone and category
    assert _figures(client, sup, "group_by=category") == before
    _walk(app, client, world, report(client, world, category="tilted", headers=sup), ["notify"])
    assert_tallies_match_hazards(client, sup)


def _key(hazard_id: str) -> str:
    """The id as plain SQL names it on this database (SQLite keeps UUIDs as 32 hex digits)."""
    return hazard_id if db.session.get_bind().dialect.name == "postgresql" else hazard_id.replace("-", "")
