"""``energymon quotas list`` and ``energymon quotas check``: the quota standards as a table, and a
quota file validated line by line."""

from __future__ import annotations

import argparse
from pathlib import Path

from services.core.domain.quota import QuotaEntry, QuotaLevel

_HEADER = ("standard", "product", "unit", "限定值", "准入值", "先进值", "from", "source")


def list_command(args: argparse.Namespace) -> int:
    """Print the quota entries (of ``--standard`` only, when given) as an aligned table."""
    from services.core.quotas import configured_quotas
    from services.core.settings import QuotaSettings

    quotas = configured_quotas(QuotaSettings().file)
    entries = quotas.entries(args.standard)
    if not entries:
        known = ", ".join(sorted({e.standard for e in quotas.entries()})) or "none"
        what = f"for {args.standard}" if args.standard else f"in quotas version {quotas.version}"
        print(f"no quota entries {what}; standards in the file: {known}")
        return 1
    rows = [_HEADER, *(_row(e) for e in entries)]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(_HEADER))]
    for row in rows:
        cells = [c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip())
    unverified = sum(not e.verified for e in entries)
    print(
        f"quotas version {quotas.version}: {len(entries)} entries, {unverified} not yet checked "
        "against the published standard (*)"
    )
    return 0


def check_command(path: str) -> int:
    """Print ``ok: N entries`` or one line per problem; 1 when there is any."""
    from services.core.quotas import read_quotas

    quotas, problems = read_quotas(Path(path))
    for problem in problems:
        print(f"{path}: {problem}")
    if quotas is None:
        return 1
    print(f"{path}: ok: {len(quotas.entries())} entries (version {quotas.version})")
    return 0


def _row(entry: QuotaEntry) -> tuple[str, ...]:
    def value(level: QuotaLevel) -> str:
        v = entry.value(level)
        return "-" if v is None else f"{v:g}"

    first = next((lv for lv in QuotaLevel if entry.value(lv) is not None), QuotaLevel.LIMIT)
    return (
        entry.standard,
        entry.product,
        entry.unit,
        value(QuotaLevel.LIMIT),
        value(QuotaLevel.ENTRY),
        value(QuotaLevel.ADVANCED),
        entry.valid_from.isoformat(),
        entry.source(first) + ("" if entry.verified else " *"),
    )


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK characters take two."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)
