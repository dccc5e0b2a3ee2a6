"""Photo workflows: the store behind the app, uploads stored once by hash, who may see what."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from signage.accounts.models import User, owner_shops
from signage.config import ConfigError
from signage.core.access import STAFF
from signage.core.db import db
from signage.core.errors import Problem, field_error
from signage.core.scope import zone_ids
from signage.ledger.models import Sign, SignVersion
from signage.photos.imaging import ImageRejected, ProcessedImage, process_image
from signage.photos.models import Photo, PhotoUpload
from signage.photos.storage import PhotoStorage, StorageFull, storage_from_config

log = logging.getLogger("signage.photos")

# Room in a request for the multipart envelope and the form fields around the photo itself.
MULTIPART_ROOM = 64 * 1024

# A stable problem type per way an upload can be refused.
_REJECTION_SLUGS = {413: "photo-too-large", 415: "unsupported-image-type", 422: "invalid-image"}


def init_app(app: Flask) -> None:
    """Check the upload limits and put the configured photo store on app.extensions."""
    max_bytes = app.config["PHOTO_MAX_BYTES"]
    request_limit = app.config.get("MAX_CONTENT_LENGTH")
    if max_bytes <= 0 or app.config["PHOTO_MAX_PIXELS"] <= 0:
        raise ConfigError("PHOTO_MAX_BYTES and PHOTO_MAX_PIXELS must be positive")
    if request_limit and max_bytes + MULTIPART_ROOM > request_limit:
        # Otherwise werkzeug refuses a large photo before the API can say which limit it broke.
        raise ConfigError(
            f"PHOTO_MAX_BYTES ({max_bytes}) must be at least {MULTIPART_ROOM} bytes below "
            f"MAX_CONTENT_LENGTH ({request_limit})"
        )
    app.extensions["photo_storage"] = storage_from_config(app.config)


def photo_storage() -> PhotoStorage:
    """The app's photo store."""
    return current_app.extensions["photo_storage"]


def storage_keys(sha256: str) -> dict[str, str]:
    """Where the original, the display copy and the thumbnail of a photo live: derived from its hash."""
    fan_out = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"  # keeps directories small on a local disk
    return {kind: f"{kind}/{fan_out}" for kind in ("original", "display", "thumbnail")}


# --------------------------------------------------------------------------- #
# Upload


def upload(
    *, user: User, file: FileStorage, client_id: uuid.UUID | None = None, recorded_at: datetime | None = None
) -> tuple[Photo, bool]:
    """Store an uploaded photo once by content hash and commit; return it and whether it is new."""
    data = _read_limited(file, current_app.config["PHOTO_MAX_BYTES"])
    return store_bytes(user=user, data=data, client_id=client_id, recorded_at=recorded_at)


def store_bytes(
    *,
    user: User,
    data: bytes,
    client_id: uuid.UUID | None = None,
    recorded_at: datetime | None = None,
    commit: bool = True,
) -> tuple[Photo, bool]:
    """Check an image and store it once by content hash; return its Photo and whether it is new.

    With commit=False (loaders, or a caller's own transaction) the rows are only flushed.
    """
    config = current_app.config
    if len(data) > config["PHOTO_MAX_BYTES"]:
        raise _rejection(
            ImageRejected(
                413, f"file is too large: it exceeds the limit of {config['PHOTO_MAX_BYTES']} bytes"
            )
        )
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _by_hash(sha256)
    if existing is not None:
        return _known(existing, user, recorded_at, commit=commit), False
    try:
        image = process_image(
            data,
            max_bytes=config["PHOTO_MAX_BYTES"],
            max_pixels=config["PHOTO_MAX_PIXELS"],
            local_tz=config["TIMEZONE"],
        )
    except ImageRejected as exc:
        raise _rejection(exc) from exc
    if client_id is not None and db.session.get(Photo, client_id) is not None:
        raise _id_taken(client_id)
    # Files first, then the row: a row never points at missing files, and files left behind by a
    # failed insert are harmless because a retry of the same bytes writes the very same keys.
    keys = _store(image, data)
    photo = Photo(
        id=client_id or uuid.uuid4(),
        sha256=sha256,
        mime=image.mime,
        size=image.size,
        width=image.width,
        height=image.height,
        taken_at=image.taken_at,
        gps_lat=image.gps_lat,
        gps_lng=image.gps_lng,
        original_key=keys["original"],
        display_key=keys["display"] if image.display is not None else None,
        display_mime=image.display_mime,
        thumbnail_key=keys["thumbnail"],
        uploaded_by_id=user.id,
        recorded_at=recorded_at,
    )
    db.session.add(photo)
    db.session.add(PhotoUpload(photo_id=photo.id, user_id=user.id, recorded_at=recorded_at))
    if not commit:
        db.session.flush()
        return photo, True
    try:
        db.session.commit()
    except IntegrityError:
        # Someone stored the same bytes (or took the id) between our check and our insert.
        db.session.rollback()
        existing = _by_hash(sha256)
        if existing is None:
            if client_id is not None and db.session.get(Photo, client_id) is not None:
                raise _id_taken(client_id) from None
            raise
        return _known(existing, user, recorded_at), False
    return photo, True


def _read_limited(file: FileStorage, max_bytes: int) -> bytes:
    """Read the file part, stopping one byte past the limit."""
    data = file.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _rejection(ImageRejected(413, f"file is too large: it exceeds the limit of {max_bytes} bytes"))
    return data


def _by_hash(sha256: str) -> Photo | None:
    return db.session.scalar(sa.select(Photo).where(Photo.sha256 == sha256))


