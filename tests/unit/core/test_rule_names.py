"""The rule names the API filters by are exactly the rules the alerts service evaluates."""

from __future__ import annotations

from services.alerts.rules import (
    budget,
    connectivity,
    data_quality,
    ingest,
    intensity,
    production,
    pue,
    quality,
)
from services.core.alerting.lifecycle import RULES


def test_the_known_rules_are_the_evaluated_rules() -> None:
    evaluated = {
        value
        for module in (
            budget,
            connectivity,
            data_quality,
            ingest,
            intensity,
            production,
            pue,
            quality,
        )
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and "_" in value and value.islower()
    }
    assert evaluated == RULES
