"""Versioned notice and commitment templates: an edit never changes a document already made."""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem
from tests.paperwork_helpers import commit, issue, make_shop, signature_id, staff

NEW_NOTICE = "编号：{{ notice_number }}\n{{ shop_name }}：请规范设置招牌。（第二版）\n{{ team_name }} {{ issued_date }}\n"


@pytest.fixture
def shop_id(app):
    return make_shop(app)


@pytest.fixture
def inspector(app, client, shop_id):
    return staff(app, client, "insp_gl")


@pytest.fixture
def admin(app, client):
    return staff(app, client, "root", "admin", zones=())


def _new_version(client, admin, kind="notice", body=NEW_NOTICE, title="告知书（第二版）"):
    return client.post("/api/v1/templates", json={"kind": kind, "title": title, "body": body}, headers=admin)


def test_list_templates_starts_with_version_one_of_each_kind(client, inspector):
    response = client.get("/api/v1/templates", headers=inspector)
    assert response.status_code == 200
    assert [(t["kind"], t["version_no"]) for t in response.get_json()] == [("commitment", 1), ("notice", 1)]
    notice_v1 = client.get("/api/v1/templates?kind=notice", headers=inspector).get_json()[0]
    assert "{{ notice_number }}" in notice_v1["body"]
    one = client.get(f"/api/v1/templates/{notice_v1['id']}", headers=inspector)
    assert one.status_code == 200 and one.get_json() == notice_v1


def test_template_edit_leaves_issued_notices_unchanged(client, shop_id, inspector, admin):
    before = issue(client, inspector, shop_id)
    response = _new_version(client, admin)
    assert response.status_code == 201, response.get_json()
    v2 = response.get_json()
    assert (v2["kind"], v2["version_no"]) == ("notice", 2) and v2["created_by_id"]

    after = client.get(f"/api/v1/notices/{before['id']}", headers=inspector).get_json()
    for key in ("body", "content_sha256", "template_id", "template_version", "title", "number"):
        assert after[key] == before[key], key
    printed = client.get(f"/api/v1/notices/{before['id']}/print", headers=inspector).get_data(as_text=True)
    assert "（第二版）" not in printed and "notice v1" in printed

    later = issue(client, inspector, shop_id)
    assert later["template_id"] == v2["id"] and later["template_version"] == 2
    assert later["title"] == "告知书（第二版）"
    assert later["body"].startswith(
        f"编号：{later['number']}\n阿芳小吃店：请规范设置招牌。（第二版）\n瓜沥镇综合行政执法队 "
    )
    assert later["content_sha256"] != before["content_sha256"]


def test_commitment_template_edit_applies_to_later_commitments_only(client, shop_id, inspector, admin):
    sig = signature_id(client, inspector)
    first = commit(client, inspector, shop_id, sig)
    body = (
        "{{ shop_name }} 承诺：招牌安全由{{ signer_name }}（{{ signer_role }}）负责，至{{ valid_until }}。\n"
    )
    assert _new_version(client, admin, "commitment", body, "承诺书（第二版）").status_code == 201
    second = commit(client, inspector, shop_id, sig)
    assert second["template_version"] == 2 and second["body"].startswith(
        "阿芳小吃店 承诺：招牌安全由沈阿芳（店主）负责"
    )
    old = client.get(f"/api/v1/commitments/{first['id']}", headers=inspector).get_json()
    assert old["body"] == first["body"] and old["template_version"] == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{{ owner_secret }}", "unknown placeholder"),
        ("{% if shop_name %}没有结束", "syntax error"),
        ("{{ shop_name.__class__.__mro__ }}", "fails to render"),
        ("{{ signer_name }}", "unknown placeholder"),  # a commitment placeholder in a notice
    ],
)
def test_template_that_would_not_render_is_422_naming_body(client, admin, body, reason):
    problem = assert_problem(_new_version(client, admin, body=body), 422)
    assert reason in problem["errors"]["body"][0]


def test_only_admins_create_template_versions(client, inspector):
    assert_problem(_new_version(client, inspector), 403)


def test_unknown_template_is_404(client, inspector):
    assert_problem(
        client.get("/api/v1/templates/00000000-0000-4000-8000-000000000000", headers=inspector), 404
    )
