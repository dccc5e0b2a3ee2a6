"""Photos on a hazard: checking the ids sent, attaching them with their integrity flags,
and the night evidence a lighting hazard's verification needs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from signage.accounts.models import User
from signage.catalog import LIGHTING_CATEGORIES
from signage.core.db import db
from signage.core.errors import Problem, field_error
from signage.hazards.daylight import is_after_dark
from signage.hazards.evidence import flags_for
from signage.hazards.models import Hazard, HazardPhoto
from signage.ledger.models import Shop, Sign
from signage.patrols.geo import LatLng
from signage.patrols.models import Patrol
from signage.photos.models import Photo
from signage.photos.service import LEADS, visible_ids

MAX_PHOTOS = 20


def load(photo_ids: Sequence[uuid.UUID], *, actor: User, required: bool = False) -> list[Photo]:
    """The photos named, in order; an unknown id (or, for an owner, one they did not upload) is a 422."""
    ids = list(dict.fromkeys(photo_ids))
    if required and not ids:
        raise field_error("photo_ids", "send at least one photo")
    if len(ids) > MAX_PHOTOS:
        raise field_error("photo_ids", f"send at most {MAX_PHOTOS} photos")
    found = {p.id: p for p in db.session.scalars(sa.select(Photo).where(Photo.id.in_(ids)))} if ids else {}
    # Owners may only show their own pictures; staff, the photos they may see (on a record, the
    # photo becomes visible to whoever sees the record), all asked about in one statement.
    if actor.role == "owner":
        usable = {i for i, photo in found.items() if photo.uploaded_by_id == actor.id}
    elif actor.role in LEADS:
        usable = set(found)  # every stored photo
    else:
        usable = visible_ids(actor, found)
    missing = [i for i in ids if i not in usable]
    if missing:
        raise field_error("photo_ids", f"no such photo: {', '.join(str(i) for i in missing)}")
    return [found[i] for i in ids]


def sign_place(hazard: Hazard) -> LatLng:
    """Where the sign stands: its own position, else its shop's, else where the hazard was found."""
    sign = db.session.get(Sign, hazard.sign_id)
    if sign is not None and sign.lat is not None and sign.lng is not None:
        return sign.lat, sign.lng
    shop = db.session.get(Shop, hazard.shop_id) if hazard.shop_id else None
    if shop is not None:
        return shop.lat, shop.lng
    return hazard.lat, hazard.lng


def attach(
    hazard: Hazard,
    photos: Sequence[Photo],
    *,
    stage: str,
    actor: User,
    at: datetime,
    received_at: datetime,
) -> list[HazardPhoto]:
    """Link photos to the hazard at a stage, flagging doubtful evidence; a link made before is kept."""
    return link(
        hazard, checked(hazard, photos, stage=stage, received_at=received_at), stage=stage, actor=actor, at=at
    )


def checked(
    hazard: Hazard,
    photos: Sequence[Photo],
    *,
    stage: str,
    received_at: datetime,
    place: LatLng | None = None,
) -> list[tuple[Photo, list]]:
    """The photos not yet on the hazard at this stage, each with the integrity flags it raises;
    the hazard is flagged if any raises one. The first half of `attach`: a hazard being
    reported is flagged before its row is written. place: where the sign stands, when the
    caller knows (else `sign_place`)."""
    if not photos:
        return []
    place = place or sign_place(hazard)
    existing = {(p.photo_id, p.stage) for p in hazard.photos}
    found = []
    for photo in photos:
        if (photo.id, stage) in existing:
            continue
        flags = flags_for(photo, stage=stage, place=place, received_at=received_at, found_at=hazard.found_at)
        found.append((photo, flags))
        if flags:
            hazard.flagged = True
    return found


def link(
    hazard: Hazard, photos: Sequence[tuple[Photo, list]], *, stage: str, actor: User, at: datetime
) -> list[HazardPhoto]:
    """Link the photos `checked` gave to the hazard at a stage. The second half of `attach`."""
    links = []
    for photo, flags in photos:
        record = HazardPhoto(
            hazard=hazard, photo_id=photo.id, stage=stage, added_by_id=actor.id, added_at=at, flags=flags
        )
        db.session.add(record)
        links.append(record)
    return links


def night_evidence(
    hazard: Hazard, *, patrol: Patrol | None, at: datetime, new_photos: Sequence[Photo]
) -> dict | None:
    """Why a lighting hazard may be verified now, or a 422 saying what is missing.

    Accepted: the verification happens on a night patrol, or some after-photo (a fix photo
    already on the hazard, or one sent now) was taken after dark and after the finding.
    """
    if hazard.category not in LIGHTING_CATEGORIES:
        return None
    if patrol is not None and patrol.shift == "night":
        return {"basis": "night_patrol", "patrol_id": str(patrol.id)}
    lat, lng = sign_place(hazard)
    after = [p for p in hazard.photos if p.stage in ("fix", "verification")]
    candidates = list(new_photos) + [db.session.get(Photo, p.photo_id) for p in after]
    for photo in candidates:
        if photo.taken_at and photo.taken_at >= hazard.found_at and is_after_dark(photo.taken_at, lat, lng):
            return {
                "basis": "after_dark_photo",
                "photo_id": str(photo.id),
                "taken_at": photo.taken_at.isoformat(),
            }
    raise Problem(
        422,
        "断字缺亮隐患只能在夜间巡查中验收，或凭天黑后拍摄的整改照片验收。 "
        "A lighting hazard (unlit or missing characters) can be verified only on a night patrol, "
        "or with an after-photo whose capture time is after dark (after civil dusk at the sign); "
        "none was given.",
        slug="night-verification-required",
        title="Night verification required",
        errors={
            "patrol_id": ["name the night patrol this verification is made on"],
            "photo_ids": ["or send an after-photo taken after dark"],
        },
    )
