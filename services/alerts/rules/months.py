"""The local months that month-windowed rules judge: those of their live alerts (window
``YYYY-MM``), so an alert resolves on its own month's corrected figures."""

from __future__ import annotations

from datetime import date

from services.core.alerting.lifecycle import AlertKey, LiveAlert


def live_months(live: dict[AlertKey, LiveAlert], *rules: str) -> set[date]:
    """The first days of the months of the live alerts of ``rules``."""
    return {
        date.fromisoformat(f"{key[3]}-01") for key in live if key[0] in rules and len(key[3]) == 7
    }