def _known(photo: Photo, user: User, recorded_at: datetime | None, commit: bool = True) -> Photo:
    """The same bytes again: note a new sender (so they may see it) and store nothing else."""
    already = db.session.scalar(
        sa.select(PhotoUpload.id).where(PhotoUpload.photo_id == photo.id, PhotoUpload.user_id == user.id)
    )
    if already is None:
        db.session.add(PhotoUpload(photo_id=photo.id, user_id=user.id, recorded_at=recorded_at))
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    return photo


def _store(image: ProcessedImage, data: bytes) -> dict[str, str]:
    """Write the original and its renditions; a full or broken store is a clear problem."""
    keys = storage_keys(image.sha256)
    store = photo_storage()
    try:
        store.put(keys["original"], data)
        if image.display is not None:
            store.put(keys["display"], image.display)
        store.put(keys["thumbnail"], image.thumbnail)
    except StorageFull as exc:
        log.error("photo store is full: %s", exc, extra={"request_id": g.get("request_id")})
        raise Problem(
            507, "The photo store is full; the photo was not saved. Try again later.", slug="storage-full"
        ) from exc
    except OSError as exc:
        log.exception("photo store failed", extra={"request_id": g.get("request_id")})
        raise Problem(
            503,
            "The photo store is unavailable; the photo was not saved. Try again shortly.",
            slug="storage-unavailable",
            headers={"Retry-After": "30"},
        ) from exc
    return keys


def _rejection(exc: ImageRejected) -> Problem:
    return Problem(
        exc.status,
        f"{exc.field}: {exc.reason}",
        slug=_REJECTION_SLUGS.get(exc.status),
        errors={exc.field: [exc.reason]},
    )


def _id_taken(photo_id: uuid.UUID) -> Problem:
    return Problem(
        409,
        f"Another photo already has the id {photo_id}; send a new id or none.",
        slug="id-taken",
        errors={"id": ["is taken by another photo"]},
    )


LEADS = frozenset({"admin", "supervisor"})  # they see every stored photo


# --------------------------------------------------------------------------- #
# Who may see a photo
#
# Admins and supervisors see every photo. Anyone else sees the photos they sent, and the
# photos shown on the records they may read: owners those of their shops, inspectors those
# of their zones. Any other photo answers 404, as if it did not exist.


def _record_paths(photo_id, *, shop_ids: sa.Select | None, zone_ids: set | None) -> list:
    """Each record a photo can be shown on, narrowed to these shops (owners) or zones (inspectors).

    photo_id is an id, or the Photo.id column of an enclosing query (each test correlates to it).
    """
    from signage.hazards.models import Hazard, HazardPhoto
    from signage.ledger.models import Shop
    from signage.paperwork.models import Commitment

    def mine(shop_column, zone_column):
        return shop_column.in_(shop_ids) if shop_ids is not None else zone_column.in_(zone_ids or set())

    commitment_zone = sa.select(Shop.zone_id).where(Shop.id == Commitment.shop_id).scalar_subquery()
    return [
        # A sign's photo now, or in its history.
        sa.exists().where(Sign.current_photo_id == photo_id, mine(Sign.shop_id, Sign.zone_id)),
        sa.exists().where(
            SignVersion.photo_id == photo_id, SignVersion.sign_id == Sign.id, mine(Sign.shop_id, Sign.zone_id)
        ),
        # A hazard's finding, fix or verification photo.
        sa.exists().where(
            HazardPhoto.photo_id == photo_id,
            HazardPhoto.hazard_id == Hazard.id,
            mine(Hazard.shop_id, Hazard.zone_id),
        ),
        # A commitment's signature or its signed paper.
        sa.exists().where(
            sa.or_(Commitment.signature_photo_id == photo_id, Commitment.paper_photo_id == photo_id),
            mine(Commitment.shop_id, commitment_zone),
        ),
    ]


def visible_ids(user: User, photo_ids) -> set[uuid.UUID]:
    """Which of these photos user may see, in one statement: every stored one for admins and
    supervisors, else theirs or their records'."""
    ids = list(photo_ids)
    if not ids:
        return set()
    stmt = sa.select(Photo.id).where(Photo.id.in_(ids))  # one never uploaded: nobody sees it
    if user.role not in LEADS:
        sent = sa.exists().where(PhotoUpload.photo_id == Photo.id, PhotoUpload.user_id == user.id)
        if user.role == "owner":
            my_shops = sa.select(owner_shops.c.shop_id).where(owner_shops.c.user_id == user.id)
            paths = _record_paths(Photo.id, shop_ids=my_shops, zone_ids=None)
        elif user.role in STAFF:
            paths = _record_paths(Photo.id, shop_ids=None, zone_ids=zone_ids(user))
        else:
            paths = []
        stmt = stmt.where(sa.or_(sent, *paths))
    # Records of this request not yet written do not count (a photo cannot make itself visible
    # by being put on one), so there is nothing to flush first.
    with db.session.no_autoflush:
        return set(db.session.scalars(stmt))


def can_see(user: User, photo_id: uuid.UUID) -> bool:
    """Whether user may see a photo (see `visible_ids`)."""
    return photo_id in visible_ids(user, [photo_id])


def usable_photo(user: User, photo_id: uuid.UUID | None, field: str) -> uuid.UUID | None:
    """A photo id user may put on a record: one they may see (else a 422 naming field).

    Putting a photo on a record makes it visible to whoever sees the record, so a photo the
    user may not see could otherwise be read through a record of their own.
    """
    if photo_id is not None and not can_see(user, photo_id):
        raise field_error(field, "no such photo; upload it to /api/v1/photos first")
    return photo_id


def visible_photo(user: User, photo_id: uuid.UUID) -> Photo:
    """Load a photo the user may see; any other answers 404, never its details."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or (user.role not in LEADS and not can_see(user, photo_id)):
        raise Problem(404, "No such photo.")
    return photo
