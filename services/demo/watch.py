"""What the demo reports while it runs: the running totals, the open PUE and budget alerts, and
each of those alerts, the production and quota ones too, as it opens, starts clearing and
resolves (from the alerts table, so what the alerts service did is what is printed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from services.core.alerting.lifecycle import State
from services.core.alerting.store import AlertSeen, alerts_seen
from services.core.store.activity import IntakeTotals, intake_totals
from services.demo.output import duration, number, rounded, say

# the rules the district is built to cause
WATCHED_RULES = ("pue_", "budget_", "production_missing", "quota_over_limit")
STATUS_EVERY = 6  # progress ticks (5 s each) between two status lines
LISTED_ALERTS = 12


class AlertWatch:
    """Prints the watched alerts as they open, start clearing and resolve."""

    def __init__(self, since: datetime, hold_s: float) -> None:
        self.since = since  # alerts opened before this are from an earlier run
        self.hold_s = hold_s
        self.phase: dict[int, str] = {}  # alert id -> open / clearing / resolved, as printed

    def seen(self, conn: Connection) -> list[AlertSeen]:
        """The watched alerts live now or resolved since the watch began."""
        return alerts_seen(conn, rule_prefixes=WATCHED_RULES, resolved_since=self.since)

    def report(self, seen: list[AlertSeen]) -> None:
        for alert in seen:
            what = f"{alert.rule} {alert.subject} {alert.window}"
            before = self.phase.get(alert.id)
            if before is None:
                if alert.opened_at < self.since:
                    say(f"alert still open from an earlier run: {what}")
                else:
                    say(f"alert opened: {what}")
            phase = (
                "resolved"
                if alert.state == State.RESOLVED
                else "clearing"
                if alert.clearing
                else "open"
            )
            if phase == before or (before is None and phase == "open"):
                self.phase[alert.id] = phase
                continue
            if phase == "clearing":
                say(f"alert clearing: {what} (resolves once clear for {self.hold_s:g} s)")
            elif phase == "open":
                say(f"alert condition back: {what}")
            else:
                took = duration((alert.resolved_at or alert.opened_at) - alert.opened_at)
                say(f"alert resolved: {what} (open {took})")
            self.phase[alert.id] = phase


class Status:
    """The running totals every half minute, and the open PUE and budget alerts again whenever
    they change."""

    def __init__(self) -> None:
        self.ticks = 0
        self.listed: list[tuple[str, str, str]] = []  # the open alerts last listed

    def report(self, conn: Connection, seen: list[AlertSeen]) -> None:
        self.ticks += 1
        open_ = [a for a in seen if a.state == State.OPEN and _listed_rule(a.rule)]
        which = [(a.rule, a.subject, a.window) for a in open_]
        if self.ticks % STATUS_EVERY == 1 or which != self.listed:
            say(_totals(intake_totals(conn), len(open_)))
        if which != self.listed:
            for a in open_[:LISTED_ALERTS]:
                value, limit = rounded(a.value), number(a.limit)
                say(f"  alert: {a.rule} {a.subject} {a.window} {value} > {limit}")
            if len(open_) > LISTED_ALERTS:
                say(f"  ... and {len(open_) - LISTED_ALERTS} more (GET /api/v1/alerts)")
            self.listed = which


def _listed_rule(rule: str) -> bool:
    return rule == "pue_over_limit" or rule.startswith("budget_")


def _totals(t: IntakeTotals, alerts_open: int) -> str:
    return (
        f"readings stored {t.readings:,} (mqtt {t.mqtt_readings:,}, modbus {t.modbus_readings:,}, "
        f"dlt645 {t.dlt645_readings:,}); "
        f"dead letters {t.dead_letters:,}; gateways online {t.gateways_online}/{t.gateways}; "
        f"polled meters reporting {t.polled_meters_reporting}/{t.polled_meters}; "
        f"PUE and budget alerts open {alerts_open}"
    )
