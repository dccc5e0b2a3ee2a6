"""Hazards through HTTP: reporting, default deadlines, overdue with time, filters, evidence flags, owners."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from signage.core.audit import Event
from signage.core.db import db
from signage.hazards.models import Hazard
from signage.hazards.rules import default_hours
from tests.fieldwork import DAY, NIGHT, SHOP_AT, iso, later, north_of, owner, photo, shop_with_sign, staff
from tests.helpers import assert_problem


@pytest.fixture
def world(app, client, clock):
    w = {
        "sup": staff(app, client, "captain", "supervisor"),
        "admin": staff(app, client, "root", "admin"),
        "insp": staff(app, client, "shen", "inspector", zones=("GL",)),
        "far_insp": staff(app, client, "chen", "inspector", zones=("DS",)),
    }
    w["shop"], w["sign"] = shop_with_sign(app)
    w["owner"] = owner(app, "afang", w["shop"])
    w["other_shop"], w["other_sign"] = shop_with_sign(
        app, "老王五金", at=(30.1810, 120.4610), road_name="東靈路"
    )
    clock.set(DAY)
    return w


def report(client, world, headers=None, **fields):
    body = {"sign_id": str(world["sign"]), "category": "damaged", "severity": "medium", **fields}
    return client.post("/api/v1/hazards", json=body, headers=headers or world["insp"])


def created(client, world, **fields) -> dict:
    response = report(client, world, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def act(client, hazard_id, action, body, headers):
    etag = client.get(f"/api/v1/hazards/{hazard_id}", headers=headers).headers["ETag"]
    return client.post(
        f"/api/v1/hazards/{hazard_id}/{action}", json=body, headers={**headers, "If-Match": etag}
    )


def listed(client, headers, query="") -> list[str]:
    response = client.get(f"/api/v1/hazards?limit=200{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [h["id"] for h in response.get_json()["items"]]


def test_report_hazard_copies_the_sign_and_gets_the_default_deadline(client, world):
    response = report(
        client, world, category="exposed_wiring", severity="low", description="灯箱底部电线外露"
    )
    assert response.status_code == 201 and response.headers["ETag"]
    hazard = response.get_json()
    assert hazard["state"] == "reported" and hazard["allowed_actions"] == ["notify", "fix_on_spot"]
    assert hazard["shop_id"] == str(world["shop"]) and hazard["zone"] == "GL" and hazard["road_id"]
    assert hazard["found_at"] == iso(DAY) and hazard["shift"] == "day" and not hazard["overdue"]
    assert hazard["deadline_at"] == iso(later(DAY, hours=24))
    assert (hazard["lat"], hazard["lng"]) == SHOP_AT
    assert created(client, world, category="rusted", severity="low")["deadline_at"] == iso(
        later(DAY, days=14)
    )


def test_report_hazard_keeps_the_phones_id_and_recorded_time(client, world, clock):
    hazard_id, recorded = str(uuid.uuid4()), later(DAY, minutes=-40)
    hazard = created(client, world, id=hazard_id, recorded_at=iso(recorded))
    assert hazard["id"] == hazard_id and hazard["recorded_at"] == iso(recorded)
    assert hazard["found_at"] == iso(recorded) and hazard["created_at"] == iso(DAY)
    assert_problem(report(client, world, id=hazard_id), 409)


def test_report_hazard_recorded_in_the_future_is_422(client, world):
    problem = assert_problem(report(client, world, recorded_at=iso(later(DAY, hours=1))), 422)
    assert "recorded_at" in problem["errors"]


def test_report_hazard_refusals(client, world):
    assert_problem(report(client, world, headers=world["far_insp"]), 403, "outside-zone")
    assert_problem(report(client, world, headers=world["owner"]), 403)
    assert "sign_id" in assert_problem(report(client, world, sign_id=str(uuid.uuid4())), 422)["errors"]
    assert "category" in assert_problem(report(client, world, category="ugly"), 422)["errors"]


def test_report_hazard_without_patrol_takes_the_shift_from_the_hour(client, world, clock):
    clock.set(NIGHT)
    assert created(client, world, category="unlit_characters")["shift"] == "night"
    clock.set(later(NIGHT, hours=9))  # 06:00 local, after civil dawn
    assert created(client, world)["shift"] == "day"


def test_report_hazard_takes_shift_from_its_patrol_and_refuses_a_contradiction(client, world):
    zone = next(z for z in client.get("/api/v1/zones", headers=world["sup"]).get_json() if z["code"] == "GL")
    patrol = client.post(
        "/api/v1/patrols", json={"zone_id": zone["id"], "shift": "night"}, headers=world["insp"]
    ).get_json()
    hazard = created(client, world, patrol_id=patrol["id"])
    assert hazard["shift"] == "night" and hazard["patrol_id"] == patrol["id"]
    assert (
        "shift" in assert_problem(report(client, world, patrol_id=patrol["id"], shift="day"), 422)["errors"]
    )


def test_overdue_appears_and_disappears_as_the_clock_moves(app, client, world, clock):
    hazard = created(client, world, category="loose_or_fallen", severity="high")  # 24 hours
    assert listed(client, world["sup"], "&overdue=true") == []
    assert listed(client, world["sup"], "&overdue=false") == [hazard["id"]]

    clock.set(later(DAY, hours=23, minutes=59))
    assert listed(client, world["sup"], "&overdue=true") == []
    clock.set(later(DAY, hours=24, minutes=1))
    assert listed(client, world["sup"], "&overdue=true") == [hazard["id"]]
    assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=world["sup"]).get_json()["overdue"] is True

    after = photo(app, taken_at=later(DAY, hours=24))
    assert (
        act(client, hazard["id"], "fix_on_spot", {"photo_ids": [str(after)]}, world["insp"]).status_code
        == 200
    )
    assert listed(client, world["sup"], "&overdue=true") == []
    assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=world["sup"]).get_json()["overdue"] is False


def test_list_hazards_filters(client, world, clock):
    wiring = created(client, world, category="exposed_wiring", severity="high")["id"]
    clock.set(later(DAY, minutes=1))
    rust = created(client, world, category="rusted", severity="low")["id"]
    clock.set(later(DAY, minutes=2))
    other = created(client, world, sign_id=str(world["other_sign"]))["id"]
    act(client, rust, "notify", {"contact_method": "phone"}, world["insp"])
    sup = world["sup"]
    assert listed(client, sup, "&category=exposed_wiring&category=rusted") == [wiring, rust]
    assert listed(client, sup, "&state=notified") == [rust]
    assert listed(client, sup, "&severity=medium") == [other]
    assert listed(client, sup, f"&shop={world['other_shop']}") == [other]
    assert listed(client, sup, f"&sign={world['sign']}") == [wiring, rust]
    road = client.get(f"/api/v1/hazards/{other}", headers=sup).get_json()["road_id"]
    assert listed(client, sup, f"&road={road}") == [other]
    assert listed(client, sup, "&zone=GL&shift=day") == [wiring, rust, other]
    assert listed(client, sup, "&zone=DS") == []
    clock.set(later(DAY, hours=1))
    act(client, wiring, "notify", {"contact_method": "sms"}, world["insp"])
    assert listed(client, sup, f"&updated_since={iso(later(DAY, minutes=30)).replace('+', '%2B')}") == [
        wiring
    ]
    assert_problem(client.get("/api/v1/hazards?state=lost", headers=sup), 422)


def test_list_hazards_pages_through_everyone_once(client, world, clock):
    ids = []
    for minutes in range(7):
        clock.set(later(DAY, minutes=minutes))
        ids.append(created(client, world)["id"])
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/hazards?limit=3" + (f"&cursor={cursor}" if cursor else ""), headers=world["sup"]
        ).get_json()
        seen += [h["id"] for h in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == ids


def test_owner_lists_and_reads_only_their_shops_hazards(client, world):
    mine = created(client, world)["id"]
    theirs = created(client, world, sign_id=str(world["other_sign"]))["id"]
    assert listed(client, world["owner"]) == [mine]
    assert listed(client, world["owner"], f"&shop={world['other_shop']}") == []
    assert client.get(f"/api/v1/hazards/{mine}", headers=world["owner"]).status_code == 200
    assert_problem(client.get(f"/api/v1/hazards/{theirs}", headers=world["owner"]), 404)
    assert_problem(client.get(f"/api/v1/hazards/{mine}/events", headers=world["owner"]), 403)
    # A zone filter: an unknown code is refused as for staff; a known one narrows their own.
    unknown = assert_problem(client.get("/api/v1/hazards?zone=NOPE", headers=world["owner"]), 422)
    assert "zone" in unknown["errors"]
    assert listed(client, world["owner"], "&zone=GL") == [mine]


# --- evidence integrity ----------------------------------------------------------------------


def flags_of(client, world, hazard_id) -> set[str]:
    hazard = client.get(f"/api/v1/hazards/{hazard_id}", headers=world["sup"]).get_json()
    return {(f["stage"], f["code"]) for f in hazard["evidence_flags"]}


def test_finding_photo_at_the_sign_and_fresh_is_not_flagged(app, client, world):
    good = photo(app, taken_at=later(DAY, minutes=-5), at=north_of(SHOP_AT, 60))
    hazard = created(client, world, photo_ids=[str(good)])
    body = client.get(f"/api/v1/hazards/{hazard['id']}", headers=world["sup"]).get_json()
    assert body["flagged"] is False and body["evidence_flags"] == []
    assert [p["stage"] for p in body["photos"]] == ["finding"]


def test_photo_far_from_the_sign_or_a_day_old_is_accepted_but_flagged(app, client, world):
    far = photo(app, taken_at=later(DAY, minutes=-5), at=north_of(SHOP_AT, 150))
    old = photo(app, taken_at=later(DAY, hours=-25))
    bare = photo(app, taken_at=None, at=None)
    hazard = created(client, world, photo_ids=[str(far), str(old), str(bare)])
    assert flags_of(client, world, hazard["id"]) == {
        ("finding", "far_from_sign"),
        ("finding", "taken_long_before"),
        ("finding", "no_gps"),
        ("finding", "no_time"),
    }
    body = client.get(f"/api/v1/hazards/{hazard['id']}", headers=world["sup"]).get_json()
    far_flag = next(f for f in body["evidence_flags"] if f["code"] == "far_from_sign")
    assert far_flag["photo_id"] == str(far) and 148 < far_flag["distance_m"] < 152
    assert body["flagged"] is True
    assert listed(client, world["sup"], "&flagged=true") == [hazard["id"]]


def test_after_photo_taken_before_the_finding_is_flagged_on_the_fix(app, client, world):
    hazard = created(client, world)
    act(client, hazard["id"], "notify", {"contact_method": "phone"}, world["insp"])
    before = photo(app, taken_at=later(DAY, hours=-2))
    act(client, hazard["id"], "submit_fix", {"photo_ids": [str(before)]}, world["insp"])
    assert flags_of(client, world, hazard["id"]) == {("fix", "taken_before_finding")}


def test_evidence_flags_are_shown_to_supervisors_only(app, client, world):
    far = photo(app, taken_at=DAY, at=north_of(SHOP_AT, 500))
    hazard = created(client, world, photo_ids=[str(far)])
    for who in ("insp", "owner"):
        body = client.get(f"/api/v1/hazards/{hazard['id']}", headers=world[who]).get_json()
        assert "evidence_flags" not in body and "flagged" not in body
    assert (
        "evidence_flags" in client.get(f"/api/v1/hazards/{hazard['id']}", headers=world["admin"]).get_json()
    )
    assert_problem(client.get("/api/v1/hazards?flagged=true", headers=world["insp"]), 422)


def test_hazard_history_hides_evidence_flags_from_field_staff(app, client, world):
    far = photo(app, taken_at=DAY, at=north_of(SHOP_AT, 500))
    hazard = created(client, world, photo_ids=[str(far)])
    url = f"/api/v1/hazards/{hazard['id']}/events"

    def flag_fields(headers):
        items = client.get(url, headers=headers).get_json()["items"]
        assert {i["entity"] for i in items} == {"hazards", "hazard_photos"}
        return {k for i in items for k in (i.get("after") or {}) if k in ("flagged", "flags")}

    assert flag_fields(world["sup"]) == {"flagged", "flags"}
    assert flag_fields(world["insp"]) == set()


# --- history ---------------------------------------------------------------------------------


def test_hazard_events_hold_transitions_and_audit_events_in_order(app, client, world, clock):
    hazard = created(client, world)
    clock.set(later(DAY, hours=1))
    recorded = later(DAY, minutes=50)
    act(
        client,
        hazard["id"],
        "notify",
        {"contact_method": "wechat", "recorded_at": iso(recorded)},
        world["insp"],
    )
    items = client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=world["sup"]).get_json()["items"]
    assert [(i["kind"], i["action"]) for i in items] == [
        ("event", "create"),
        ("transition", "notify"),
        ("event", "notify"),
    ]
    assert items[0]["entity"] == "hazards"
    step = items[1]
    assert step["at"] == iso(recorded) and step["received_at"] == iso(later(DAY, hours=1))
    assert step["actor_role"] == "inspector" and step["details"]["contact_method"] == "wechat"
    assert items[2]["after"]["state"] == "notified" and items[2]["before"]["state"] == "reported"


def test_a_reported_hazard_is_stored_with_one_create_event_holding_its_row(app, client, world):
    # The hazard and its event are written by Core statements (audit.write_created), not a
    # flush: the event must still hold the row as stored, who wrote it and where. A doubtful
    # photo flags the hazard before its row is written: one create event, version 1.
    far = photo(app, taken_at=DAY, at=north_of(SHOP_AT, 500))
    response = report(
        client, world, photo_ids=[str(far)], headers={**world["insp"], "X-Request-ID": "walk-7"}
    )
    assert response.status_code == 201, response.get_json()
    hazard_id = uuid.UUID(response.get_json()["id"])
    assert response.headers["ETag"] == f'"{hazard_id.hex}-1"'
    with app.app_context():
        row = db.session.execute(sa.select(Hazard.__table__).where(Hazard.id == hazard_id)).one()._asdict()
        events = db.session.scalars(
            sa.select(Event).where(Event.actor_role == "inspector").order_by(Event.id)
        ).all()
    assert row["version"] == 1 and row["flagged"] is True and row["state"] == "reported"
    assert [(e.entity, e.action) for e in events] == [("hazards", "create"), ("hazard_photos", "create")]
    event, link = events
    assert event.entity_id == str(hazard_id) and event.before is None
    assert event.request_id == link.request_id == "walk-7"
    assert event.zone_id == row["zone_id"] and event.actor_id == link.actor_id
    assert set(event.after) == set(row) - {"updated_at", "version"}
    assert event.after["flagged"] is True and event.after["rectify_hours"] is None
    assert event.after["sign_id"] == str(world["sign"]) and event.after["found_at"] == iso(DAY)
    assert event.after["deadline_at"] == row["deadline_at"].isoformat() == response.get_json()["deadline_at"]
    assert (event.after["lat"], event.after["lng"]) == (row["lat"], row["lng"]) == SHOP_AT
    assert event.txid == link.txid  # one transaction (None on SQLite)


# --- deadline rules --------------------------------------------------------------------------


def test_deadline_rules_are_seeded_for_every_category_and_severity(client, world):
    rules = client.get("/api/v1/deadline-rules", headers=world["insp"]).get_json()
    assert len(rules) == 7 * 4
    hours = {(r["category"], r["severity"]): r["hours"] for r in rules}
    assert hours[("exposed_wiring", "low")] == hours[("loose_or_fallen", "low")] == 24
    assert hours[("damaged", "critical")] == 24 and hours[("damaged", "low")] == 336
    # The migration's frozen seed and the code's fallback agree.
    assert all(h == default_hours(c, s) for (c, s), h in hours.items())


def test_admin_changes_a_deadline_rule_and_new_hazards_follow_it(client, world):
    rules = client.get("/api/v1/deadline-rules", headers=world["admin"]).get_json()
    rule = next(r for r in rules if (r["category"], r["severity"]) == ("damaged", "medium"))
    url = f"/api/v1/deadline-rules/{rule['id']}"
    before = created(client, world)
    assert_problem(client.patch(url, json={"hours": 48}, headers=world["admin"]), 428)
    assert_problem(client.patch(url, json={"hours": 48}, headers={**world["sup"], "If-Match": "*"}), 403)
    etag = client.get(url, headers=world["admin"]).headers["ETag"]
    response = client.patch(url, json={"hours": 48}, headers={**world["admin"], "If-Match": etag})
    assert response.status_code == 200 and response.get_json()["hours"] == 48
    assert created(client, world)["deadline_at"] == iso(later(DAY, hours=48))
    refreshed = client.get(f"/api/v1/hazards/{before['id']}", headers=world["sup"]).get_json()
    assert refreshed["deadline_at"] == iso(later(DAY, days=7))
    assert_problem(client.patch(url, json={"hours": 0}, headers={**world["admin"], "If-Match": "*"}), 422)


def test_inspector_of_another_zone_neither_lists_nor_reads_the_hazard(client, world):
    hazard = created(client, world, description="招牌右下角破损")
    assert listed(client, world["far_insp"]) == []
    assert_problem(client.get("/api/v1/hazards?zone=GL", headers=world["far_insp"]), 403, "outside-zone")
    for path in ("", "/events"):
        body = assert_problem(
            client.get(f"/api/v1/hazards/{hazard['id']}{path}", headers=world["far_insp"]), 403
        )
        assert "招牌右下角破损" not in str(body)
    # A stale ETag changes nothing: the refusal is a 403, not a 412 holding the current hazard.
    stale = client.post(
        f"/api/v1/hazards/{hazard['id']}/notify",
        json={"contact_method": "phone"},
        headers={**world["far_insp"], "If-Match": '"stale"'},
    )
    assert "current" not in assert_problem(stale, 403, "outside-zone")


def test_report_with_a_taken_id_under_a_new_idempotency_key_is_409_id_taken(client, world):
    hazard = created(client, world)
    body = {"id": hazard["id"], "sign_id": str(world["sign"]), "category": "rusted", "severity": "low"}
    response = client.post(
        "/api/v1/hazards", json=body, headers={**world["insp"], "Idempotency-Key": "second-try"}
    )
    assert assert_problem(response, 409, "id-taken")["errors"] == {"id": ["is taken"]}


def test_a_hazard_placed_outside_the_service_area_is_422_naming_lat(client, world):
    # A phone without a fix sends (0, 0): refused, not stored in the sea with a night shift.
    response = report(client, world, lat=0.0, lng=0.0)
    assert "outside the service area" in assert_problem(response, 422)["errors"]["lat"][0]
