"""Offline phones: client-made ids, Idempotency-Key, recorded_at, batch upload, change feed."""

from __future__ import annotations

import gzip
import json
import re
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from signage.core.audit import Event
from signage.core.db import db
from signage.core.idempotency import IdempotencyRecord, request_hash
from signage.hazards.models import Hazard
from signage.ledger.models import Shop, Sign
from signage.zones.models import Zone
from tests import factories
from tests.conftest import PG_URL
from tests.fieldwork import photo
from tests.helpers import assert_problem, bearer, lose_the_answer, make_user, sign_in, statements_during


@pytest.fixture
def phone(app, client):
    with app.app_context():
        road = factories.road("GL", "航坞路")
        factories.road("KS", "坎红路")
        db.session.commit()
        road_id = str(road.id)
    make_user(app, "insp_gl", "inspector", zones=("GL",))
    return {"road": road_id, "auth": bearer(sign_in(client, "insp_gl"))}


def shop_body(phone, n=0, **extra):
    return {
        "id": str(uuid.uuid4()),
        "name": f"店铺{n}",
        "road_id": phone["road"],
        "lat": 30.1700 + n * 0.0003,
        "lng": 120.4600,
        **extra,
    }


def sign_body(shop: dict, **extra) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "shop_id": shop["id"],
        "kind": "light_box",
        "width_m": 2,
        "height_m": 1,
        **extra,
    }


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_replayed_three_times_yields_one_record(app, client, phone):
    body = shop_body(phone)
    statuses = [client.post("/api/v1/shops", json=body, headers=phone["auth"]).status_code for _ in range(4)]
    assert statuses == [201, 200, 200, 200]
    replay = client.post("/api/v1/shops", json=body, headers=phone["auth"])
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json()["id"] == body["id"]
    assert count(app, Shop) == 1


def test_same_id_with_different_body_is_409_showing_both(client, phone):
    body = shop_body(phone)
    client.post("/api/v1/shops", json=body, headers=phone["auth"])
    changed = {**body, "name": "别的名字"}
    problem = assert_problem(
        client.post("/api/v1/shops", json=changed, headers=phone["auth"]), 409, "id-conflict"
    )
    assert problem["stored"]["name"] == "店铺0" and problem["sent"]["name"] == "别的名字"


