"""Set-up shared by the paperwork tests: shops, staff, signatures, notices, owner sign-in."""

from __future__ import annotations

import io
import uuid

import sqlalchemy as sa
from PIL import Image

from signage.accounts.models import User
from signage.core.db import db
from tests import factories
from tests.helpers import bearer, make_user, sign_in

OWNER_PHONE = "13800000001"


def make_shop(app, name: str = "阿芳小吃店", **fields) -> uuid.UUID:
    """A shop on the ledger (zone and road made as needed), returning its id."""
    with app.app_context():
        shop = factories.shop(name, **fields)
        db.session.commit()
        return shop.id


def staff(app, client, username: str, role: str = "inspector", zones: tuple[str, ...] = ("GL",)) -> dict:
    """A signed-in staff member's Authorization header (their zones must exist)."""
    with app.app_context():
        for code in zones:
            factories.zone(code)
        db.session.commit()
    make_user(app, username, role, zones=zones if role == "inspector" else ())
    return bearer(sign_in(client, username))


def png(colour: str = "black", size: tuple[int, int] = (240, 80)) -> bytes:
    """A small PNG, as a phone's signature pad would send."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload_signature(client, headers: dict, data: bytes | None = None, name: str = "sign.png"):
    """POST a signature image; returns the response."""
    return client.post(
        "/api/v1/commitments/signatures",
        data={"file": (io.BytesIO(png() if data is None else data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def signature_id(client, headers: dict, colour: str = "black") -> str:
    """Upload a signature image and return its photo id."""
    response = upload_signature(client, headers, png(colour))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def issue(client, headers: dict, shop_id, **fields) -> dict:
    """Issue a notice through the API and return it."""
    response = client.post("/api/v1/notices", json={"shop_id": str(shop_id), **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def commit(client, headers: dict, shop_id, photo_id: str, **fields) -> dict:
    """Record a commitment through the API and return it."""
    body = {
        "shop_id": str(shop_id),
        "signer_name": "沈阿芳",
        "signer_role": "店主",
        "signature_photo_id": photo_id,
    }
    response = client.post("/api/v1/commitments", json={**body, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def owner_token(client, code: str, phone: str = OWNER_PHONE) -> dict:
    """An owner's Authorization header, signed in with a notice's code and the shop's phone."""
    response = client.post("/api/v1/auth/owner-token", json={"code": code, "phone": phone})
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json())


def user_id(app, username: str) -> uuid.UUID:
    """The id of an account by username."""
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def events(client, headers: dict, entity: str, entity_id) -> list[str]:
    """The audit actions recorded for one record, oldest first."""
    response = client.get(f"/api/v1/events?entity={entity}&entity_id={entity_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [e["action"] for e in response.get_json()["items"]]
