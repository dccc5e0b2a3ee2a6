"""Patrols through HTTP: start, track (distance), visits, end, and the plan's walking route."""

from __future__ import annotations

import math
import random
import uuid

import pytest

from tests.fieldwork import DAY, NIGHT, SHOP_AT, iso, later, north_of, photo, shop_with_sign, staff, user_id
from tests.helpers import assert_problem, lose_the_answer

# WGS-84
A_M = 6_378_137.0
F = 1 / 298.257223563
E2 = F * (2 - F)


def meridian_arc_m(lat1: float, lat2: float, steps: int = 2000) -> float:
    """Length of the meridian between two latitudes, by Simpson's rule on the radius of curvature."""

    def radius(phi: float) -> float:
        return A_M * (1 - E2) / (1 - E2 * math.sin(phi) ** 2) ** 1.5

    a, b = math.radians(lat1), math.radians(lat2)
    h = (b - a) / steps
    total = radius(a) + radius(b)
    total += sum((4 if i % 2 else 2) * radius(a + i * h) for i in range(1, steps))
    return abs(total * h / 3)


@pytest.fixture
def world(app, client, clock):
    w = {
        "sup": staff(app, client, "captain", "supervisor"),
        "insp": staff(app, client, "shen", "inspector", zones=("GL",)),
        "mate": staff(app, client, "lin", "inspector", zones=("GL",)),
        "far_insp": staff(app, client, "chen", "inspector", zones=("DS",)),
    }
    zones = client.get("/api/v1/zones", headers=w["sup"]).get_json()
    w["zone"] = {z["code"]: z["id"] for z in zones}
    clock.set(DAY)
    return w


