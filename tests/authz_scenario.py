"""One shared scenario for the authorization tests: two zones, two shops, their paperwork and people.

Zone 1 (GL) holds shop A, zone 2 (DS) shop B. Each shop has a sign, a photo, a notice, a
commitment, a hazard and a patrol; each has an owner signed in with its notice's code. Staff:
an inspector per zone, a supervisor, an admin. It is built once per module through the API
(set-up of references through the factories), then snapshot, so a test that changes it can put
the database back as it was.
"""

from __future__ import annotations

import functools
import io
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from PIL import Image

from signage import create_app
from signage.core.db import db
from tests import factories
from tests.conftest import PG_URL, TEST_SECRET, reset_database, upgrade
from tests.helpers import bearer, make_user, sign_in

ROLES = ("anon", "owner_a", "owner_b", "insp_1", "insp_2", "supervisor", "admin")
ZONE_2_CENTRE = (30.2000, 120.5000)
PHONE = {"A": "13800000001", "B": "13900000002"}
NAME = {"A": "阿芳小吃店", "B": "党山五金店"}


@dataclass
class Party:
    """The records of one shop (and its zone), by name."""

    key: str = "A"
    zone: str = ""
    road: str = ""
    shop: str = ""
    sign: str = ""
    photo: str = ""
    notice: str = ""
    notice_number: str = ""
    access_code: str = ""
    commitment: str = ""
    signature: str = ""
    hazard: str = ""
    patrol: str = ""
    visit: str = ""
    version: str = ""
    owner: str = ""

    def markers(self) -> set[str]:
        """Strings that identify this party's data in any response (zones and roads are reference data)."""
        private = ("shop", "sign", "photo", "notice", "notice_number", "commitment", "signature", "hazard")
        return {getattr(self, k) for k in (*private, "patrol", "owner")} | {NAME[self.key], PHONE[self.key]}


@dataclass
class Scenario:
    """Ids of the shared records and each role's Authorization header."""

    a: Party
    b: Party
    headers: dict[str, dict]
    user_ids: dict[str, str]
    template: str = ""
    rule: str = ""
    refresh_token: str = ""
    fix_photo: str = ""
    now: str = ""

    def who(self, role: str) -> dict:
        return dict(self.headers[role])