def test_idempotency_key_replays_first_response_and_refuses_other_body(app, client, phone):
    headers = {**phone["auth"], "Idempotency-Key": "phone-1-op-7"}
    body = shop_body(phone)
    del body["id"]
    first = client.post("/api/v1/shops", json=body, headers=headers)
    second = client.post("/api/v1/shops", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json() and second.headers["Idempotent-Replayed"] == "true"
    assert count(app, Shop) == 1
    other = client.post("/api/v1/shops", json={**body, "name": "另一家"}, headers=headers)
    assert_problem(other, 422, "idempotency-key-reused")


def test_idempotency_key_while_first_is_running_is_409(app, client, phone):
    body = shop_body(phone)
    del body["id"]
    now = datetime.now(UTC)
    with app.app_context():
        from signage.accounts.models import User

        user_id = db.session.scalar(sa.select(User.id).where(User.username == "insp_gl"))
        # The first request with this key has claimed it and is still running on another worker.
        db.session.add(
            IdempotencyRecord(
                scope=f"key:{user_id}:busy-key",
                request_hash=request_hash("/api/v1/shops", body),
                state="running",
                created_at=now,
                expires_at=now + timedelta(hours=24),
            )
        )
        db.session.commit()
    busy = client.post("/api/v1/shops", json=body, headers={**phone["auth"], "Idempotency-Key": "busy-key"})
    assert_problem(busy, 409, "request-in-progress")
    assert busy.headers["Retry-After"] == "1"
    assert count(app, Shop) == 0


def test_idempotency_key_expires_after_the_configured_time(app, client, phone, clock):
    app.config["IDEMPOTENCY_TTL"] = 3600
    start = datetime.now(UTC)
    clock.set(start)
    body = shop_body(phone)
    del body["id"]
    headers = {**phone["auth"], "Idempotency-Key": "k-expire"}
    client.post("/api/v1/shops", json=body, headers=headers)
    clock.set(start + timedelta(hours=2))
    again = client.post("/api/v1/shops", json={**body, "confirm_distinct": True}, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert count(app, Shop) == 2


@pytest.mark.parametrize("app_config", [{"IDEMPOTENCY_PURGE_EVERY": 4}, {"IDEMPOTENCY_PURGE_EVERY": 0}])
def test_expired_keys_are_purged_by_later_requests_without_a_batch(app, client, phone, clock, app_config):
    app.config["IDEMPOTENCY_TTL"] = 3600
    start = datetime.now(UTC)
    clock.set(start)
    for n in range(3):
        headers = {**phone["auth"], "Idempotency-Key": f"k-old-{n}"}
        assert client.post("/api/v1/shops", json=shop_body(phone, n), headers=headers).status_code == 201
    clock.set(start + timedelta(hours=2))
    # Some claim among the next IDEMPOTENCY_PURGE_EVERY clears the expired ones; 0 turns it off.
    every = app_config["IDEMPOTENCY_PURGE_EVERY"]
    for n in range(3, 3 + max(every, 4)):
        headers = {**phone["auth"], "Idempotency-Key": f"k-new-{n}"}
        assert client.post("/api/v1/shops", json=shop_body(phone, n), headers=headers).status_code == 201
    with app.app_context():
        keys = db.session.scalars(sa.select(IdempotencyRecord.scope)).all()
    assert len([k for k in keys if "k-old-" in k]) == (0 if every else 3)
    assert len([k for k in keys if "k-new-" in k]) == max(every, 4)


def test_failed_request_does_not_burn_the_key(client, phone):
    headers = {**phone["auth"], "Idempotency-Key": "k-fail"}
    bad = shop_body(phone, credit_code="123")
    assert client.post("/api/v1/shops", json=bad, headers=headers).status_code == 422
    good = {**bad, "credit_code": None}
    assert client.post("/api/v1/shops", json=good, headers=headers).status_code == 201


def test_create_whose_answer_was_lost_is_answered_from_the_record(app, client, phone):
    headers = {**phone["auth"], "Idempotency-Key": "k-lost-answer"}
    body = shop_body(phone)
    assert client.post("/api/v1/shops", json=body, headers=headers).status_code == 201
    lose_the_answer(app, "k-lost-answer")
    again = client.post("/api/v1/shops", json=body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == body["id"] and again.get_json()["name"] == body["name"]
    assert count(app, Shop) == 1


def test_create_without_id_whose_answer_was_lost_is_409_not_run_twice(app, client, phone):
    headers = {**phone["auth"], "Idempotency-Key": "k-lost-no-id"}
    body = shop_body(phone)
    del body["id"]
    assert client.post("/api/v1/shops", json=body, headers=headers).status_code == 201
    lose_the_answer(app, "k-lost-no-id")
    assert_problem(client.post("/api/v1/shops", json=body, headers=headers), 409, "request-applied")
    assert count(app, Shop) == 1


def test_batch_whose_answer_was_lost_runs_again_and_replays_its_operations(app, client, phone):
    headers = {**phone["auth"], "Idempotency-Key": "k-lost-batch"}
    ops = [{"method": "POST", "path": "/api/v1/shops", "body": shop_body(phone, n)} for n in range(3)]
    assert client.post("/api/v1/sync", json={"operations": ops}, headers=headers).status_code == 200
    # A batch is safe to run again, so its claim is never marked applied: a lost answer leaves
    # it running, taken as abandoned after a minute.
    lose_the_answer(app, "k-lost-batch", state="running")
    again = client.post("/api/v1/sync", json={"operations": ops}, headers=headers)
    assert [r["result"] for r in again.get_json()["results"]] == ["replayed"] * 3
    assert count(app, Shop) == 3


def test_recorded_at_in_the_future_is_refused_within_skew_accepted(client, phone):
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    late = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = assert_problem(
        client.post("/api/v1/shops", json=shop_body(phone, recorded_at=late), headers=phone["auth"]), 422
    )
    assert "future" in body["errors"]["recorded_at"][0]
    ok = client.post("/api/v1/shops", json=shop_body(phone, 1, recorded_at=soon), headers=phone["auth"])
    assert ok.status_code == 201 and ok.get_json()["recorded_at"]


def _batch_of_500(phone):
    """200 shops, each followed by signs; three bad operations in the middle."""
    ops, expected_shops, expected_signs, bad = [], 0, 0, set()
    shop_ids = []
    for n in range(200):
        body = shop_body(phone, n)
        if n == 60:
            body["credit_code"] = "914403001922038217"  # wrong check character: invalid
            bad.add(len(ops))
        else:
            expected_shops += 1
        shop_ids.append((body["id"], n == 60))
        ops.append({"method": "POST", "path": "/api/v1/shops", "body": body})
    for i in range(300):
        shop_id, shop_bad = shop_ids[i % 200]
        body = {
            "id": str(uuid.uuid4()),
            "shop_id": shop_id,
            "kind": "shop_sign",
            "text": f"招牌{i}",
            "width_m": 3,
            "height_m": 1,
        }
        if i == 150:
            body["width_m"] = 0  # invalid
            bad.add(200 + i)
        elif i == 151:
            body["kind"] = "neon"  # invalid
            bad.add(200 + i)
        elif not shop_bad:
            expected_signs += 1
        ops.append({"method": "POST", "path": "/api/v1/signs", "body": body})
    return ops, expected_shops, expected_signs, bad


def test_batch_of_500_with_three_bad_stores_the_rest_and_skips_dependants(app, client, phone):
    ops, shops, signs, bad = _batch_of_500(phone)
    response = client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"])
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == 500
    by_result = {}
    for r in results:
        by_result.setdefault(r["result"], []).append(r["index"])
    assert set(by_result["invalid"]) == bad
    # The signs of the invalid shop (operation 60) are skipped, naming it.
    skipped = [results[i] for i in by_result["skipped"]]
    assert skipped and all("operation 60" in r["reason"] for r in skipped)
    assert len(by_result["created"]) == shops + signs == 500 - 3 - len(skipped)
    assert count(app, Shop) == shops and count(app, Sign) == signs
    invalid = results[min(bad)]
    assert "credit_code" in invalid["body"]["errors"]

    again = client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]).get_json()["results"]
    assert count(app, Shop) == shops and count(app, Sign) == signs
    assert {r["result"] for r in again} <= {"replayed", "invalid", "skipped"}
    assert sum(r["result"] == "replayed" for r in again) == shops + signs


def _events(client, app, entity_id):
    make_user(app, "auditor", "supervisor") if not getattr(app, "_auditor", None) else None
    app._auditor = True
    auth = bearer(sign_in(client, "auditor"))
    return client.get(f"/api/v1/events?entity_id={entity_id}", headers=auth).get_json()["items"]


def test_batch_records_one_audit_event_per_change_and_none_for_failures(app, client, phone):
    shop = shop_body(phone)
    sign = sign_body(shop)
    bad = shop_body(phone, 1, credit_code="not-a-code")
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": shop},
        {"method": "POST", "path": "/api/v1/signs", "body": sign},
        {"method": "POST", "path": "/api/v1/shops", "body": bad},
        {
            "method": "PATCH",
            "path": f"/api/v1/shops/{shop['id']}",
            "body": {"name": "改名"},
            "if_match": f'"{uuid.UUID(shop["id"]).hex}-1"',
        },
    ]
    headers = {**phone["auth"], "X-Request-ID": "phone-batch-7"}
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=headers).get_json()["results"]
    assert [r["result"] for r in results] == ["created", "created", "invalid", "updated"]
    shop_events = _events(client, app, shop["id"])
    assert [(e["entity"], e["action"], e["request_id"]) for e in shop_events] == [
        ("shops", "create", "phone-batch-7.0"),
        ("shops", "update", "phone-batch-7.3"),
    ]
    assert shop_events[1]["before"]["name"] == "店铺0" and shop_events[1]["after"]["name"] == "改名"
    assert [e["action"] for e in _events(client, app, sign["id"])] == ["create"]
    assert _events(client, app, bad["id"]) == []


