"""Account workflows: creating and changing users, signing in."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request

from signage.accounts import tokens
from signage.accounts.models import User
from signage.accounts.passwords import hash_password, verify_password
from signage.core.db import db
from signage.core.errors import Problem, field_error
from signage.core.ratelimit import failures
from signage.zones.models import Zone


def zones_by_code(codes: list[str]) -> list[Zone]:
    """Look zones up by code; an unknown code is a 422 naming it."""
    if not codes:
        return []
    found = db.session.scalars(sa.select(Zone).where(Zone.code.in_(codes))).all()
    missing = sorted(set(codes) - {z.code for z in found})
    if missing:
        raise field_error("zones", f"unknown zone code(s): {', '.join(missing)}")
    return list(found)


def create_user(
    *,
    username: str,
    role: str,
    password: str | None = None,
    display_name: str = "",
    phone: str | None = None,
    zones: list[str] | None = None,
) -> User:
    """Add an account; the username must be free."""
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())):
        raise Problem(
            409,
            f"The username {username!r} is taken.",
            slug="username-taken",
            errors={"username": ["is taken"]},
        )
    user = User(
        username=username,
        role=role,
        display_name=display_name,
        phone=phone,
        password_hash=hash_password(password) if password else None,
        zones=zones_by_code(zones or []),
    )
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, changes: dict) -> User:
    """Apply changes to an account; disabling it ends its sessions at once."""
    if changes.get("is_active") is False and user.is_active:
        # Ended, not just refused while disabled: enabling the account again revives no token.
        tokens.end_all_sessions(user.id, "account_disabled")
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
    if "zones" in changes:
        user.zones = zones_by_code(changes.pop("zones"))
    for key, value in changes.items():
        setattr(user, key, value)
    return user


def client_address() -> str:
    """The caller's address (behind a trusted proxy, the forwarded one)."""
    return request.remote_addr or "unknown"


def sign_in(username: str, password: str) -> dict:
    """Check a staff password, slowing down repeated failures per account and address."""
    keys = (("signin", "user", username.lower()), ("signin", "addr", client_address()))
    failures.check(*keys)
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == username.lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or user.role == "owner":
        failures.fail(*keys)
        raise Problem(401, "The username or password is wrong.", slug="bad-credentials")
    if not user.is_active:
        raise Problem(403, "This account is disabled.", slug="account-disabled")
    failures.clear(keys[0])
    return tokens.start_session(user)
