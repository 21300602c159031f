"""``energymon report intensity``: an enterprise's products and value-added intensity, the
district's aggregate and ranking, or the quota violations, as a table or CSV (the same figures
as the API's intensity routes)."""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Sequence
from typing import Any

from services.core.errors import EnergymonError


def add_parser(report: Any) -> None:
    """``report intensity`` under the ``report`` subcommands."""
    ri = report.add_parser(
        "intensity",
        help="energy intensity: unit-product energy against quotas, energy per 10^4 CNY value "
        "added, the district's ranking or the quota violations",
    )
    ri.add_argument("--enterprise", help="unified social credit code (default: the district)")
    ri.add_argument("--year", type=int, help="default: the last complete month's year")
    ri.add_argument("--month", type=int, help="1-12 (default: the last complete month)")
    ri.add_argument(
        "--period",
        choices=["month", "quarter", "ytd"],
        default="month",
        help="the month, its calendar quarter, or January to it (default: month)",
    )
    what = ri.add_mutually_exclusive_group()
    what.add_argument(
        "--ranking",
        choices=["intensity", "quota_distance", "yoy"],
        help="the district's enterprises (intensity, yoy) or products (quota_distance) ranked",
    )
    what.add_argument(
        "--violations", action="store_true", help="products over their quota's binding value"
    )
    ri.add_argument(
        "--format",
        choices=["table", "csv"],
        default="table",
        help="an aligned table (default) or CSV",
    )
    ri.set_defaults(func=report_command)


def _window(args: argparse.Namespace, zone: Any) -> Any:
    from datetime import UTC, datetime

    from services.core.domain.intensity import IntensityPeriod, Window
    from services.core.store.reports import last_complete_month

    if (args.year is None) != (args.month is None):
        raise EnergymonError("give both --year and --month, or neither (the last complete month)")
    if args.year is None:
        last = last_complete_month(datetime.now(UTC), zone)
        return Window(last.year, last.month, IntensityPeriod(args.period))
    if not 1 <= args.month <= 12:
        raise EnergymonError(f"--month is 1-12, not {args.month}")
    return Window(args.year, args.month, IntensityPeriod(args.period))


def report_command(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from services.core.db import make_engine
    from services.core.factors import default_factors
    from services.core.quotas import configured_quotas
    from services.core.settings import (
        CommonSettings,
        DatabaseSettings,
        IntensitySettings,
        QuotaSettings,
    )
    from services.core.store.intensity import intensities

    if args.enterprise and (args.ranking or args.violations):
        raise EnergymonError("--ranking and --violations are the district's: drop --enterprise")
    common = CommonSettings()
    window = _window(args, common.zone)
    engine = make_engine(DatabaseSettings())
    with engine.connect() as conn:
        found = intensities(
            conn,
            default_factors(),
            configured_quotas(QuotaSettings().file),
            window,
            common.zone,
            codes=[args.enterprise] if args.enterprise else None,
            threshold=common.min_completeness,
            now=datetime.now(UTC),
        )
    engine.dispose()
    if args.enterprise and not found:
        raise EnergymonError(f"no active enterprise {args.enterprise}")
    if args.enterprise:
        title, rows = _enterprise(found[0])
    elif args.violations:
        title, rows = _violations(found, window.label)
    else:
        title, rows = _ranking(found, args.ranking or "intensity", window, IntensitySettings())
    print(_render(title, rows, args.format), end="")
    return 0


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share:+.2%}"


def _enterprise(e: Any) -> tuple[str, list[list[str]]]:
    head = ["figure", "period", "value", "unit", "yoy", "verdict", "completeness", "why"]
    rows = [head]
    for p in e.products:
        f = p.current
        rows.append(
            [
                f"product {p.code}",
                f.window.label,
                _num(f.value),
                f.unit,
                _pct(p.yoy.change),
                p.quota.text,
                f"{f.completeness.share:.1%}",
                f.reason or p.yoy.text,
            ]
        )
    f = e.current
    rows.append(
        [
            "value added",
            f.window.label,
            _num(f.value),
            f.unit,
            _pct(e.yoy.change),
            "",
            f"{f.completeness.share:.1%}",
            f.reason or e.yoy.text,
        ]
    )
    title = (
        f"energy intensity of {e.code} ({e.name}), {e.window.label}; electricity at "
        f"{e.method} value (GB/T 2589-2020)"
    )
    return title, rows


def _ranking(
    found: Sequence[Any], by: str, window: Any, settings: Any
) -> tuple[str, list[list[str]]]:
    from services.core.domain.intensity import district_intensity
    from services.core.store.intensity_ranking import RankBy, ranking

    d = district_intensity(
        window, [(e.current, e.previous) for e in found], settings.target_decline
    )
    r = ranking(found, RankBy(by))
    rows = [["rank", "enterprise", "product", "value", "unit", "yoy", "note"]]
    for i, row in enumerate([*r.ranked, *r.apart], start=1):
        p = row.product
        figure = p.current if p is not None else row.enterprise.current
        rows.append(
            [
                str(i) if i <= len(r.ranked) else "-",
                row.enterprise.code,
                p.code if p is not None else "",
                _num(figure.value),
                figure.unit,
                _pct((p or row.enterprise).yoy.change),
                row.text,
            ]
        )
    value = _num(d.value) or "none"
    title = f"district {window.label}: {value} tce/10^4 CNY; {d.text}; ranked by {by}"
    return title, rows


def _violations(found: Sequence[Any], label: str) -> tuple[str, list[list[str]]]:
    from services.api.intensity_out import violation_out
    from services.core.store.intensity_ranking import violations

    rows = [["enterprise", "product", "plant", "value", "limit", "unit", "clause", "verdict"]]
    for e, p in violations(found):
        v = violation_out(e, p)
        rows.append(
            [
                v.enterprise,
                v.product,
                v.plant,
                _num(v.value),
                f"{v.limit:g}",
                v.unit,
                v.clause,
                v.text,
            ]
        )
    return f"quota violations {label}: {len(rows) - 1}", rows


def _render(title: str, rows: list[list[str]], fmt: str) -> str:
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue()
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [title]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"