@pytest.mark.parametrize("careful", [False, True])
def test_a_batch_reports_a_hazard_on_a_sign_it_created_and_acts_on_it(app, client, phone, careful):
    # A hazard goes in by Core statements on the batch's connection (audit.write_created): the
    # sign the batch kept back for its end must be written before it, and the hazard's event
    # takes its place among the batch's events. A failed operation makes the batch run again
    # carefully, each operation in a savepoint of its own: the same records and events result.
    shop = shop_body(phone)
    sign = sign_body(shop)
    hazard_id = str(uuid.uuid4())
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": shop},
        {"method": "POST", "path": "/api/v1/signs", "body": sign},
        {
            "method": "POST",
            "path": "/api/v1/hazards",
            "body": {"id": hazard_id, "sign_id": sign["id"], "category": "rusted", "severity": "low"},
        },
        {
            "method": "POST",
            "path": f"/api/v1/hazards/{hazard_id}/notify",
            "body": {"contact_method": "wechat"},
            "if_match": f'"{uuid.UUID(hazard_id).hex}-1"',
        },
    ]
    if careful:
        ops.append(
            {"method": "POST", "path": "/api/v1/hazards", "body": {"sign_id": sign["id"], "category": "x"}}
        )
    headers = {**phone["auth"], "X-Request-ID": "walk"}
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=headers).get_json()["results"]
    assert [r["result"] for r in results] == ["created", "created", "created", "updated"] + [
        "invalid"
    ] * careful
    events = _events(client, app, hazard_id)
    assert [(e["action"], e["request_id"]) for e in events] == [("create", "walk.2"), ("notify", "walk.3")]
    assert events[0]["after"]["sign_id"] == sign["id"] and events[0]["after"]["state"] == "reported"
    order = [_events(client, app, record)[0]["id"] for record in (shop["id"], sign["id"], hazard_id)]
    assert order == sorted(order)
    stored = client.get(f"/api/v1/hazards/{hazard_id}", headers=phone["auth"])
    assert stored.headers["ETag"] == f'"{uuid.UUID(hazard_id).hex}-2"'
    assert stored.get_json()["state"] == "notified" and stored.get_json()["zone"] == "GL"
    assert count(app, Hazard) == 1


