"""Unit tests for signage.ledger.credit_code (GB 32100-2015 credit codes)."""

import pytest

from signage.ledger.credit_code import (
    CHARSET,
    ORGANISATION_TYPES,
    check_character,
    credit_code_error,
    make_credit_code,
)

# Real, published codes (each also checked by hand against the GB 32100 weights).
PUBLISHED_CODES: list[str] = [
    # 华为技术有限公司 (Huawei Technologies): zh.wikipedia.org 華為 infobox, 機構代碼.
    "914403001922038216",
    # 深圳市腾讯计算机系统有限公司 (Tencent): the ContentProducer id
    # "0011" + code + ... in Tencent's AIGC labels; body 708461136 is its
    # organisation code 70846113-6.
    "91440300708461136T",
    # 北京市司法局 (Beijing Municipal Bureau of Justice, a 机关): implementing-body
    # code on banshi.beijing.gov.cn service pages.
    "11110000000029209E",
    # arthurdejong/python-stdnum, tests/test_cn_uscc.doctest ("found online"):
    "91110000600037341L",
    "121200004013590816",  # 事业单位 (1-2)
    "91310115MA1K3BTP2B",  # new-style MA... organisation code
    "92340602MA2PBMEM24",  # 个体工商户 (9-2)
    "9144030071526726XG",  # X inside the organisation code
    "913304007429141869",  # Zhejiang (3304 Jiaxing)
    "91620105L015101280",  # check character '0', the (31 - sum % 31) % 31 wrap
]


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_published_codes_are_valid(code: str) -> None:
    assert credit_code_error(code) is None


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_make_credit_code_reproduces_published_check_character(code: str) -> None:
    assert make_credit_code(code[:17]) == code
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_every_wrong_check_character_is_reported(code: str) -> None:
    for wrong in CHARSET:
        if wrong == code[17]:
            continue
        assert credit_code_error(code[:17] + wrong) == f"check character should be {code[17]!r}"


def test_single_character_typo_in_body_is_caught() -> None:
    # The MOD 31 check catches every single substitution; spot-check a few.
    code = "914403001922038216"
    for position in range(8, 17):
        for replacement in "0A":
            if code[position] == replacement:
                continue
            typo = code[:position] + replacement + code[position + 1 :]
            error = credit_code_error(typo)
            assert error is not None
            assert error.startswith("check character should be")


def test_weights_are_powers_of_three_mod_31() -> None:
    # GB/T 17710 derives the weights as 3**i mod 31; recompute the check with
    # them independently of the module's table.
    body = "91440300708461136"
    total = sum(CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    assert CHARSET[(31 - total % 31) % 31] == check_character(body) == "T"


def test_charset_has_31_characters_without_confusable_letters() -> None:
    assert len(CHARSET) == len(set(CHARSET)) == 31
    for letter in "IOZSV":
        assert letter not in CHARSET


# --- length -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "",
        "9",
        "91440300708461136",
        "91440300708461136TT",
        "914403001922038216 ",
        " 914403001922038216",
    ],
    ids=["empty", "one", "17", "19", "trailing-space", "leading-space"],
)
def test_wrong_length(code: str) -> None:
    assert credit_code_error(code) == "must be 18 characters"


# --- characters -------------------------------------------------------------------


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters_are_reported(letter: str) -> None:
    code = "91440300MA27U0" + letter + "G8F"
    assert credit_code_error(code) == f"contains a character not allowed: {letter!r}"


def test_lower_case_is_not_normalised() -> None:
    assert credit_code_error("91440300708461136t") == "contains a character not allowed: 't'"
    assert credit_code_error("91310115ma1k3btp2b") == "contains a character not allowed: 'm'"


@pytest.mark.parametrize("char", ["-", " ", "\uff11", "\u00e9", "\n"])
def test_other_characters_are_reported(char: str) -> None:
    code = "9144030070846" + char + "136T"
    assert credit_code_error(code) == f"contains a character not allowed: {char!r}"


# --- structure --------------------------------------------------------------------


@pytest.mark.parametrize("authority", ["0", "B", "C", "X", "W"])
def test_unknown_registration_authority(authority: str) -> None:
    code = make_credit_code(authority + "1440300708461136")
    assert credit_code_error(code) == f"unknown registration authority code {authority!r}"


@pytest.mark.parametrize(
    ("prefix", "authority", "organisation_type"),
    [
        ("94", "9", "4"),  # 工商 has only 1, 2, 3
        ("99", "9", "9"),  # ... and no "other"
        ("90", "9", "0"),
        ("14", "1", "4"),  # 机构编制: 1, 2, 3, 9
        ("54", "5", "4"),  # 民政: 1, 2, 3, 9
        ("Y2", "Y", "2"),  # 其他: only 1
        ("Y9", "Y", "9"),
        ("9A", "9", "A"),  # type codes are digits
    ],
)
def test_organisation_type_not_allowed_for_authority(
    prefix: str, authority: str, organisation_type: str
) -> None:
    code = make_credit_code(prefix + "440300708461136")
    assert credit_code_error(code) == (
        f"organisation type {organisation_type!r} not allowed for authority {authority!r}"
    )


@pytest.mark.parametrize(
    "prefix",
    ["11", "12", "13", "19", "51", "52", "53", "59", "91", "92", "93", "Y1"],
)
def test_original_standard_table_is_accepted(prefix: str) -> None:
    # GB 32100-2015 as issued: 1 机构编制 {1,2,3,9}, 5 民政 {1,2,3,9},
    # 9 工商 {1,2,3}, Y 其他 {1}.
    assert credit_code_error(make_credit_code(prefix + "330100MA27U0XG8")) is None


@pytest.mark.parametrize(
    "prefix",
    [
        "21",
        "31",
        "32",
        "35",
        "41",
        "61",
        "62",
        "71",
        "72",
        "81",
        "89",
        "A1",
        "N1",
        "N2",
        "N3",
        "N9",
    ],
)
def test_later_registration_authorities_are_accepted(prefix: str) -> None:
    # Synthetic bodies for the authorities added after 2015 (外交, 司法行政, 文化,
    # 旅游, 宗教, 工会, 军委编办, 农业) so that e.g. law firms (31...) and village
    # collectives (N2...) on the street are not rejected.
    assert credit_code_error(make_credit_code(prefix + "330100MA27U0XG8")) is None


def test_table_covers_every_authority_with_digit_type_codes() -> None:
    assert set(ORGANISATION_TYPES) == set("123456789ANY")
    for types in ORGANISATION_TYPES.values():
        assert types and types.isdigit()


@pytest.mark.parametrize(
    "region",
    ["33010A", "MA0000", "3301Y0", "A30100"],
)
def test_administrative_division_must_be_digits(region: str) -> None:
    code = make_credit_code("91" + region + "708461136")
    assert credit_code_error(code) == "characters 3-8 must be a 6-digit administrative division code"


def test_structure_is_reported_before_check_character() -> None:
    # A bad authority with a bad check character reports the authority first.
    assert credit_code_error("B14403001922038210") == "unknown registration authority code 'B'"


# --- make_credit_code -------------------------------------------------------------


def test_make_credit_code_output_is_valid() -> None:
    code = make_credit_code("92330110MA2H0XY7Q")
    assert len(code) == 18
    assert credit_code_error(code) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("9144030070846113", "body must be 17 characters"),
        ("914403007084611361", "body must be 17 characters"),
        ("91440300708461I36", "contains a character not allowed: 'I'"),
        ("91440300708461b36", "contains a character not allowed: 'b'"),
    ],
)
def test_make_credit_code_rejects_bad_body(body: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_credit_code(body)
