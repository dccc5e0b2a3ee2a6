"""Hazards on signs, their evidence photos, lifecycle history and default deadlines."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signage.catalog import HazardCategory, HazardState, Severity, Shift
from signage.core import clock
from signage.core.audit import Audited
from signage.core.db import Timestamps, UUIDPrimaryKey, Versioned, db
from signage.zones.models import Zone


def _in(column: str, enum) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


OPEN_STATES = (HazardState.REPORTED, HazardState.NOTIFIED, HazardState.FIX_SUBMITTED)

# What the rectification report reads of each hazard beyond its zone, category and repair hours.
REPORT_INCLUDES = ("state", "found_at", "deadline_at", "rectified_at", "rework_count")
# The term a query must name, literally, to read the rectified hazards' partial index.
RECTIFIED_TERM = f"state = '{HazardState.RECTIFIED.value}'"


class Hazard(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """A hazard found on a sign, followed from its finding to a verified fix.

    Everything the reports group or filter by is a plain indexed column here (found time,
    shift, zone, road, category, severity, inspector, deadline, rectified time, rework count).
    Overdue is not stored: it is open state and deadline_at before now, at query time.
    """

    __tablename__ = "hazards"
    __table_args__ = (
        sa.CheckConstraint(_in("category", HazardCategory), name="category"),
        sa.CheckConstraint(_in("severity", Severity), name="severity"),
        sa.CheckConstraint(_in("shift", Shift), name="shift"),
        sa.CheckConstraint(_in("state", HazardState), name="state"),
        # The overdue list: open states whose deadline has passed.
        sa.Index("ix_hazards_state_deadline_at", "state", "deadline_at"),
        # The flagged filter (rare rows), in list order.
        sa.Index(
            "ix_hazards_flagged_found_at",
            "found_at",
            "id",
            postgresql_where=sa.text("flagged"),
            # SQLite uses a partial index only for the very term it names: `flagged = 1` is what
            # SQLAlchemy writes there for `flagged == True`.
            sqlite_where=sa.text("flagged = 1"),
        ),
        # The report by zone (and category) reads this index alone on PostgreSQL: its rows come
        # in group order with every column the figures need, so counts and percentiles take one
        # pass, with no sort of the hazards and no table read (migration 0011; percentile_cont
        # still orders each group's hours, already in order here). Zone filters read it too
        # (zone_id leads). Category, severity, shift and rework_count have no index of their
        # own: with a handful of values each, their filters read the found_at order and check
        # the rows, and each index was one more for every write to keep (migration 0009).
        sa.Index(
            "ix_hazards_report",
            "zone_id",
            "category",
            "rectify_hours",
            postgresql_include=REPORT_INCLUDES,
        ),
        # The hours of rectified hazards in zone and category order: the report's percentiles
        # when its counts come from the tallies (migration 0012), a tenth of the report index.
        sa.Index(
            "ix_hazards_rectified_hours",
            "zone_id",
            "category",
            "rectify_hours",
            postgresql_where=sa.text(RECTIFIED_TERM),
            sqlite_where=sa.text(RECTIFIED_TERM),
        ),
    )

    sign_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("signs.id"), index=True)
    # Copied from the sign when reported, so scope checks and reports need no join.
    shop_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("shops.id"), index=True)
    zone_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("zones.id"))
    road_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("roads.id"), index=True)
    patrol_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("patrols.id"), index=True)
    visit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("visits.id"))

    category: Mapped[str] = mapped_column(sa.String(24))
    severity: Mapped[str] = mapped_column(sa.String(8))
    shift: Mapped[str] = mapped_column(sa.String(8))
    description: Mapped[str] = mapped_column(sa.String(1000), default="")
    state: Mapped[str] = mapped_column(sa.String(16), default=HazardState.REPORTED.value)

    found_at: Mapped[datetime] = mapped_column(index=True)
    found_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    lat: Mapped[float]
    lng: Mapped[float]
    deadline_at: Mapped[datetime] = mapped_column(index=True)

    notified_at: Mapped[datetime | None]
    contact_method: Mapped[str | None] = mapped_column(sa.String(16))
    immediate_measure: Mapped[str | None] = mapped_column(sa.String(16))
    fix_submitted_at: Mapped[datetime | None]
    rectified_at: Mapped[datetime | None] = mapped_column(index=True)
    # Hours from finding to verified rectification, kept with the row (see _keep_rectify_hours)
    # so the report's percentiles read a column, not a computation over a million rows.
    rectify_hours: Mapped[float | None] = mapped_column(sa.Float())
    verified_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    fixed_on_spot: Mapped[bool] = mapped_column(default=False)
    rework_count: Mapped[int] = mapped_column(default=0)
    reopen_count: Mapped[int] = mapped_column(default=0)
    # Some evidence photo was far from the sign, old, or without EXIF; reasons on each photo.
    flagged: Mapped[bool] = mapped_column(default=False)
    recorded_at: Mapped[datetime | None]

    zone: Mapped[Zone] = relationship()
    photos: Mapped[list[HazardPhoto]] = relationship(
        back_populates="hazard", order_by="HazardPhoto.added_at, HazardPhoto.id"
    )

    @property
    def overdue(self) -> bool:
        """Open and past its deadline, now."""
        return self.state in OPEN_STATES and self.deadline_at < clock.now()

    @property
    def zone_code(self) -> str:
        """The zone's code."""
        return self.zone.code

    @property
    def evidence_flags(self) -> list[dict]:
        """Every integrity flag raised on this hazard's photos."""
        return [{"photo_id": p.photo_id, "stage": p.stage, **flag} for p in self.photos for flag in p.flags]


