"""Paperwork workflows: issuing and delivering notices, acknowledgement, signed commitments.

The service functions take keyword arguments and the acting user explicitly, so the
demo loader and imports can call them inside an app context without a request.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app

from signage.accounts.models import User
from signage.core import audit, clock
from signage.core.db import db
from signage.core.errors import Problem, field_error
from signage.core.scope import require_own_shop, require_zone
from signage.ledger.models import Shop
from signage.paperwork import documents, numbering
from signage.paperwork.models import Commitment, DocumentTemplate, Notice
from signage.photos.service import usable_photo

# Access codes avoid characters people confuse when typing them from paper (0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes; guesses are rate-limited on top


def new_access_code() -> str:
    """A random code for a notice's owner link."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What the owner typed or scanned, as stored: upper case, no spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def display_code(code: str) -> str:
    """A code as printed: two groups of five."""
    return f"{code[:5]}-{code[5:]}" if len(code) == CODE_LENGTH else code


def owner_url(notice: Notice) -> str:
    """The owner's page for a notice (what its QR code opens)."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/o/{notice.access_code}"


def issue_notice(
    *,
    shop: Shop,
    issued_by: User,
    id: uuid.UUID | None = None,  # the client-made id of the record
    template: DocumentTemplate | None = None,
    issued_at: datetime | None = None,
    recorded_at: datetime | None = None,
    lat: float | None = None,
    lng: float | None = None,
    place: str | None = None,
    delivery_method: str | None = None,
    delivery_note: str = "",
) -> Notice:
    """Number and render a notice for a shop; record its delivery when given."""
    require_zone(issued_by, shop.zone_id)
    template = template or documents.current_template("notice")
    issued_at = issued_at or clock.now()
    year = documents.local_date(issued_at).year
    seq = numbering.next_seq(year)
    number = numbering.format_number(year, seq)
    cfg = current_app.config
    body = documents.render(
        template,
        {
            "notice_number": number,
            "shop_name": shop.name,
            "shop_address": shop.address,
            "team_name": cfg["TEAM_NAME"],
            "team_phone": cfg["TEAM_PHONE"],
            "issued_date": documents.chinese_date(issued_at),
        },
    )
    notice = Notice(
        id=id or uuid.uuid4(),
        shop_id=shop.id,
        shop=shop,
        year=year,
        seq=seq,
        number=number,
        template_id=template.id,
        title=template.title,
        body=body,
        content_sha256=documents.sha256_text(body),
        access_code=new_access_code(),
        issued_by_id=issued_by.id,
        issued_at=issued_at,
        recorded_at=recorded_at,
        lat=lat,
        lng=lng,
        place=place if place is not None else shop.address,
    )
    audit.tag(notice, "issue")
    db.session.add(notice)
    db.session.flush()
    if delivery_method:
        record_delivery(
            notice=notice, method=delivery_method, by=issued_by, delivered_at=recorded_at, note=delivery_note
        )
    return notice


def record_delivery(
    *, notice: Notice, method: str, by: User, delivered_at: datetime | None = None, note: str = ""
) -> Notice:
    """Record how the notice reached the shop; after a refusal it may be delivered again."""
    require_zone(by, notice.shop.zone_id)
    if notice.delivery_method is not None and notice.delivery_method != "refused":
        raise Problem(
            409,
            f"This notice was already delivered ({notice.delivery_method}).",
            slug="already-delivered",
            delivery_method=notice.delivery_method,
            delivered_at=notice.delivered_at.isoformat() if notice.delivered_at else None,
        )
    notice.delivery_method = method
    notice.delivered_at = delivered_at or clock.now()
    notice.delivered_by_id = by.id
    notice.delivery_note = note
    audit.tag(notice, "deliver")
    db.session.flush()
    return notice


def acknowledge_notice(*, notice: Notice, owner: User) -> Notice:
    """The owner confirms having read the notice; recorded once, later calls change nothing."""
    require_own_shop(owner, notice.shop_id, "notice")
    if notice.acknowledged_at is None:
        notice.acknowledged_at = clock.now()
        notice.acknowledged_by_id = owner.id
        audit.tag(notice, "acknowledge")
        db.session.flush()
    return notice


def _one_year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def commitment_status(commitment: Commitment, today: date | None = None) -> str:
    """in_force, expired (lapsed, not replaced) or superseded."""
    if commitment.superseded_at is not None:
        return "superseded"
    today = today or documents.local_date(clock.now())
    return "expired" if commitment.valid_until < today else "in_force"


def current_commitment(shop_id: uuid.UUID, *, lock: bool = False) -> Commitment | None:
    """The shop's latest commitment not superseded (in force or lapsed), if any."""
    stmt = sa.select(Commitment).where(Commitment.shop_id == shop_id, Commitment.superseded_at.is_(None))
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def record_commitment(
    *,
    shop: Shop,
    witnessed_by: User,
    signer_name: str,
    signer_role: str,
    signature_photo_id: uuid.UUID | None = None,
    paper_photo_id: uuid.UUID | None = None,
    signed_at: datetime | None = None,
    valid_until: date | None = None,
    template: DocumentTemplate | None = None,
    id: uuid.UUID | None = None,  # the client-made id of the record
    recorded_at: datetime | None = None,
) -> Commitment:
    """Record a signed commitment; it supersedes the shop's current one, which stays in history."""
    require_zone(witnessed_by, shop.zone_id)
    if signature_photo_id is None and paper_photo_id is None:
        raise field_error("signature_photo_id", "send the signature image or a photo of the signed paper")
    usable_photo(witnessed_by, signature_photo_id, "signature_photo_id")
    usable_photo(witnessed_by, paper_photo_id, "paper_photo_id")
    signed_at = signed_at or clock.now()
    valid_from = documents.local_date(signed_at)
    valid_until = valid_until or _one_year_later(valid_from)
    if valid_until < valid_from:
        raise field_error("valid_until", "must not be before the day of signing")
    template = template or documents.current_template("commitment")
    body = documents.render(
        template,
        {
            "shop_name": shop.name,
            "signer_name": signer_name,
            "signer_role": signer_role,
            "signed_date": documents.chinese_date(valid_from),
            "valid_until": documents.chinese_date(valid_until),
            "team_name": current_app.config["TEAM_NAME"],
        },
    )
    commitment = Commitment(
        id=id or uuid.uuid4(),
        shop_id=shop.id,
        shop=shop,
        template_id=template.id,
        title=template.title,
        body=body,
        content_sha256=documents.sha256_text(body),
        signer_name=signer_name,
        signer_role=signer_role,
        signed_at=signed_at,
        valid_from=valid_from,
        valid_until=valid_until,
        witnessed_by_id=witnessed_by.id,
        signature_photo_id=signature_photo_id,
        paper_photo_id=paper_photo_id,
        recorded_at=recorded_at,
    )
    current = current_commitment(shop.id, lock=True)
    if current is not None and current.signed_at > signed_at:
        # Signed before the one in force (a phone synced late): it goes straight into history.
        commitment.superseded_at = clock.now()
        commitment.superseded_by_id = current.id
    elif current is not None:
        current.superseded_at = clock.now()
        current.superseded_by_id = commitment.id
        audit.tag(current, "supersede")
        # The old one leaves force before the new one enters (one in force per shop, by index).
        db.session.flush()
    audit.tag(commitment, "sign")
    db.session.add(commitment)
    db.session.flush()
    return commitment