def _savepoints_during(app, action) -> tuple[int, object]:
    """How many SAVEPOINTs the database was sent while action ran, and what it returned."""
    sent, result = statements_during(app, action)
    return sum(1 for statement in sent if statement.lstrip().upper().startswith("SAVEPOINT")), result


def test_batch_of_good_operations_runs_in_one_savepoint_not_one_each(app, client, phone):
    ops = []
    for n in range(20):
        shop = shop_body(phone, n)
        sign = sign_body(shop)
        ops += [
            {"method": "POST", "path": "/api/v1/shops", "body": shop},
            {"method": "POST", "path": "/api/v1/signs", "body": sign},
        ]
    savepoints, response = _savepoints_during(
        app, lambda: client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"])
    )
    assert {r["result"] for r in response.get_json()["results"]} == {"created"}
    assert savepoints == 1
    assert count(app, Shop) == 20 and count(app, Sign) == 20


def _inserts_during(app, action) -> tuple[Counter, object]:
    """INSERT statements sent per table while action ran, and what it returned."""
    sent, result = statements_during(app, action)
    words = (statement.split() for statement in sent)
    return Counter(w[2].strip('"') for w in words if w[0].upper() == "INSERT"), result


@pytest.mark.parametrize("pairs", [3, 40])
def test_batch_writes_its_new_shops_and_signs_together_at_its_end(app, client, phone, pairs):
    # One INSERT per table, whatever the batch's size: the operations keep their new records
    # back, and the batch writes them all at once (signage/sync/batch.py, `_defer`).
    ops = []
    for n in range(pairs):
        shop = shop_body(phone, n)
        ops += [
            {"method": "POST", "path": "/api/v1/shops", "body": shop},
            {"method": "POST", "path": "/api/v1/signs", "body": sign_body(shop)},
        ]
    inserts, response = _inserts_during(
        app, lambda: client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"])
    )
    assert {r["result"] for r in response.get_json()["results"]} == {"created"}
    assert (inserts["shops"], inserts["signs"], inserts["sign_versions"], inserts["events"]) == (1, 1, 1, 1)
    assert count(app, Shop) == pairs and count(app, Sign) == pairs


def test_answers_of_records_written_at_the_batch_end_are_what_was_stored(app, client, phone):
    shop = shop_body(phone)
    sign = sign_body(shop)
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": shop},
        {"method": "POST", "path": "/api/v1/signs", "body": sign},
    ]
    headers = {**phone["auth"], "X-Request-ID": "night-shift-2"}
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=headers).get_json()["results"]
    for result, path in zip(
        results, (f"/api/v1/shops/{shop['id']}", f"/api/v1/signs/{sign['id']}"), strict=True
    ):
        stored = client.get(path, headers=phone["auth"])
        assert result["status"] == 201 and result["body"] == stored.get_json()
        assert stored.headers["ETag"] == f'"{uuid.UUID(result["body"]["id"]).hex}-1"'
    assert results[0]["body"]["zone"] == "GL" and results[0]["body"]["road"] == "航坞路"
    versions = client.get(f"/api/v1/signs/{sign['id']}/versions", headers=phone["auth"]).get_json()
    assert [v["version_no"] for v in versions] == [1]
    # Each record's create event is its own operation's, in the zone it belongs to (which
    # decides whose change feed carries it).
    with app.app_context():
        gl = db.session.scalar(sa.select(Zone.id).where(Zone.code == "GL"))
        ids = [shop["id"], sign["id"], versions[0]["id"]]
        zones = db.session.execute(
            sa.select(Event.entity_id, Event.zone_id).where(Event.entity_id.in_(ids))
        ).all()
    assert sorted(zones) == sorted((i, gl) for i in ids)
    for entity_id, index in ((shop["id"], 0), (sign["id"], 1), (versions[0]["id"], 1)):
        [event] = _events(client, app, entity_id)
        assert (event["action"], event["request_id"]) == ("create", f"night-shift-2.{index}")


