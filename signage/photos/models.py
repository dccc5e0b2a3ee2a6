"""Photos, stored once by content hash."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from signage.core import clock
from signage.core.audit import Audited
from signage.core.db import UUIDPrimaryKey, db


class Photo(UUIDPrimaryKey, Audited, db.Model):
    """An uploaded image: evidence of a sign, a hazard, a fix or a signature."""

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    mime: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    # Evidence read from EXIF: when and where the camera says the picture was taken.
    taken_at: Mapped[datetime | None]
    gps_lat: Mapped[float | None]
    gps_lng: Mapped[float | None]
    # Storage keys: the original bytes, an upright display copy when one was needed, the thumbnail.
    original_key: Mapped[str] = mapped_column(sa.String(200))
    display_key: Mapped[str | None] = mapped_column(sa.String(200))
    display_mime: Mapped[str | None] = mapped_column(sa.String(32))
    thumbnail_key: Mapped[str] = mapped_column(sa.String(200))
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The zone of the uploader's record is unknown at upload; access goes through what refers to it.
    recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class PhotoUpload(UUIDPrimaryKey, Audited, db.Model):
    """One person's upload of a stored photo; the same bytes sent again by someone else add a row."""

    __tablename__ = "photo_uploads"
    # A surrogate id keeps the audit trail's entity_id one UUID long.
    __table_args__ = (sa.UniqueConstraint("photo_id", "user_id"),)

    photo_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("photos.id", ondelete="CASCADE"))
    # Indexed on its own: "photos this owner sent" is the first test of what an owner may see.
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
