"""Data-centre PUE over a window, with coverage; limits from the plan; window boundaries.

PUE = total facility energy / IT equipment energy over the same window, both from kWh counters
(The Green Grid; never a ratio of instantaneous powers). Below ``threshold`` coverage of either
side (default 90 % of the window's expected readings) the result is "insufficient data", which
is not a finding. Limits (Tianjin Xiqing plan): new large and super-large data centres 1.25,
existing ones 1.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

PUE_LIMITS = {"new_large": 1.25, "new_super_large": 1.25, "existing": 1.5}
STANDARD_RACK_KW = 2.5


class PueStatus(StrEnum):
    OK = "ok"
    INSUFFICIENT_DATA = "insufficient_data"
    NO_IT_LOAD = "no_it_load"


@dataclass(frozen=True, slots=True)
class PueResult:
    status: PueStatus
    ratio: float | None
    facility_kwh: float
    it_kwh: float
    facility_coverage: float  # measured share of the side's expected periods
    it_coverage: float
    threshold: float = 0.9
    facility_estimated: float = 0.0  # gap-filled share, reported apart
    it_estimated: float = 0.0


def pue(
    facility_kwh: float,
    it_kwh: float,
    *,
    facility_coverage: float,
    it_coverage: float,
    threshold: float = 0.9,
    facility_estimated: float = 0.0,
    it_estimated: float = 0.0,
) -> PueResult:
    """Coverage: each side's measured share of its expected collection periods
    (services/core/domain/completeness.py); estimated periods do not count."""
    if min(facility_coverage, it_coverage) < threshold:
        status, ratio = PueStatus.INSUFFICIENT_DATA, None
    elif it_kwh <= 0:
        status, ratio = PueStatus.NO_IT_LOAD, None
    else:
        status, ratio = PueStatus.OK, facility_kwh / it_kwh
    return PueResult(
        status,
        ratio,
        facility_kwh,
        it_kwh,
        facility_coverage,
        it_coverage,
        threshold,
        facility_estimated,
        it_estimated,
    )


class PueVerdict(StrEnum):
    """A PUE judged against the site's limit; decided here, for the alerts, the API, the reports
    and the console alike."""

    WITHIN = "within"
    OVER = "over"
    INSUFFICIENT_DATA = "insufficient_data"  # no verdict: the data does not support a figure
    NO_IT_LOAD = "no_it_load"
    NO_LIMIT = "no_limit"  # a site without a class or an explicit limit


def pue_verdict(result: PueResult, limit: float | None, *, hysteresis: float = 0.0) -> PueVerdict:
    """Over when the ratio is above ``limit - hysteresis`` (a live over-limit alert passes its
    margin here, so that a PUE hovering at the limit does not flap)."""
    if result.status is PueStatus.INSUFFICIENT_DATA:
        return PueVerdict.INSUFFICIENT_DATA
    if result.status is PueStatus.NO_IT_LOAD or result.ratio is None:
        return PueVerdict.NO_IT_LOAD
    if limit is None:
        return PueVerdict.NO_LIMIT
    return PueVerdict.OVER if result.ratio > limit - hysteresis else PueVerdict.WITHIN


def pue_verdict_text(result: PueResult, limit: float | None) -> str:
    """The verdict in words against the rule it is judged by, e.g. "over the limit (1.310 >
    1.25)" or "insufficient data (IT side 43 % < 90 %)"."""
    verdict = pue_verdict(result, limit)
    if verdict is PueVerdict.INSUFFICIENT_DATA:
        short = [
            f"{side} side {share:.0%} < {result.threshold:.0%}"
            for side, share in (("facility", result.facility_coverage), ("IT", result.it_coverage))
            if share < result.threshold
        ]
        return f"insufficient data ({', '.join(short)})"
    if verdict is PueVerdict.NO_IT_LOAD:
        return "no IT load (no PUE)"
    ratio = f"{result.ratio:.3f}"
    if verdict is PueVerdict.NO_LIMIT:
        return f"no limit registered (PUE {ratio})"
    if verdict is PueVerdict.OVER:
        return f"over the limit ({ratio} > {limit:g})"
    return f"within the limit ({ratio} <= {limit:g})"


def pue_limit(dc_class: str | None, explicit: float | None = None) -> float | None:
    """An explicit per-site limit wins; otherwise the class's limit from the plan."""
    if explicit is not None:
        return explicit
    return PUE_LIMITS.get(dc_class or "")


def size_class(standard_racks: int) -> str:
    """MIIT size classes: super-large >= 10 000 standard racks (2.5 kW), large 3 000-10 000."""
    if standard_racks >= 10_000:
        return "super_large"
    if standard_racks >= 3_000:
        return "large"
    return "medium_or_small"


class Window(StrEnum):
    HOUR = "hour"
    DAY = "day"
    MONTH_TO_DATE = "mtd"
    YEAR_TO_DATE = "ytd"
    ROLLING_24H = "rolling_24h"
    ROLLING_30D = "rolling_30d"


def window_bounds(window: Window, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of ``window`` ending at ``now``; calendar windows start at local midnight."""
    local = now.astimezone(zone)
    if window == Window.HOUR:
        start = local.replace(minute=0, second=0, microsecond=0)
    elif window == Window.DAY:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif window == Window.MONTH_TO_DATE:
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif window == Window.YEAR_TO_DATE:
        start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif window == Window.ROLLING_24H:
        start = local - timedelta(hours=24)
    else:
        start = local - timedelta(days=30)
    return start, now