def test_a_batch_refuses_a_shop_that_duplicates_one_it_created_as_requests_sent_alone_would(client, phone):
    # The duplicate check reads the database on its own connection: records the batch kept back
    # are written first, so the second shop, 4 m from the first with its name, is refused.
    first = shop_body(phone)
    twin = {**shop_body(phone), "lat": first["lat"] + 0.00004}
    ops = [{"method": "POST", "path": "/api/v1/shops", "body": body} for body in (first, twin)]
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]).get_json()[
        "results"
    ]
    assert [(r["result"], r["status"]) for r in results] == [("created", 201), ("conflict", 409)]
    assert results[1]["body"]["type"].endswith("duplicate-shop")


def test_a_batch_of_signs_with_photos_keeps_its_records_for_one_write(app, client, phone):
    # Whether the inspector may put each photo on a sign is asked without writing what the
    # batch kept back: signs with photos go in one INSERT too.
    photos = [str(photo(app, uploaded_by="insp_gl")) for _ in range(3)]
    ops = []
    for n, photo_id in enumerate(photos):
        shop = shop_body(phone, n)
        ops += [
            {"method": "POST", "path": "/api/v1/shops", "body": shop},
            {"method": "POST", "path": "/api/v1/signs", "body": sign_body(shop, photo_id=photo_id)},
        ]
    inserts, response = _inserts_during(
        app, lambda: client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"])
    )
    results = response.get_json()["results"]
    assert {r["result"] for r in results} == {"created"}
    assert [r["body"]["current_photo_id"] for r in results[1::2]] == photos
    assert (inserts["shops"], inserts["signs"], inserts["sign_versions"]) == (1, 1, 1)


def test_a_batch_changing_a_record_it_created_answers_as_requests_sent_alone_would(app, client, phone):
    # A record kept back for the batch's end and then changed would be stored at version 1
    # with its change folded in; the batch runs again carefully instead (one savepoint each).
    shop = shop_body(phone)
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": shop},
        {
            "method": "PATCH",
            "path": f"/api/v1/shops/{shop['id']}",
            "body": {"name": "改名"},
            "if_match": f'"{uuid.UUID(shop["id"]).hex}-1"',
        },
        {"method": "POST", "path": "/api/v1/signs", "body": sign_body(shop)},
    ]
    headers = {**phone["auth"], "X-Request-ID": "b9"}
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=headers).get_json()["results"]
    assert [(r["result"], r["body"]["version"]) for r in results] == [
        ("created", 1),
        ("updated", 2),
        ("created", 1),
    ]
    stored = client.get(f"/api/v1/shops/{shop['id']}", headers=phone["auth"])
    assert stored.get_json() == results[1]["body"] and stored.get_json()["name"] == "改名"
    events = _events(client, app, shop["id"])
    assert [(e["action"], e["request_id"]) for e in events] == [("create", "b9.0"), ("update", "b9.1")]


def test_batch_leaves_the_garbage_collector_running_after_it(client, phone):
    # The collector is paused while a batch runs; a batch that ran twice (a failure sends it
    # round again) and answered must leave it on, or the worker's memory would grow unchecked.
    import gc

    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": shop_body(phone, 0)},
        {"method": "POST", "path": "/api/v1/shops", "body": shop_body(phone, 1, credit_code="bad")},
    ]
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]).get_json()
    enabled = gc.isenabled()
    gc.enable()  # failing or not, the rest of the suite runs with the collector on
    assert [r["result"] for r in results["results"]] == ["created", "invalid"]
    assert enabled


def test_batch_loads_the_roads_it_names_in_one_query(app, client, phone):
    with app.app_context():
        other = str(factories.road("GL", "新园路").id)
        db.session.commit()
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": shop_body(phone, n, road_id=road)}
        for n, road in enumerate([phone["road"], other] * 5)
    ]
    sent, response = statements_during(
        app, lambda: client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"])
    )
    reads = [statement for statement in sent if "FROM roads" in statement]
    assert {r["result"] for r in response.get_json()["results"]} == {"created"}
    assert len(reads) == 1 and re.search(r"\bIN \(", reads[0])


