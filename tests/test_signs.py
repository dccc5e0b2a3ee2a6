"""Signs, their content history, removal, and the ledger export."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from openpyxl import load_workbook

from signage.core.db import db
from signage.photos.models import Photo, PhotoUpload
from tests import factories
from tests.helpers import assert_problem, bearer, lose_the_answer, make_user, sign_in


@pytest.fixture
def setup(app, client):
    with app.app_context():
        shop = factories.shop("阿芳小吃店")
        ks_road = factories.road("KS", "坎红路")
        photos = []
        for i in range(3):
            photo = Photo(
                sha256=f"{i:064d}",
                mime="image/jpeg",
                size=1000,
                width=800,
                height=600,
                original_key=f"k{i}",
                thumbnail_key=f"t{i}",
                uploaded_by_id=shop.registered_by_id,
            )
            db.session.add(photo)
            photos.append(photo)
        db.session.commit()
        shop_id, ks_road_id = str(shop.id), str(ks_road.id)
        photo_ids = [str(p.id) for p in photos]
    inspector = make_user(app, "insp_gl", "inspector", zones=("GL",))
    make_user(app, "captain", "supervisor")
    with app.app_context():
        # The inspector sent these photos (a sign may only show a photo its registrar may see).
        db.session.add_all(PhotoUpload(photo_id=uuid.UUID(p), user_id=inspector) for p in photo_ids)
        db.session.commit()
        return {
            "shop": shop_id,
            "ks_road": ks_road_id,
            "photos": photo_ids,
            "inspector": bearer(sign_in(client, "insp_gl")),
            "supervisor": bearer(sign_in(client, "captain")),
        }


def _new_sign(client, setup, **overrides):
    body = {
        "shop_id": setup["shop"],
        "kind": "light_box",
        "text": "阿芳小吃",
        "width_m": 3.5,
        "height_m": 0.9,
        "height_above_ground_m": 3.2,
        "lit": True,
        "photo_id": setup["photos"][0],
    }
    body.update(overrides)
    return client.post("/api/v1/signs", json=body, headers=setup["inspector"])


def test_register_sign_of_a_shop_takes_its_place_and_first_version(client, setup):
    response = _new_sign(client, setup)
    assert response.status_code == 201, response.get_json()
    sign = response.get_json()
    assert sign["current_version_no"] == 1 and sign["current_photo_id"] == setup["photos"][0]
    assert sign["lat"] is not None and sign["status"] == "active"
    versions = client.get(f"/api/v1/signs/{sign['id']}/versions", headers=setup["inspector"]).get_json()
    assert [(v["version_no"], v["text"]) for v in versions] == [(1, "阿芳小吃")]


def test_a_new_version_whose_answer_was_lost_is_answered_from_the_record(app, client, setup):
    # A phone records the replaced sign, the worker dies before storing the answer, the phone
    # retries with the same key: it gets the version it made (200), not a second one or a 409.
    sign = _new_sign(client, setup).get_json()
    version_id = str(uuid.uuid4())
    body = {"id": version_id, "kind": "shop_sign", "text": "阿芳面馆", "photo_id": setup["photos"][1]}
    headers = {**setup["inspector"], "Idempotency-Key": "k-new-version"}
    first = client.post(f"/api/v1/signs/{sign['id']}/versions", json=body, headers=headers)
    assert first.status_code == 201 and first.headers["Location"].endswith(f"/versions/{version_id}")
    lose_the_answer(app, "k-new-version")
    again = client.post(f"/api/v1/signs/{sign['id']}/versions", json=body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    history = client.get(f"/api/v1/signs/{sign['id']}/versions", headers=setup["inspector"]).get_json()
    assert [v["version_no"] for v in history] == [2, 1]


def test_one_version_is_read_only_through_its_own_sign(client, setup):
    first = _new_sign(client, setup).get_json()
    other = _new_sign(client, setup, text="老王五金").get_json()
    [version] = client.get(f"/api/v1/signs/{first['id']}/versions", headers=setup["inspector"]).get_json()
    found = client.get(f"/api/v1/signs/{first['id']}/versions/{version['id']}", headers=setup["inspector"])
    assert found.status_code == 200 and found.get_json() == version
    elsewhere = client.get(
        f"/api/v1/signs/{other['id']}/versions/{version['id']}", headers=setup["inspector"]
    )
    assert_problem(elsewhere, 404)


def test_version_history_after_two_content_changes_is_newest_first(client, setup):
    created = _new_sign(client, setup)
    url = f"/api/v1/signs/{created.get_json()['id']}"
    etag = created.headers["ETag"]
    first = client.patch(
        url,
        json={"text": "阿芳小吃·老店", "photo_id": setup["photos"][1]},
        headers={**setup["inspector"], "If-Match": etag},
    )
    assert first.status_code == 200 and first.get_json()["current_version_no"] == 2
    second = client.post(
        f"{url}/versions",
        json={
            "kind": "shop_sign",
            "text": "阿芳面馆",
            "width_m": 5.0,
            "photo_id": setup["photos"][2],
            "note": "换新招牌",
        },
        headers=setup["inspector"],
    )
    assert second.status_code == 201, second.get_json()
    history = client.get(f"{url}/versions", headers=setup["inspector"]).get_json()
    assert [(v["version_no"], v["text"], v["photo_id"]) for v in history] == [
        (3, "阿芳面馆", setup["photos"][2]),
        (2, "阿芳小吃·老店", setup["photos"][1]),
        (1, "阿芳小吃", setup["photos"][0]),
    ]
    assert history[0]["kind"] == "shop_sign" and history[0]["width_m"] == 5.0 and history[1]["width_m"] == 3.5
    current = client.get(url, headers=setup["inspector"]).get_json()
    assert current["text"] == "阿芳面馆" and current["current_photo_id"] == setup["photos"][2]


def test_content_change_without_photo_is_422_naming_photo(client, setup):
    created = _new_sign(client, setup)
    url = f"/api/v1/signs/{created.get_json()['id']}"
    body = assert_problem(
        client.patch(
            url, json={"text": "新字"}, headers={**setup["inspector"], "If-Match": created.headers["ETag"]}
        ),
        422,
    )
    assert "photo_id" in body["errors"]


def test_non_content_change_makes_no_new_version(client, setup):
    created = _new_sign(client, setup)
    url = f"/api/v1/signs/{created.get_json()['id']}"
    response = client.patch(
        url, json={"owner_name": "沈"}, headers={**setup["inspector"], "If-Match": created.headers["ETag"]}
    )
    assert response.status_code == 200 and response.get_json()["current_version_no"] == 1


def test_a_photo_without_a_content_change_is_422_not_silently_dropped(client, setup):
    created = _new_sign(client, setup)
    url = f"/api/v1/signs/{created.get_json()['id']}"
    headers = {**setup["inspector"], "If-Match": created.headers["ETag"]}
    response = client.patch(url, json={"photo_id": setup["photos"][1], "note": "再拍一张"}, headers=headers)
    assert "photo_id" in assert_problem(response, 422)["errors"]
    sign = client.get(url, headers=setup["inspector"]).get_json()
    assert sign["current_version_no"] == 1 and sign["current_photo_id"] == setup["photos"][0]


def test_unknown_photo_or_shop_is_422_naming_the_field(client, setup):
    body = assert_problem(_new_sign(client, setup, photo_id="00000000-0000-4000-8000-000000000000"), 422)
    assert "photo_id" in body["errors"]
    body = assert_problem(_new_sign(client, setup, shop_id="00000000-0000-4000-8000-000000000000"), 422)
    assert "shop_id" in body["errors"]


def test_bad_sizes_and_kind_are_422(client, setup):
    body = assert_problem(_new_sign(client, setup, width_m=0, kind="neon"), 422)
    assert {"width_m", "kind"} <= set(body["errors"])


def test_standalone_billboard_needs_road_and_owner(client, setup, app):
    body = assert_problem(_new_sign(client, setup, shop_id=None), 422)
    assert "shop_id" in body["errors"]
    with app.app_context():
        road = factories.road("GL", "东灵路")
        db.session.commit()
        road_id = str(road.id)
    body = {"road_id": road_id, "kind": "billboard", "width_m": 8, "height_m": 4, "lat": 30.18, "lng": 120.46}
    assert_problem(client.post("/api/v1/signs", json=body, headers=setup["inspector"]), 422)
    response = client.post(
        "/api/v1/signs", json={**body, "owner_name": "某广告公司"}, headers=setup["inspector"]
    )
    assert response.status_code == 201 and response.get_json()["shop_id"] is None


def test_remove_sign_keeps_it_in_the_ledger_as_removed(client, setup):
    created = _new_sign(client, setup)
    url = f"/api/v1/signs/{created.get_json()['id']}"
    assert_problem(client.delete(url, headers=setup["inspector"]), 428)
    removed = client.delete(url, headers={**setup["inspector"], "If-Match": created.headers["ETag"]})
    assert removed.status_code == 200 and removed.get_json()["status"] == "removed"
    assert client.get(url, headers=setup["inspector"]).get_json()["removed_at"]
    listed = client.get("/api/v1/signs?status=removed", headers=setup["inspector"]).get_json()["items"]
    assert [s["id"] for s in listed] == [created.get_json()["id"]]
    again = client.delete(url, headers={**setup["inspector"], "If-Match": removed.headers["ETag"]})
    assert_problem(again, 409, "sign-removed")


def test_inspector_cannot_register_a_sign_outside_their_zone(client, setup):
    body = {
        "road_id": setup["ks_road"],
        "kind": "billboard",
        "width_m": 8,
        "height_m": 4,
        "owner_name": "x",
        "lat": 30.19,
        "lng": 120.40,
    }
    assert_problem(client.post("/api/v1/signs", json=body, headers=setup["inspector"]), 403, "outside-zone")


def test_sign_changes_are_audited_with_version_action(client, setup):
    created = _new_sign(client, setup)
    sign_id = created.get_json()["id"]
    client.patch(
        f"/api/v1/signs/{sign_id}",
        json={"text": "新", "photo_id": setup["photos"][1]},
        headers={**setup["inspector"], "If-Match": created.headers["ETag"]},
    )
    events = client.get(
        f"/api/v1/events?entity=signs&entity_id={sign_id}", headers=setup["supervisor"]
    ).get_json()["items"]
    assert [e["action"] for e in events] == ["create", "new_version"]
    assert events[1]["before"]["text"] == "阿芳小吃" and events[1]["after"]["text"] == "新"


def test_ledger_export_xlsx_opens_with_one_row_per_sign(app, client, setup):
    with app.app_context():
        from signage.ledger.models import Shop

        shop = db.session.get(Shop, uuid.UUID(setup["shop"]))
        for i in range(12):
            factories.sign(shop, text=f"招牌{i}", lit=i % 2 == 0)
        db.session.commit()
    with client.get("/api/v1/exports/ledger?format=xlsx", headers=setup["supervisor"]) as response:
        assert response.status_code == 200
        assert response.mimetype.endswith("spreadsheetml.sheet")
        data = response.data
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[0][0] == "区域 Zone" and len(rows) == 1 + 12
    assert {r[7] for r in rows[1:]} == {f"招牌{i}" for i in range(12)}
    assert {r[11] for r in rows[1:]} == {"是", "否"}


def test_ledger_export_csv_streams_the_same_rows(app, client, setup):
    _new_sign(client, setup)
    _new_sign(client, setup, text="第二块")
    response = client.get("/api/v1/exports/ledger?format=csv", headers=setup["supervisor"])
    assert response.is_streamed and response.mimetype == "text/csv"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 3 and rows[1][3] == "阿芳小吃店"
    assert rows[1][15].endswith(f"/api/v1/photos/{setup['photos'][0]}/content")


def test_ledger_export_csv_sends_its_rows_in_chunks_and_loses_none(client, setup, monkeypatch):
    from signage.ledger import exports

    monkeypatch.setattr(exports, "CSV_CHUNK", 300)  # a few rows a chunk
    for i in range(12):
        assert _new_sign(client, setup, text=f"分块{i}").status_code == 201
    response = client.get("/api/v1/exports/ledger?format=csv", headers=setup["supervisor"])
    chunks = [chunk.decode() for chunk in response.response]
    assert 4 <= len(chunks) < 13  # neither one chunk a row nor all in one
    assert all(chunk.endswith("\r\n") for chunk in chunks)  # whole rows only
    rows = list(csv.reader(io.StringIO("".join(chunks).lstrip("\ufeff"))))
    assert len(rows) == 13 and sorted(r[7] for r in rows[1:]) == sorted(f"分块{i}" for i in range(12))


def test_ledger_export_is_for_supervisors_and_admins(client, setup):
    assert_problem(client.get("/api/v1/exports/ledger", headers=setup["inspector"]), 403)
    assert_problem(client.get("/api/v1/exports/ledger?format=pdf", headers=setup["supervisor"]), 422)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_filtered_to_an_unknown_zone_is_422_not_a_broken_download(client, setup, fmt):
    response = client.get(f"/api/v1/exports/ledger?format={fmt}&zone=NOPE", headers=setup["supervisor"])
    assert "zone" in assert_problem(response, 422)["errors"]


def test_a_sign_id_taken_by_someone_else_is_409_id_taken(client, setup):
    sign_id = "0b8e0c55-61d4-4c6e-9f0a-5d2a7c3b1e01"
    assert _new_sign(client, setup, id=sign_id).status_code == 201
    body = {"id": sign_id, "shop_id": setup["shop"], "kind": "shop_sign", "width_m": 2, "height_m": 1}
    other = client.post("/api/v1/signs", json=body, headers=setup["supervisor"])
    assert assert_problem(other, 409, "id-taken")["errors"] == {"id": ["is taken"]}
    assert (
        client.get(f"/api/v1/signs/{sign_id}", headers=setup["supervisor"]).get_json()["kind"] == "light_box"
    )


def test_a_shops_sign_on_an_unknown_or_another_zones_road_is_422_naming_it(client, setup):
    unknown = _new_sign(client, setup, road_id="00000000-0000-4000-8000-000000000000")
    assert "road_id" in assert_problem(unknown, 422)["errors"]
    elsewhere = _new_sign(client, setup, road_id=setup["ks_road"])
    assert "road_id" in assert_problem(elsewhere, 422)["errors"]
