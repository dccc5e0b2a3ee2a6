"""Every model, imported once so the metadata (migrations, model checks) knows all tables."""

from signage.accounts.models import AuthSession, RefreshToken, User, owner_shops, user_zones
from signage.core.audit import Event
from signage.core.idempotency import IdempotencyRecord
from signage.hazards.models import DeadlineRule, Hazard, HazardPhoto, HazardTransition
from signage.ledger.models import Shop, Sign, SignVersion
from signage.paperwork.models import Commitment, DocumentTemplate, Notice, NoticeCounter
from signage.patrols.models import Patrol, TrackPoint, Visit, patrol_members
from signage.photos.models import Photo, PhotoUpload
from signage.zones.models import Road, Zone

__all__ = [
    "AuthSession",
    "Commitment",
    "DeadlineRule",
    "DocumentTemplate",
    "Event",
    "Hazard",
    "HazardPhoto",
    "HazardTransition",
    "IdempotencyRecord",
    "Notice",
    "NoticeCounter",
    "Patrol",
    "Photo",
    "PhotoUpload",
    "RefreshToken",
    "Road",
    "Shop",
    "Sign",
    "SignVersion",
    "TrackPoint",
    "User",
    "Visit",
    "Zone",
    "owner_shops",
    "patrol_members",
    "user_zones",
]
