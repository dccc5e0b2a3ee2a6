"""Photos through HTTP: upload once by hash, refuse what is not a photo, serve to those allowed."""

from __future__ import annotations

import errno
import io
import random
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from signage.accounts import service as accounts
from signage.accounts import tokens
from signage.accounts.models import owner_shops
from signage.core.db import db
from signage.ledger.models import SignVersion
from signage.photos.models import Photo, PhotoUpload
from signage.photos.storage import StorageFull
from tests import factories
from tests.helpers import assert_problem, bearer, make_user, sign_in

RED = (210, 30, 30)
BLUE = (30, 30, 210)


# --------------------------------------------------------------------------- #
# images, made here with Pillow


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg(size=(64, 48), colour=RED, **params) -> bytes:
    return encode(Image.new("RGB", size, colour), "JPEG", **params)


def png(size=(64, 48), colour=BLUE) -> bytes:
    return encode(Image.new("RGB", size, colour), "PNG")


def noisy_png(size=(64, 64)) -> bytes:
    """A PNG that does not compress: about 3 bytes a pixel."""
    pixels = random.Random(7).randbytes(size[0] * size[1] * 3)
    return encode(Image.frombytes("RGB", size, pixels), "PNG")


def camera_exif(*, orientation=None, taken=None, offset=None, lat=None, lng=None) -> Image.Exif:
    """EXIF as a phone camera writes it (GPS in degrees, minutes, seconds)."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if taken is not None:
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
        exif_ifd[ExifTags.Base.DateTimeOriginal] = taken
        if offset is not None:
            exif_ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if lat is not None:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(
            {
                ExifTags.GPS.GPSLatitudeRef: "N",
                ExifTags.GPS.GPSLatitude: lat,
                ExifTags.GPS.GPSLongitudeRef: "E",
                ExifTags.GPS.GPSLongitude: lng,
            }
        )
    return exif


def dimensions(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


# --------------------------------------------------------------------------- #
# set-up


@pytest.fixture
def staff(app, client):
    make_user(app, "inspector1", "inspector")
    return bearer(sign_in(client, "inspector1"))


@pytest.fixture
def admin(app, client):
    make_user(app, "root", "admin")
    return bearer(sign_in(client, "root"))


def owner_of(app, username: str, *shop_ids: uuid.UUID) -> dict:
    """An owner account bound to shops, signed in (owners have no password; the code sign-in comes later)."""
    with app.app_context():
        user = accounts.create_user(username=username, role="owner")
        for shop_id in shop_ids:
            db.session.execute(sa.insert(owner_shops).values(user_id=user.id, shop_id=shop_id))
        pair = tokens.start_session(user)
        db.session.commit()
        return bearer(pair)


def upload(client, headers, data: bytes, filename="sign.jpg", content_type="image/jpeg", **form):
    return client.post(
        "/api/v1/photos",
        data={"file": (io.BytesIO(data), filename, content_type), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


def uploaded_id(client, headers, data: bytes, **form) -> str:
    response = upload(client, headers, data, **form)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def stored_files(app) -> list[str]:
    root = Path(app.config["MEDIA_ROOT"])
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


class FullStore:
    """A photo store whose disk is full: a fake of the outside resource, not of our code."""

    def __init__(self, config):
        self.config = config

    def put(self, key: str, data: bytes) -> None:
        raise StorageFull(errno.ENOSPC, "No space left on device")

    def get(self, key: str) -> bytes:
        raise KeyError(key)

    def exists(self, key: str) -> bool:
        return False

    def delete(self, key: str) -> None:
        pass


# --------------------------------------------------------------------------- #
# upload: stored once


def test_upload_same_photo_twice_stores_it_once(app, client, staff):
    data = jpeg()
    first = upload(client, staff, data)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert first.headers["Location"] == f"/api/v1/photos/{body['id']}"
    assert body["mime"] == "image/jpeg" and body["size"] == len(data)
    assert (body["width"], body["height"]) == (64, 48)
    files = stored_files(app)
    assert len([f for f in files if f.startswith("original/")]) == 1

    second = upload(client, staff, data, filename="again.jpg")
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["id"] == body["id"]
    assert "Location" not in second.headers
    assert count(app, Photo) == 1
    assert stored_files(app) == files


def test_upload_same_bytes_with_another_id_answers_the_stored_id(client, staff):
    data = jpeg()
    first_id = uploaded_id(client, staff, data, id=str(uuid.uuid4()))
    again = upload(client, staff, data, id=str(uuid.uuid4()))
    assert again.status_code == 200
    assert again.get_json()["id"] == first_id


def test_upload_keeps_the_client_id_and_recorded_at(client, staff):
    photo_id = str(uuid.uuid4())
    response = upload(client, staff, jpeg(), id=photo_id, recorded_at="2026-03-15T21:30:00+08:00")
    assert response.status_code == 201, response.get_json()
    body = client.get(f"/api/v1/photos/{photo_id}", headers=staff).get_json()
    assert body["id"] == photo_id
    assert body["recorded_at"] == "2026-03-15T13:30:00+00:00"


def test_upload_with_an_id_taken_by_other_bytes_is_409(client, staff):
    photo_id = str(uuid.uuid4())
    uploaded_id(client, staff, jpeg(colour=RED), id=photo_id)
    body = assert_problem(upload(client, staff, jpeg(colour=BLUE), id=photo_id), 409, "id-taken")
    assert "id" in body["errors"]


def test_upload_records_an_audit_event(client, staff, admin):
    photo_id = uploaded_id(client, staff, jpeg())
    events = client.get(f"/api/v1/events?entity=photos&entity_id={photo_id}", headers=admin).get_json()
    assert [e["action"] for e in events["items"]] == ["create"]
    assert events["items"][0]["actor_role"] == "inspector"
    assert events["items"][0]["after"]["sha256"]


# --------------------------------------------------------------------------- #
# upload: refused


def test_upload_png_named_jpg_is_stored_as_png(client, staff):
    response = upload(client, staff, png(), filename="shop.jpg", content_type="image/jpeg")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["mime"] == "image/png"
    content = client.get(response.get_json()["urls"]["content"], headers=staff)
    assert content.mimetype == "image/png"


def test_upload_text_file_named_jpg_is_415(app, client, staff):
    data = "这不是照片 / not a photo\n".encode()
    body = assert_problem(upload(client, staff, data, filename="photo.jpg"), 415, "unsupported-image-type")
    assert "file" in body["errors"]
    assert count(app, Photo) == 0


def test_upload_50_megapixel_bomb_is_422(app, client, staff):
    bomb = encode(Image.new("1", (10_000, 5_000)), "PNG")  # a few kB on the wire, 50 MP decoded
    body = assert_problem(upload(client, staff, bomb, filename="bomb.png"), 422, "invalid-image")
    assert "pixels" in body["errors"]["file"][0]
    assert count(app, Photo) == 0 and stored_files(app) == []


@pytest.mark.parametrize("app_config", [{"PHOTO_MAX_BYTES": 4096}])
def test_upload_over_the_size_limit_is_413(app, client, staff):
    data = noisy_png()
    assert len(data) > 4096
    body = assert_problem(upload(client, staff, data, filename="big.png"), 413, "photo-too-large")
    assert "4096" in body["detail"] and "file" in body["errors"]
    assert count(app, Photo) == 0


def test_upload_empty_file_is_422(client, staff):
    body = assert_problem(upload(client, staff, b"", filename="empty.jpg"), 422)
    assert "file" in body["errors"]


def test_upload_without_the_file_field_is_422_naming_file(client, staff):
    response = client.post(
        "/api/v1/photos",
        data={"recorded_at": "2026-03-15T21:30:00+08:00"},
        headers=staff,
        content_type="multipart/form-data",
    )
    body = assert_problem(response, 422)
    assert list(body["errors"]) == ["file"]


def test_upload_file_sent_as_a_text_field_is_422_naming_file(client, staff):
    response = client.post(
        "/api/v1/photos", data={"file": "abc"}, headers=staff, content_type="multipart/form-data"
    )
    body = assert_problem(response, 422)
    assert "file" in body["errors"]


def test_upload_with_an_unknown_form_field_is_422(client, staff):
    body = assert_problem(upload(client, staff, jpeg(), colour="red"), 422)
    assert "colour" in body["errors"]


def test_upload_json_body_is_415(client, staff):
    response = client.post("/api/v1/photos", json={"file": "aGVsbG8="}, headers=staff)
    assert_problem(response, 415)


@pytest.mark.parametrize("app_config", [{"PHOTO_STORAGE": FullStore}])
def test_upload_to_a_full_store_is_507_and_leaves_no_row(app, client, staff):
    assert_problem(upload(client, staff, jpeg()), 507, "storage-full")
    assert count(app, Photo) == 0
    assert count(app, PhotoUpload) == 0


# --------------------------------------------------------------------------- #
# metadata and EXIF


def test_upload_applies_exif_orientation(client, staff):
    # Stored 80×40 by the camera, but EXIF says "turn 90° clockwise to view".
    data = jpeg(size=(80, 40), exif=camera_exif(orientation=6))
    body = upload(client, staff, data).get_json()
    assert (body["width"], body["height"]) == (40, 80)
    content = client.get(body["urls"]["content"], headers=staff)
    assert content.status_code == 200 and content.mimetype == "image/jpeg"
    assert dimensions(content.data) == (40, 80)
    thumbnail = client.get(body["urls"]["thumbnail"], headers=staff)
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert dimensions(thumbnail.data) == (40, 80)


def test_upload_keeps_exif_time_and_gps(client, staff):
    exif = camera_exif(
        taken="2026:03:15 21:30:00", offset="+08:00", lat=(30.0, 10.0, 48.0), lng=(120.0, 27.0, 36.0)
    )
    body = upload(client, staff, jpeg(exif=exif)).get_json()
    fetched = client.get(f"/api/v1/photos/{body['id']}", headers=staff).get_json()
    assert fetched["taken_at"] == "2026-03-15T13:30:00+00:00"
    assert fetched["gps_lat"] == pytest.approx(30.18)
    assert fetched["gps_lng"] == pytest.approx(120.46)


def test_get_photo_metadata_lists_every_field(app, client, staff):
    body = upload(client, staff, jpeg()).get_json()
    response = client.get(f"/api/v1/photos/{body['id']}", headers=staff)
    assert response.status_code == 200
    fetched = response.get_json()
    assert set(fetched) == {
        "id",
        "sha256",
        "mime",
        "size",
        "width",
        "height",
        "taken_at",
        "gps_lat",
        "gps_lng",
        "uploaded_by_id",
        "created_at",
        "recorded_at",
        "urls",
    }
    assert fetched["taken_at"] is None and fetched["gps_lat"] is None
    assert response.headers["ETag"] == f'"{fetched["sha256"]}"'
    assert fetched["urls"] == {
        "content": f"/api/v1/photos/{body['id']}/content",
        "thumbnail": f"/api/v1/photos/{body['id']}/thumbnail",
    }


def test_get_content_serves_the_original_with_etag_and_private_cache(client, staff):
    data = png()
    body = upload(client, staff, data, filename="x.png", content_type="image/png").get_json()
    content = client.get(body["urls"]["content"], headers=staff)
    assert content.status_code == 200
    assert content.data == data  # upright already: the original, untouched
    assert content.mimetype == "image/png"
    assert content.headers["ETag"] == f'"{body["sha256"]}"'
    assert "private" in content.headers["Cache-Control"]
    assert "no-store" not in content.headers["Cache-Control"]
    again = client.get(body["urls"]["content"], headers={**staff, "If-None-Match": content.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_get_content_whose_file_was_lost_is_404_not_500(app, client, staff):
    body = upload(client, staff, png(), filename="x.png", content_type="image/png").get_json()
    for path in Path(app.config["MEDIA_ROOT"]).rglob("*"):
        if path.is_file():
            path.unlink()
    assert_problem(client.get(body["urls"]["content"], headers=staff), 404, "photo-file-missing")


def test_get_unknown_photo_is_404(client, staff):
    assert_problem(client.get(f"/api/v1/photos/{uuid.uuid4()}", headers=staff), 404)
    assert_problem(client.get(f"/api/v1/photos/{uuid.uuid4()}/content", headers=staff), 404)


# --------------------------------------------------------------------------- #
# who may see a photo


def test_anonymous_cannot_upload_or_read_photos(client, staff):
    photo_id = uploaded_id(client, staff, jpeg())
    assert_problem(upload(client, {}, png()), 401)
    for suffix in ("", "/content", "/thumbnail"):
        assert_problem(client.get(f"/api/v1/photos/{photo_id}{suffix}"), 401)


def test_staff_read_photos_uploaded_by_others(app, client, staff):
    photo_id = uploaded_id(client, staff, jpeg())
    make_user(app, "captain", "supervisor")
    supervisor = bearer(sign_in(client, "captain"))
    assert client.get(f"/api/v1/photos/{photo_id}", headers=supervisor).status_code == 200
    assert client.get(f"/api/v1/photos/{photo_id}/thumbnail", headers=supervisor).status_code == 200


def test_owner_reads_their_shops_sign_photos_but_not_another_shops(app, client, staff):
    current = uploaded_id(client, staff, jpeg(colour=RED))
    earlier = uploaded_id(client, staff, jpeg(colour=(30, 160, 30)))
    elsewhere = uploaded_id(client, staff, jpeg(colour=BLUE))
    with app.app_context():
        mine = factories.shop("阿芳小吃店")
        theirs = factories.shop("老王五金店", address="航坞路9号")
        sign = factories.sign(mine, current_photo_id=uuid.UUID(current))
        db.session.add(
            SignVersion(
                sign_id=sign.id,
                version_no=2,
                kind=sign.kind,
                text="阿芳小吃",
                width_m=sign.width_m,
                height_m=sign.height_m,
                lit=sign.lit,
                photo_id=uuid.UUID(earlier),
                recorded_by_id=sign.created_by_id,
            )
        )
        factories.sign(theirs, current_photo_id=uuid.UUID(elsewhere))
        db.session.commit()
        mine_id = mine.id
    owner = owner_of(app, "afang", mine_id)

    for photo_id in (current, earlier):
        assert client.get(f"/api/v1/photos/{photo_id}", headers=owner).status_code == 200
        assert client.get(f"/api/v1/photos/{photo_id}/content", headers=owner).status_code == 200
    for suffix in ("", "/content", "/thumbnail"):
        body = assert_problem(client.get(f"/api/v1/photos/{elsewhere}{suffix}", headers=owner), 404)
        assert "sha256" not in body


def test_owner_uploads_a_repair_photo_and_reads_it(app, client):
    owner = owner_of(app, "afang")
    response = upload(client, owner, jpeg())
    assert response.status_code == 201
    photo_id = response.get_json()["id"]
    assert client.get(f"/api/v1/photos/{photo_id}/thumbnail", headers=owner).status_code == 200
    assert_problem(client.get(f"/api/v1/photos/{photo_id}", headers=owner_of(app, "laowang")), 404)


def test_owner_sending_bytes_already_stored_may_then_read_them(app, client, staff):
    data = jpeg()
    photo_id = uploaded_id(client, staff, data)
    owner = owner_of(app, "afang")
    assert_problem(client.get(f"/api/v1/photos/{photo_id}", headers=owner), 404)
    again = upload(client, owner, data)
    assert again.status_code == 200 and again.get_json()["id"] == photo_id
    assert client.get(f"/api/v1/photos/{photo_id}", headers=owner).status_code == 200
    assert count(app, Photo) == 1
