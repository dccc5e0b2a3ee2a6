"""The demo campaign loads once, with the ledger the campaign describes."""

from __future__ import annotations

from tests.helpers import bearer, sign_in


def test_demo_load_is_idempotent_and_prints_sign_ins(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "shops on the ledger: 990 (990 new)" in first.output
    assert "notices and commitments: 99 new; patrols: 21 new" in first.output
    assert "hazards: 11 new from day patrols, 9 new from night patrols" in first.output
    assert "captain" in first.output and "demo-captain-2024" in first.output
    second = runner.invoke(args=["demo", "load"])
    assert "shops on the ledger: 990 (0 new)" in second.output
    assert "zones: 3 (0 new)" in second.output
    assert "notices and commitments: 0 new; patrols: 0 new" in second.output

    captain = bearer(sign_in(client, "captain", "demo-captain-2024"))
    zones = client.get("/api/v1/zones", headers=captain).get_json()
    assert [z["code"] for z in zones] == ["DS", "GL", "KS"]
    near = client.get("/api/v1/shops?near=30.1815,120.4600&radius=100", headers=captain).get_json()["items"]
    assert near and all(s["zone"] == "GL" and s["distance_m"] <= 100 for s in near)
    ks = client.get("/api/v1/shops?zone=KS&limit=200", headers=captain).get_json()["items"]
    assert ks and all(s["credit_code"] and s["owner_phone"] for s in ks)

    # The campaign's published figures, exactly.
    report = client.get("/api/v1/reports/campaign", headers=captain).get_json()
    assert report["ledger"]["zones"] == 3 and report["ledger"]["shops_on_ledger"] == 990
    assert report["paperwork"]["notices_issued"] == 99 and report["paperwork"]["commitments_signed"] == 99
    assert report["paperwork"]["commitments_in_force"] == 99
    shifts = {g["group"]["shift"]: g for g in report["hazards"]["by_shift"]}
    assert (shifts["day"]["found"], shifts["day"]["rectified"], shifts["day"]["rectification_rate"]) == (
        11,
        11,
        100.0,
    )
    assert (shifts["night"]["found"], shifts["night"]["rectified"]) == (9, 9)
    night = [g for g in report["hazards"]["by_shift_and_category"] if g["group"]["shift"] == "night"]
    assert [(g["group"]["category"], g["found"]) for g in night] == [("unlit_characters", 9)]
    day_categories = {
        g["group"]["category"]
        for g in report["hazards"]["by_shift_and_category"]
        if g["group"]["shift"] == "day"
    }
    assert day_categories == {"damaged", "tilted", "loose_or_fallen", "rusted", "exposed_wiring"}

    summary = runner.invoke(args=["report", "summary"])
    assert summary.exit_code == 0, summary.output
    for line in (
        "片区 Areas                         3",
        "台账商铺 Shops on the ledger        990",
        "发放告知书 Notices issued           99",
        "签订承诺书 Commitments signed       99",
    ):
        assert line in summary.output
    assert "白班 day    发现 found   11, 已整改 rectified   11, 整改率 rate 100.0%" in summary.output
    assert "夜班 night  发现 found    9, 已整改 rectified    9, 整改率 rate 100.0%" in summary.output
    assert "断字缺亮   unlit_characters      9 /    9  100.0%" in summary.output


def test_users_create_command_adds_a_staff_account(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "load"])
    result = runner.invoke(
        args=["users", "create", "newbie", "--role", "inspector", "--zone", "KS", "--password-stdin"],
        input="a-very-long-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created inspector newbie in KS" in result.output
    bad = runner.invoke(
        args=["users", "create", "newbie", "--role", "inspector", "--password-stdin"],
        input="another-long-pw\n",
    )
    assert bad.exit_code != 0 and "taken" in bad.output
    short = runner.invoke(
        args=["users", "create", "x2", "--role", "admin", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0 and "password" in short.output
