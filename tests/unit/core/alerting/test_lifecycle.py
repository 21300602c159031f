from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.core.alerting.lifecycle import (
    Finding,
    LiveAlert,
    Open,
    Resolve,
    Severity,
    StartClearing,
    State,
    Update,
    plan,
)

NOW = datetime(2026, 11, 24, 8, tzinfo=UTC)
HOLD = timedelta(minutes=10)


def _f(active: bool, severity: Severity = Severity.WARNING, sid: int = 1) -> Finding:
    return Finding("silent_meter", "meter", sid, f"M-{sid}", "", active, severity)


def _live(cleared: datetime | None = None, severity: Severity = Severity.WARNING) -> dict:
    key = ("silent_meter", "meter", 1, "")
    return {key: LiveAlert(7, key, State.OPEN, severity, cleared)}


def test_a_new_condition_opens_one_alert() -> None:
    assert plan([_f(True)], {}, rules=["silent_meter"], now=NOW, hold=HOLD) == [Open(_f(True))]


def test_a_condition_that_persists_updates_the_live_alert_never_a_second() -> None:
    actions = plan([_f(True)], _live(), rules=["silent_meter"], now=NOW, hold=HOLD)
    assert actions == [Update(7, _f(True), severity_changed=False)]
    escalated = plan(
        [_f(True, Severity.CRITICAL)], _live(), rules=["silent_meter"], now=NOW, hold=HOLD
    )
    assert escalated == [Update(7, _f(True, Severity.CRITICAL), severity_changed=True)]


def test_a_cleared_condition_resolves_only_after_the_hold_time() -> None:
    assert plan([_f(False)], _live(), rules=["silent_meter"], now=NOW, hold=HOLD) == [
        StartClearing(7, _f(False))
    ]
    almost = _live(cleared=NOW - HOLD + timedelta(seconds=1))
    assert plan([_f(False)], almost, rules=["silent_meter"], now=NOW, hold=HOLD) == [
        StartClearing(7, _f(False))
    ]
    held = _live(cleared=NOW - HOLD)
    assert plan([_f(False)], held, rules=["silent_meter"], now=NOW, hold=HOLD) == [
        Resolve(7, _f(False))
    ]


def test_the_condition_returning_while_clearing_keeps_the_same_alert() -> None:
    clearing = _live(cleared=NOW - timedelta(minutes=5))
    assert plan([_f(True)], clearing, rules=["silent_meter"], now=NOW, hold=HOLD) == [
        Update(7, _f(True), severity_changed=False)
    ]


def test_no_finding_for_a_live_alert_counts_as_clear_but_other_rules_are_left_alone() -> None:
    live = {
        **_live(),
        ("pue_over_limit", "site", 3, "ytd"): LiveAlert(
            9, ("pue_over_limit", "site", 3, "ytd"), State.OPEN, Severity.CRITICAL
        ),
    }
    assert plan([], live, rules=["silent_meter"], now=NOW, hold=HOLD) == [StartClearing(7, None)]


def test_an_inactive_finding_without_a_live_alert_does_nothing() -> None:
    assert plan([_f(False)], {}, rules=["silent_meter"], now=NOW, hold=HOLD) == []
