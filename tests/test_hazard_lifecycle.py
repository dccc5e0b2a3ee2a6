"""The hazard lifecycle through HTTP: every action from every state, who may act, If-Match, night rule."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.fieldwork import DAY, NIGHT, iso, later, owner, photo, shop_with_sign, staff
from tests.helpers import assert_problem

STATES = ("reported", "notified", "fix_submitted", "rectified")
# The lifecycle as DESIGN.md draws it, written out here independently of the code's table:
# (state, action variant) -> the state it leads to; anything missing is refused with 409.
EXPECTED = {
    ("reported", "notify"): "notified",
    ("reported", "fix_on_spot"): "rectified",
    ("notified", "submit_fix"): "fix_submitted",
    ("fix_submitted", "verify_pass"): "rectified",
    ("fix_submitted", "verify_fail"): "notified",
    ("rectified", "reopen"): "notified",
}
ALLOWED = {
    "reported": ["notify", "fix_on_spot"],
    "notified": ["submit_fix"],
    "fix_submitted": ["verify"],
    "rectified": ["reopen"],
}
VARIANTS = ("notify", "submit_fix", "verify_pass", "verify_fail", "fix_on_spot", "reopen")


@pytest.fixture
def world(app, client, clock):
    w = {
        "sup": staff(app, client, "captain", "supervisor"),
        "insp": staff(app, client, "shen", "inspector", zones=("GL",)),
        "far_insp": staff(app, client, "chen", "inspector", zones=("DS",)),
    }
    w["shop"], w["sign"] = shop_with_sign(app)
    w["owner"] = owner(app, "afang", w["shop"])
    w["other_shop"], w["other_sign"] = shop_with_sign(app, "老王五金", at=(30.1810, 120.4610))
    clock.set(DAY)
    return w


def report(client, world, *, category="damaged", severity="medium", sign=None, headers=None, **extra):
    body = {"sign_id": str(sign or world["sign"]), "category": category, "severity": severity, **extra}
    response = client.post("/api/v1/hazards", json=body, headers=headers or world["insp"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def act(client, hazard_id, action, body, headers, etag=None):
    if etag is None:
        etag = client.get(f"/api/v1/hazards/{hazard_id}", headers=headers).headers.get("ETag")
    return client.post(
        f"/api/v1/hazards/{hazard_id}/{action}", json=body, headers={**headers, "If-Match": etag or ""}
    )


def body_for(app, variant: str) -> tuple[str, dict]:
    """The action path and a valid body for a variant."""
    after = photo(app, taken_at=later(DAY, minutes=5))
    return {
        "notify": ("notify", {"contact_method": "phone"}),
        "submit_fix": ("submit_fix", {"photo_ids": [str(after)]}),
        "verify_pass": ("verify", {"result": "pass"}),
        "verify_fail": ("verify", {"result": "fail", "reason": "招牌仍松动"}),
        "fix_on_spot": ("fix_on_spot", {"photo_ids": [str(after)]}),
        "reopen": ("reopen", {"reason": "复查发现再次破损"}),
    }[variant]


def bring_to(app, client, world, state: str) -> str:
    """A new hazard walked along the lifecycle to state (as the supervisor)."""
    hazard_id = report(client, world)
    path = {"reported": [], "notified": ["notify"], "fix_submitted": ["notify", "submit_fix"]}.get(
        state, ["notify", "submit_fix", "verify_pass"]
    )
    for variant in path:
        action, body = body_for(app, variant)
        assert act(client, hazard_id, action, body, world["sup"]).status_code == 200
    assert client.get(f"/api/v1/hazards/{hazard_id}", headers=world["sup"]).get_json()["state"] == state
    return hazard_id


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_action_from_state_is_applied_or_refused_with_409(app, client, world, state, variant):
    hazard_id = bring_to(app, client, world, state)
    action, body = body_for(app, variant)
    response = act(client, hazard_id, action, body, world["sup"])
    target = EXPECTED.get((state, variant))
    if target:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["state"] == target
        assert response.get_json()["allowed_actions"] == ALLOWED[target]
    else:
        problem = assert_problem(response, 409, "action-not-allowed")
        assert problem["state"] == state
        assert problem["allowed_actions"] == ALLOWED[state]
        assert state in problem["detail"]
        assert client.get(f"/api/v1/hazards/{hazard_id}", headers=world["sup"]).get_json()["state"] == state


def test_every_step_is_recorded_as_a_transition_in_the_history(app, client, world):
    hazard_id = bring_to(app, client, world, "rectified")
    history = client.get(f"/api/v1/hazards/{hazard_id}/events", headers=world["sup"]).get_json()["items"]
    # Every step happens at the same (fixed) time here: the step number keeps their order.
    steps = [
        (i["step_no"], i["action"], i["from_state"], i["to_state"])
        for i in history
        if i["kind"] == "transition"
    ]
    assert steps == [
        (1, "notify", "reported", "notified"),
        (2, "submit_fix", "notified", "fix_submitted"),
        (3, "verify", "fix_submitted", "rectified"),
    ]
    events = [(i["entity"], i["action"]) for i in history if i["kind"] == "event"]
    assert events == [
        ("hazards", "create"),
        ("hazards", "notify"),
        ("hazard_photos", "create"),
        ("hazards", "submit_fix"),
        ("hazards", "verify"),
    ]


def test_action_without_if_match_is_428_and_stale_is_412_with_current(app, client, world):
    hazard_id = report(client, world)
    url = f"/api/v1/hazards/{hazard_id}/notify"
    assert_problem(client.post(url, json={"contact_method": "phone"}, headers=world["insp"]), 428)
    stale = client.get(f"/api/v1/hazards/{hazard_id}", headers=world["insp"]).headers["ETag"]
    assert act(client, hazard_id, "notify", {"contact_method": "phone"}, world["insp"]).status_code == 200
    body = {"photo_ids": [str(photo(app, taken_at=DAY))]}
    problem = assert_problem(act(client, hazard_id, "submit_fix", body, world["insp"], stale), 412)
    assert problem["current"]["state"] == "notified" and problem["current_etag"] != stale


def test_notify_records_contact_measure_and_the_deadline_given(client, world):
    hazard_id = report(client, world, category="unlit_characters", severity="low")
    deadline = later(DAY, days=3)
    response = act(
        client,
        hazard_id,
        "notify",
        {"contact_method": "in_person", "immediate_measure": "power_off", "deadline_at": iso(deadline)},
        world["insp"],
    )
    hazard = response.get_json()
    assert hazard["contact_method"] == "in_person" and hazard["immediate_measure"] == "power_off"
    assert hazard["deadline_at"] == iso(deadline) and hazard["notified_at"] == iso(DAY)


def test_notify_with_a_past_deadline_or_no_contact_method_is_422(client, world):
    hazard_id = report(client, world)
    body = {"contact_method": "phone", "deadline_at": iso(later(DAY, hours=-1))}
    assert (
        "deadline_at" in assert_problem(act(client, hazard_id, "notify", body, world["insp"]), 422)["errors"]
    )
    assert (
        "contact_method" in assert_problem(act(client, hazard_id, "notify", {}, world["insp"]), 422)["errors"]
    )


def test_failed_verification_needs_a_reason_and_counts_as_rework(app, client, world):
    hazard_id = bring_to(app, client, world, "fix_submitted")
    problem = assert_problem(act(client, hazard_id, "verify", {"result": "fail"}, world["insp"]), 422)
    assert "reason" in problem["errors"]
    hazard = act(
        client, hazard_id, "verify", {"result": "fail", "reason": "未整改"}, world["insp"]
    ).get_json()
    assert hazard["state"] == "notified" and hazard["rework_count"] == 1 and hazard["rectified_at"] is None


def test_reopen_clears_the_rectification_and_sets_a_new_deadline(app, client, world, clock):
    hazard_id = bring_to(app, client, world, "rectified")
    clock.set(later(DAY, days=2))
    hazard = act(client, hazard_id, "reopen", {"reason": "再次破损"}, world["sup"]).get_json()
    assert hazard["state"] == "notified" and hazard["rectified_at"] is None and hazard["reopen_count"] == 1
    assert hazard["deadline_at"] == iso(later(DAY, days=2 + 7))  # damaged, medium: 168 hours


def test_inspector_cannot_reopen_and_owner_cannot_verify(app, client, world):
    hazard_id = bring_to(app, client, world, "rectified")
    assert_problem(act(client, hazard_id, "reopen", {"reason": "x"}, world["insp"]), 403)
    fix_id = bring_to(app, client, world, "fix_submitted")
    etag = client.get(f"/api/v1/hazards/{fix_id}", headers=world["sup"]).headers["ETag"]
    assert_problem(act(client, fix_id, "verify", {"result": "pass"}, world["owner"], etag), 403)


def test_inspector_outside_the_zone_is_refused_with_403(client, world):
    hazard_id = report(client, world)
    response = act(client, hazard_id, "notify", {"contact_method": "phone"}, world["far_insp"])
    assert_problem(response, 403, "outside-zone")


def test_owner_submits_a_fix_for_their_own_shops_hazard(app, client, world):
    hazard_id = report(client, world)
    assert act(client, hazard_id, "notify", {"contact_method": "phone"}, world["insp"]).status_code == 200
    after = photo(app, taken_at=later(DAY, hours=3), uploaded_by="afang")
    response = act(client, hazard_id, "submit_fix", {"photo_ids": [str(after)]}, world["owner"])
    assert response.status_code == 200, response.get_json()
    hazard = response.get_json()
    assert hazard["state"] == "fix_submitted"
    assert [(p["photo_id"], p["stage"]) for p in hazard["photos"]] == [(str(after), "fix")]
    assert "evidence_flags" not in hazard and "flagged" not in hazard


def test_owner_submitting_a_fix_for_another_shops_hazard_is_404(app, client, world):
    hazard_id = report(client, world, sign=world["other_sign"])
    act(client, hazard_id, "notify", {"contact_method": "phone"}, world["insp"])
    etag = client.get(f"/api/v1/hazards/{hazard_id}", headers=world["insp"]).headers["ETag"]
    after = photo(app, taken_at=later(DAY, hours=3), uploaded_by="afang")
    response = act(client, hazard_id, "submit_fix", {"photo_ids": [str(after)]}, world["owner"], etag)
    assert_problem(response, 404)
    assert client.get(f"/api/v1/hazards/{hazard_id}", headers=world["insp"]).get_json()["state"] == "notified"


def test_owner_cannot_submit_someone_elses_photo(app, client, world):
    hazard_id = report(client, world)
    act(client, hazard_id, "notify", {"contact_method": "phone"}, world["insp"])
    theirs = photo(app, taken_at=later(DAY, hours=1), uploaded_by="shen")
    response = act(client, hazard_id, "submit_fix", {"photo_ids": [str(theirs)]}, world["owner"])
    assert "photo_ids" in assert_problem(response, 422)["errors"]


# --- lighting hazards: verified only at night -------------------------------------------------


def lighting_fix_submitted(app, client, world, *, fix_taken_at):
    hazard_id = report(client, world, category="unlit_characters", severity="medium")
    act(
        client,
        hazard_id,
        "notify",
        {"contact_method": "phone", "immediate_measure": "power_off"},
        world["insp"],
    )
    after = photo(app, taken_at=fix_taken_at)
    assert act(client, hazard_id, "submit_fix", {"photo_ids": [str(after)]}, world["insp"]).status_code == 200
    return hazard_id


def test_daytime_verification_of_a_lighting_hazard_is_refused_with_a_reason(app, client, world, clock):
    hazard_id = lighting_fix_submitted(app, client, world, fix_taken_at=later(DAY, hours=2))  # 12:00 local
    clock.set(later(DAY, hours=4))  # 14:00 local
    response = act(client, hazard_id, "verify", {"result": "pass"}, world["insp"])
    problem = assert_problem(response, 422, "night-verification-required")
    assert "night" in problem["detail"] and {"patrol_id", "photo_ids"} <= set(problem["errors"])
    assert (
        client.get(f"/api/v1/hazards/{hazard_id}", headers=world["insp"]).get_json()["state"]
        == "fix_submitted"
    )
    # A day-time fail is allowed: it is the pass that needs the lights to be seen working.
    fail = act(client, hazard_id, "verify", {"result": "fail", "reason": "电源仍关闭"}, world["insp"])
    assert fail.status_code == 200


def test_lighting_hazard_passes_with_an_after_photo_taken_after_dark(app, client, world, clock):
    hazard_id = lighting_fix_submitted(app, client, world, fix_taken_at=later(NIGHT, minutes=30))
    clock.set(later(NIGHT, hours=14))  # next day, 11:00 local
    response = act(client, hazard_id, "verify", {"result": "pass"}, world["insp"])
    assert response.status_code == 200, response.get_json()
    history = client.get(f"/api/v1/hazards/{hazard_id}/events", headers=world["sup"]).get_json()["items"]
    verify = next(i for i in history if i.get("action") == "verify" and i["kind"] == "transition")
    assert verify["details"]["night_evidence"]["basis"] == "after_dark_photo"


def test_lighting_hazard_passes_on_a_night_patrol(app, client, world, clock):
    hazard_id = lighting_fix_submitted(app, client, world, fix_taken_at=later(DAY, hours=2))
    clock.set(NIGHT)
    patrol = client.post(
        "/api/v1/patrols", json={"zone_id": zone_id(client, world), "shift": "night"}, headers=world["insp"]
    ).get_json()
    clock.set(later(NIGHT, minutes=20))
    response = act(client, hazard_id, "verify", {"result": "pass", "patrol_id": patrol["id"]}, world["insp"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rectified_at"] == iso(later(NIGHT, minutes=20))


def test_lighting_hazard_fails_night_rule_with_a_day_patrol_or_an_old_night_photo(app, client, world, clock):
    clock.set(later(DAY, days=-1, hours=11))  # the night before the finding, 21:00 local
    old_night_photo = photo(app, taken_at=later(DAY, days=-1, hours=11))
    clock.set(DAY)
    hazard_id = lighting_fix_submitted(app, client, world, fix_taken_at=later(DAY, hours=2))
    patrol = client.post(
        "/api/v1/patrols", json={"zone_id": zone_id(client, world), "shift": "day"}, headers=world["insp"]
    ).get_json()
    clock.set(later(DAY, hours=3))
    body = {"result": "pass", "patrol_id": patrol["id"], "photo_ids": [str(old_night_photo)]}
    assert_problem(act(client, hazard_id, "verify", body, world["insp"]), 422, "night-verification-required")


def test_lighting_hazard_fixed_on_the_spot_on_the_night_patrol_it_was_found_on(app, client, world, clock):
    clock.set(NIGHT)
    patrol = client.post(
        "/api/v1/patrols", json={"zone_id": zone_id(client, world), "shift": "night"}, headers=world["insp"]
    ).get_json()
    hazard_id = report(client, world, category="unlit_characters", patrol_id=patrol["id"])
    after = photo(app, taken_at=later(NIGHT, minutes=10))
    clock.set(later(NIGHT, minutes=15))
    response = act(client, hazard_id, "fix_on_spot", {"photo_ids": [str(after)]}, world["insp"])
    assert response.status_code == 200, response.get_json()
    hazard = response.get_json()
    assert hazard["state"] == "rectified" and hazard["fixed_on_spot"] and hazard["shift"] == "night"


def zone_id(client, world) -> str:
    zones = client.get("/api/v1/zones", headers=world["sup"]).get_json()
    return next(z["id"] for z in zones if z["code"] == "GL")


def test_the_reports_hours_to_rectify_follow_verification_and_reopening(app, client, world, clock):
    hazard_id = bring_to(app, client, world, "rectified")
    hazard = client.get(f"/api/v1/hazards/{hazard_id}", headers=world["sup"]).get_json()
    found, rectified = (datetime.fromisoformat(hazard[k]) for k in ("found_at", "rectified_at"))
    hours = (rectified - found).total_seconds() / 3600
    report = client.get("/api/v1/reports/rectification", headers=world["sup"]).get_json()["groups"][0]
    assert report["rectified"] == 1 and report["median_hours"] == pytest.approx(hours, abs=0.01)
    clock.set(later(DAY, days=2))
    act(client, hazard_id, "reopen", {"reason": "再次破损"}, world["sup"])
    report = client.get("/api/v1/reports/rectification", headers=world["sup"]).get_json()["groups"][0]
    assert report["rectified"] == 0 and report["median_hours"] is None
