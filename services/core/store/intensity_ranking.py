"""The district's intensity rankings and quota violations, from the figures of
:func:`services.core.store.intensity.intensities` (no further reads): enterprises by energy per
10^4 CNY of value added or by its year-on-year change, products by their distance to the quota
limit; rows without a figure are listed apart with the reason, never ranked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.core.domain.quota import QuotaVerdict
from services.core.store.intensity import EnterpriseIntensity, ProductIntensity

_JUDGED = {
    QuotaVerdict.OVER_LIMIT,
    QuotaVerdict.ABOVE_ENTRY,
    QuotaVerdict.WITHIN,
    QuotaVerdict.LEADER,
}


class RankBy(StrEnum):
    INTENSITY = "intensity"  # enterprises, most energy per 10^4 CNY first
    QUOTA_DISTANCE = "quota_distance"  # products, furthest above (or least below) the limit first
    YOY = "yoy"  # enterprises, largest rise on last year first


@dataclass(frozen=True, slots=True)
class RankRow:
    enterprise: EnterpriseIntensity
    product: ProductIntensity | None
    key: float | None  # what the ranking sorts by; None: listed apart
    text: str  # the figure's verdict or the reason it is listed apart


@dataclass(frozen=True, slots=True)
class Ranking:
    by: RankBy
    ranked: tuple[RankRow, ...]  # highest first
    apart: tuple[RankRow, ...]  # no figure, in enterprise order


def _row(e: EnterpriseIntensity, by: RankBy) -> RankRow:
    if by is RankBy.YOY:
        return RankRow(e, None, e.yoy.change, e.yoy.text)
    reason = e.current.reason
    return RankRow(e, None, e.current.value, f"insufficient data ({reason})" if reason else "")


def ranking(found: Sequence[EnterpriseIntensity], by: RankBy) -> Ranking:
    """Enterprises (``intensity``, ``yoy``) or products (``quota_distance``: by
    (value - 限定值) / |限定值|, judged products only) ranked highest first."""
    if by is RankBy.QUOTA_DISTANCE:
        rows = [
            RankRow(
                e,
                p,
                p.quota.share_of_limit if p.quota.verdict in _JUDGED else None,
                p.quota.text,
            )
            for e in found
            for p in e.products
        ]
    else:
        rows = [_row(e, by) for e in found]
    ranked = sorted((r for r in rows if r.key is not None), key=lambda r: -(r.key or 0.0))
    return Ranking(by, tuple(ranked), tuple(r for r in rows if r.key is None))


def violations(
    found: Sequence[EnterpriseIntensity],
) -> list[tuple[EnterpriseIntensity, ProductIntensity]]:
    """The products whose figure is over their binding quota value (``over_limit``), furthest
    above first."""
    over = [(e, p) for e in found for p in e.products if p.quota.verdict is QuotaVerdict.OVER_LIMIT]
    return sorted(over, key=lambda ep: -(ep[1].quota.share_of_limit or 0.0))
