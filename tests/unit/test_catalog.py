"""The catalog: every enumeration labelled in both languages and served as plain JSON."""

from __future__ import annotations

import json

import pytest

from signage.catalog import (
    DAY_CATEGORIES,
    ENUMS,
    LABELS,
    LIGHTING_CATEGORIES,
    HazardCategory,
    catalog,
    label,
)


@pytest.mark.parametrize("enum", list(ENUMS.values()), ids=list(ENUMS))
def test_every_member_has_both_labels(enum):
    labels = LABELS[enum.__name__]
    for member in enum:
        assert member.value == member.value.lower()
        assert member.value.replace("_", "").isalnum()
        entry = labels[member.value]
        assert entry["zh"].strip() and entry["en"].strip()
    # A label without a member would be served to nobody, and hides a typo in a code.
    assert set(labels) == {m.value for m in enum}


def test_labels_cover_exactly_the_registered_enums():
    assert set(LABELS) == {enum.__name__ for enum in ENUMS.values()}


def test_catalog_is_json_serialisable_and_complete():
    data = catalog()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) == set(ENUMS)
    for key, enum in ENUMS.items():
        assert [item["code"] for item in data[key]] == [m.value for m in enum]
        for item in data[key]:
            assert set(item) == {"code", "zh", "en"}
            assert all(isinstance(v, str) for v in item.values())


def test_hazard_category_sets_split_day_and_night():
    assert {HazardCategory.UNLIT_CHARACTERS} == LIGHTING_CATEGORIES
    assert len(DAY_CATEGORIES) == 5
    assert not DAY_CATEGORIES & LIGHTING_CATEGORIES
    assert set(HazardCategory) - DAY_CATEGORIES - LIGHTING_CATEGORIES == {HazardCategory.OTHER}


def test_label_lookup():
    assert label(HazardCategory.UNLIT_CHARACTERS) == "断字缺亮"
    assert label(HazardCategory.DAMAGED, "en") == "Damaged"
