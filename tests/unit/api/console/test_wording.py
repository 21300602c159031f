"""The core's sentences in the Chinese console: each shape wording.py reads back is held to the
core function that writes it, so a reworded core sentence fails here, not on a screen."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from services.alerts.main import default_families
from services.api.console.i18n import translations
from services.api.console.wording import RULES, Wording
from services.core.domain.completeness import Completeness
from services.core.domain.intensity import (
    EnergyFigure,
    Intensity,
    Window,
    _district_text,
    _reasons,
    year_on_year,
)
from services.core.domain.pue import PueResult, PueStatus, pue_verdict, pue_verdict_text
from services.core.domain.quota import PlantStatus, judge
from services.core.quotas import default_quotas
from services.core.settings import AlertsSettings

ZH = Wording(translations("zh").gettext, "zh")
EN = Wording(translations("en").gettext, "en")
ENGLISH = re.compile(r"[A-Za-z][a-z]+[ ,;:()]+[a-z]+[ ,;:()]+[a-z]{2,}")


def _chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None and ENGLISH.search(text) is None


def _intensity(
    month: int, value: float | None, *, measured: int = 96, reason: str = ""
) -> Intensity:
    return Intensity(
        Window(2026, month),
        value,
        "tce/10^4 CNY",
        EnergyFigure((), 0.0, "equivalent"),
        1.0,
        "10^4 CNY",
        (),
        Completeness(expected=96, measured=96, estimated=0),
        reason,
    )


def _core_sentences() -> list[str]:
    window = Window(2026, 11)
    low = Completeness(expected=2880, measured=1238, estimated=0)
    energy = EnergyFigure((), 0.0, "equivalent", ("steam on 2026-11-01",))
    reasons = _reasons(
        window, energy, (), low, attributed=True, what="value added", unit="10^4 CNY", threshold=0.9
    )
    sentences = [
        "; ".join(reasons),
        *_reasons(
            window, energy, (), low, attributed=False, what="output", unit="t", threshold=0.9
        ),
        _district_text(0.41, 0.05, 0.03, 12),
        _district_text(0.41, 0.01, 0.03, 12),
        _district_text(0.41, -0.02, None, 12),
        _district_text(None, None, None, 0),
        _district_text(0.41, None, None, 0),
        year_on_year(_intensity(11, 0.9), _intensity(10, 1.0)).text,
        year_on_year(_intensity(11, 1.1), _intensity(10, 1.0)).text,
        year_on_year(_intensity(11, None), _intensity(10, 1.0)).text,
        year_on_year(
            _intensity(11, 1.0), _intensity(10, None, reason="no output entered for 2026-10")
        ).text,
        judge(None, None, PlantStatus.EXISTING, sufficient=True).text,
    ]
    for entry in default_quotas().entries():
        for value in (entry.limit_value * 1.1, entry.limit_value * 0.5):
            sentences.append(judge(value, entry, PlantStatus.EXISTING, sufficient=True).text)
        sentences.append(
            judge(None, entry, PlantStatus.EXISTING, sufficient=False, reason=reasons[0]).text
        )
    return sentences


@pytest.mark.parametrize("sentence", _core_sentences())
def test_every_sentence_the_core_writes_is_said_in_chinese(sentence: str) -> None:
    said = ZH.sentence(sentence)
    assert _chinese(said), (sentence, said)
    assert EN.sentence(sentence) == sentence  # English pages keep the core's words


@pytest.mark.parametrize(
    ("status", "ratio", "limit", "coverage"),
    [
        (PueStatus.OK, 1.31, 1.25, 1.0),
        (PueStatus.OK, 1.21, 1.25, 1.0),
        (PueStatus.OK, 1.21, None, 1.0),
        (PueStatus.INSUFFICIENT_DATA, None, 1.25, 0.43),
        (PueStatus.NO_IT_LOAD, None, 1.25, 1.0),
    ],
)
def test_a_pue_verdict_is_built_from_its_code_and_figures(
    status: PueStatus, ratio: float | None, limit: float | None, coverage: float
) -> None:
    result = PueResult(status, ratio, 1310.0, 1000.0, 1.0, coverage)

    class Row:
        verdict = pue_verdict(result, limit).value
        verdict_text = pue_verdict_text(result, limit)
        pue = ratio
        facility_coverage = 1.0
        it_coverage = coverage

    Row.limit = limit  # type: ignore[attr-defined]
    said = ZH.pue(Row(), 0.9)  # type: ignore[arg-type]
    assert _chinese(said), said
    assert EN.pue(Row(), 0.9) == Row.verdict_text  # type: ignore[arg-type]


def test_every_rule_has_a_chinese_title_and_english_keeps_the_rules_own() -> None:
    families = default_families(AlertsSettings(), ZoneInfo("Asia/Shanghai"))
    assert {rule for family in families for rule in family.rules} <= set(RULES)
    alert = {"rule": "pue_over_limit", "subject": "9112/dc-1", "title": "PUE 1.310 of 9112/dc-1"}
    assert ZH.alert_title(alert) == "PUE 超过限值：9112/dc-1"
    assert EN.alert_title(alert) == alert["title"]
    assert ZH.alert_title({**alert, "rule": "unknown_rule"}) == alert["title"]