def start(client, world, headers=None, **fields) -> dict:
    body = {"zone_id": world["zone"]["GL"], "shift": "day", **fields}
    response = client.post("/api/v1/patrols", json=body, headers=headers or world["insp"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def send(client, world, patrol_id, points, headers=None):
    return client.post(
        f"/api/v1/patrols/{patrol_id}/track", json={"points": points}, headers=headers or world["insp"]
    )


def point(lat, lng, when):
    return {"at": iso(when), "lat": lat, "lng": lng}


def test_start_patrol_with_a_partner(app, client, world):
    patrol = start(client, world, member_ids=[str(user_id(app, "lin"))], note="航坞路两侧")
    assert patrol["shift"] == "day" and patrol["zone"] == "GL" and patrol["started_at"] == iso(DAY)
    assert set(patrol["member_ids"]) == {str(user_id(app, "shen")), str(user_id(app, "lin"))}
    assert patrol["distance_m"] == 0 and patrol["duration_s"] is None and patrol["shops_visited"] == 0


def test_start_patrol_refusals(app, client, world):
    assert_problem(
        client.post(
            "/api/v1/patrols",
            json={"zone_id": world["zone"]["GL"], "shift": "day"},
            headers=world["far_insp"],
        ),
        403,
        "outside-zone",
    )
    problem = assert_problem(
        client.post(
            "/api/v1/patrols",
            json={"zone_id": world["zone"]["GL"], "shift": "day", "member_ids": [str(user_id(app, "chen"))]},
            headers=world["insp"],
        ),
        422,
    )
    assert "member_ids" in problem["errors"]
    body = {"zone_id": world["zone"]["GL"], "shift": "dusk"}
    assert (
        "shift"
        in assert_problem(client.post("/api/v1/patrols", json=body, headers=world["insp"]), 422)["errors"]
    )


def test_patrol_distance_of_a_known_track_is_within_one_percent(client, world, clock):
    patrol = start(client, world)
    clock.set(later(DAY, hours=1))
    # Due north from the town centre, 0.01° in ten steps, one fix a minute.
    track = [point(SHOP_AT[0] + i * 0.001, SHOP_AT[1], later(DAY, minutes=i)) for i in range(11)]
    shuffled = track[:]
    random.Random(5).shuffle(shuffled)
    first = send(client, world, patrol["id"], shuffled[:6]).get_json()
    second = send(client, world, patrol["id"], shuffled[4:] + shuffled[:2]).get_json()
    assert (first["accepted"], first["duplicates"]) == (6, 0)
    assert (second["accepted"], second["duplicates"]) == (5, 4)
    expected = meridian_arc_m(SHOP_AT[0], SHOP_AT[0] + 0.01)
    assert 1100 < expected < 1120  # about 110.85 km per degree here
    got = client.get(f"/api/v1/patrols/{patrol['id']}", headers=world["insp"]).get_json()
    assert got["point_count"] == 11
    assert abs(got["distance_m"] - expected) / expected < 0.01
    assert second["distance_m"] == got["distance_m"]


def test_late_point_in_the_middle_of_the_track_is_measured_in_time_order(client, world, clock):
    patrol = start(client, world)
    clock.set(later(DAY, hours=1))
    a, c = SHOP_AT, north_of(SHOP_AT, 200)
    send(client, world, patrol["id"], [point(*a, later(DAY, minutes=1)), point(*c, later(DAY, minutes=3))])
    # Two minutes in, the walker was 150 m east of the start (a detour), sent last.
    east = (SHOP_AT[0], SHOP_AT[1] + 150 / (111_320 * math.cos(math.radians(SHOP_AT[0]))))
    result = send(client, world, patrol["id"], [point(*east, later(DAY, minutes=2))]).get_json()
    expected = 150 + math.hypot(150, 200)
    assert abs(result["distance_m"] - expected) / expected < 0.01
    track = client.get(f"/api/v1/patrols/{patrol['id']}/track", headers=world["insp"]).get_json()
    assert [p["at"] for p in track["points"]] == [iso(later(DAY, minutes=m)) for m in (1, 2, 3)]


def test_track_points_before_the_start_or_in_the_future_are_rejected_one_by_one(client, world, clock):
    patrol = start(client, world)
    clock.set(later(DAY, hours=1))
    points = [
        point(*SHOP_AT, later(DAY, minutes=-5)),
        point(*SHOP_AT, later(DAY, minutes=1)),
        point(*SHOP_AT, later(DAY, hours=2)),
    ]
    result = send(client, world, patrol["id"], points).get_json()
    assert result["accepted"] == 1 and [r["index"] for r in result["rejected"]] == [0, 2]


def test_only_members_send_tracks_and_visits(app, client, world):
    patrol = start(client, world)
    assert_problem(
        send(client, world, patrol["id"], [point(*SHOP_AT, DAY)], world["mate"]), 403, "not-on-patrol"
    )
    assert send(client, world, patrol["id"], [point(*SHOP_AT, DAY)], world["sup"]).status_code == 200


def test_visits_count_distinct_shops_and_stay_in_the_zone(app, client, world, clock):
    patrol = start(client, world)
    clock.set(later(DAY, hours=1))
    shop, _ = shop_with_sign(app)
    other_shop, _ = shop_with_sign(app, "老王五金", at=north_of(SHOP_AT, 80))
    far_shop, _ = shop_with_sign(app, "党山超市", zone_code="DS", at=(30.2, 120.5), road_name="党山路")
    url = f"/api/v1/patrols/{patrol['id']}/visits"
    first = client.post(
        url,
        json={
            "shop_id": str(shop),
            "checked": ["signs", "wiring"],
            "notice_handed": True,
            "visited_at": iso(later(DAY, minutes=10)),
        },
        headers=world["insp"],
    )
    assert first.status_code == 201 and first.get_json()["notice_handed"] is True
    client.post(url, json={"shop_id": str(shop), "findings": "复查"}, headers=world["insp"])
    client.post(url, json={"shop_id": str(other_shop)}, headers=world["insp"])
    assert (
        "shop_id"
        in assert_problem(client.post(url, json={"shop_id": str(far_shop)}, headers=world["insp"]), 422)[
            "errors"
        ]
    )
    assert (
        client.get(f"/api/v1/patrols/{patrol['id']}", headers=world["insp"]).get_json()["shops_visited"] == 2
    )
    visits = client.get(url, headers=world["insp"]).get_json()["items"]
    assert len(visits) == 3 and visits[0]["checked"] == ["signs", "wiring"]


def test_a_visit_whose_answer_was_lost_is_answered_from_the_record(app, client, world, clock):
    patrol = start(client, world)
    clock.set(later(DAY, hours=1))
    shop, _ = shop_with_sign(app)
    url = f"/api/v1/patrols/{patrol['id']}/visits"
    body = {"id": str(uuid.uuid4()), "shop_id": str(shop), "findings": "灯箱缺字"}
    headers = {**world["insp"], "Idempotency-Key": "k-visit"}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201 and first.headers["Location"] == f"{url}/{body['id']}"
    lose_the_answer(app, "k-visit")
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(client.get(url, headers=world["insp"]).get_json()["items"]) == 1


def test_one_visit_is_read_through_its_own_patrol_and_zone(app, client, world, clock):
    patrol, other = start(client, world), start(client, world)
    clock.set(later(DAY, hours=1))
    shop, _ = shop_with_sign(app)
    visit = client.post(
        f"/api/v1/patrols/{patrol['id']}/visits", json={"shop_id": str(shop)}, headers=world["insp"]
    ).get_json()
    path = f"/api/v1/patrols/{patrol['id']}/visits/{visit['id']}"
    assert client.get(path, headers=world["sup"]).get_json() == visit
    assert_problem(
        client.get(f"/api/v1/patrols/{other['id']}/visits/{visit['id']}", headers=world["insp"]), 404
    )


def test_end_patrol_sets_duration_and_cannot_end_twice(client, world, clock):
    patrol = start(client, world)
    clock.set(later(DAY, hours=2))
    send(client, world, patrol["id"], [point(*SHOP_AT, later(DAY, minutes=50))])
    url = f"/api/v1/patrols/{patrol['id']}/end"
    too_early = {"ended_at": iso(later(DAY, minutes=30))}
    assert (
        "ended_at" in assert_problem(client.post(url, json=too_early, headers=world["insp"]), 422)["errors"]
    )
    assert_problem(client.post(url, json={}, headers={**world["insp"], "If-Match": '"stale-1"'}), 412)
    ended = client.post(url, json={"ended_at": iso(later(DAY, minutes=90))}, headers=world["insp"])
    assert ended.status_code == 200 and ended.get_json()["duration_s"] == 90 * 60
    assert_problem(client.post(url, json={}, headers=world["insp"]), 409, "patrol-ended")
    late = send(client, world, patrol["id"], [point(*SHOP_AT, later(DAY, minutes=100))]).get_json()
    assert late["accepted"] == 0 and len(late["rejected"]) == 1


def test_patrol_list_filters_by_shift_and_activity(client, world, clock):
    day = start(client, world)
    clock.set(NIGHT)
    night = start(client, world, shift="night")
    client.post(
        f"/api/v1/patrols/{day['id']}/end", json={"ended_at": iso(later(DAY, hours=1))}, headers=world["insp"]
    )

    def ids(query):
        return [
            p["id"] for p in client.get(f"/api/v1/patrols?{query}", headers=world["sup"]).get_json()["items"]
        ]

    assert ids("") == [day["id"], night["id"]]
    assert ids("shift=night") == [night["id"]]
    assert ids("active=true") == [night["id"]]
    assert ids("zone=DS") == []


def test_patrol_changes_are_in_the_audit_trail(client, world):
    patrol = start(client, world)
    send(client, world, patrol["id"], [point(*SHOP_AT, later(DAY, minutes=1))])
    events = client.get(f"/api/v1/events?entity=patrols&entity_id={patrol['id']}", headers=world["sup"])
    assert [e["action"] for e in events.get_json()["items"]] == ["create", "track"]


# --- the plan --------------------------------------------------------------------------------


def hazard(client, world, sign_id, **fields):
    body = {"sign_id": str(sign_id), "category": "damaged", "severity": "medium", **fields}
    response = client.post("/api/v1/hazards", json=body, headers=world["insp"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def plan(client, world, shift="day", limit=30, at=SHOP_AT):
    response = client.get(
        f"/api/v1/patrols/plan?zone=GL&shift={shift}&lat={at[0]}&lng={at[1]}&limit={limit}",
        headers=world["insp"],
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def route_world(app, client, world, clock):
    """Four shops on a north-south line through the start: 100 m, 250 m, 400 m north and 150 m south."""
    shops = {}
    for name, metres in (("n100", 100), ("n250", 250), ("n400", 400), ("s150", -150)):
        shops[name] = shop_with_sign(app, name, at=north_of(SHOP_AT, metres))
    hazard(client, world, shops["n400"][1], category="loose_or_fallen")  # 24 h: overdue by +30 h
    clock.set(later(DAY, hours=20))
    hazard(client, world, shops["s150"][1], category="exposed_wiring")  # due at +44 h
    clock.set(later(DAY, hours=30))
    return shops


def test_plan_orders_stops_nearest_next_from_the_start(client, world, route_world):
    result = plan(client, world)
    names = [s["name"] for s in result["stops"]]
    # Nearest-next, not nearest-to-start (that would put s150 second).
    assert names == ["n100", "n250", "n400", "s150"]
    legs = [s["leg_m"] for s in result["stops"]]
    for got, want in zip(legs, (100, 150, 150, 550), strict=True):
        assert abs(got - want) / want < 0.01
    assert abs(result["total_m"] - 950) / 950 < 0.01
    reasons = {s["name"]: [r["code"] for r in s["reasons"]] for s in result["stops"]}
    assert reasons["n400"] == ["overdue", "never_visited", "no_notice", "no_commitment"]
    assert reasons["s150"][0] == "due_soon" and reasons["n100"][0] == "never_visited"


def test_plan_keeps_the_most_urgent_stops_when_cut_to_the_limit(client, world, route_world):
    result = plan(client, world, limit=2)
    assert [s["name"] for s in result["stops"]] == ["s150", "n400"]
    assert result["candidates"] == 4


def test_plan_skips_shops_already_visited_with_their_paperwork(app, client, world, route_world):
    patrol = start(client, world)
    for name in ("n100", "n250"):
        shop_id = str(route_world[name][0])
        client.post(
            f"/api/v1/patrols/{patrol['id']}/visits", json={"shop_id": shop_id}, headers=world["insp"]
        )
        # The paperwork itself, not what a visit says about it, takes a shop off the plan.
        assert (
            client.post("/api/v1/notices", json={"shop_id": shop_id}, headers=world["insp"]).status_code
            == 201
        )
        signed = {
            "shop_id": shop_id,
            "signer_name": "店主",
            "signer_role": "店主",
            "signature_photo_id": str(photo(app)),
        }
        assert client.post("/api/v1/commitments", json=signed, headers=world["insp"]).status_code == 201
    assert [s["name"] for s in plan(client, world)["stops"]] == ["s150", "n400"]


def test_night_plan_lists_lighting_fixes_to_verify_and_lit_signs_never_seen_at_night(
    app, client, world, clock
):
    _, lit_sign = shop_with_sign(app, "灯箱店", at=north_of(SHOP_AT, 300), lit=True)
    shop_with_sign(app, "无灯店", at=north_of(SHOP_AT, 50))
    unlit = hazard(client, world, lit_sign, category="unlit_characters")
    etag = client.get(f"/api/v1/hazards/{unlit['id']}", headers=world["insp"]).headers["ETag"]
    client.post(
        f"/api/v1/hazards/{unlit['id']}/notify",
        json={"contact_method": "phone"},
        headers={**world["insp"], "If-Match": etag},
    )
    etag = client.get(f"/api/v1/hazards/{unlit['id']}", headers=world["insp"]).headers["ETag"]
    fix = photo(app, taken_at=later(DAY, hours=1))
    client.post(
        f"/api/v1/hazards/{unlit['id']}/submit_fix",
        json={"photo_ids": [str(fix)]},
        headers={**world["insp"], "If-Match": etag},
    )
    night = plan(client, world, shift="night")
    assert [s["name"] for s in night["stops"]] == ["灯箱店"]
    assert [r["code"] for r in night["stops"][0]["reasons"]] == [
        "night_verification",
        "lit_not_checked_at_night",
    ]
    assert night["stops"][0]["hazard_ids"] == [unlit["id"]]
    day_codes = {s["name"]: [r["code"] for r in s["reasons"]] for s in plan(client, world)["stops"]}
    assert "night_verification" not in day_codes["灯箱店"]


def test_plan_outside_the_inspectors_zones_is_403_and_unknown_zone_404(client, world):
    assert_problem(client.get("/api/v1/patrols/plan?zone=GL&shift=day", headers=world["far_insp"]), 403)
    assert_problem(client.get("/api/v1/patrols/plan?zone=XX&shift=day", headers=world["insp"]), 404)
    assert client.get("/api/v1/patrols/plan?zone=GL&shift=day", headers=world["insp"]).get_json()[
        "start"
    ] == {
        "lat": SHOP_AT[0],
        "lng": SHOP_AT[1],
    }


def test_inspector_of_another_zone_neither_lists_nor_reads_the_patrol(client, world):
    patrol = start(client, world, note="航坞路两侧")
    assert client.get("/api/v1/patrols", headers=world["far_insp"]).get_json()["items"] == []
    for path in ("", "/track", "/visits"):
        body = assert_problem(
            client.get(f"/api/v1/patrols/{patrol['id']}{path}", headers=world["far_insp"]), 403
        )
        assert "航坞路两侧" not in str(body)
    stale = client.post(
        f"/api/v1/patrols/{patrol['id']}/end", json={}, headers={**world["far_insp"], "If-Match": '"stale"'}
    )
    assert "current" not in assert_problem(stale, 403, "outside-zone")


def test_a_patrol_started_and_tracked_offline_runs_through_a_sync_batch(client, world):
    patrol_id = "3c1a2b4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    ops = [
        {"method": "POST", "path": "/api/v1/patrols", "body": {"id": patrol_id, "zone_id": world["zone"]["GL"], "shift": "day"}},
        {"method": "POST", "path": f"/api/v1/patrols/{patrol_id}/track", "body": {"points": [point(*SHOP_AT, DAY)]}},
    ]  # fmt: skip
    results = client.post("/api/v1/sync", json={"operations": ops}, headers=world["insp"]).get_json()[
        "results"
    ]
    # The patrol's first track upload answers 200: an update, not a replay of anything.
    assert [(r["result"], r["status"]) for r in results] == [("created", 201), ("updated", 200)]
    too_long = [{"method": "POST", "path": "/api/v1/" + "a" * 300, "body": {}}]
    response = client.post("/api/v1/sync", json={"operations": too_long}, headers=world["insp"])
    assert assert_problem(response, 422)["errors"]["operations"]["0"]["path"]  # the path is named


def test_a_track_upload_whose_answer_was_lost_runs_again_and_stores_nothing_twice(app, client, world):
    patrol = start(client, world)
    headers = {**world["insp"], "Idempotency-Key": "k-lost-track"}
    body = {"points": [point(*SHOP_AT, later(DAY, minutes=3))]}
    url = f"/api/v1/patrols/{patrol['id']}/track"
    assert client.post(url, json=body, headers=headers).status_code == 200
    # The worker died after the commit, before its answer was stored: the claim is left running
    # (an upload is safe to run again, so it is never marked applied) and is taken as abandoned.
    lose_the_answer(app, "k-lost-track", state="running")
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 200, again.get_json()
    answer = again.get_json()
    assert (answer["accepted"], answer["duplicates"], answer["point_count"]) == (0, 1, 1)  # stored once


def test_a_track_fix_outside_the_service_area_is_rejected_with_the_reason(client, world):
    patrol = start(client, world)
    answer = send(
        client,
        world,
        patrol["id"],
        [point(0.0, 0.0, later(DAY, minutes=1)), point(*SHOP_AT, later(DAY, minutes=2))],
    )
    body = answer.get_json()
    assert answer.status_code == 200 and body["accepted"] == 1
    assert [(r["index"], "service area" in r["reason"]) for r in body["rejected"]] == [(0, True)]
