"""User accounts and their sign-in sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signage.core.audit import Audited
from signage.core.db import Timestamps, UUIDPrimaryKey, Versioned, db
from signage.zones.models import Zone

user_zones = sa.Table(
    "user_zones",
    db.Model.metadata,
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("zone_id", sa.Uuid(), sa.ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
)

# An owner account sees only the shops bound to it (bound when signing in with a notice's code).
owner_shops = sa.Table(
    "owner_shops",
    db.Model.metadata,
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "shop_id", sa.Uuid(), sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class User(UUIDPrimaryKey, Timestamps, Versioned, Audited, db.Model):
    """A staff member or a shop owner; staff sign in with a password."""

    __tablename__ = "users"
    __audit_redact__ = frozenset({"password_hash"})
    __table_args__ = (
        sa.CheckConstraint("role IN ('admin', 'supervisor', 'inspector', 'owner')", name="role"),
    )

    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100), default="")
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    is_active: Mapped[bool] = mapped_column(default=True)

    zones: Mapped[list[Zone]] = relationship(secondary=user_zones, order_by=Zone.code)

    @property
    def zone_codes(self) -> list[str]:
        """Codes of the zones this user works in."""
        return [z.code for z in self.zones]


class AuthSession(UUIDPrimaryKey, Audited, db.Model):
    """One sign-in: the family of access and refresh tokens it hands out."""

    __tablename__ = "auth_sessions"
    __audit_entity__ = "session"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(40))

    user: Mapped[User] = relationship()


class RefreshToken(db.Model):
    """A refresh token, stored only as a hash; used once, then rotated."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
