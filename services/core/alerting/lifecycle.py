"""The alert lifecycle as a pure function: findings and live alerts in, actions out.

One live alert per (rule, subject, window). A finding whose condition holds opens an alert or
updates the live one (never a second one). When the condition stops holding, the alert starts
clearing and resolves automatically once it has stayed clear for the hold time; the condition
coming back while clearing cancels the clearing. Acknowledged alerts follow the same rules.
Hysteresis (a lower threshold to clear than to open) is the rule's job: a rule sees which keys are
live and sets ``active`` accordingly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, get_args

# Every rule the alerts service evaluates (docs/alerts.md), for filters and validation outside it.
RuleName = Literal[
    "silent_meter",
    "gateway_offline",
    "modbus_device_offline",
    "pue_over_limit",
    "pue_insufficient_data",
    "budget_warning",
    "budget_projected_overrun",
    "budget_exceeded",
    "low_completeness",
    "counter_reset",
    "counter_rollover",
    "spike_excluded",
    "enterprise_low_completeness",
    "meter_balance_deviation",
    "pue_meter_silent",
    "sequence_gap",
    "ingest_partition_unowned",
    "ingest_replica_lost",
    "production_missing",
    "quota_over_limit",
    "intensity_yoy_rise",
]
RULES: frozenset[str] = frozenset(get_args(RuleName))


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class State(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


AlertKey = tuple[str, str, int, str]  # rule, subject type, subject id, window


@dataclass(frozen=True)
class Finding:
    rule: str
    subject_type: str
    subject_id: int
    subject: str
    window: str
    active: bool
    severity: Severity = Severity.WARNING
    title: str = ""
    value: float | None = None
    limit: float | None = None
    enterprise_id: int | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> AlertKey:
        return (self.rule, self.subject_type, self.subject_id, self.window)


@dataclass(frozen=True)
class LiveAlert:
    id: int
    key: AlertKey
    state: State
    severity: Severity
    cleared_since: datetime | None = None


@dataclass(frozen=True)
class Open:
    finding: Finding


@dataclass(frozen=True)
class Update:
    alert_id: int
    finding: Finding
    severity_changed: bool


@dataclass(frozen=True)
class StartClearing:
    alert_id: int
    finding: Finding | None


@dataclass(frozen=True)
class Resolve:
    alert_id: int
    finding: Finding | None


Action = Open | Update | StartClearing | Resolve


def plan(
    findings: Iterable[Finding],
    live: Mapping[AlertKey, LiveAlert],
    *,
    rules: Iterable[str],
    now: datetime,
    hold: timedelta,
) -> list[Action]:
    """What to do with the alerts of ``rules`` given this evaluation's findings.

    A live alert of these rules without a finding (its subject is gone or no longer qualifies)
    counts as clear.
    """
    actions: list[Action] = []
    rules = set(rules)
    seen: set[AlertKey] = set()
    for f in findings:
        seen.add(f.key)
        alert = live.get(f.key)
        if f.active:
            if alert is None:
                actions.append(Open(f))
            else:
                actions.append(Update(alert.id, f, f.severity != alert.severity))
        elif alert is not None:
            actions.append(_clear(alert, f, now, hold))
    for key, alert in live.items():
        if key[0] in rules and key not in seen:
            actions.append(_clear(alert, None, now, hold))
    return actions


def _clear(alert: LiveAlert, f: Finding | None, now: datetime, hold: timedelta) -> Action:
    if alert.cleared_since is None:
        return Resolve(alert.id, f) if hold <= timedelta(0) else StartClearing(alert.id, f)
    if now - alert.cleared_since >= hold:
        return Resolve(alert.id, f)
    return StartClearing(alert.id, f)
