"""The ledger (台账): shops, their signs, and each sign's content history."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signage.core import clock
from signage.core.audit import Audited
from signage.core.db import Timestamps, UUIDPrimaryKey, Versioned, db
from signage.zones.models import Road, Zone


class Shop(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """A shop on the register, on one side of a road in a zone."""

    __tablename__ = "shops"
    __table_args__ = (
        # The bounding-box prefilter of `?near=` scans this index.
        sa.Index("ix_shops_lat_lng", "lat", "lng"),
        # Keyset pages walk these in order (the list's default order, and `updated_since` sync).
        sa.Index("ix_shops_created_at_id", "created_at", "id"),
        sa.Index("ix_shops_updated_at_id", "updated_at", "id"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    zone_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("zones.id"), index=True)
    road_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("roads.id"), index=True)
    side: Mapped[str | None] = mapped_column(sa.String(8))
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    lat: Mapped[float]
    lng: Mapped[float]
    owner_name: Mapped[str | None] = mapped_column(sa.String(100))
    owner_phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    business_type: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(8), default="open")
    registered_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    # When the phone recorded it (may be earlier than created_at, the server's receipt).
    recorded_at: Mapped[datetime | None]

    zone: Mapped[Zone] = relationship()
    road: Mapped[Road | None] = relationship()
    signs: Mapped[list[Sign]] = relationship(back_populates="shop", order_by="Sign.created_at")

    @property
    def zone_code(self) -> str:
        """The code of the shop's zone (lists read it as a column)."""
        return self.zone.code

    @property
    def road_name(self) -> str | None:
        """The name of the shop's road, if any."""
        return self.road.name if self.road else None


class Sign(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """A sign or outdoor advertising facility; of a shop, or standing alone with its own owner."""

    __tablename__ = "signs"
    __table_args__ = (
        sa.Index("ix_signs_created_at_id", "created_at", "id"),
        sa.Index("ix_signs_updated_at_id", "updated_at", "id"),
        sa.CheckConstraint("status IN ('active', 'removed')", name="status"),
        sa.CheckConstraint("width_m > 0 AND height_m > 0", name="size_positive"),
    )

    shop_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("shops.id"), index=True)
    zone_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("zones.id"), index=True)
    road_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("roads.id"), index=True)
    owner_name: Mapped[str | None] = mapped_column(sa.String(100))
    owner_phone: Mapped[str | None] = mapped_column(sa.String(20))
    kind: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.String(200), default="")
    width_m: Mapped[float]
    height_m: Mapped[float]
    height_above_ground_m: Mapped[float | None]
    lit: Mapped[bool] = mapped_column(default=False)
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    status: Mapped[str] = mapped_column(sa.String(8), default="active")
    removed_at: Mapped[datetime | None]
    current_version_no: Mapped[int] = mapped_column(default=1)
    current_photo_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("photos.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None]

    shop: Mapped[Shop | None] = relationship(back_populates="signs")
    zone: Mapped[Zone] = relationship()
    road: Mapped[Road | None] = relationship()


class SignVersion(UUIDPrimaryKey, Audited, db.Model):
    """The content of a sign as recorded at one moment, with its photo: the ledger's history."""

    __tablename__ = "sign_versions"
    __table_args__ = (sa.UniqueConstraint("sign_id", "version_no"),)

    sign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("signs.id"), index=True)
    version_no: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.String(200))
    width_m: Mapped[float]
    height_m: Mapped[float]
    height_above_ground_m: Mapped[float | None]
    lit: Mapped[bool]
    photo_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("photos.id"))
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    # Declared so the unit of work inserts the sign before its versions.
    sign: Mapped[Sign] = relationship()

    @property
    def audit_zone_id(self) -> uuid.UUID | None:
        """A version belongs to its sign's zone."""
        return self.sign.zone_id if self.sign is not None else None
