"""The demo campaign loads once, with the ledger the campaign describes."""

from __future__ import annotations

from tests.helpers import bearer, sign_in


def test_demo_load_is_idempotent_and_prints_sign_ins(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "shops on the ledger: 990 (990 new)" in first.output
    assert "captain" in first.output and "demo-captain-2024" in first.output
    second = runner.invoke(args=["demo", "load"])
    assert "shops on the ledger: 990 (0 new)" in second.output
    assert "zones: 3 (0 new)" in second.output

    captain = bearer(sign_in(client, "captain", "demo-captain-2024"))
    zones = client.get("/api/v1/zones", headers=captain).get_json()
    assert [z["code"] for z in zones] == ["DS", "GL", "KS"]
    near = client.get("/api/v1/shops?near=30.1815,120.4600&radius=100", headers=captain).get_json()["items"]
    assert near and all(s["zone"] == "GL" and s["distance_m"] <= 100 for s in near)
    ks = client.get("/api/v1/shops?zone=KS&limit=200", headers=captain).get_json()["items"]
    assert all(s["credit_code"] and s["owner_phone"] for s in ks)


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
