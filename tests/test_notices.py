"""Notices: numbering, the exact text and its hash, delivery, the print page, the lists."""

from __future__ import annotations

import hashlib
import html
import re
import threading
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from signage.core.db import db
from signage.paperwork import numbering, printing
from signage.paperwork.models import Notice
from tests import factories
from tests.conftest import PG_URL
from tests.helpers import assert_problem, bearer, sign_in
from tests.paperwork_helpers import events, issue, make_shop, staff


@pytest.fixture
def shop_id(app):
    return make_shop(app)


@pytest.fixture
def inspector(app, client, shop_id):
    return staff(app, client, "insp_gl")


@pytest.fixture
def supervisor(app, client):
    return staff(app, client, "boss", "supervisor", zones=())


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_issue_notice_numbers_renders_and_hashes_it(client, shop_id, inspector, supervisor, clock):
    clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    response = client.post("/api/v1/notices", json={"shop_id": str(shop_id)}, headers=inspector)
    assert response.status_code == 201, response.get_json()
    notice = response.get_json()
    assert notice["number"] == "瓜沥执法告〔2026〕第0001号"
    assert (notice["year"], notice["seq"], notice["template_version"]) == (2026, 1, 1)
    assert notice["title"] == "户外广告设施和店招店牌规范设置告知书"
    assert "编号：瓜沥执法告〔2026〕第0001号" in notice["body"]
    assert "阿芳小吃店（地址：航坞路1号）" in notice["body"] and "2026年4月10日" in notice["body"]
    assert "{{" not in notice["body"]
    assert notice["content_sha256"] == sha256(notice["body"])
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{10}", notice["access_code"])
    assert notice["owner_url"] == f"http://127.0.0.1:5000/o/{notice['access_code']}"
    assert notice["place"] == "航坞路1号" and notice["delivery_method"] is None
    assert response.headers["ETag"] and response.headers["Location"].endswith(notice["id"])
    assert events(client, supervisor, "notice", notice["id"]) == ["issue"]


