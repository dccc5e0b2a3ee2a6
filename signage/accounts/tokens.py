"""Access tokens (short-lived JWT) and refresh tokens (opaque, rotated, revocable)."""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa
from flask import current_app, g, request

from signage.accounts import signins
from signage.accounts.models import AuthSession, RefreshToken, User, user_zones
from signage.core import audit, clock, reads
from signage.core.access import Principal
from signage.core.db import as_stored, db
from signage.core.errors import Problem
from signage.core.scope import remember_zone_ids

ALGORITHM = "HS256"
# WSGI environ key a sync batch sets on each of its operations: (user, session id) of the batch
# request, authenticated once for all of them. Clients cannot set environ keys.
BATCH_SIGNED_IN = "signage.batch_signed_in"
# The sign-in check: the session and its user, one row per zone of the user (none: one row).
# Built once: every signed-in request that is not remembered runs it, and building and keying
# a statement per request cost about as much again as running it. The zones come with it: an
# inspector's write checks them, and loading them here spares a statement of its own.
_users, _sessions = User.__table__, AuthSession.__table__
_SESSION_PRINCIPAL = (
    sa.select(
        _users.c.id,
        _users.c.username,
        _users.c.role,
        _users.c.is_active,
        _sessions.c.revoked_at,
        _sessions.c.expires_at,
        user_zones.c.zone_id,
    )
    .select_from(_sessions.join(_users, _users.c.id == _sessions.c.user_id))
    .outerjoin(user_zones, user_zones.c.user_id == _users.c.id)
    .where(_sessions.c.id == sa.bindparam("session_id"), _users.c.id == sa.bindparam("user_id"))
)
# For a request that may write: the same, with the user's record.
_SESSION_USER = _SESSION_PRINCIPAL.add_columns(User)


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="signage"'})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _access_token(user: User, session: AuthSession) -> tuple[str, int]:
    ttl = current_app.config["ACCESS_TOKEN_TTL"]
    # Token lifetimes run on the wall clock; the app's (injectable) clock is for business time.
    issued = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "sid": str(session.id),
        "role": user.role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM), ttl


def _new_refresh(session: AuthSession) -> str:
    token = f"{session.id.hex}.{secrets.token_urlsafe(32)}"
    db.session.add(RefreshToken(session_id=session.id, token_hash=_hash(token), created_at=clock.now()))
    return token


def _pair(user: User, session: AuthSession, refresh: str) -> dict:
    access, ttl = _access_token(user, session)
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh,
        "refresh_expires_at": session.expires_at,
        "user": user,
    }


def start_session(user: User) -> dict:
    """Open a sign-in session for user and hand out its first token pair."""
    now = clock.now()
    session = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=current_app.config["REFRESH_TOKEN_TTL"]),
    )
    audit.tag(session, "sign_in")
    db.session.add(session)
    return _pair(user, session, _new_refresh(session))


def _revoke(session: AuthSession, reason: str) -> None:
    if session.revoked_at is None:
        session.revoked_at = clock.now()
        session.revoked_reason = reason
        audit.tag(session, reason)


def rotate(refresh_token: str) -> dict:
    """Swap a refresh token for a new pair; a reused one revokes its whole family."""
    stored = db.session.scalar(sa.select(RefreshToken).where(RefreshToken.token_hash == _hash(refresh_token)))
    if stored is None:
        raise _unauthenticated("The refresh token is not valid.")
    session = db.session.get(AuthSession, stored.session_id)
    now = clock.now()
    if stored.used_at is not None:
        # A rotated token came back: someone holds a copy. End the family.
        _revoke(session, "refresh_reuse")
        db.session.commit()
        raise _unauthenticated("The refresh token was already used; the session has been ended.")
    if session.revoked_at is not None or session.expires_at <= now:
        raise _unauthenticated("The session has ended; sign in again.")
    if not session.user.is_active:
        raise _unauthenticated("The account is disabled.")
    # Claim the token in one statement: of two refreshes racing with the same token, only one
    # finds it unused; the other is a reuse like any other and ends the family.
    claimed = db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.id == stored.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        _revoke(db.session.get(AuthSession, stored.session_id), "refresh_reuse")
        db.session.commit()
        raise _unauthenticated("The refresh token was already used; the session has been ended.")
    return _pair(session.user, session, _new_refresh(session))


def end_all_sessions(user_id: uuid.UUID, reason: str) -> None:
    """Revoke every open session of an account (e.g. when it is disabled)."""
    open_sessions = db.session.scalars(
        sa.select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    )
    for session in open_sessions:
        _revoke(session, reason)


def end_session(session_id: uuid.UUID) -> None:
    """Revoke a session: its access and refresh tokens stop working at once."""
    session = db.session.get(AuthSession, session_id)
    if session is not None:
        _revoke(session, "sign_out")


