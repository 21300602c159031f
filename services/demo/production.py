"""The simulated enterprises' production and economic figures (simulators/district/production.py)
submitted for the previous local month through the one submit path, as each enterprise's clerk
would; and what the demo prints of them: who submitted, who is late, the clinker verdicts and the
district's intensity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from services.core.domain.intensity import IntensityPeriod, Window, district_intensity
from services.core.domain.production import due_date
from services.core.domain.quota import QuotaSet
from services.core.factors import default_factors
from services.core.quotas import configured_quotas
from services.core.settings import QuotaSettings
from services.core.store.intensity import EnterpriseIntensity, intensities
from services.core.store.production import submit_rows
from services.demo.output import say
from simulators.district.production import (
    CLINKER,
    CLINKER_QUOTA,
    LATE_ENTERPRISE,
    MonthFigures,
    clinker_targets,
    month_figures,
)
from simulators.gateways.fleet import Fleet

DUE_DAY = 1  # the simulated statistics office wants last month's figures by the 1st


@dataclass(frozen=True)
class Statistics:
    """The district's month to submit figures for and how each enterprise's are made."""

    fleet: Fleet
    month: date  # its first day
    zone: ZoneInfo
    threshold: float  # ENERGYMON_MIN_COMPLETENESS, as the alerts judge

    @property
    def quotas(self) -> QuotaSet:
        return configured_quotas(QuotaSettings().file)

    @property
    def window(self) -> Window:
        return Window(self.month.year, self.month.month, IntensityPeriod.MONTH)

    @property
    def late(self) -> str:
        return self.fleet.enterprises[LATE_ENTERPRISE].code

    def read(self, engine: Engine, codes: Sequence[str] | None = None) -> list[EnterpriseIntensity]:
        with engine.connect() as conn:
            return intensities(
                conn,
                default_factors(),
                self.quotas,
                self.window,
                self.zone,
                codes=codes,
                threshold=self.threshold,
                now=datetime.now(UTC),
            )

    def figures(self, engine: Engine, codes: Sequence[str]) -> list[tuple[int, MonthFigures]]:
        """(enterprise id, figures) of ``codes`` for the month, from its stored energy."""
        quota = self.quotas.entry(*CLINKER_QUOTA, on=self.month)
        targets = clinker_targets(quota) if quota else {}
        index = {e.code: i for i, e in enumerate(self.fleet.enterprises)}
        out = []
        for e in self.read(engine, codes):
            clinker = next((p for p in e.products if p.code == CLINKER), None)
            figures = month_figures(
                seed=self.fleet.config.seed,
                enterprise=e.code,
                month=self.month,
                energy_tce=e.current.energy.tce,
                clinker_kgce=clinker.current.energy.kgce if clinker else None,
                target_kgce_per_t=targets.get(index[e.code]),
            )
            out.append((e.id, figures))
        return out

    def submit(self, engine: Engine, codes: Sequence[str]) -> int:
        """Submit ``codes``' figures, each by its clerk; returns how many figures were stored."""
        stored = 0
        now = datetime.now(UTC)
        for enterprise_id, figures in self.figures(engine, codes):
            with engine.begin() as conn:
                result = submit_rows(
                    conn,
                    enterprise_id=enterprise_id,
                    rows=figures.rows(),
                    by=f"{figures.enterprise} clerk (simulated)",
                    now=now,
                    zone=self.zone,
                )
            stored += result.created + result.revised
        return stored


def submit_on_time(engine: Engine, stats: Statistics, *, due_day: int) -> None:
    """Every enterprise but the late one submits the month's figures; then the verdicts."""
    codes = [e.code for e in stats.fleet.enterprises if e.code != stats.late]
    stored = stats.submit(engine, codes)
    say(
        f"production: {len(codes)} enterprises submitted their {stats.month:%Y-%m} figures "
        f"(value added; clinker output of the cement plants): {stored} figures new or revised"
    )
    wants = (
        f"the simulated statistics office wants last month's figures by the {_nth(due_day)} "
        f"(ENERGYMON_PRODUCTION_DUE_DAY={due_day})"
    )
    due = due_date(stats.month, due_day)
    if datetime.now(stats.zone).date() > due:
        say(f"production: {stats.late} (a cement plant) is late: {wants}")
    else:
        say(
            f"production: {stats.late} (a cement plant) has not submitted: {wants}, so its "
            f"production_missing alert opens only from {due + timedelta(days=1)}"
        )
    report_verdicts(engine, stats)


def _nth(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def report_verdicts(engine: Engine, stats: Statistics, codes: Sequence[str] | None = None) -> None:
    """The month's clinker verdicts (of ``codes``, default all) and the district's energy per
    10^4 CNY of value added."""
    found = stats.read(engine)
    for e in found:
        for p in e.products:
            if p.code == CLINKER and p.current.production and (codes is None or e.code in codes):
                say(f"  {stats.month:%Y-%m} clinker {e.code}: {p.quota.text}")
    d = district_intensity(stats.window, [(e.current, e.previous) for e in found], None)
    value = "insufficient data" if d.value is None else f"{d.value:.3f} tce per 10^4 CNY"
    say(
        f"  {stats.month:%Y-%m} district intensity: {value} over {d.enterprises} enterprises "
        f"({d.insufficient} without sufficient data)"
    )