def test_operation_answered_from_a_lost_answer_keeps_the_operations_before_it(app, client, phone):
    # A shop sent alone whose answer was lost (its claim left "applied"), then sent again inside
    # a batch after a new shop: its replay rolls back its own work, and that must not take the
    # new shop before it along (the optimistic run shares one savepoint: it runs again carefully).
    lost = shop_body(phone, 1)
    headers = {**phone["auth"], "Idempotency-Key": "k-lost-in-batch"}
    assert client.post("/api/v1/shops", json=lost, headers=headers).status_code == 201
    lose_the_answer(app, "k-lost-in-batch")
    fresh = shop_body(phone, 2)
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": fresh},
        {"method": "POST", "path": "/api/v1/shops", "body": lost, "idempotency_key": "k-lost-in-batch"},
    ]
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]).get_json()[
        "results"
    ]
    assert [(r["result"], r["status"]) for r in results] == [("created", 201), ("replayed", 200)]
    assert results[1]["body"]["id"] == lost["id"]
    with app.app_context():
        assert db.session.get(Shop, uuid.UUID(fresh["id"])) is not None
    assert count(app, Shop) == 2
    assert [e["action"] for e in _events(client, app, fresh["id"])] == ["create"]


def test_operation_failing_after_it_wrote_loses_only_itself(app, client, phone):
    # A shop id already on the ledger (no idempotency record: loaded, not sent by a phone) is
    # found only when the insert fails. The optimistic run then gives up, and the careful run
    # stores the others once each, with one audit event each.
    with app.app_context():
        taken = str(factories.shop("已登记店", lat=30.1800, lng=120.4700).id)
        db.session.commit()
    first, last = shop_body(phone, 1), shop_body(phone, 2)
    sign = sign_body(last)
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": first},
        {"method": "POST", "path": "/api/v1/shops", "body": {**shop_body(phone, 3), "id": taken}},
        {"method": "POST", "path": "/api/v1/shops", "body": last},
        {"method": "POST", "path": "/api/v1/signs", "body": sign},
    ]
    savepoints, response = _savepoints_during(
        app, lambda: client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"])
    )
    results = response.get_json()["results"]
    assert [(r["result"], r["status"]) for r in results] == [
        ("created", 201),
        ("conflict", 409),
        ("created", 201),
        ("created", 201),
    ]
    assert results[1]["body"]["type"].endswith("id-taken")
    # The optimistic run's one; then the careful run's, one per operation and one for the
    # audit events written at the end (a careful run alone would send 5).
    assert savepoints == 1 + len(ops) + 1
    assert count(app, Shop) == 3 and count(app, Sign) == 1
    assert [e["action"] for e in _events(client, app, first["id"])] == ["create"]
    assert [e["action"] for e in _events(client, app, sign["id"])] == ["create"]
    again = client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]).get_json()["results"]
    assert [r["result"] for r in again] == ["replayed", "conflict", "replayed", "replayed"]
    assert count(app, Shop) == 3 and count(app, Sign) == 1


def test_batch_repeating_an_id_answers_it_as_a_retry_would(app, client, phone):
    shop = shop_body(phone)
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": shop},
        {"method": "POST", "path": "/api/v1/shops", "body": shop},
        {"method": "POST", "path": "/api/v1/shops", "body": {**shop, "name": "别的名字"}},
    ]
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]).get_json()[
        "results"
    ]
    assert [(r["result"], r["status"]) for r in results] == [
        ("created", 201),
        ("replayed", 200),
        ("conflict", 409),
    ]
    assert results[1]["body"] == {**results[0]["body"]}
    assert results[2]["body"]["type"].endswith("id-conflict")
    assert count(app, Shop) == 1


def test_batch_reports_photos_the_server_lacks(client, phone):
    shop = shop_body(phone)
    missing = str(uuid.uuid4())
    ops = [
        {"method": "POST", "path": "/api/v1/shops", "body": shop},
        {
            "method": "POST",
            "path": "/api/v1/signs",
            "body": {
                "id": str(uuid.uuid4()),
                "shop_id": shop["id"],
                "kind": "light_box",
                "width_m": 1,
                "height_m": 1,
                "photo_id": missing,
            },
        },
    ]
    body = client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]).get_json()
    assert body["missing_photos"] == [missing]
    assert [r["result"] for r in body["results"]] == ["created", "invalid"]


def test_batch_is_capped_at_500_and_refuses_other_paths(app, client, phone):
    ops = [{"method": "POST", "path": "/api/v1/shops", "body": {}}] * 501
    assert_problem(client.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]), 422)
    loop = [{"method": "POST", "path": "/api/v1/sync", "body": {}}]
    assert_problem(client.post("/api/v1/sync", json={"operations": loop}, headers=phone["auth"]), 422)
    # A sign-out inside a batch would not stop the operations after it (signed in once): refused.
    sign_out = [
        {"method": "POST", "path": "/api/v1/auth/logout", "body": {}},
        {"method": "POST", "path": "/api/v1/shops", "body": shop_body(phone)},
    ]
    body = assert_problem(
        client.post("/api/v1/sync", json={"operations": sign_out}, headers=phone["auth"]), 422
    )
    assert body["errors"]["operations"] == {
        "0": {"path": ["must be an API path other than /api/v1/sync and /api/v1/auth/…"]}
    }
    assert count(app, Shop) == 0