def authenticate_request() -> User:
    """Check the bearer token and load its user; sets g.current_user and g.session_id."""
    req, ctx_g = request._get_current_object(), g._get_current_object()  # one lookup each
    signed = req.environ.get(BATCH_SIGNED_IN)
    if signed is not None:
        # An operation of a sync batch: the batch request itself was authenticated just now.
        user, session_id = signed
        ctx_g.current_user, ctx_g.session_id, ctx_g.user_ref = user, session_id, (str(user.id), user.role)
        return user
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("Sign in first: send 'Authorization: Bearer <access token>'.")
    try:
        user_id, session_id, expires = _token_subject(token.strip(), current_app.config["SECRET_KEY"])
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
        raise _unauthenticated("The access token is not valid.") from None
    if expires <= time.time():
        raise _unauthenticated("The access token has expired; refresh it.")
    params = {"session_id": session_id, "user_id": user_id}
    user = _remembered_principal(params) if reads.active() else _session_user(params)
    ctx_g.current_user = user
    ctx_g.session_id = session_id
    # Plain copies for the request log: after an error's rollback the user's attributes are
    # expired, and reading them again would need the database, which may be gone by then.
    ctx_g.user_ref = (str(user.id), user.role)
    return user


@functools.lru_cache(maxsize=4096)
def _token_subject(token: str, key: str) -> tuple[uuid.UUID, uuid.UUID, int]:
    """(user id, session id, expiry) of a well-signed access token; raises if it is not one.

    Cached by the token's text: a phone sends the same token for its next requests, and
    decoding and verifying it again cost more than the database check that follows (profiled).
    Failures are not cached, and the expiry is checked by the caller on every request.
    """
    claims = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        options={"require": ["exp", "sub", "sid"], "verify_exp": False},
    )
    expires = claims["exp"]
    if claims.get("typ") != "access" or isinstance(expires, bool) or not isinstance(expires, int):
        raise jwt.InvalidTokenError("not an access token")
    return uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]), expires


def _session_user(params: dict) -> User:
    """The signed-in user of a request that may write, as a record of its session.

    Remembered (see `_checked`), the record is made from what was remembered and attached to
    the session as stored, without a statement; the columns not remembered (name, phone, ...)
    load if a view reads them.
    """
    principal, user = _checked(params, lambda: db.session.execute(_SESSION_USER, params).all())
    if user is None:
        known = User(id=principal.id, username=principal.username, role=principal.role, is_active=True)
        user = as_stored(db.session(), known)
    remember_zone_ids(user, principal.zone_ids)
    return user


def _remembered_principal(params: dict) -> Principal:
    """The signed-in user of a read-only request (see `_checked`), with no ORM record."""
    return _checked(params, lambda: reads.connection().execute(_SESSION_PRINCIPAL, params).all())[0]


def _checked(params: dict, read) -> tuple[Principal, User | None]:
    """Who signed in: remembered by this worker, else read by read() (the sign-in check's rows)
    and remembered; with the user's record when read() gave one.

    The session's end is checked on every request, remembered or not: an access token can
    outlive the session it came from by up to its own lifetime.
    """
    remembered = _signins()
    key = (params["session_id"], params["user_id"])
    found = remembered.get(key) if remembered is not None else None
    record = None
    if found is None:
        # Taken before the read: a change notified meanwhile voids what it reads.
        epoch = remembered.epoch if remembered is not None else 0
        rows = read()
        found = _principal(rows)
        record = getattr(rows[0], "User", None)
        if remembered is not None:
            remembered.put(key, found, epoch)
    principal, session_ends = found
    if session_ends <= clock.now():
        raise _unauthenticated("The session has ended; sign in again.")
    return principal, record


def _signins() -> signins.SignIns | None:
    """This worker's remembered sign-ins (None on SQLite, or when turned off)."""
    extensions = current_app.extensions
    found = extensions.get("signage_signins", False)
    if found is False or (found is not None and found.pid != os.getpid()):  # first use, or a fork
        found = signins.for_engine(db.engine, current_app.config["SIGNIN_CACHE_SECONDS"])
        extensions["signage_signins"] = found
    return found


def _principal(rows) -> tuple[Principal, datetime]:
    """Who signed in and when their session ends, from the sign-in check's rows; 401 for a
    session ended or revoked, or an account disabled."""
    if not rows or rows[0].revoked_at is not None:
        raise _unauthenticated("The session has ended; sign in again.")
    first = rows[0]
    if not first.is_active:
        raise _unauthenticated("The account is disabled.")
    zones = frozenset(row.zone_id for row in rows if row.zone_id is not None)
    return Principal(id=first.id, username=first.username, role=first.role, zone_ids=zones), first.expires_at
