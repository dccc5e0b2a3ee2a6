"""Every model, imported once so the metadata (migrations, model checks) knows all tables."""

from signage.accounts.models import AuthSession, RefreshToken, User, owner_shops, user_zones
from signage.core.audit import Event
from signage.core.idempotency import IdempotencyRecord
from signage.ledger.models import Shop, Sign, SignVersion
from signage.paperwork.models import Commitment, DocumentTemplate, Notice, NoticeCounter
from signage.photos.models import Photo, PhotoUpload
from signage.zones.models import Road, Zone

__all__ = [
    "AuthSession",
    "Commitment",
    "DocumentTemplate",
    "Event",
    "IdempotencyRecord",
    "Notice",
    "NoticeCounter",
    "Photo",
    "PhotoUpload",
    "RefreshToken",
    "Road",
    "Shop",
    "Sign",
    "SignVersion",
    "User",
    "Zone",
    "owner_shops",
    "user_zones",
]
