"""Patrols, their members, GPS tracks and shop visits."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signage.accounts.models import User
from signage.core.audit import Audited
from signage.core.db import Timestamps, UUIDPrimaryKey, Versioned, db
from signage.zones.models import Zone

# The inspectors walking a patrol (usually one, often a pair).
patrol_members = sa.Table(
    "patrol_members",
    db.Model.metadata,
    sa.Column("patrol_id", sa.Uuid(), sa.ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), primary_key=True, index=True),
)


class Visit(UUIDPrimaryKey, Timestamps, Audited, db.Model):
    """A stop at a shop during a patrol, and what it found."""

    __tablename__ = "visits"

    patrol_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patrols.id"), index=True)
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"), index=True)
    inspector_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column(index=True)
    checked: Mapped[list] = mapped_column(sa.JSON, default=list)
    findings: Mapped[str] = mapped_column(sa.String(1000), default="")
    notice_handed: Mapped[bool] = mapped_column(default=False)
    commitment_signed: Mapped[bool] = mapped_column(default=False)
    sign_changed: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    recorded_at: Mapped[datetime | None]


class Patrol(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """One round in a zone on the day or night shift (白+黑)."""

    __tablename__ = "patrols"
    __table_args__ = (
        sa.CheckConstraint("shift IN ('day', 'night')", name="shift"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
    )

    zone_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("zones.id"), index=True)
    shift: Mapped[str] = mapped_column(sa.String(8), index=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    started_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    # Kept up to date by the server: geodesic length along the track's points in time order,
    # how many points, and how many distinct shops the visits covered.
    distance_m: Mapped[float] = mapped_column(default=0.0)
    point_count: Mapped[int] = mapped_column(default=0)
    shops_visited: Mapped[int] = mapped_column(default=0)
    recorded_at: Mapped[datetime | None]

    zone: Mapped[Zone] = relationship()
    members: Mapped[list[User]] = relationship(secondary=patrol_members, order_by=User.username)

    @property
    def duration_s(self) -> int | None:
        """Seconds from start to end; None while the patrol is under way."""
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())

    @property
    def member_ids(self) -> list[uuid.UUID]:
        """Ids of the inspectors on this patrol."""
        return [m.id for m in self.members]


class TrackPoint(db.Model):
    """One GPS fix of a patrol; a repeated time is the same point sent again."""

    __tablename__ = "track_points"
    __table_args__ = (sa.UniqueConstraint("patrol_id", "at"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    patrol_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patrols.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    lat: Mapped[float]
    lng: Mapped[float]
    accuracy_m: Mapped[float | None]
    # Geodesic metres from the point before it in time (0 for the first); their sum is the distance.
    segment_m: Mapped[float] = mapped_column(default=0.0)
