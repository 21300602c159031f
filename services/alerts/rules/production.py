"""Production alerts: one warning per enterprise and month whose production or economic figures
are still missing after the month's due day (ENERGYMON_PRODUCTION_DUE_DAY of the next month);
it resolves once the figures arrive.

The rule looks back over the last twelve due months, and keeps checking the months of its live
alerts however old, so that an alert resolves only when its figures arrive.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.alerts.rules.months import live_months
from services.core.alerting.lifecycle import AlertKey, Finding, LiveAlert, Severity
from services.core.domain.production import due_date, last_due_month
from services.core.store.production import missing

PRODUCTION_MISSING = "production_missing"
LOOKBACK_MONTHS = 12


def _months_back(last: date, n: int) -> list[date]:
    months = [last]
    for _ in range(n - 1):
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months


def missing_findings(
    conn: Connection,
    now: datetime,
    live: dict[AlertKey, LiveAlert],
    *,
    zone: ZoneInfo,
    due_day: int,
) -> list[Finding]:
    last = last_due_month(now.astimezone(zone).date(), due_day)
    months = sorted({*_months_back(last, LOOKBACK_MONTHS), *live_months(live, PRODUCTION_MISSING)})
    out = []
    for m in missing(conn, months=[mo for mo in months if mo <= last], zone=zone):
        lacking = [f"output of {', '.join(m.products)}"] if m.products else []
        if m.value_added:
            lacking.append("value added")
        due = due_date(m.month, due_day)
        out.append(
            Finding(
                PRODUCTION_MISSING,
                "enterprise",
                m.enterprise_id,
                m.enterprise,
                f"{m.month:%Y-%m}",
                True,
                Severity.WARNING,
                f"{m.enterprise} {m.month:%Y-%m}: {' and '.join(lacking)} missing (due "
                f"{due.isoformat()})",
                enterprise_id=m.enterprise_id,
                evidence={
                    "month": f"{m.month:%Y-%m}",
                    "due": due.isoformat(),
                    "products_missing": list(m.products),
                    "value_added_missing": m.value_added,
                },
            )
        )
    return out
