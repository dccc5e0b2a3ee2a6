"""Commitments: signature uploads, recording, supersession, expiry and the lists."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from signage.core.db import db
from signage.photos.models import Photo
from tests.helpers import assert_problem
from tests.paperwork_helpers import commit, events, make_shop, png, signature_id, staff, upload_signature


@pytest.fixture
def shop_id(app):
    return make_shop(app)


@pytest.fixture
def inspector(app, client, shop_id):
    return staff(app, client, "insp_gl")


@pytest.fixture
def supervisor(app, client):
    return staff(app, client, "boss", "supervisor", zones=())


def _photo_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Photo))


def test_upload_signature_then_record_commitment(client, shop_id, inspector, supervisor, clock):
    upload = upload_signature(client, inspector)
    assert upload.status_code == 201, upload.get_json()
    photo = upload.get_json()
    assert photo["mime"] == "image/png" and (photo["width"], photo["height"]) == (240, 80)
    clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    response = client.post(
        "/api/v1/commitments",
        json={
            "shop_id": str(shop_id),
            "signer_name": "沈阿芳",
            "signer_role": "店主",
            "signature_photo_id": photo["id"],
        },
        headers=inspector,
    )
    assert response.status_code == 201, response.get_json()
    c = response.get_json()
    assert c["status"] == "in_force" and c["template_version"] == 1
    assert (c["valid_from"], c["valid_until"]) == ("2026-04-10", "2027-04-10")
    assert c["title"] == "店招店牌安全责任承诺书"
    assert "承诺人：沈阿芳（店主）" in c["body"] and "本承诺有效期至2027年4月10日" in c["body"]
    assert c["content_sha256"] == hashlib.sha256(c["body"].encode()).hexdigest()
    assert c["signature_photo_id"] == photo["id"] and c["paper_photo_id"] is None
    assert c["superseded_at"] is None and response.headers["ETag"]
    assert events(client, supervisor, "commitment", c["id"]) == ["sign"]


def test_commitment_with_photo_of_signed_paper_and_own_validity(client, shop_id, inspector):
    c = commit(
        client,
        inspector,
        shop_id,
        None,
        paper_photo_id=signature_id(client, inspector, "white"),
        signed_at="2026-11-01T10:00:00+08:00",
        valid_until="2027-06-30",
    )
    assert c["signature_photo_id"] is None and c["paper_photo_id"]
    assert (c["valid_from"], c["valid_until"]) == ("2026-11-01", "2027-06-30")


def test_uploading_the_same_image_twice_stores_it_once(app, client, inspector):
    first = signature_id(client, inspector)
    assert signature_id(client, inspector) == first
    assert _photo_count(app) == 1


@pytest.mark.parametrize(
    ("data", "status"),
    [(b"", 422), (b"%PDF-1.7 not an image at all", 415), (png()[:60], 422)],
    ids=["empty", "pdf", "corrupt-png"],
)
def test_signature_upload_that_is_not_an_image_is_refused(app, client, inspector, data, status):
    body = assert_problem(upload_signature(client, inspector, data), status)
    assert "file" in body["errors"]
    assert _photo_count(app) == 0


def test_signature_upload_without_file_is_422(client, inspector):
    response = client.post(
        "/api/v1/commitments/signatures", data={}, headers=inspector, content_type="multipart/form-data"
    )
    assert "file" in assert_problem(response, 422)["errors"]


def test_commitment_without_or_with_unknown_photo_is_422_naming_the_field(client, shop_id, inspector):
    base = {"shop_id": str(shop_id), "signer_name": "沈阿芳", "signer_role": "店主"}
    body = assert_problem(client.post("/api/v1/commitments", json=base, headers=inspector), 422)
    assert "signature_photo_id" in body["errors"]
    unknown = "00000000-0000-4000-8000-000000000000"
    for field in ("signature_photo_id", "paper_photo_id"):
        response = client.post("/api/v1/commitments", json={**base, field: unknown}, headers=inspector)
        assert list(assert_problem(response, 422)["errors"]) == [field]


def test_commitment_validity_before_signing_is_422(client, shop_id, inspector):
    response = client.post(
        "/api/v1/commitments",
        json={
            "shop_id": str(shop_id),
            "signer_name": "沈阿芳",
            "signer_role": "店主",
            "signature_photo_id": signature_id(client, inspector),
            "signed_at": "2026-04-10T10:00:00+08:00",
            "valid_until": "2026-04-09",
        },
        headers=inspector,
    )
    assert "valid_until" in assert_problem(response, 422)["errors"]


def test_commitment_outside_inspectors_zone_is_403(app, client, inspector):
    other = make_shop(app, "东山超市", zone_code="DS", road_name="东山路")
    body = {"shop_id": str(other), "signer_name": "陈", "signer_role": "店长"}
    body["signature_photo_id"] = signature_id(client, inspector)
    assert_problem(client.post("/api/v1/commitments", json=body, headers=inspector), 403, "outside-zone")


def test_new_commitment_supersedes_the_one_in_force_which_stays_in_history(
    client, shop_id, inspector, supervisor, clock
):
    sig = signature_id(client, inspector)
    clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    first = commit(client, inspector, shop_id, sig)
    clock.set(datetime(2026, 10, 1, 2, 0, tzinfo=UTC))
    second = commit(client, inspector, shop_id, sig, signer_name="沈小芳", signer_role="店长")

    old = client.get(f"/api/v1/commitments/{first['id']}", headers=inspector).get_json()
    assert old["status"] == "superseded" and old["superseded_by_id"] == second["id"]
    assert datetime.fromisoformat(old["superseded_at"]) == datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
    assert old["body"] == first["body"]  # its text never changes
    assert second["status"] == "in_force" and second["superseded_at"] is None
    listed = client.get(f"/api/v1/commitments?shop_id={shop_id}", headers=inspector).get_json()["items"]
    assert [(c["id"], c["status"]) for c in listed] == [
        (first["id"], "superseded"),
        (second["id"], "in_force"),
    ]
    in_force = client.get("/api/v1/commitments?status=in_force", headers=inspector).get_json()["items"]
    assert [c["id"] for c in in_force] == [second["id"]]
    assert events(client, supervisor, "commitment", first["id"]) == ["sign", "supersede"]
    assert events(client, supervisor, "commitment", second["id"]) == ["sign"]


def test_commitment_signed_before_the_one_in_force_goes_into_history(client, shop_id, inspector):
    sig = signature_id(client, inspector)
    newer = commit(client, inspector, shop_id, sig, signed_at="2026-11-20T10:00:00+08:00")
    # A phone that was offline syncs a commitment signed earlier: it must not replace the newer one.
    older = commit(client, inspector, shop_id, sig, signed_at="2026-11-01T10:00:00+08:00")
    assert older["status"] == "superseded" and older["superseded_by_id"] == newer["id"]
    current = client.get(f"/api/v1/commitments/{newer['id']}", headers=inspector).get_json()
    assert current["status"] == "in_force"


def test_expiring_list_holds_commitments_in_force_lapsing_within_n_days(app, client, inspector, clock):
    shops = {name: make_shop(app, name) for name in ("甲店", "乙店", "丙店", "丁店")}
    sig = signature_id(client, inspector)
    clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))  # 10 April in Shanghai
    soon = commit(client, inspector, shops["甲店"], sig, valid_until="2026-04-20")
    later = commit(client, inspector, shops["乙店"], sig, valid_until="2026-05-20")
    commit(client, inspector, shops["丙店"], sig, signed_at="2025-01-01T10:00:00+08:00")  # lapsed in 2026-01
    replaced = commit(client, inspector, shops["丁店"], sig, valid_until="2026-04-15")
    commit(client, inspector, shops["丁店"], sig)  # supersedes it: a year from today

    def expiring(days: int) -> list[str]:
        response = client.get(f"/api/v1/commitments?expiring_within={days}", headers=inspector)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["items"]]

    assert expiring(10) == [soon["id"]]
    assert expiring(40) == [soon["id"], later["id"]]  # soonest first
    assert replaced["id"] not in expiring(400)
    expired = client.get("/api/v1/commitments?status=expired", headers=inspector).get_json()["items"]
    assert [c["shop_name"] for c in expired] == ["丙店"]

    clock.set(datetime(2026, 4, 21, 2, 0, tzinfo=UTC))  # 甲店's has now lapsed
    assert expiring(40) == [later["id"]]
    statuses = {
        c["shop_name"]: c["status"]
        for c in client.get("/api/v1/commitments?status=expired", headers=inspector).get_json()["items"]
    }
    assert statuses == {"甲店": "expired", "丙店": "expired"}


def test_expiring_list_pages_in_order(app, client, inspector, clock):
    sig = signature_id(client, inspector)
    clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    expected = []
    for i in range(5):
        shop = make_shop(app, f"店{i}")
        until = date(2026, 4, 11) + timedelta(days=4 - i)
        expected.append(
            (until.isoformat(), commit(client, inspector, shop, sig, valid_until=until.isoformat())["id"])
        )
    seen, cursor = [], None
    while True:
        url = "/api/v1/commitments?expiring_within=30&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=inspector).get_json()
        seen += [(c["valid_until"], c["id"]) for c in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == sorted(expected)


def test_list_commitments_filters_by_zone_and_signing_days(app, client, inspector):
    ds = make_shop(app, "东山超市", zone_code="DS", road_name="东山路")
    gl = make_shop(app, "瓜沥五金")
    admin = staff(app, client, "root", "admin", ())
    sig = signature_id(client, admin)
    a = commit(client, admin, gl, sig, signed_at="2026-04-09T23:30:00+08:00")
    b = commit(client, admin, ds, sig, signed_at="2026-04-10T00:30:00+08:00")

    def ids(query: str, headers=admin) -> list[str]:
        return [
            c["id"] for c in client.get(f"/api/v1/commitments?{query}", headers=headers).get_json()["items"]
        ]

    assert ids("zone=GL") == [a["id"]] and ids("zone=DS") == [b["id"]]
    assert ids("", inspector) == [a["id"]]  # an inspector of GL sees GL's only
    assert_problem(client.get("/api/v1/commitments?zone=DS", headers=inspector), 403, "outside-zone")
    assert ids("signed_from=2026-04-10") == [b["id"]]
    assert ids("signed_to=2026-04-09") == [a["id"]]
    assert "body" not in client.get("/api/v1/commitments", headers=inspector).get_json()["items"][0]


def test_shops_without_commitment_lists_those_never_signed_or_lapsed(app, client, inspector, clock):
    sig = signature_id(client, inspector)
    signed = make_shop(app, "甲店")
    lapsed = make_shop(app, "乙店")
    make_shop(app, "丙店")
    make_shop(app, "关门店", status="closed")
    clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    commit(client, inspector, signed, sig)
    commit(client, inspector, lapsed, sig, valid_until="2026-04-12")
    url = "/api/v1/commitments/shops-without-commitment?zone=GL"
    names = lambda: sorted(s["name"] for s in client.get(url, headers=inspector).get_json()["items"])  # noqa: E731
    assert names() == sorted(["丙店", "阿芳小吃店"])
    clock.set(datetime(2026, 4, 13, 2, 0, tzinfo=UTC))
    assert names() == sorted(["丙店", "乙店", "阿芳小吃店"])


def test_signature_upload_needs_a_staff_account(client):
    assert_problem(upload_signature(client, {}, png()), 401)
