"""Scope helpers answer for the user asked about, even for several users in one app context;
every list filtered by zone checks the filter the same way."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from signage.accounts.models import User, owner_shops
from signage.core.db import db
from signage.core.errors import Problem
from signage.core.scope import owned_shop_ids, require_zone
from tests import factories
from tests.helpers import bearer, make_user, sign_in


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


LEADS_ONLY = {"/api/v1/exports/ledger", "/api/v1/reports/rectification"}


def _lists_filtered_by_zone(app) -> list[str]:
    """Every GET the API documents with an optional `zone` query filter and no path parameter."""
    with app.test_request_context():
        spec = app.extensions["signage_api"].spec.to_dict()
    found = []
    for path, item in spec["paths"].items():
        get = item.get("get")
        if get is None or "{" in path:
            continue
        zone = [p for p in get.get("parameters", []) if p["in"] == "query" and p["name"] == "zone"]
        if zone and not zone[0].get("required"):
            found.append(path)
    return sorted(found)


def test_every_zone_filter_refuses_an_unknown_code_and_another_inspectors_zone(app, client):
    # One behaviour for every list: a code no zone has is a 422 naming `zone` (an empty list
    # would read as "nothing there"), a zone not the inspector's a 403.
    with app.app_context():
        factories.zone("GL"), factories.zone("DS", "党山集镇", (30.2, 120.5))
        db.session.commit()
    make_user(app, "captain", "supervisor")
    make_user(app, "shen", "inspector", zones=("GL",))
    boss, shen = bearer(sign_in(client, "captain")), bearer(sign_in(client, "shen"))
    lists = _lists_filtered_by_zone(app)
    assert {"/api/v1/shops", "/api/v1/hazards", "/api/v1/patrols", "/api/v1/notices"} <= set(lists)
    for path in lists:
        unknown = client.get(f"{path}?zone=NOPE", headers=boss)
        assert unknown.status_code == 422 and "zone" in unknown.get_json()["errors"], path
        mine = client.get(f"{path}?zone=GL", headers=shen)
        if path in LEADS_ONLY:  # not open to inspectors at all
            assert mine.status_code == 403 and mine.get_json()["type"].endswith(":forbidden"), path
            continue
        assert mine.status_code == 200, path
        other = client.get(f"{path}?zone=DS", headers=shen)
        if path == "/api/v1/roads":  # reference data: every zone's roads are open to all staff
            assert other.status_code == 200
            continue
        assert other.status_code == 403 and other.get_json()["type"].endswith(":outside-zone"), path
