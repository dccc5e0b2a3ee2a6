"""Who sees which photo: owners their shops' records' photos, inspectors their zones', staff leads all."""

from __future__ import annotations

import io
import itertools
import uuid

import sqlalchemy as sa
from PIL import Image

from signage.accounts.models import User
from signage.core.db import db
from signage.hazards import service as hazards
from signage.ledger.models import Shop
from signage.paperwork import service as paperwork
from signage.photos import service as photos
from tests.fieldwork import owner, shop_with_sign, staff
from tests.helpers import assert_problem

_shades = itertools.count(1)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (next(_shades) * 7 % 256, 90, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def _stored(app, username: str) -> uuid.UUID:
    """A real photo sent by username's phone."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        photo, _ = photos.store_bytes(user=user, data=_jpeg())
        return photo.id


def _seen(client, headers: dict, photo_id) -> list[int]:
    return [
        client.get(f"/api/v1/photos/{photo_id}{suffix}", headers=headers).status_code
        for suffix in ("", "/content", "/thumbnail")
    ]


def _hazard_and_commitment(app, username: str, sign_id, shop_id, hazard_photo, signature):
    with app.app_context():
        actor = db.session.scalar(sa.select(User).where(User.username == username))
        hazards.report_hazard(
            actor=actor, sign_id=sign_id, category="rusted", severity="low", photo_ids=[hazard_photo]
        )
        paperwork.record_commitment(
            shop=db.session.get(Shop, shop_id),
            witnessed_by=actor,
            signer_name="沈阿芳",
            signer_role="店主",
            signature_photo_id=signature,
        )
        db.session.commit()


def test_owner_sees_their_hazards_and_commitments_photos_not_another_shops(app, client):
    staff(app, client, "shen")
    mine, my_sign = shop_with_sign(app, "阿芳小吃店")
    theirs, their_sign = shop_with_sign(app, "老王五金店", at=(30.1805, 120.4605))
    photos_of = {}
    for shop_id, sign_id in ((mine, my_sign), (theirs, their_sign)):
        photos_of[shop_id] = (_stored(app, "shen"), _stored(app, "shen"))
        _hazard_and_commitment(app, "shen", sign_id, shop_id, *photos_of[shop_id])
    afang = owner(app, "afang", mine)
    for photo_id in photos_of[mine]:
        assert _seen(client, afang, photo_id) == [200, 200, 200]
    for photo_id in photos_of[theirs]:
        body = assert_problem(client.get(f"/api/v1/photos/{photo_id}", headers=afang), 404)
        assert str(photo_id) not in body["detail"]
        assert _seen(client, afang, photo_id) == [404, 404, 404]


def test_inspector_sees_their_zones_photos_and_their_own_not_another_zones(app, client):
    gl = staff(app, client, "shen", zones=("GL",))
    ds = staff(app, client, "chen", zones=("DS",))
    lead = staff(app, client, "boss", "supervisor")
    shop_gl, sign_gl = shop_with_sign(app, "阿芳小吃店")
    shop_ds, sign_ds = shop_with_sign(app, "东山超市", zone_code="DS", at=(30.2, 120.5), road_name="党山路")
    on_gl, on_ds = _stored(app, "boss"), _stored(app, "boss")
    _hazard_and_commitment(app, "boss", sign_gl, shop_gl, on_gl, _stored(app, "boss"))
    _hazard_and_commitment(app, "boss", sign_ds, shop_ds, on_ds, _stored(app, "boss"))
    unlinked = _stored(app, "chen")
    assert _seen(client, gl, on_gl) == [200, 200, 200]
    assert _seen(client, gl, on_ds) == [404, 404, 404]
    assert _seen(client, ds, on_ds) == [200, 200, 200]
    assert _seen(client, ds, unlinked) == [200, 200, 200]  # chen sent it
    assert _seen(client, gl, unlinked) == [404, 404, 404]
    for photo_id in (on_gl, on_ds, unlinked):
        assert _seen(client, lead, photo_id) == [200, 200, 200]


def test_a_photo_one_may_not_see_cannot_be_put_on_a_record_to_read_it(app, client):
    gl = staff(app, client, "shen", zones=("GL",))
    staff(app, client, "chen", zones=("DS",))
    shop_gl, sign_gl = shop_with_sign(app, "阿芳小吃店")
    theirs = _stored(app, "chen")  # another zone's inspector sent it; it is on no record
    body = {
        "shop_id": str(shop_gl),
        "kind": "light_box",
        "width_m": 2,
        "height_m": 1,
        "photo_id": str(theirs),
    }
    assert "photo_id" in assert_problem(client.post("/api/v1/signs", json=body, headers=gl), 422)["errors"]
    hazard = {"sign_id": str(sign_gl), "category": "rusted", "severity": "low", "photo_ids": [str(theirs)]}
    assert (
        "photo_ids" in assert_problem(client.post("/api/v1/hazards", json=hazard, headers=gl), 422)["errors"]
    )
    assert _seen(client, gl, theirs) == [404, 404, 404]
    mine = _stored(app, "shen")
    assert client.post("/api/v1/signs", json={**body, "photo_id": str(mine)}, headers=gl).status_code == 201


def test_a_photo_never_uploaded_is_refused_naming_the_field_for_every_role(app, client):
    # Supervisors see every photo; one that does not exist is still none of them (it was a 409
    # from the foreign key at the commit, which a phone could take for "already done").
    boss = staff(app, client, "boss", "supervisor")
    inspector = staff(app, client, "walker")
    shop_id, sign_id = shop_with_sign(app)
    missing = str(uuid.uuid4())
    for headers in (boss, inspector):
        body = {
            "shop_id": str(shop_id),
            "kind": "light_box",
            "width_m": 2,
            "height_m": 1,
            "photo_id": missing,
        }
        problem = assert_problem(client.post("/api/v1/signs", json=body, headers=headers), 422)
        assert "photo_id" in problem["errors"]
        version = {"kind": "light_box", "text": "新字", "width_m": 2, "height_m": 1, "photo_id": missing}
        problem = assert_problem(
            client.post(f"/api/v1/signs/{sign_id}/versions", json=version, headers=headers), 422
        )
        assert "photo_id" in problem["errors"]
