"""What the demo prints: every line starts with ``[demo]``; times in the configured zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.core.settings import CommonSettings


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def duration(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    if total >= 3600:
        return f"{total // 3600} h {total % 3600 // 60} min"
    return f"{total // 60} min {total % 60} s" if total >= 60 else f"{total} s"


def local(ts: datetime) -> str:
    return ts.astimezone(CommonSettings().zone).isoformat(timespec="minutes")


def kwh(amount: float) -> str:
    return f"{amount:,.1f}".removesuffix(".0")


def number(value: float | None) -> str:
    """As PostgreSQL prints a double: the shortest exact digits, no ".0" (empty for None)."""
    return "" if value is None else repr(float(value)).removesuffix(".0")


def rounded(value: float | None, places: int = 3) -> str:
    """As PostgreSQL prints ``round(value::numeric, places)``: the double to 15 significant
    digits, then rounded half away from zero (empty for None)."""
    if value is None:
        return ""
    return str(Decimal(f"{value:.15g}").quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))
