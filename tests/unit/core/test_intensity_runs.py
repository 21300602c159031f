"""Months are summed before conversion only while the standard-coal factors stay the same."""

from __future__ import annotations

from datetime import date

from services.core.domain.coefficients import Factor, FactorSet
from services.core.domain.intensity import IntensityPeriod, Window
from services.core.store.intensity import factor_runs


def _steam(kgce: float, start: date, end: date | None) -> Factor:
    return Factor("steam", "t", kgce, start, end, f"steam from {start}")


def test_a_factor_change_inside_a_window_starts_a_new_run_of_months() -> None:
    factors = FactorSet(
        (_steam(100.0, date(2020, 1, 1), date(2026, 3, 31)), _steam(128.6, date(2026, 4, 1), None)),
        (),
    )
    ytd = Window(2026, 6, IntensityPeriod.YTD)
    runs = factor_runs([factors], [ytd.last_year(), ytd])
    assert {runs[date(2025, m, 1)] for m in range(1, 7)} == {date(2025, 1, 1)}
    assert [runs[date(2026, m, 1)] for m in range(1, 7)] == [date(2026, 1, 1)] * 3 + [
        date(2026, 4, 1)
    ] * 3
