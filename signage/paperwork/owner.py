"""The shop owner's side: signing in with a notice's code, and what an owner sees of a shop.

What an owner sees of one of their shops is a list of sections (`OWNER_SECTIONS`), each
a name, the marshmallow field that dumps and documents it, and a loader given the shop.
The owner routes check the shop is the owner's before any loader runs, so a section
only ever sees the owner's own shop. Hazards (issue 5) join as one more section:

    OwnerSection("hazards", ma.fields.List(ma.fields.Nested(OwnerHazardSchema)),
                 lambda shop: hazards_service.for_owner(shop_id=shop.id))

appended to OWNER_SECTIONS below; the view, its schema and its OpenAPI entry follow.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from signage.accounts import service as accounts
from signage.accounts import tokens
from signage.accounts.models import User, owner_shops
from signage.core import clock
from signage.core.audit import Event
from signage.core.db import db, insert_or_skip
from signage.core.errors import Problem
from signage.core.ratelimit import failures
from signage.core.scope import owned_shop_ids
from signage.ledger.models import Shop
from signage.paperwork import service
from signage.paperwork.models import Commitment, Notice
from signage.paperwork.schemas import CommitmentSchema, NoticeSchema, ShopBriefSchema


def normalize_phone(text: str | None) -> str:
    """Digits only, without a leading +86 country code."""
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return digits


def _bad_credentials() -> Problem:
    return Problem(
        401,
        "The access code or the phone number does not match our records. "
        "If the shop's phone number has changed, ask the enforcement team to update it.",
        slug="bad-owner-credentials",
    )


def _owner_of_phone(phone: str) -> User | None:
    return db.session.scalar(
        sa.select(User).where(User.role == "owner", User.phone == phone).order_by(User.created_at).limit(1)
    )


def _owner_for_phone(phone: str, display_name: str) -> User:
    """The owner account of a phone, made at its first sign-in.

    Two phones signing in at once both find none and both make one: the second's insert then
    meets the first's name (it waits for the first to commit), and it takes the first's account.
    If the first commits before the second looks at the name, the second finds the name taken
    and the account there: it takes that account, not a name with a suffix and a second one.
    """
    user = _owner_of_phone(phone)
    if user is not None:
        return user
    username = f"owner-{phone}"
    while db.session.scalar(sa.select(User.id).where(User.username == username)):
        user = _owner_of_phone(phone)  # made by a sign-in on another phone since the look above
        if user is not None:
            return user
        username = f"owner-{phone}-{uuid.uuid4().hex[:4]}"  # the name of an owner whose phone changed
    try:
        with db.session.begin_nested():  # its release flushes: a clash is raised here
            return accounts.create_user(
                username=username, role="owner", phone=phone, display_name=display_name
            )
    except (IntegrityError, Problem) as exc:
        if isinstance(exc, Problem) and exc.slug != "username-taken":
            raise
        user = _owner_of_phone(phone)
        if user is None:
            raise
        return user


def _bind(user: User, shop: Shop, notice: Notice) -> None:
    """Bind the owner account to the shop, and say so in the audit trail."""
    # Skipped when bound already, by an earlier sign-in or one on another phone at this moment.
    bound_now = db.session.execute(
        insert_or_skip(owner_shops, ["user_id", "shop_id"])
        .values(user_id=user.id, shop_id=shop.id)
        .returning(owner_shops.c.user_id)
    ).first()
    if bound_now is None:
        return
    db.session.add(
        Event(
            occurred_at=clock.now(),
            actor_id=user.id,
            actor_role=user.role,
            # Keyed by the shop, so its page of the trail lists every account bound to it.
            entity="owner_shop",
            entity_id=str(shop.id),
            action="bind",
            before=None,
            after={"user_id": str(user.id), "shop_id": str(shop.id), "notice_id": str(notice.id)},
        )
    )


def owner_sign_in(*, code: str, phone: str) -> dict:
    """Sign an owner in with a notice's access code and the shop's phone on the ledger."""
    code, phone = service.normalize_code(code), normalize_phone(phone)
    keys = (("owner-signin", "code", code), ("owner-signin", "addr", accounts.client_address()))
    failures.check(*keys)
    notice = db.session.scalar(sa.select(Notice).where(Notice.access_code == code))
    shop_phone = normalize_phone(notice.shop.owner_phone) if notice else ""
    if notice is None or not shop_phone or shop_phone != phone:
        failures.fail(*keys)
        raise _bad_credentials()
    user = _owner_for_phone(phone, notice.shop.owner_name or "")
    if not user.is_active:
        raise Problem(403, "This account is disabled.", slug="account-disabled")
    _bind(user, notice.shop, notice)
    failures.clear(keys[0])
    return tokens.start_session(user)


def notice_by_code(code: str) -> Notice | None:
    """The notice an access code belongs to (for the owner page)."""
    return db.session.scalar(sa.select(Notice).where(Notice.access_code == service.normalize_code(code)))


@dataclass(frozen=True)
class OwnerSection:
    """One part of what an owner sees about one of their shops."""

    name: str
    field: ma.fields.Field
    load: Callable[[Shop], Any]


def _notices(shop: Shop) -> list[Notice]:
    return list(
        db.session.scalars(sa.select(Notice).where(Notice.shop_id == shop.id).order_by(Notice.issued_at))
    )


def _commitments(shop: Shop) -> list[Commitment]:
    stmt = sa.select(Commitment).where(Commitment.shop_id == shop.id).order_by(Commitment.signed_at.desc())
    return list(db.session.scalars(stmt))


OWNER_SECTIONS: list[OwnerSection] = [
    OwnerSection(
        "notices",
        ma.fields.List(ma.fields.Nested(NoticeSchema), metadata={"description": "Oldest first"}),
        _notices,
    ),
    OwnerSection(
        "commitment",
        ma.fields.Nested(
            CommitmentSchema, allow_none=True, metadata={"description": "The latest not superseded"}
        ),
        lambda shop: service.current_commitment(shop.id),
    ),
    OwnerSection(
        "commitments",
        ma.fields.List(ma.fields.Nested(CommitmentSchema), metadata={"description": "All, newest first"}),
        _commitments,
    ),
]


def owner_shops_of(user: User) -> list[Shop]:
    """The shops bound to an owner account, by name."""
    ids = owned_shop_ids(user)
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Shop).where(Shop.id.in_(ids)).order_by(Shop.name, Shop.id)))


def owner_shop_view(shop: Shop) -> dict:
    """The shop and every section; the caller has checked the shop is the owner's."""
    return {"shop": shop, **{section.name: section.load(shop) for section in OWNER_SECTIONS}}


OwnerShopViewSchema = ma.Schema.from_dict(
    {"shop": ma.fields.Nested(ShopBriefSchema), **{s.name: s.field for s in OWNER_SECTIONS}},
    name="OwnerShopView",
)
