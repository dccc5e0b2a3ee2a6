"""Zone and road models."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signage.core.audit import Audited
from signage.core.db import Timestamps, UUIDPrimaryKey, Versioned, db


class Zone(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """One of the town's market-town areas (片区)."""

    __tablename__ = "zones"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Centre and an optional boundary polygon as GeoJSON ([lng, lat] pairs), WGS-84.
    center_lat: Mapped[float | None]
    center_lng: Mapped[float | None]
    boundary: Mapped[dict | None]

    roads: Mapped[list[Road]] = relationship(back_populates="zone", order_by="Road.name")

    @property
    def audit_zone_id(self) -> uuid.UUID | None:
        """A zone's changes belong to the zone itself."""
        return self.id


class Road(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """A main road in a zone; shops sit on one side of it."""

    __tablename__ = "roads"
    __table_args__ = (sa.UniqueConstraint("zone_id", "name"),)

    zone_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("zones.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Start and end of the road's main segment, WGS-84, for maps and demo placement.
    start_lat: Mapped[float | None]
    start_lng: Mapped[float | None]
    end_lat: Mapped[float | None]
    end_lng: Mapped[float | None]

    zone: Mapped[Zone] = relationship(back_populates="roads")
