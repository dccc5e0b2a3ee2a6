"""Paperwork: versioned templates, numbered notices and signed commitments."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signage.accounts.models import User
from signage.core import clock
from signage.core.audit import Audited
from signage.core.db import Timestamps, UUIDPrimaryKey, Versioned, db
from signage.ledger.models import Shop

TEMPLATE_KINDS = ("notice", "commitment")
DELIVERY_METHODS = ("in_person", "left_at_shop", "refused")


class DocumentTemplate(UUIDPrimaryKey, Audited, db.Model):
    """One version of the notice or commitment wording; never changed once stored."""

    __tablename__ = "document_templates"
    __audit_entity__ = "template"
    __table_args__ = (
        sa.UniqueConstraint("kind", "version_no"),
        sa.CheckConstraint("kind IN ('notice', 'commitment')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(sa.String(16))
    version_no: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class NoticeCounter(db.Model):
    """The last notice number handed out in a year; bumped in the issuing transaction."""

    __tablename__ = "notice_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)


class Notice(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """A numbered notice (告知书) issued to a shop, with the exact text it carried."""

    __tablename__ = "notices"
    __audit_entity__ = "notice"
    __table_args__ = (
        sa.UniqueConstraint("year", "seq"),
        sa.CheckConstraint(
            "delivery_method IS NULL OR delivery_method IN ('in_person', 'left_at_shop', 'refused')",
            name="delivery_method",
        ),
        sa.Index("ix_notices_issued_at_id", "issued_at", "id"),
    )

    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"), index=True)
    year: Mapped[int]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(sa.String(64), unique=True)
    template_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("document_templates.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    # Printed on the notice and in its QR link; with the owner's phone it opens the owner's view.
    access_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    issued_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    issued_at: Mapped[datetime]
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    place: Mapped[str] = mapped_column(sa.String(300), default="")
    delivery_method: Mapped[str | None] = mapped_column(sa.String(16))
    delivered_at: Mapped[datetime | None]
    delivered_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    delivery_note: Mapped[str] = mapped_column(sa.String(300), default="")
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None]

    shop: Mapped[Shop] = relationship()
    template: Mapped[DocumentTemplate] = relationship()
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])

    @property
    def audit_zone_id(self) -> uuid.UUID | None:
        """A notice belongs to its shop's zone (for the phones' change feed)."""
        return self.shop.zone_id if self.shop is not None else None


class Commitment(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """A safety-responsibility commitment (承诺书) signed for a shop; one in force at a time."""

    __tablename__ = "commitments"
    __audit_entity__ = "commitment"
    __table_args__ = (
        # At most one commitment per shop is not superseded: the one in force (or lapsed).
        sa.Index(
            "uq_commitments_shop_current",
            "shop_id",
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        ),
        sa.CheckConstraint(
            "signature_photo_id IS NOT NULL OR paper_photo_id IS NOT NULL", name="signed_evidence"
        ),
        sa.CheckConstraint("valid_until >= valid_from", name="validity"),
    )

    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"), index=True)
    template_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("document_templates.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    signer_name: Mapped[str] = mapped_column(sa.String(100))
    signer_role: Mapped[str] = mapped_column(sa.String(50))
    signed_at: Mapped[datetime] = mapped_column(index=True)
    valid_from: Mapped[date]
    valid_until: Mapped[date] = mapped_column(index=True)
    witnessed_by_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    signature_photo_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("photos.id"))
    paper_photo_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("photos.id"))
    superseded_at: Mapped[datetime | None]
    # Deferred so the old row can point at its successor in the same transaction that adds it.
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("commitments.id", deferrable=True, initially="DEFERRED")
    )
    recorded_at: Mapped[datetime | None]

    shop: Mapped[Shop] = relationship()
    template: Mapped[DocumentTemplate] = relationship()

    @property
    def audit_zone_id(self) -> uuid.UUID | None:
        """A commitment belongs to its shop's zone (for the phones' change feed)."""
        return self.shop.zone_id if self.shop is not None else None