def test_batch_operations_keep_their_access_checks(client, phone, app):
    with app.app_context():
        ks = db.session.scalar(sa.text("SELECT id FROM roads WHERE name = '坎红路'"))
    body = shop_body(phone, road_id=str(uuid.UUID(str(ks))), lat=30.19, lng=120.40)
    result = client.post(
        "/api/v1/sync",
        json={"operations": [{"method": "POST", "path": "/api/v1/shops", "body": body}]},
        headers=phone["auth"],
    )
    assert result.get_json()["results"][0]["status"] == 403


def _pull_all(client, auth, cursor=None):
    seen = []
    while True:
        url = "/api/v1/changes?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=auth).get_json()
        seen += page["changes"]
        cursor = page["next"]
        if not page["has_more"]:
            return seen, cursor


def test_feed_delivers_each_change_in_my_zones_and_resumes_from_cursor(app, client, phone):
    for n in range(10):
        client.post("/api/v1/shops", json=shop_body(phone, n), headers=phone["auth"])
    with app.app_context():
        factories.shop("坎山的店", zone_code="KS", road_name="坎红路", lat=30.19, lng=120.40)
        db.session.commit()
    seen, cursor = _pull_all(client, phone["auth"])
    shops = [c for c in seen if c["entity"] == "shops"]
    assert sorted(c["record"]["name"] for c in shops) == sorted(f"店铺{n}" for n in range(10))
    assert all(c["op"] == "upsert" for c in shops)
    client.post("/api/v1/shops", json=shop_body(phone, 20), headers=phone["auth"])
    more, _ = _pull_all(client, phone["auth"], cursor)
    assert [c["record"]["name"] for c in more if c["entity"] == "shops"] == ["店铺20"]


def test_feed_sends_latest_state_once_and_tombstones(app, client, phone):
    created = client.post("/api/v1/shops", json=shop_body(phone), headers=phone["auth"])
    url = f"/api/v1/shops/{created.get_json()['id']}"
    client.patch(
        url, json={"name": "改过的名字"}, headers={**phone["auth"], "If-Match": created.headers["ETag"]}
    )
    with app.app_context():
        road = factories.road("GL", "临时路")
        db.session.commit()
        db.session.delete(road)
        db.session.commit()
    seen, _ = _pull_all(client, phone["auth"])
    shops = [c for c in seen if c["entity"] == "shops"]
    assert len(shops) == 1 and shops[0]["record"]["name"] == "改过的名字"
    assert [c["op"] for c in seen if c["entity"] == "roads" and c["op"] == "delete"] == ["delete"]


def test_feed_zone_filter_refuses_other_zones_for_inspectors(client, phone):
    assert_problem(client.get("/api/v1/changes?zone=KS", headers=phone["auth"]), 403)
    assert client.get("/api/v1/changes?zone=GL", headers=phone["auth"]).status_code == 200


@pytest.mark.skipif(not PG_URL, reason="late commits among concurrent writers need PostgreSQL")
def test_feed_never_misses_a_change_that_commits_late(app, client, phone):
    """A transaction that started first commits last; the feed must still deliver it."""
    holding, release = threading.Event(), threading.Event()

    def slow_writer():
        with app.app_context():
            factories.shop("慢事务的店", lat=30.171)  # its event gets the smaller id
            holding.set()
            release.wait(timeout=30)
            db.session.commit()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    holding.wait(timeout=30)
    client.post("/api/v1/shops", json=shop_body(phone, 5), headers=phone["auth"])  # commits first
    first, cursor = _pull_all(client, phone["auth"])
    release.set()
    writer.join()
    rest, _ = _pull_all(client, phone["auth"], cursor)
    names = [c["record"]["name"] for c in first + rest if c["entity"] == "shops"]
    assert sorted(names) == ["店铺5", "慢事务的店"]


@pytest.mark.skipif(not PG_URL, reason="concurrent writers need PostgreSQL")
def test_feed_pulled_while_other_threads_write_misses_nothing(app, client, phone):
    written = []

    def writer(k):
        c = app.test_client()
        for n in range(15):
            body = shop_body(phone, 100 * k + n + 100)
            if c.post("/api/v1/shops", json=body, headers=phone["auth"]).status_code == 201:
                written.append(body["name"])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    seen, cursor = [], None
    while any(t.is_alive() for t in threads):
        page, cursor = _pull_all(client, phone["auth"], cursor)
        seen += page
    for t in threads:
        t.join()
    page, _ = _pull_all(client, phone["auth"], cursor)
    seen += page
    names = {c["record"]["name"] for c in seen if c["entity"] == "shops"}
    assert set(written) <= names and len(written) == 45