def test_issue_notices_numbers_consecutively_and_restarts_each_year(client, shop_id, inspector, clock):
    clock.set(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    numbers = [issue(client, inspector, shop_id)["number"] for _ in range(3)]
    assert numbers == [f"瓜沥执法告〔2026〕第{n:04d}号" for n in (1, 2, 3)]
    # 16:30 UTC on 31 December is already 1 January in Shanghai: the new year's first number.
    clock.set(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    inspector = bearer(sign_in(client, "insp_gl"))  # the first sign-in's session has ended by then
    assert issue(client, inspector, shop_id)["number"] == "瓜沥执法告〔2027〕第0001号"
    clock.set(datetime(2026, 12, 31, 15, 30, tzinfo=UTC))
    assert issue(client, inspector, shop_id)["number"] == "瓜沥执法告〔2026〕第0004号"


def test_notice_number_is_not_used_up_by_a_rolled_back_issue(app):
    with app.app_context():
        assert numbering.next_seq(2026) == 1
        db.session.rollback()
        assert numbering.next_seq(2026) == 1
        db.session.commit()
        assert numbering.next_seq(2026) == 2


@pytest.mark.skipif(
    not PG_URL, reason="SQLite lets one writer in at a time; concurrent issuing needs PostgreSQL row locks"
)
def test_concurrent_issuing_gets_distinct_consecutive_numbers(app, client, shop_id):
    threads_count, per_thread = 8, 5
    headers = []
    for i in range(threads_count):
        headers.append(staff(app, client, f"insp{i}"))
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, int]] = []
    errors: list[str] = []

    def work(h):
        local = app.test_client()
        barrier.wait()
        for _ in range(per_thread):
            response = local.post("/api/v1/notices", json={"shop_id": str(shop_id)}, headers=h)
            if response.status_code != 201:
                errors.append(response.get_data(as_text=True))
                continue
            body = response.get_json()
            results.append((body["year"], body["seq"]))

    threads = [threading.Thread(target=work, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    years = {year for year, _ in results}
    assert len(years) == 1
    assert sorted(seq for _, seq in results) == list(range(1, threads_count * per_thread + 1))


def test_issue_notice_outside_inspectors_zone_is_403(app, client, inspector):
    other = make_shop(app, "东山超市", zone_code="DS", road_name="东山路")
    assert_problem(client.post("/api/v1/notices", json={"shop_id": str(other)}, headers=inspector), 403)


def test_issue_notice_for_unknown_shop_is_422_naming_shop_id(client, inspector):
    response = client.post(
        "/api/v1/notices", json={"shop_id": "00000000-0000-4000-8000-000000000000"}, headers=inspector
    )
    assert "shop_id" in assert_problem(response, 422)["errors"]


def test_issue_notice_keeps_phone_id_time_and_converts_place(client, shop_id, inspector):
    ident = "6f1c1c1e-8a7b-4c7d-9a43-5f2f7b0c0d11"
    recorded = "2026-11-27T09:15:00+08:00"
    notice = issue(
        client,
        inspector,
        shop_id,
        id=ident,
        recorded_at=recorded,
        lat=30.1773,
        lng=120.4652,
        coord_system="gcj02",
        place="航坞路1号门口",
    )
    assert notice["id"] == ident and notice["place"] == "航坞路1号门口"
    assert datetime.fromisoformat(notice["recorded_at"]) == datetime.fromisoformat(recorded)
    # GCJ-02 is shifted a few hundred metres from WGS-84 around Hangzhou.
    assert 0.001 < abs(notice["lat"] - 30.1773) < 0.01 and 0.001 < abs(notice["lng"] - 120.4652) < 0.01
    again = {"shop_id": str(shop_id), "id": ident}
    assert_problem(client.post("/api/v1/notices", json=again, headers=inspector), 409, "id-conflict")


def test_issue_notice_with_lat_but_no_lng_is_422(client, shop_id, inspector):
    response = client.post("/api/v1/notices", json={"shop_id": str(shop_id), "lat": 30.1}, headers=inspector)
    assert "lat" in assert_problem(response, 422)["errors"]


def test_content_hash_matches_the_text_served_as_json_text_and_print(client, shop_id, inspector):
    notice = issue(client, inspector, shop_id)
    fetched = client.get(f"/api/v1/notices/{notice['id']}", headers=inspector).get_json()
    assert fetched["body"] == notice["body"] and sha256(fetched["body"]) == notice["content_sha256"]

    text = client.get(f"/api/v1/notices/{notice['id']}/text", headers=inspector)
    assert text.status_code == 200 and text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert hashlib.sha256(text.data).hexdigest() == notice["content_sha256"]
    assert text.headers["X-Content-SHA256"] == notice["content_sha256"]

    page = client.get(f"/api/v1/notices/{notice['id']}/print", headers=inspector).get_data(as_text=True)
    printed = re.search(r'<div class="text" id="notice-text">(.*?)</div>', page, re.S).group(1)
    assert sha256(html.unescape(printed)) == notice["content_sha256"]
    assert re.search(r'id="content-hash">([0-9a-f]{64})<', page).group(1) == notice["content_sha256"]


def test_print_page_holds_the_qr_code_and_no_external_url(app, client, shop_id, inspector):
    notice = issue(client, inspector, shop_id, delivery_method="in_person")
    response = client.get(f"/api/v1/notices/{notice['id']}/print", headers=inspector)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    with app.app_context():
        assert str(printing.qr_svg(notice["owner_url"])) in page  # the QR code encodes the owner link
    assert "@page { size: A4" in page
    for expected in (notice["number"], "阿芳小吃店", "航坞路1号", "沈阿芳", "当面送达", "v1"):
        assert expected in page
    code = notice["access_code"]
    assert f"{code[:5]}-{code[5:]}" in page
    assert not re.search(r"<(script|link|img|iframe|object)\b", page)
    assert not re.search(r"""(?:src|href|action)\s*=""", page)
    assert "url(" not in page and "@import" not in page
    assert re.findall(r"https?://[^\s<\"']+", page) == [
        notice["owner_url"]
    ]  # printed for typing in, not fetched
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_record_delivery_needs_if_match_and_happens_once_unless_refused(
    client, shop_id, inspector, supervisor
):
    notice = issue(client, inspector, shop_id)
    url = f"/api/v1/notices/{notice['id']}/delivery"
    assert_problem(client.post(url, json={"method": "refused"}, headers=inspector), 428)
    etag = client.get(f"/api/v1/notices/{notice['id']}", headers=inspector).headers["ETag"]
    refused = client.post(
        url, json={"method": "refused", "note": "店主不在"}, headers={**inspector, "If-Match": etag}
    )
    assert refused.status_code == 200 and refused.get_json()["delivery_method"] == "refused"
    assert_problem(
        client.post(url, json={"method": "in_person"}, headers={**inspector, "If-Match": etag}), 412
    )
    left = client.post(
        url, json={"method": "left_at_shop"}, headers={**inspector, "If-Match": refused.headers["ETag"]}
    )
    assert left.status_code == 200 and left.get_json()["delivery_method"] == "left_at_shop"
    body = assert_problem(
        client.post(
            url, json={"method": "in_person"}, headers={**inspector, "If-Match": left.headers["ETag"]}
        ),
        409,
        "already-delivered",
    )
    assert body["delivery_method"] == "left_at_shop"
    assert events(client, supervisor, "notice", notice["id"]) == ["issue", "deliver", "deliver"]


def test_issue_with_delivery_records_issue_then_delivery(client, shop_id, inspector, supervisor):
    notice = issue(client, inspector, shop_id, delivery_method="left_at_shop", delivery_note="放在收银台")
    assert notice["delivery_method"] == "left_at_shop" and notice["delivered_at"]
    assert notice["delivered_by_id"] == notice["issued_by_id"] and notice["delivery_note"] == "放在收银台"
    assert events(client, supervisor, "notice", notice["id"]) == ["issue", "deliver"]


def _numbers(client, headers, query: str) -> list[int]:
    response = client.get(f"/api/v1/notices?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [n["seq"] for n in response.get_json()["items"]]


def test_list_notices_filters_by_zone_road_day_delivery_and_acknowledgement(app, client, clock, inspector):
    a = make_shop(app, "阿芳小吃店")
    b = make_shop(app, "瓜沥五金", road_name="东灵路")
    c = make_shop(app, "东山超市", zone_code="DS", road_name="东山路")
    admin = staff(app, client, "root", "admin", ())
    clock.set(datetime(2026, 4, 9, 3, 0, tzinfo=UTC))
    issue(client, admin, a, delivery_method="in_person")  # 1
    clock.set(datetime(2026, 4, 10, 3, 0, tzinfo=UTC))
    issue(client, admin, b, delivery_method="refused")  # 2
    second = issue(client, admin, c)  # 3
    clock.set(datetime(2026, 4, 10, 17, 0, tzinfo=UTC))  # 11 April, 01:00 in Shanghai
    issue(client, admin, a)  # 4

    with app.app_context():
        # Set-up: the owner's acknowledgement (tested through the API in test_owner.py).
        db.session.execute(
            sa.update(Notice).where(Notice.id == uuid.UUID(second["id"])).values(acknowledged_at=clock())
        )
        db.session.commit()
        road_b = str(factories.road("GL", "东灵路").id)
    assert _numbers(client, admin, "") == [1, 2, 3, 4]
    assert _numbers(client, admin, "zone=GL") == [1, 2, 4]
    assert _numbers(client, admin, "zone=DS") == [3]
    assert _numbers(client, admin, f"road={road_b}") == [2]
    assert _numbers(client, admin, "issued_from=2026-04-10&issued_to=2026-04-10") == [2, 3]
    assert _numbers(client, admin, "issued_from=2026-04-11") == [4]
    assert _numbers(client, admin, "delivery=none") == [3, 4]
    assert _numbers(client, admin, "delivery=refused") == [2]
    assert _numbers(client, admin, "acknowledged=true") == [3]
    assert _numbers(client, admin, "acknowledged=false&zone=GL") == [1, 2, 4]
    assert _numbers(client, admin, f"shop_id={a}") == [1, 4]
    # An inspector of GL sees GL's notices only, and may not ask for another zone's.
    assert _numbers(client, inspector, "") == [1, 2, 4]
    assert_problem(client.get("/api/v1/notices?zone=DS", headers=inspector), 403, "outside-zone")
    assert "body" not in client.get("/api/v1/notices", headers=inspector).get_json()["items"][0]
    bad = client.get("/api/v1/notices?issued_from=2026-04-11&issued_to=2026-04-10", headers=inspector)
    assert "issued_to" in assert_problem(bad, 422)["errors"]


def test_list_notices_pages_through_every_notice_once(client, shop_id, inspector):
    for _ in range(7):
        issue(client, inspector, shop_id)
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/notices?limit=3" + (f"&cursor={cursor}" if cursor else ""), headers=inspector
        ).get_json()
        seen += [n["seq"] for n in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == list(range(1, 8))


def test_shops_without_notice_lists_open_shops_never_given_one(app, client, shop_id, inspector):
    issue(client, inspector, shop_id)
    make_shop(app, "瓜沥五金")
    make_shop(app, "已关门的店", status="closed")
    make_shop(app, "东山超市", zone_code="DS", road_name="东山路")
    names = [
        s["name"]
        for s in client.get("/api/v1/notices/shops-without-notice", headers=inspector).get_json()["items"]
    ]
    assert names == ["瓜沥五金"]  # the inspector's zone only
    admin = staff(app, client, "root", "admin", ())
    everywhere = client.get("/api/v1/notices/shops-without-notice", headers=admin).get_json()["items"]
    assert [s["name"] for s in everywhere] == sorted(["瓜沥五金", "东山超市"])
    only_gl = client.get("/api/v1/notices/shops-without-notice?zone=GL", headers=inspector).get_json()[
        "items"
    ]
    assert [s["name"] for s in only_gl] == ["瓜沥五金"]


def test_anonymous_cannot_list_or_read_notices(client, shop_id, inspector):
    notice = issue(client, inspector, shop_id)
    assert_problem(client.get("/api/v1/notices"), 401)
    assert_problem(client.get(f"/api/v1/notices/{notice['id']}/print"), 401)


def test_inspectors_read_notices_of_their_zones_only(app, client, inspector):
    other = make_shop(app, "东山超市", zone_code="DS", road_name="东山路")
    admin = staff(app, client, "root", "admin", ())
    supervisor = staff(app, client, "boss", "supervisor", ())
    notice = issue(client, admin, other)
    for suffix in ("", "/text", "/print"):
        body = assert_problem(client.get(f"/api/v1/notices/{notice['id']}{suffix}", headers=inspector), 403)
        assert "东山超市" not in str(body) and notice["access_code"] not in str(body)
        assert client.get(f"/api/v1/notices/{notice['id']}{suffix}", headers=supervisor).status_code == 200


def test_a_notice_id_already_taken_is_409_and_leaves_no_gap_in_the_numbers(app, client, shop_id, inspector):
    first = issue(client, inspector, shop_id, id=str(uuid.uuid4()))
    other = staff(app, client, "insp_two")  # another phone: its own idempotency scope
    taken = client.post("/api/v1/notices", json={"shop_id": str(shop_id), "id": first["id"]}, headers=other)
    assert assert_problem(taken, 409, "id-taken")["errors"] == {"id": ["is taken"]}
    after = issue(client, other, shop_id)
    assert int(after["number"][-5:-1]) == int(first["number"][-5:-1]) + 1
