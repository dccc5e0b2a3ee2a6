"""Enumerations of the domain, with their Chinese and English labels for clients."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user account may do."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    INSPECTOR = "inspector"
    OWNER = "owner"


class ShopStatus(StrEnum):
    """Whether a shop on the ledger is still trading."""

    OPEN = "open"
    CLOSED = "closed"


class RoadSide(StrEnum):
    """The side of the road a shop stands on."""

    NORTH = "north"
    SOUTH = "south"
    EAST = "east"
    WEST = "west"


class SignKind(StrEnum):
    """The physical kind of a sign or outdoor advertising facility."""

    SHOP_SIGN = "shop_sign"
    LIGHT_BOX = "light_box"
    BILLBOARD = "billboard"
    LED_SCREEN = "led_screen"
    PROJECTING = "projecting"
    ROOFTOP = "rooftop"
    WALL = "wall"
    BANNER = "banner"


class SignStatus(StrEnum):
    """Whether a sign is still in place."""

    ACTIVE = "active"
    REMOVED = "removed"


class HazardCategory(StrEnum):
    """What is wrong with a sign."""

    DAMAGED = "damaged"
    TILTED = "tilted"
    LOOSE_OR_FALLEN = "loose_or_fallen"
    RUSTED = "rusted"
    EXPOSED_WIRING = "exposed_wiring"
    UNLIT_CHARACTERS = "unlit_characters"
    OTHER = "other"


# Unlit characters can only be seen after dark, so night patrols report them; the
# physical defects are what day patrols look for. "other" belongs to neither set.
LIGHTING_CATEGORIES: frozenset[HazardCategory] = frozenset({HazardCategory.UNLIT_CHARACTERS})
DAY_CATEGORIES: frozenset[HazardCategory] = frozenset(
    {
        HazardCategory.DAMAGED,
        HazardCategory.TILTED,
        HazardCategory.LOOSE_OR_FALLEN,
        HazardCategory.RUSTED,
        HazardCategory.EXPOSED_WIRING,
    }
)


class Severity(StrEnum):
    """How urgent a hazard is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Shift(StrEnum):
    """The patrol shift: day or night (白+黑)."""

    DAY = "day"
    NIGHT = "night"


class HazardState(StrEnum):
    """Where a hazard stands in its lifecycle; overdue is derived, never stored."""

    REPORTED = "reported"
    NOTIFIED = "notified"
    FIX_SUBMITTED = "fix_submitted"
    RECTIFIED = "rectified"


class HazardAction(StrEnum):
    """A lifecycle action a user applies to a hazard."""

    NOTIFY = "notify"
    SUBMIT_FIX = "submit_fix"
    VERIFY = "verify"
    FIX_ON_SPOT = "fix_on_spot"
    REOPEN = "reopen"


class ContactMethod(StrEnum):
    """How the merchant was told about a hazard."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    NOTICE_LEFT = "notice_left"


class ImmediateMeasure(StrEnum):
    """What was done at once to make a hazardous sign safe."""

    NONE = "none"
    POWER_OFF = "power_off"
    CORDONED = "cordoned"
    TAKEN_DOWN = "taken_down"
    SECURED = "secured"


class DeliveryMethod(StrEnum):
    """How a notice reached the shop."""

    IN_PERSON = "in_person"
    LEFT_AT_SHOP = "left_at_shop"
    REFUSED = "refused"


class BusinessType(StrEnum):
    """The trade a shop is in."""

    CATERING = "catering"
    RETAIL = "retail"
    SUPERMARKET = "supermarket"
    PHARMACY = "pharmacy"
    HAIR_BEAUTY = "hair_beauty"
    PHONE_REPAIR = "phone_repair"
    HARDWARE = "hardware"
    CLOTHING = "clothing"
    HOTEL = "hotel"
    BANK = "bank"
    EDUCATION = "education"
    AUTO_REPAIR = "auto_repair"
    OTHER = "other"


class CoordSystem(StrEnum):
    """The datum a client's coordinates are given in."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


# The catalog's key for each enumeration; the order here is the order clients see.
ENUMS: dict[str, type[StrEnum]] = {
    "roles": Role,
    "shop_statuses": ShopStatus,
    "road_sides": RoadSide,
    "sign_kinds": SignKind,
    "sign_statuses": SignStatus,
    "hazard_categories": HazardCategory,
    "severities": Severity,
    "shifts": Shift,
    "hazard_states": HazardState,
    "hazard_actions": HazardAction,
    "contact_methods": ContactMethod,
    "immediate_measures": ImmediateMeasure,
    "delivery_methods": DeliveryMethod,
    "business_types": BusinessType,
    "coord_systems": CoordSystem,
}


def _zh_en(**pairs: tuple[str, str]) -> dict[str, dict[str, str]]:
    """Turn code=(zh, en) keyword pairs into the {code: {"zh", "en"}} shape."""
    return {code: {"zh": zh, "en": en} for code, (zh, en) in pairs.items()}


