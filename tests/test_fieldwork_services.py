"""The patrol and hazard services used as a loader uses them: app context, explicit actor and time."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from signage.accounts.models import User
from signage.core import audit
from signage.core.audit import Event
from signage.core.db import db
from signage.hazards.lifecycle import apply_action
from signage.hazards.models import Hazard, HazardTransition
from signage.hazards.service import report_hazard
from signage.patrols.service import add_track_points, end_patrol, record_visit, start_patrol
from tests import factories
from tests.fieldwork import NIGHT, SHOP_AT, later, north_of
from tests.helpers import make_user


def test_a_loader_replays_a_night_patrol_from_finding_to_verified_fix(app):
    _zones(app)
    make_user(app, "shen", "inspector", zones=("GL",))
    make_user(app, "chen", "inspector", zones=("DS",))
    with app.app_context():
        shen = db.session.scalar(sa.select(User).where(User.username == "shen"))
        chen = db.session.scalar(sa.select(User).where(User.username == "chen"))
        shop = factories.shop("夜宵店")
        sign = factories.sign(shop, lit=True)
        fix_photo = factories.photo(
            taken_at=later(NIGHT, days=1, minutes=5), lat=SHOP_AT[0], lng=SHOP_AT[1], uploaded_by_id=shen.id
        )
        audit.set_actor(shen.id, shen.role)
        try:
            patrol = start_patrol(actor=shen, zone_id=shop.zone_id, shift="night", started_at=NIGHT)
            # Another inspector acting in the same app context keeps their own zones.
            other = start_patrol(actor=chen, zone_id=factories.zone("DS").id, shift="night", started_at=NIGHT)
            assert other.zone_id != patrol.zone_id
            add_track_points(
                patrol=patrol,
                actor=shen,
                points=[
                    {"at": later(NIGHT, minutes=m), "lat": north_of(SHOP_AT, 50 * m)[0], "lng": SHOP_AT[1]}
                    for m in range(5)
                ],
            )
            visit = record_visit(
                patrol=patrol, actor=shen, shop_id=shop.id, visited_at=later(NIGHT, minutes=4)
            )
            hazard = report_hazard(
                actor=shen,
                sign_id=sign.id,
                category="unlit_characters",
                severity="medium",
                patrol_id=patrol.id,
                visit_id=visit.id,
                found_at=later(NIGHT, minutes=4),
                received_at=later(NIGHT, minutes=4),
            )
            apply_action(
                hazard=hazard,
                action="notify",
                actor=shen,
                at=later(NIGHT, minutes=6),
                contact_method="in_person",
                immediate_measure="power_off",
            )
            end_patrol(patrol=patrol, actor=shen, ended_at=later(NIGHT, hours=2))
            apply_action(
                hazard=hazard,
                action="submit_fix",
                actor=shen,
                at=later(NIGHT, days=1, minutes=10),
                received_at=later(NIGHT, days=1, minutes=10),
                photo_ids=[fix_photo.id],
            )
            apply_action(
                hazard=hazard, action="verify", actor=shen, at=later(NIGHT, days=1, minutes=20), result="pass"
            )
            db.session.commit()
        finally:
            audit.set_actor(None, None)

        stored = db.session.get(Hazard, hazard.id)
        assert (stored.state, stored.shift, stored.flagged) == ("rectified", "night", False)
        assert (
            stored.rectified_at == later(NIGHT, days=1, minutes=20)
            and stored.rectified_at <= stored.deadline_at
        )
        assert abs(patrol.distance_m - 200) < 2 and patrol.shops_visited == 1
        steps = db.session.scalars(
            sa.select(HazardTransition.action)
            .where(HazardTransition.hazard_id == hazard.id)
            .order_by(HazardTransition.at)
        ).all()
        assert steps == ["notify", "submit_fix", "verify"]
        actors = set(db.session.scalars(sa.select(Event.actor_id).where(Event.entity == "hazards")))
        assert actors == {shen.id}


def test_a_hazard_reported_in_a_savepoint_that_rolls_back_leaves_the_session(app):
    # The hazard's row goes in by a Core statement (audit.write_created), not a flush: when its
    # savepoint rolls back (a sync batch's failed operation), the record must leave the session
    # with its row, so that the same id can be reported again.
    _zones(app)
    make_user(app, "shen", "inspector", zones=("GL",))
    with app.app_context():
        shen = db.session.scalar(sa.select(User).where(User.username == "shen"))
        sign = factories.sign(factories.shop("夜宵店"))
        db.session.commit()
        audit.set_actor(shen.id, shen.role)
        try:
            hazard_id = uuid.uuid4()
            savepoint = db.session.begin_nested()
            first = report_hazard(
                actor=shen, sign_id=sign.id, category="rusted", severity="low", id=hazard_id
            )
            savepoint.rollback()
            assert first not in db.session
            again = report_hazard(
                actor=shen, sign_id=sign.id, category="damaged", severity="low", id=hazard_id
            )
            db.session.commit()
        finally:
            audit.set_actor(None, None)
        assert again in db.session and again.category == "damaged"
        stored = db.session.execute(sa.select(Hazard.category).where(Hazard.id == hazard_id)).scalars().all()
        events = db.session.scalars(sa.select(Event.action).where(Event.entity_id == str(hazard_id))).all()
    assert stored == ["damaged"] and events == ["create"]


def _zones(app) -> None:
    with app.app_context():
        factories.zone("GL")
        factories.zone("DS", "党山集镇", (30.20, 120.50))
        db.session.commit()
