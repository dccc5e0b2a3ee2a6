"""Signature images (drawn on the phone) and photos of signed paper, stored as Photo rows.

Only bytes that decode as a JPEG, PNG, WebP or HEIC image become a Photo; anything
else (or nothing) is refused before a row or a file is written.
"""

from __future__ import annotations

from datetime import datetime

from signage.accounts.models import User
from signage.core.errors import Problem
from signage.photos import service as photos
from signage.photos.models import Photo


def store_signature(*, data: bytes, uploaded_by: User, recorded_at: datetime | None = None) -> Photo:
    """Check and store an uploaded image once (by content hash), returning its Photo."""
    if not data:
        raise Problem(422, "file: the upload is empty", errors={"file": ["the upload is empty"]})
    photo, _ = photos.store_bytes(user=uploaded_by, data=data, recorded_at=recorded_at, commit=False)
    return photo
