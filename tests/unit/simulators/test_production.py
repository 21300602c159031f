"""The simulated enterprises' figures: clinker output that puts each cement plant where the demo
says against GB 16780-2021, value added at a plausible seeded intensity, and rows the submit path
accepts."""

from __future__ import annotations

from datetime import date

import pytest

from services.core.domain.production import ProductRef, validate_submission
from services.core.domain.quota import QuotaVerdict, judge
from services.core.quotas import default_quotas
from simulators.district.production import (
    CLINKER,
    CLINKER_QUOTA,
    LATE_ENTERPRISE,
    clinker_targets,
    month_figures,
)

NOVEMBER = date(2026, 11, 1)
QUOTA = default_quotas().entry(*CLINKER_QUOTA, on=NOVEMBER)


def test_the_clinker_targets_place_each_plant_where_the_demo_says() -> None:
    assert QUOTA is not None
    verdicts = {
        index: judge(target, QUOTA, "existing", sufficient=True).verdict
        for index, target in clinker_targets(QUOTA).items()
    }
    assert verdicts[13] is QuotaVerdict.OVER_LIMIT
    assert QUOTA.entry_value is not None
    assert QUOTA.limit_value is not None
    assert QUOTA.entry_value < clinker_targets(QUOTA)[21] < QUOTA.limit_value
    assert QUOTA.advanced_value is not None
    assert clinker_targets(QUOTA)[29] < QUOTA.advanced_value
    assert verdicts[LATE_ENTERPRISE] is not QuotaVerdict.OVER_LIMIT


@pytest.mark.parametrize("target", [152.1, 112.0, 96.0])
def test_clinker_output_gives_the_target_intensity_on_the_months_energy(target: float) -> None:
    figures = month_figures(
        seed=1,
        enterprise="E",
        month=NOVEMBER,
        energy_tce=2500.0,
        clinker_kgce=2_500_000.0,
        target_kgce_per_t=target,
    )
    assert figures.clinker_t is not None
    assert 2_500_000.0 / figures.clinker_t == pytest.approx(target, abs=0.01)


def test_value_added_is_seeded_at_a_plausible_intensity() -> None:
    def intensity(seed: int, enterprise: str) -> float:
        figures = month_figures(
            seed=seed,
            enterprise=enterprise,
            month=NOVEMBER,
            energy_tce=1000.0,
            clinker_kgce=None,
            target_kgce_per_t=None,
        )
        assert figures.clinker_t is None
        return 1000.0 / figures.value_added_10k_cny

    found = [intensity(1, f"E{i}") for i in range(50)]
    assert all(0.2 <= x <= 0.8 for x in found)
    assert len({round(x, 3) for x in found}) > 40  # spread, not one value
    assert intensity(1, "E1") == intensity(1, "E1")
    assert intensity(1, "E1") != intensity(2, "E1")


def test_the_rows_pass_the_submit_paths_validation() -> None:
    figures = month_figures(
        seed=1,
        enterprise="E",
        month=NOVEMBER,
        energy_tce=2500.0,
        clinker_kgce=2_500_000.0,
        target_kgce_per_t=112.0,
    )
    stored = validate_submission(
        figures.rows(), {CLINKER: ProductRef(CLINKER, "t")}, today=date(2026, 12, 2)
    )
    assert sorted((f.kind.value, f.product, f.price_base_year) for f in stored) == [
        ("output", CLINKER, None),
        ("value_added", None, 2020),
    ]