def test_responses_are_compressed_when_the_client_accepts_it(client, phone):
    for n in range(20):
        client.post("/api/v1/shops", json=shop_body(phone, n), headers=phone["auth"])
    response = client.get("/api/v1/shops?limit=20", headers={**phone["auth"], "Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(response.data))["items"]) == 20
    assert response.headers["Vary"] == "Accept-Encoding"
    plain = client.get("/api/v1/shops?limit=20", headers=phone["auth"])
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
    # One shop is under COMPRESS_MIN_SIZE: sent as it is, still varying by what the client accepts.
    shop_id = plain.get_json()["items"][0]["id"]
    small = client.get(f"/api/v1/shops/{shop_id}", headers={**phone["auth"], "Accept-Encoding": "gzip"})
    assert small.status_code == 200 and "Content-Encoding" not in small.headers
    assert small.get_json()["id"] == shop_id and small.headers.getlist("Vary") == ["Accept-Encoding"]


def test_a_phone_accepting_gzip_gets_replays_and_etags_that_still_work(app, client, phone):
    app.config["COMPRESS_MIN_SIZE"] = 10
    gz = {**phone["auth"], "Accept-Encoding": "gzip"}
    body = shop_body(phone)
    del body["id"]  # only the stored answer can replay it: there is no record path to answer from
    keyed = {**gz, "Idempotency-Key": "gzip-phone-1"}
    first = client.post("/api/v1/shops", json=body, headers=keyed)
    assert first.status_code == 201 and first.headers["Content-Encoding"] == "gzip"
    again = client.post("/api/v1/shops", json=body, headers=keyed)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert gzip.decompress(again.data) == gzip.decompress(first.data)
    shop_id = json.loads(gzip.decompress(first.data))["id"]
    read = client.get(f"/api/v1/shops/{shop_id}", headers=gz)
    assert read.headers["Content-Encoding"] == "gzip"
    patch = client.patch(
        f"/api/v1/shops/{shop_id}", json={"name": "改名"}, headers={**gz, "If-Match": read.headers["ETag"]}
    )
    assert patch.status_code == 200


def test_feed_carries_notices_of_my_zone(client, phone):
    shop = client.post("/api/v1/shops", json=shop_body(phone), headers=phone["auth"]).get_json()
    notice = client.post("/api/v1/notices", json={"shop_id": shop["id"]}, headers=phone["auth"])
    assert notice.status_code == 201, notice.get_json()
    seen, _ = _pull_all(client, phone["auth"])
    notices = [c for c in seen if c["entity"] == "notice"]
    assert [c["record"]["number"] for c in notices] == [notice.get_json()["number"]]
    assert "body" not in notices[0]["record"]


@pytest.mark.parametrize("field", ["if_match", "idempotency_key"])
def test_operation_header_values_with_line_breaks_are_422_naming_the_field(client, phone, field):
    op = {"method": "POST", "path": "/api/v1/shops", "body": shop_body(phone), field: 'x"\r\nX-Role: admin'}
    response = client.post("/api/v1/sync", json={"operations": [op]}, headers=phone["auth"])
    assert field in str(assert_problem(response, 422)["errors"])


@pytest.mark.skipif(not PG_URL, reason="two batches claiming at once need PostgreSQL")
def test_the_same_batch_sent_twice_at_once_creates_each_record_once(app, client, phone):
    """Two phones' (or one phone's retried) batches of the same operations, at the same moment:
    one claims them; the other, its claims refused while the first's are uncommitted (or
    finding them stored, if it starts late), replays their answers."""
    ops = [{"method": "POST", "path": "/api/v1/shops", "body": shop_body(phone, n)} for n in range(60)]
    start = threading.Barrier(2)
    answers = []

    def send():
        c = app.test_client()
        start.wait(timeout=30)
        answers.append(c.post("/api/v1/sync", json={"operations": ops}, headers=phone["auth"]))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a batch never answered"
    assert [a.status_code for a in answers] == [200, 200]
    results = [[r["result"] for r in a.get_json()["results"]] for a in answers]
    for index in range(len(ops)):
        assert sorted(batch[index] for batch in results) == ["created", "replayed"], index
    bodies = [[r["body"]["id"] for r in a.get_json()["results"]] for a in answers]
    assert bodies[0] == bodies[1] == [op["body"]["id"] for op in ops]
    assert count(app, Shop) == len(ops)