def jpeg(shade: int = 1) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 36), (shade * 37 % 256, 90, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(client, headers: dict, url: str = "/api/v1/photos", shade: int = 1, **form):
    data = {"file": (io.BytesIO(jpeg(shade)), "p.jpg"), **form}
    return client.post(url, data=data, headers=headers, content_type="multipart/form-data")


def _ok(response, status: int = 201) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def _first(listing) -> dict:
    return (listing["items"] if isinstance(listing, dict) else listing)[0]


def _party(app, client, key: str, zone_code: str, centre, insp: dict, road_name: str) -> Party:
    p = Party(key=key)
    with app.app_context():
        shop = factories.shop(
            NAME[key], zone_code=zone_code, road_name=road_name, lat=centre[0], lng=centre[1]
        )
        shop.owner_phone = PHONE[key]
        sign = factories.sign(shop)
        p.zone, p.road, p.shop, p.sign = (str(x) for x in (shop.zone_id, shop.road_id, shop.id, sign.id))
        db.session.commit()
    p.photo = _ok(upload(client, insp, shade=ord(key) * 3))["id"]
    notice = _ok(client.post("/api/v1/notices", json={"shop_id": p.shop}, headers=insp))
    p.notice, p.notice_number, p.access_code = notice["id"], notice["number"], notice["access_code"]
    p.signature = _ok(upload(client, insp, "/api/v1/commitments/signatures", shade=ord(key) * 3 + 1))["id"]
    body = {
        "shop_id": p.shop,
        "signer_name": "店主" + key,
        "signer_role": "店主",
        "signature_photo_id": p.signature,
    }
    p.commitment = _ok(client.post("/api/v1/commitments", json=body, headers=insp))["id"]
    p.patrol = _ok(client.post("/api/v1/patrols", json={"zone_id": p.zone, "shift": "day"}, headers=insp))[
        "id"
    ]
    visit = client.post(f"/api/v1/patrols/{p.patrol}/visits", json={"shop_id": p.shop}, headers=insp)
    p.visit = _ok(visit)["id"]
    p.version = _ok(client.get(f"/api/v1/signs/{p.sign}/versions", headers=insp), 200)[0]["id"]
    body = {"sign_id": p.sign, "category": "rusted", "severity": "low", "photo_ids": [p.photo]}
    p.hazard = _ok(client.post("/api/v1/hazards", json=body, headers=insp))["id"]
    owner = _ok(
        client.post("/api/v1/auth/owner-token", json={"code": p.access_code, "phone": PHONE[key]}), 200
    )
    p.owner = owner["user"]["id"]
    return p, bearer(owner)


def build(app, client) -> Scenario:
    """Make the scenario through the API; returns its ids and sign-ins."""
    with app.app_context():
        factories.zone("GL")
        factories.zone("DS", "党山集镇", ZONE_2_CENTRE)
        db.session.commit()
    ids = {
        "insp_1": make_user(app, "insp1", "inspector", zones=("GL",)),
        "insp_2": make_user(app, "insp2", "inspector", zones=("DS",)),
        "supervisor": make_user(app, "captain", "supervisor"),
        "admin": make_user(app, "root", "admin"),
    }
    headers = {
        role: bearer(sign_in(client, name))
        for role, name in (
            ("insp_1", "insp1"),
            ("insp_2", "insp2"),
            ("supervisor", "captain"),
            ("admin", "root"),
        )
    }
    a, headers["owner_a"] = _party(app, client, "A", "GL", factories.GL_CENTRE, headers["insp_1"], "航坞路")
    b, headers["owner_b"] = _party(app, client, "B", "DS", ZONE_2_CENTRE, headers["insp_2"], "党山路")
    headers["anon"] = {}
    ids = {k: str(v) for k, v in ids.items()} | {"owner_a": a.owner, "owner_b": b.owner}
    sc = Scenario(a=a, b=b, headers=headers, user_ids=ids)
    admin = headers["admin"]
    sc.refresh_token = sign_in(client, "insp1")["refresh_token"]
    sc.now = datetime.now(UTC).isoformat()
    sc.template = _first(_ok(client.get("/api/v1/templates", headers=admin), 200))["id"]
    sc.rule = _first(_ok(client.get("/api/v1/deadline-rules", headers=admin), 200))["id"]
    return sc


class Snapshot:
    """Every table's rows, taken once; restore() puts the database back to them.

    The audit trail is append-only (a trigger refuses deletes), so its events stay.
    """

    def __init__(self, app):
        self.app = app
        with app.app_context(), db.engine.connect() as conn:
            self.rows = [
                (t, [dict(r._mapping) for r in conn.execute(sa.select(t))])
                for t in db.metadata.sorted_tables
                if t.name != "events"
            ]

    def restore(self) -> None:
        with self.app.app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                for table, _ in reversed(self.rows):
                    conn.execute(sa.delete(table))
                for table, rows in self.rows:
                    if rows:
                        conn.execute(sa.insert(table), rows)


SHARED_SCHEMA = "authz_shared"


@functools.cache
def _shared_schema_url(database_template: str) -> str:
    """On PostgreSQL: a schema of its own, migrated once per run, for the module-scoped scenarios.

    The per-test database is emptied after every test, and a module may hold both kinds of test.
    """
    engine = sa.create_engine(database_template)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SHARED_SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SHARED_SCHEMA}"))
    engine.dispose()
    joiner = "&" if "?" in database_template else "?"
    url = f"{database_template}{joiner}options=-csearch_path%3D{SHARED_SCHEMA}"
    upgrade(url)
    return url


def module_app(database_template: str, tmp_path_factory):
    """An app on a database of its own for one test module (yields app, client, scenario, snapshot)."""
    tmp = tmp_path_factory.mktemp("authz")
    if PG_URL:
        url = _shared_schema_url(database_template)
    else:
        shutil.copy(database_template, tmp / "authz.db")
        url = f"sqlite:///{tmp / 'authz.db'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": TEST_SECRET,
            "MEDIA_ROOT": str(tmp / "media"),
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    client = app.test_client()
    try:
        sc = build(app, client)
        yield app, client, sc, Snapshot(app)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if PG_URL:
            reset_database(url, SHARED_SCHEMA)