# Keyed by the enum class name, then by member code.
LABELS: dict[str, dict[str, dict[str, str]]] = {
    "Role": _zh_en(
        admin=("管理员", "Administrator"),
        supervisor=("督查/队长", "Supervisor"),
        inspector=("执法队员", "Inspector"),
        owner=("商家", "Shop owner"),
    ),
    "ShopStatus": _zh_en(
        open=("营业中", "Open"),
        closed=("已歇业", "Closed"),
    ),
    "RoadSide": _zh_en(
        north=("道路北侧", "North side"),
        south=("道路南侧", "South side"),
        east=("道路东侧", "East side"),
        west=("道路西侧", "West side"),
    ),
    "SignKind": _zh_en(
        shop_sign=("店招", "Shop sign"),
        light_box=("灯箱", "Light box"),
        billboard=("广告牌", "Billboard"),
        led_screen=("LED显示屏", "LED screen"),
        projecting=("外挑招牌", "Projecting sign"),
        rooftop=("屋顶广告", "Rooftop advertisement"),
        wall=("墙面广告", "Wall advertisement"),
        banner=("横幅/布幅", "Banner"),
    ),
    "SignStatus": _zh_en(
        active=("在用", "In place"),
        removed=("已拆除", "Removed"),
    ),
    "HazardCategory": _zh_en(
        damaged=("破损", "Damaged"),
        tilted=("歪斜", "Tilted"),
        loose_or_fallen=("松动/脱落", "Loose or fallen"),
        rusted=("锈蚀", "Rusted"),
        exposed_wiring=("电线裸露", "Exposed wiring"),
        unlit_characters=("断字缺亮", "Unlit or missing characters"),
        other=("其他", "Other"),
    ),
    "Severity": _zh_en(
        low=("一般", "Low"),
        medium=("较重", "Medium"),
        high=("严重", "High"),
        critical=("紧急", "Critical"),
    ),
    "Shift": _zh_en(
        day=("白班", "Day shift"),
        night=("夜班", "Night shift"),
    ),
    "HazardState": _zh_en(
        reported=("已发现", "Reported"),
        notified=("已告知", "Merchant notified"),
        fix_submitted=("已提交整改", "Fix submitted"),
        rectified=("已整改（验收通过）", "Rectified (verified)"),
    ),
    "HazardAction": _zh_en(
        notify=("告知商家", "Notify merchant"),
        submit_fix=("提交整改", "Submit fix"),
        verify=("验收", "Verify"),
        fix_on_spot=("当场整改", "Fixed on the spot"),
        reopen=("重新打开", "Reopen"),
    ),
    "ContactMethod": _zh_en(
        in_person=("当面告知", "In person"),
        phone=("电话", "Phone call"),
        sms=("短信", "Text message"),
        wechat=("微信", "WeChat"),
        notice_left=("留置告知", "Notice left at shop"),
    ),
    "ImmediateMeasure": _zh_en(
        none=("无", "None"),
        power_off=("关闭招牌电源", "Sign power switched off"),
        cordoned=("设置警戒/围挡", "Area cordoned off"),
        taken_down=("拆除/取下", "Taken down"),
        secured=("临时加固", "Temporarily secured"),
    ),
    "DeliveryMethod": _zh_en(
        in_person=("当面送达", "Handed over in person"),
        left_at_shop=("留置送达", "Left at the shop"),
        refused=("拒收", "Refused"),
    ),
    "BusinessType": _zh_en(
        catering=("餐饮", "Catering"),
        retail=("零售", "Retail"),
        supermarket=("超市", "Supermarket"),
        pharmacy=("药店", "Pharmacy"),
        hair_beauty=("美容美发", "Hair and beauty"),
        phone_repair=("手机维修", "Phone repair"),
        hardware=("五金", "Hardware"),
        clothing=("服装", "Clothing"),
        hotel=("住宿", "Accommodation"),
        bank=("银行网点", "Bank branch"),
        education=("教育培训", "Education and training"),
        auto_repair=("汽车维修", "Car repair"),
        other=("其他", "Other"),
    ),
    "CoordSystem": _zh_en(
        wgs84=(
            "WGS-84（GPS原始坐标，系统存储用）",
            "WGS-84 (raw GPS; used for storage)",
        ),
        gcj02=(
            "GCJ-02（高德地图、腾讯地图、微信）",
            "GCJ-02 (AMap, Tencent Maps, WeChat)",
        ),
        bd09=("BD-09（百度地图）", "BD-09 (Baidu Maps)"),
    ),
}


def label(member: StrEnum, lang: str = "zh") -> str:
    """Return the label of an enum member in the given language ("zh" or "en")."""
    return LABELS[type(member).__name__][member.value][lang]


def catalog() -> dict[str, list[dict[str, str]]]:
    """Return every enumeration as JSON-ready lists of {code, zh, en}, in declaration order."""
    return {
        key: [{"code": m.value, **LABELS[enum.__name__][m.value]} for m in enum]
        for key, enum in ENUMS.items()
    }
