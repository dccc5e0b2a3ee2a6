"""The record types phones sync: audit entity name → model and schema."""

from __future__ import annotations

from dataclasses import dataclass

import marshmallow as ma
from sqlalchemy.orm import selectinload

from signage.ledger.models import Shop, Sign, SignVersion
from signage.ledger.schemas import ShopSchema, SignSchema, SignVersionSchema
from signage.paperwork.models import Commitment, Notice
from signage.paperwork.schemas import CommitmentListItemSchema, NoticeListItemSchema
from signage.zones.models import Road, Zone
from signage.zones.schemas import RoadSchema, ZoneSchema


@dataclass(frozen=True)
class FeedType:
    """How to load and show one kind of record in the change feed."""

    model: type
    schema: ma.Schema
    # What the schema reads through relationships, loaded with the page (not one query a record).
    options: tuple = ()


FEED_TYPES: dict[str, FeedType] = {
    "zones": FeedType(Zone, ZoneSchema()),
    "roads": FeedType(Road, RoadSchema(), (selectinload(Road.zone),)),
    "shops": FeedType(Shop, ShopSchema(), (selectinload(Shop.zone), selectinload(Shop.road))),
    "signs": FeedType(Sign, SignSchema()),
    "sign_versions": FeedType(SignVersion, SignVersionSchema()),
    "notice": FeedType(Notice, NoticeListItemSchema()),
    "commitment": FeedType(Commitment, CommitmentListItemSchema()),
}
