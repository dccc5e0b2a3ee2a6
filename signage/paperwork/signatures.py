"""Signature images (drawn on the phone) and photos of signed paper, stored as Photo rows.

Only bytes that decode as a JPEG, PNG, WebP or HEIC image become a Photo; anything
else (or nothing) is refused before a row or a file is written.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from signage.accounts.models import User
from signage.core.db import db
from signage.core.errors import Problem
from signage.photos.imaging import ImageRejected, process_image
from signage.photos.models import Photo
from signage.photos.storage import LocalPhotoStorage, StorageFull

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}
# A signature or a phone photo of one A4 page; far below what a decoder could be made to allocate.
MAX_PIXELS = 40_000_000


def store_signature(*, data: bytes, uploaded_by: User, recorded_at: datetime | None = None) -> Photo:
    """Check and store an uploaded image once (by content hash), returning its Photo."""
    cfg = current_app.config
    try:
        image = process_image(
            data, max_bytes=cfg["MAX_CONTENT_LENGTH"], max_pixels=MAX_PIXELS, local_tz=cfg["TIMEZONE"]
        )
    except ImageRejected as exc:
        raise Problem(exc.status, f"file: {exc.reason}", errors={"file": [exc.reason]}) from None
    existing = db.session.scalar(sa.select(Photo).where(Photo.sha256 == image.sha256))
    if existing is not None:
        return existing
    base = f"{image.sha256[:2]}/{image.sha256[2:4]}/{image.sha256}"
    original_key = f"{base}.{EXTENSIONS[image.mime]}"
    display_key = f"{base}.display.{EXTENSIONS[image.display_mime]}" if image.display else None
    thumbnail_key = f"{base}.thumb.jpg"
    store = LocalPhotoStorage(cfg["MEDIA_ROOT"])
    try:
        store.put(original_key, data)
        if image.display:
            store.put(display_key, image.display)
        store.put(thumbnail_key, image.thumbnail)
    except StorageFull:
        raise Problem(507, "The photo store is full; the upload was not kept.", slug="storage-full") from None
    photo = Photo(
        sha256=image.sha256,
        mime=image.mime,
        size=image.size,
        width=image.width,
        height=image.height,
        taken_at=image.taken_at,
        gps_lat=image.gps_lat,
        gps_lng=image.gps_lng,
        original_key=original_key,
        display_key=display_key,
        display_mime=image.display_mime,
        thumbnail_key=thumbnail_key,
        uploaded_by_id=uploaded_by.id,
        recorded_at=recorded_at,
    )
    db.session.add(photo)
    db.session.flush()
    return photo
