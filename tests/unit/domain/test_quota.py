"""Quota verdicts: a unit-product energy consumption against its standard's 限定值, 准入值 and
先进值, for existing and new plants, in words an officer reads (worked by hand; lower is better)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.core.domain.quota import (
    PlantStatus,
    QuotaEntry,
    QuotaLevel,
    QuotaSet,
    QuotaVerdict,
    entry_problems,
    judge,
)

CLINKER = QuotaEntry(
    standard="GB 16780-2021",
    product="cement_clinker",
    product_zh="水泥熟料",
    product_en="cement clinker",
    indicator_zh="熟料单位产品综合能耗",
    indicator_en="clinker unit-product comprehensive energy consumption",
    boundary="clinker production",
    unit="kgce/t",
    limit_value=117.0,
    entry_value=107.0,
    advanced_value=100.0,
    valid_from=date(2022, 11, 1),
    limit_source="GB 16780-2021 Table 2, grade 3",
    entry_source="GB 16780-2021 Table 2, grade 2",
    advanced_source="GB 16780-2021 Table 2, grade 1",
)
CONVERTER = replace(
    CLINKER,
    standard="GB 21256-2025",
    product="steel_converter",
    limit_value=-12.0,
    entry_value=-28.0,
    advanced_value=-30.0,
    limit_source="T4 g3",
    entry_source="T4 g2",
    advanced_source="T4 g1",
)
EXISTING, NEW = PlantStatus.EXISTING, PlantStatus.NEW
V = QuotaVerdict


@pytest.mark.parametrize(
    ("entry", "plant", "value", "verdict", "against", "distance", "share", "words"),
    [
        (CLINKER, EXISTING, 120.0, V.OVER_LIMIT, QuotaLevel.LIMIT, 3.0, 3 / 117,
         "over the limit (120 > 117 kgce/t, GB 16780-2021 Table 2, grade 3 限定值)"),
        (CLINKER, EXISTING, 117.0, V.ABOVE_ENTRY, QuotaLevel.ENTRY, 0.0, 0.0,
         "above the entry value (117 > 107 kgce/t, GB 16780-2021 Table 2, grade 2 准入值)"),
        (CLINKER, EXISTING, 107.5, V.ABOVE_ENTRY, QuotaLevel.ENTRY, -9.5, -9.5 / 117,
         "above the entry value (107.5 > 107 kgce/t, GB 16780-2021 Table 2, grade 2 准入值)"),
        (CLINKER, EXISTING, 107.0, V.WITHIN, QuotaLevel.LIMIT, -10.0, -10 / 117,
         "within the limit (107 ≤ 117 kgce/t, GB 16780-2021 Table 2, grade 3 限定值)"),
        (CLINKER, EXISTING, 100.0, V.LEADER, QuotaLevel.ADVANCED, -17.0, -17 / 117,
         "leader (100 ≤ 100 kgce/t, GB 16780-2021 Table 2, grade 1 先进值)"),
        (CLINKER, NEW, 110.0, V.OVER_LIMIT, QuotaLevel.ENTRY, -7.0, -7 / 117,
         "over the entry value (110 > 107 kgce/t, GB 16780-2021 Table 2, grade 2 准入值)"),
        (CLINKER, NEW, 107.0, V.WITHIN, QuotaLevel.ENTRY, -10.0, -10 / 117,
         "within the entry value (107 ≤ 107 kgce/t, GB 16780-2021 Table 2, grade 2 准入值)"),
        (CLINKER, NEW, 98.0, V.LEADER, QuotaLevel.ADVANCED, -19.0, -19 / 117,
         "leader (98 ≤ 100 kgce/t, GB 16780-2021 Table 2, grade 1 先进值)"),
        # negative quotas: the converter recovers more than it uses; -10 is worse than -12
        (CONVERTER, EXISTING, -10.0, V.OVER_LIMIT, QuotaLevel.LIMIT, 2.0, 2 / 12,
         "over the limit (-10 > -12 kgce/t, T4 g3 限定值)"),
        (CONVERTER, EXISTING, -20.0, V.ABOVE_ENTRY, QuotaLevel.ENTRY, -8.0, -8 / 12,
         "above the entry value (-20 > -28 kgce/t, T4 g2 准入值)"),
        (CONVERTER, EXISTING, -29.0, V.WITHIN, QuotaLevel.LIMIT, -17.0, -17 / 12,
         "within the limit (-29 ≤ -12 kgce/t, T4 g3 限定值)"),
        (CONVERTER, NEW, -30.5, V.LEADER, QuotaLevel.ADVANCED, -18.5, -18.5 / 12,
         "leader (-30.5 ≤ -30 kgce/t, T4 g1 先进值)"),
    ],
)  # fmt: skip
def test_a_quota_verdict_names_the_value_and_rule_it_is_judged_by(
    entry: QuotaEntry,
    plant: PlantStatus,
    value: float,
    verdict: QuotaVerdict,
    against: QuotaLevel,
    distance: float,
    share: float,
    words: str,
) -> None:
    j = judge(value, entry, plant, sufficient=True)
    assert (j.verdict, j.against, j.judged_against) == (verdict, against, entry.value(against))
    assert j.distance_to_limit == pytest.approx(distance)
    assert j.share_of_limit == pytest.approx(share)
    assert j.text == words


def test_thousands_are_separated_in_the_verdict_text() -> None:
    power = replace(CLINKER, limit_value=1540.0, entry_value=None, advanced_value=None)
    assert judge(1650.0, power, EXISTING, sufficient=True).text == (
        "over the limit (1,650 > 1,540 kgce/t, GB 16780-2021 Table 2, grade 3 限定值)"
    )


def test_without_enough_data_there_is_no_finding_but_the_reason() -> None:
    j = judge(130.0, CLINKER, EXISTING, sufficient=False, reason="completeness 43 % < 90 %")
    assert j.verdict is V.INSUFFICIENT_DATA
    assert j.text == "insufficient data (completeness 43 % < 90 %)"
    assert j.judged_against is None
    none = judge(None, CLINKER, EXISTING, sufficient=True)
    assert (none.verdict, none.text) == (V.INSUFFICIENT_DATA, "insufficient data (no value)")


def test_a_product_without_a_quota_gets_no_verdict() -> None:
    j = judge(120.0, None, EXISTING, sufficient=True)
    assert (j.verdict, j.text, j.distance_to_limit) == (
        V.NO_QUOTA,
        "no quota for this product",
        None,
    )


def test_a_new_plant_is_held_to_the_limit_when_its_standard_gives_no_entry_value() -> None:
    eaf = replace(CLINKER, limit_value=86.0, entry_value=None, advanced_value=61.0)
    assert judge(87.0, eaf, NEW, sufficient=True).against is QuotaLevel.LIMIT
    assert judge(80.0, eaf, NEW, sufficient=True).verdict is V.WITHIN


def test_an_entry_with_only_an_advanced_value_judges_leaders_only() -> None:
    only = replace(CLINKER, limit_value=None, entry_value=None)
    assert judge(99.0, only, EXISTING, sufficient=True).verdict is V.LEADER
    j = judge(120.0, only, EXISTING, sufficient=True)
    assert j.verdict is V.NO_QUOTA
    assert "gives no 限定值" in j.text


def test_the_edition_in_force_on_the_date_is_found_with_or_without_its_year() -> None:
    old = replace(
        CLINKER, standard="GB 16780-2012", valid_from=date(2013, 10, 1), valid_to=date(2022, 10, 31)
    )
    quotas = QuotaSet.of("t", [old, CLINKER, CONVERTER])
    assert quotas.entry("GB 16780", "cement_clinker", date(2022, 10, 31)) is old
    assert quotas.entry("GB 16780", "cement_clinker", date(2022, 11, 1)) is CLINKER
    assert quotas.entry("GB 16780-2012", "cement_clinker", date(2023, 1, 1)) is None
    assert quotas.entry("GB 16780-2021", "cement_clinker", date(2020, 1, 1)) is None
    assert quotas.entries("GB 21256") == (CONVERTER,)
    assert len(quotas.entries()) == 3


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"advanced_value": 108.0}, "advanced_value 108 > entry_value 107"),
        ({"entry_value": 118.0}, "entry_value 118 > limit_value 117"),
        ({"entry_value": None, "advanced_value": 120.0}, "advanced_value 120 > limit_value 117"),
        ({"unit": "kgce/piece"}, "unit 'kgce/piece' unknown"),
        ({"entry_source": " "}, "entry_value has no entry_source"),
        ({"limit_value": None, "entry_value": None, "advanced_value": None}, "no value"),
        ({"valid_to": date(2020, 1, 1)}, "valid_to 2020-01-01 is before valid_from 2022-11-01"),
    ],
)
def test_an_entry_that_cannot_be_right_is_refused(changes: dict[str, object], problem: str) -> None:
    assert entry_problems(CLINKER) == []
    problems = entry_problems(replace(CLINKER, **changes))  # type: ignore[arg-type]
    assert len(problems) == 1
    assert problem in problems[0]
