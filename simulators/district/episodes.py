"""The demo's scripted episodes, as data: when each acts, what it does to the simulated district
and the alert it is meant to resolve (the demo waits for that alert to be live before acting, so
that it is seen opening before it resolves).

1. **Commissioning**: the data centre ``dc-new`` is registered from the start, but its gateway only
   starts publishing one episode delay after "ready". Until then the PUE rule reports
   insufficient data for each window; its first reading completes the coverage and those alerts
   resolve.
2. **Budget revision**: two delays after "ready", the spent electricity budget of the fleet's
   first enterprise is raised (as an officer would after an approved revision, by applying the
   district file with the larger amount), so its ``budget_exceeded`` alert resolves.
3. **Late figures**: one cement plant submits nothing with the others; three delays after
   "ready" its clerk submits the previous month's figures, so its ``production_missing`` alert
   resolves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.core.alerting.lifecycle import RuleName
from services.core.domain.pue import pue_limit
from simulators.district.layout import (
    DC_NEW,
    DC_NEW_CLASS,
    DC_NEW_GATEWAY,
    DC_NEW_INTERVAL_S,
    DC_NEW_PUE,
    REVISED_ENTERPRISE,
    District,
    revised_amount,
)
from simulators.district.production import LATE_ENTERPRISE
from simulators.gateways.fleet import Fleet, ReadingStream


@dataclass(frozen=True, slots=True)
class AlertOf:
    """The live alerts of ``rule`` about one subject: given by the alert's subject text (codes
    joined by '/') or by its enterprise's code."""

    rule: RuleName
    subject: str | None = None
    enterprise: str | None = None


@dataclass(frozen=True)
class Commissioning:
    """Episode 1: the commissioned data centre's gateway starts publishing, one reading per
    15-minute interval as wall-clock time reaches it."""

    fleet: Fleet  # the data centre as a fleet of its one gateway
    delays: int = 1  # acts this many episode delays after "ready"

    @property
    def enterprise(self) -> str:
        return self.fleet.enterprises[0].code

    @property
    def site(self) -> str:
        return DC_NEW

    @property
    def subject(self) -> str:
        return f"{self.enterprise}/{self.site}"

    @property
    def gateway(self) -> str:
        return DC_NEW_GATEWAY

    @property
    def pue(self) -> float:
        return DC_NEW_PUE

    @property
    def pue_limit(self) -> float | None:
        return pue_limit(DC_NEW_CLASS)

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=DC_NEW_INTERVAL_S)

    @property
    def resolves(self) -> AlertOf:
        return AlertOf("pue_insufficient_data", subject=self.subject)

    def meter_codes(self) -> list[str]:
        return [m.code for _, _, m in self.fleet.meters()]

    def first_reading(self, now: datetime, *, published_until: datetime | None) -> datetime:
        """The interval boundary at or before ``now``, or the one after an earlier run's last
        reading when that is later (the gateway carries on rather than publishing twice)."""
        step = DC_NEW_INTERVAL_S
        start = now - timedelta(seconds=now.timestamp() % step)
        if published_until is not None:
            start = max(start, published_until + self.interval)
        return start

    def stream(self, start: datetime, *, counters: Mapping[str, float]) -> ReadingStream:
        """The gateway's readings from ``start``, each meter's counter carrying on from
        ``counters`` (meter code -> last stored value, multiplier applied; 0 when absent)."""
        for _, _, meter in self.fleet.meters():
            meter.counter = counters.get(meter.code, 0.0) / meter.multiplier
        return ReadingStream(self.fleet, start)


@dataclass(frozen=True)
class BudgetRevision:
    """Episode 2: ``enterprise``'s electricity budget of ``year`` goes from ``before_kwh`` (already
    spent) to ``after_kwh``."""

    enterprise: str
    year: int
    before_kwh: float
    after_kwh: float
    delays: int = 2

    @property
    def resolves(self) -> AlertOf:
        return AlertOf("budget_exceeded", enterprise=self.enterprise)

    def apply_to(self, district: District) -> District:
        return district.with_budget(self.enterprise, self.after_kwh)


@dataclass(frozen=True)
class LateFigures:
    """Episode 3: ``enterprise`` submits its figures of ``month`` late."""

    enterprise: str
    month: date  # its first day
    delays: int = 3

    @property
    def resolves(self) -> AlertOf:
        return AlertOf("production_missing", enterprise=self.enterprise)


def late_figures(district: District, month: date) -> LateFigures:
    return LateFigures(district.fleet.enterprises[LATE_ENTERPRISE].code, month)


def commissioning(district: District) -> Commissioning:
    return Commissioning(district.dc_new)


def budget_revision(district: District) -> BudgetRevision:
    code = district.fleet.enterprises[REVISED_ENTERPRISE].code
    return BudgetRevision(
        enterprise=code,
        year=district.fleet.config.budget_year,
        before_kwh=district.budget_amount(code),
        after_kwh=revised_amount(district.fleet),
    )
