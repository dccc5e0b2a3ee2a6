"""The authorization matrix's rows: for every operationId, the request and who gets which status.

Path parameters name zone-1 / shop-A records, so the inspector of zone 2 and the owner of
shop B are the wrong parties: inspectors outside their zones get 403 (as for a write), owners
asking for another shop's record get 404 (never its data). Bodies are valid for an allowed
caller, so the status tells authorization apart from validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.authz_scenario import PHONE, ROLES, Scenario, upload
from tests.helpers import PASSWORD


def E(ok: int = 200, **overrides: int) -> dict[str, int]:
    """Expected statuses: anonymous 401, owners 403, staff `ok`, then the overrides."""
    table = dict.fromkeys(ROLES, ok) | {"anon": 401, "owner_a": 403, "owner_b": 403}
    return table | overrides


ANYONE = dict.fromkeys(ROLES, 200)
STAFF = E()  # every staff role, reference data or their zones' lists
ZONED = E(insp_2=403)  # a zone-1 record: the zone-2 inspector is outside it
LEADS = E(insp_1=403, insp_2=403)  # supervisors and admins
ADMIN = E(insp_1=403, insp_2=403, supervisor=403)
SIGNED = E(owner_a=200, owner_b=200)
OWNED = E(owner_a=200, owner_b=404, insp_2=403)  # shop A's record, open to its owner
OWNER_ONLY = E(owner_a=200, owner_b=404, insp_1=403, insp_2=403, supervisor=403, admin=403)
PHOTO_A = E(owner_a=200, owner_b=404, insp_2=404)  # photos follow the records they are on


@dataclass
class Row:
    """How to call one operation, and the expected status per role."""

    expect: dict[str, int]
    path: dict[str, Callable[[Scenario], str]] = field(default_factory=dict)
    query: Callable[[Scenario], dict] | None = None
    json: Callable[[Scenario], dict] | None = None
    photo: bool = False  # multipart upload of one JPEG
    etag_of: Callable[[Scenario], str] | None = None  # the record whose ETag goes in If-Match
    setup: Callable | None = None  # (client, scenario, role) -> None, run before each call
    inner: bool = False  # /sync: the status that counts is the operation's own
    leak_check: bool = True


def _shop(sc):
    return sc.a.shop


def _sign(sc):
    return sc.a.sign


def _hazard(sc):
    return sc.a.hazard


def _patrol(sc):
    return sc.a.patrol


def _notice(sc):
    return sc.a.notice


def _act(client, sc: Scenario, action: str, body: dict) -> None:
    url = f"/api/v1/hazards/{sc.a.hazard}"
    admin = sc.who("admin")
    tag = client.get(url, headers=admin).headers["ETag"]
    response = client.post(f"{url}/{action}", json=body, headers={**admin, "If-Match": tag})
    assert response.status_code == 200, response.get_data(as_text=True)


def _notified(client, sc, role):
    _act(client, sc, "notify", {"contact_method": "phone"})
    # The repair photo is the caller's own (an owner may not use the inspector's).
    sent = upload(client, sc.who(role if role != "anon" else "admin"), shade=ROLES.index(role) + 31)
    assert sent.status_code == 201, sent.get_data(as_text=True)
    sc.fix_photo = sent.get_json()["id"]


def _fix_submitted(client, sc, role):
    _act(client, sc, "notify", {"contact_method": "phone"})
    _act(client, sc, "submit_fix", {"photo_ids": [sc.a.photo]})


def _rectified(client, sc, role):
    _act(client, sc, "fix_on_spot", {"photo_ids": [sc.a.photo]})


def _near_a(extra: float = 0.0001) -> dict:
    return {"lat": 30.1800 + extra, "lng": 120.4600}


HAZ = {"hazard_id": _hazard}
ROWS: dict[str, Row] = {
    # -------------------------------------------------------------- sign-in and accounts
    "postToken": Row(ANYONE, json=lambda sc: {"username": "insp1", "password": PASSWORD}),
    "postRefresh": Row(ANYONE, json=lambda sc: {"refresh_token": sc.refresh_token}),
    "postOwner_token": Row(
        ANYONE,
        json=lambda sc: {"code": sc.a.access_code, "phone": PHONE["A"]},
        leak_check=False,  # whoever holds shop A's code and phone is its owner: A's data is theirs
    ),
    "postLogout": Row(E(204, owner_a=204, owner_b=204)),
    "getMe": Row(SIGNED),
    "getUsers": Row(ADMIN),
    "postUsers": Row(
        E(201, **dict.fromkeys(("insp_1", "insp_2", "supervisor"), 403)),
        json=lambda sc: {"username": "newbie", "role": "inspector", "password": PASSWORD, "zones": ["GL"]},
    ),
    "getUserById": Row(ADMIN, path={"user_id": lambda sc: sc.user_ids["insp_1"]}),
    "patchUserById": Row(
        ADMIN,
        path={"user_id": lambda sc: sc.user_ids["insp_1"]},
        json=lambda sc: {"display_name": "沈队员"},
        etag_of=lambda sc: f"/api/v1/users/{sc.user_ids['insp_1']}",
    ),
    # ------------------------------------------------------------- reference data
    "getCatalog": Row(ANYONE),
    "getZones": Row(STAFF),
    "postZones": Row(
        E(201, insp_1=403, insp_2=403, supervisor=403), json=lambda sc: {"code": "XQ", "name": "新区"}
    ),
    "getZoneById": Row(STAFF, path={"zone_id": lambda sc: sc.a.zone}),
    "patchZoneById": Row(
        ADMIN,
        path={"zone_id": lambda sc: sc.a.zone},
        json=lambda sc: {"name": "瓜沥集镇片区"},
        etag_of=lambda sc: f"/api/v1/zones/{sc.a.zone}",
    ),
    "getRoads": Row(STAFF),
    "postRoads": Row(
        E(201, insp_1=403, insp_2=403, supervisor=403), json=lambda sc: {"name": "新街", "zone_id": sc.a.zone}
    ),
    "getRoadById": Row(STAFF, path={"road_id": lambda sc: sc.a.road}),
    "patchRoadById": Row(
        ADMIN,
        path={"road_id": lambda sc: sc.a.road},
        json=lambda sc: {"name": "航坞路东段"},
        etag_of=lambda sc: f"/api/v1/roads/{sc.a.road}",
    ),
    "getTemplates": Row(STAFF),
    "postTemplates": Row(
        E(201, insp_1=403, insp_2=403, supervisor=403),
        json=lambda sc: {"kind": "notice", "title": "告知书", "body": "请于{deadline}前整改。"},
    ),
    "getTemplateById": Row(STAFF, path={"template_id": lambda sc: sc.template}),
    "getDeadlineRules": Row(STAFF),
    "getDeadlineRuleById": Row(STAFF, path={"rule_id": lambda sc: sc.rule}),
    "patchDeadlineRuleById": Row(
        ADMIN,
        path={"rule_id": lambda sc: sc.rule},
        json=lambda sc: {"hours": 48},
        etag_of=lambda sc: f"/api/v1/deadline-rules/{sc.rule}",
    ),
    # ------------------------------------------------------------------- the ledger
    "getShops": Row(STAFF),
    "postShops": Row(
        E(201, insp_2=403),
        json=lambda sc: {
            "name": "新开茶饮",
            "road_id": sc.a.road,
            **_near_a(0.0009),
            "owner_phone": "13700000003",
        },
    ),
    "getShopById": Row(ZONED, path={"shop_id": _shop}),
    "patchShopById": Row(
        ZONED,
        path={"shop_id": _shop},
        json=lambda sc: {"address": "航坞路2号"},
        etag_of=lambda sc: f"/api/v1/shops/{sc.a.shop}",
    ),
    "getSigns": Row(STAFF),
    "postSigns": Row(
        E(201, insp_2=403),
        json=lambda sc: {"shop_id": sc.a.shop, "kind": "light_box", "width_m": 2, "height_m": 1, **_near_a()},
    ),
    "getSignById": Row(ZONED, path={"sign_id": _sign}),
    "patchSignById": Row(
        ZONED,
        path={"sign_id": _sign},
        json=lambda sc: {"note": "字迹清楚"},
        etag_of=lambda sc: f"/api/v1/signs/{sc.a.sign}",
    ),
    "deleteSignById": Row(ZONED, path={"sign_id": _sign}, etag_of=lambda sc: f"/api/v1/signs/{sc.a.sign}"),
    "getSignVersions": Row(ZONED, path={"sign_id": _sign}),
    "getSignVersionById": Row(ZONED, path={"sign_id": _sign, "version_id": lambda sc: sc.a.version}),
    "postSignVersions": Row(
        E(201, insp_2=403),
        path={"sign_id": _sign},
        json=lambda sc: {"photo_id": sc.a.photo, "text": "阿芳小吃"},
    ),
    "getLedgerExport": Row(LEADS),
    # ------------------------------------------------------------------------ photos
    "postPhotos": Row(E(201, owner_a=201, owner_b=201), photo=True),
    "getPhotoById": Row(PHOTO_A, path={"photo_id": lambda sc: sc.a.photo}),
    "getPhotoContent": Row(PHOTO_A, path={"photo_id": lambda sc: sc.a.photo}),
    "getPhotoThumbnail": Row(PHOTO_A, path={"photo_id": lambda sc: sc.a.photo}),
    # --------------------------------------------------------------------- paperwork
    "getNotices": Row(STAFF),
    "postNotices": Row(E(201, insp_2=403), json=lambda sc: {"shop_id": sc.a.shop}),
    "getNoticeById": Row(OWNED, path={"notice_id": _notice}),
    "getNoticeText": Row(OWNED, path={"notice_id": _notice}),
    "getNoticePrint": Row(OWNED, path={"notice_id": _notice}),
    "postNoticeDelivery": Row(
        ZONED,
        path={"notice_id": _notice},
        json=lambda sc: {"method": "in_person"},
        etag_of=lambda sc: f"/api/v1/notices/{sc.a.notice}",
    ),
    "postNoticeAcknowledge": Row(OWNER_ONLY, path={"notice_id": _notice}),
    "getShopsWithoutNotice": Row(STAFF),
    "getCommitments": Row(STAFF),
    "postCommitments": Row(
        E(201, insp_2=403),
        json=lambda sc: {
            "shop_id": sc.a.shop,
            "signer_name": "沈阿芳",
            "signer_role": "店主",
            "signature_photo_id": sc.a.signature,
        },
    ),
    "getCommitmentById": Row(OWNED, path={"commitment_id": lambda sc: sc.a.commitment}),
    "postSignatures": Row(E(201), photo=True),
    "getShopsWithoutCommitment": Row(STAFF),
    "getOwnerShops": Row(OWNER_ONLY | {"owner_b": 200}),
    "getOwnerShopById": Row(OWNER_ONLY, path={"shop_id": _shop}),
    # ----------------------------------------------------------------------- patrols
    "getPatrols": Row(STAFF),
    "postPatrols": Row(
        E(201, insp_2=403, admin=403), json=lambda sc: {"zone_id": sc.a.zone, "shift": "night"}
    ),
    "getPatrolPlan": Row(ZONED, query=lambda sc: {"zone": "GL", "shift": "day"}),
    "getPatrolById": Row(ZONED, path={"patrol_id": _patrol}),
    "postEnd_patrol": Row(ZONED, path={"patrol_id": _patrol}, json=lambda sc: {}),
    "getPatrolTrack": Row(ZONED, path={"patrol_id": _patrol}),
    "postPatrolTrack": Row(
        ZONED,
        path={"patrol_id": _patrol},
        json=lambda sc: {"points": [{**_near_a(), "at": sc.now}]},
    ),
    "getPatrolVisits": Row(ZONED, path={"patrol_id": _patrol}),
    "getPatrolVisitById": Row(ZONED, path={"patrol_id": _patrol, "visit_id": lambda sc: sc.a.visit}),
    "postPatrolVisits": Row(
        E(201, insp_2=403), path={"patrol_id": _patrol}, json=lambda sc: {"shop_id": sc.a.shop}
    ),
    # ----------------------------------------------------------------------- hazards
    "getHazards": Row(SIGNED),
    "postHazards": Row(
        E(201, insp_2=403),
        json=lambda sc: {"sign_id": sc.a.sign, "category": "damaged", "severity": "medium"},
    ),
    "getHazardById": Row(OWNED, path=HAZ),
    "getHazardEvents": Row(ZONED, path=HAZ),
    "postNotify_hazard": Row(
        ZONED,
        path=HAZ,
        json=lambda sc: {"contact_method": "phone"},
        etag_of=lambda sc: f"/api/v1/hazards/{sc.a.hazard}",
    ),
    "postSubmit_hazard_fix": Row(
        OWNED,
        path=HAZ,
        json=lambda sc: {"photo_ids": [sc.fix_photo]},
        etag_of=lambda sc: f"/api/v1/hazards/{sc.a.hazard}",
        setup=_notified,
    ),
    "postVerify_hazard": Row(
        ZONED,
        path=HAZ,
        json=lambda sc: {"result": "pass"},
        etag_of=lambda sc: f"/api/v1/hazards/{sc.a.hazard}",
        setup=_fix_submitted,
    ),
    "postFix_hazard_on_spot": Row(
        ZONED,
        path=HAZ,
        json=lambda sc: {"photo_ids": [sc.a.photo]},
        etag_of=lambda sc: f"/api/v1/hazards/{sc.a.hazard}",
    ),
    "postReopen_hazard": Row(
        LEADS,
        path=HAZ,
        json=lambda sc: {"reason": "灯箱又坏了"},
        etag_of=lambda sc: f"/api/v1/hazards/{sc.a.hazard}",
        setup=_rectified,
    ),
    # ------------------------------------------------------------ reports, sync, audit
    "getRectificationReport": Row(LEADS),
    "getCampaignReport": Row(LEADS),
    "getChanges": Row(STAFF),
    "postSync": Row(
        # The batch answers 200 to any signed-in caller; each operation gets its own status.
        SIGNED | {"owner_a": 403, "owner_b": 403, "insp_2": 403},
        json=lambda sc: {
            "operations": [
                {
                    "method": "PATCH",
                    "path": f"/api/v1/shops/{sc.a.shop}",
                    "body": {"address": "航坞路3号"},
                    "if_match": "*",
                }
            ]
        },
        inner=True,
    ),
    "getEvents": Row(LEADS),
}
