"""Validation of the Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

Layout: position 1 registration-authority code, position 2 organisation-type code,
positions 3-8 the registering authority's administrative-division code (GB/T 2260),
positions 9-17 the organisation code (GB 11714) and position 18 a check character
(GB/T 17710, ISO 7064 MOD 31-3 style).
"""

__all__ = [
    "CHARSET",
    "ORGANISATION_TYPES",
    "check_character",
    "credit_code_error",
    "make_credit_code",
]

# I, O, Z, S and V are left out, being easily confused with 1, 0, 2, 5 and U.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {char: index for index, char in enumerate(CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_LENGTH = 18

# Registration-authority code -> allowed organisation-type codes.  GB 32100-2015 as
# issued listed only 1/5/9/Y; the authorities added later (and codes in real use,
# e.g. 31... for law firms and N2... for village collectives) are kept so that
# genuine certificates are not rejected.
ORGANISATION_TYPES: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 编办直管群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "3": "123459",
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国旅游部门常驻代表机构, 港澳台旅游部门常驻代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": "1",  # 其他: not subdivided
}


def check_character(body17: str) -> str:
    """Return the check character for the first 17 characters of a code."""
    if len(body17) != _LENGTH - 1:
        raise ValueError(f"body must be {_LENGTH - 1} characters, got {len(body17)}")
    for char in body17:
        if char not in _VALUES:
            raise ValueError(f"contains a character not allowed: {char!r}")
    total = sum(_VALUES[char] * weight for char, weight in zip(body17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def make_credit_code(body17: str) -> str:
    """Return `body17` with its check character appended."""
    return body17 + check_character(body17)


def credit_code_error(code: str) -> str | None:
    """Return None if `code` is a valid credit code, else a short English reason."""
    # No normalisation here: callers strip and upper-case, so lower case or
    # stray spaces are reported rather than silently accepted.
    if len(code) != _LENGTH:
        return f"must be {_LENGTH} characters"
    for char in code:
        if char not in _VALUES:
            return f"contains a character not allowed: {char!r}"
    authority, organisation_type = code[0], code[1]
    allowed_types = ORGANISATION_TYPES.get(authority)
    if allowed_types is None:
        return f"unknown registration authority code {authority!r}"
    if organisation_type not in allowed_types:
        return f"organisation type {organisation_type!r} not allowed for authority {authority!r}"
    if not code[2:8].isdigit():
        # str.isdigit alone would accept other Unicode digits, but the charset
        # check above has already limited the string to ASCII.
        return "characters 3-8 must be a 6-digit administrative division code"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check character should be {expected!r}"
    return None
