"""Scope helpers answer for the user asked about, even for several users in one app context."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from signage.accounts.models import User, owner_shops
from signage.core.db import db
from signage.core.errors import Problem
from signage.core.scope import owned_shop_ids, require_zone
from tests import factories
from tests.helpers import make_user


def test_zone_and_shop_scope_are_kept_per_user_within_one_app_context(app):
    with app.app_context():
        gl, ds = factories.zone("GL"), factories.zone("DS", "党山集镇", (30.2, 120.5))
        shop = factories.shop()
        db.session.commit()
        gl_id, ds_id, shop_id = gl.id, ds.id, shop.id
    make_user(app, "shen", "inspector", zones=("GL",))
    make_user(app, "chen", "inspector", zones=("DS",))
    make_user(app, "afang", "owner")
    make_user(app, "laowang", "owner")
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(sa.select(User))}
        db.session.execute(sa.insert(owner_shops).values(user_id=users["afang"].id, shop_id=shop_id))
        require_zone(users["shen"], gl_id)
        require_zone(users["chen"], ds_id)
        with pytest.raises(Problem):
            require_zone(users["chen"], gl_id)
        assert owned_shop_ids(users["afang"]) == {shop_id}
        assert owned_shop_ids(users["laowang"]) == set()