class HazardPhoto(Audited, db.Model):
    """A photo attached to a hazard at one stage, with the integrity flags its EXIF raised."""

    __tablename__ = "hazard_photos"
    __table_args__ = (
        sa.UniqueConstraint("hazard_id", "photo_id", "stage"),
        sa.CheckConstraint("stage IN ('finding', 'fix', 'verification')", name="stage"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    hazard_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("hazards.id", ondelete="CASCADE"), index=True)
    photo_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("photos.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(16))
    added_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime]
    flags: Mapped[list] = mapped_column(sa.JSON, default=list)

    hazard: Mapped[Hazard] = relationship(back_populates="photos")


class HazardTransition(db.Model):
    """One lifecycle step of a hazard: from which state to which, by whom, when, with what."""

    __tablename__ = "hazard_transitions"
    __table_args__ = (
        # One step number per hazard: the lifecycle's order even when times tie, and a
        # backstop against two steps applied at once.
        sa.UniqueConstraint("hazard_id", "step_no"),
        sa.Index("ix_hazard_transitions_hazard_id_at", "hazard_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    hazard_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("hazards.id", ondelete="CASCADE"))
    step_no: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(16), index=True)
    from_state: Mapped[str] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    actor_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_role: Mapped[str] = mapped_column(sa.String(16))
    # When it happened (the phone's time when given); created_at is the server's receipt.
    at: Mapped[datetime] = mapped_column(index=True)
    patrol_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("patrols.id"))
    details: Mapped[dict] = mapped_column(default=dict)
    recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class HazardTally(db.Model):
    """What a set of hazard rows adds to its zone and category's standing counts.

    Triggers on hazards write these rows, in the statement that changes the hazards and so in
    its transaction (migration 0012): a new hazard adds its counts, a change adds the difference,
    a deletion takes its counts away. Rows are only ever added, so concurrent writers never wait
    on each other here; the rectification report sums them, and folds them into one row per zone
    and category once they pile up (signage/reports/tallies.py). Only the figures that do not
    depend on the time of asking are kept: overdue and due are counted at query time.
    """

    __tablename__ = "hazard_tallies"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    zone_id: Mapped[uuid.UUID]
    category: Mapped[str] = mapped_column(sa.String(24))
    found: Mapped[int] = mapped_column(default=0)
    rectified: Mapped[int] = mapped_column(default=0)
    # Rectified with the verified fix at or before the deadline.
    on_time: Mapped[int] = mapped_column(default=0)
    rework: Mapped[int] = mapped_column(default=0)


class DeadlineRule(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """How long a merchant gets to put a hazard right, by category and severity."""

    __tablename__ = "deadline_rules"
    __table_args__ = (
        sa.UniqueConstraint("category", "severity"),
        sa.CheckConstraint(_in("category", HazardCategory), name="category"),
        sa.CheckConstraint(_in("severity", Severity), name="severity"),
        sa.CheckConstraint("hours > 0", name="hours_positive"),
    )

    category: Mapped[str] = mapped_column(sa.String(24))
    severity: Mapped[str] = mapped_column(sa.String(8))
    hours: Mapped[int]


@sa.event.listens_for(Hazard, "before_insert")
@sa.event.listens_for(Hazard, "before_update")
def _keep_rectify_hours(_mapper, _connection, hazard: Hazard) -> None:
    """Hours to rectify follow the state and the two times, however they were changed."""
    if hazard.state == HazardState.RECTIFIED.value and hazard.rectified_at and hazard.found_at:
        hazard.rectify_hours = (hazard.rectified_at - hazard.found_at).total_seconds() / 3600
    else:
        hazard.rectify_hours = None
