"""The TimescaleDB decisions, without a server: whether to use it, and what to change so that the
storage layout matches the settings while touching nothing that already does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.core.schema.storage_plan import (
    COMPRESSION,
    DAY_S,
    RETENTION,
    AddPolicy,
    AlterPolicy,
    ChunkInterval,
    CurrentStorage,
    PolicyJob,
    RemovePolicy,
    TimescaleProbe,
    decide_timescale,
    horizon_candidate,
    plan_policy,
    plan_storage,
    preloaded,
    recompute_refusal,
    storage_specs,
)

SPECS = storage_specs(chunk_interval_days=7, compress_after_days=14, retention_days=1825)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("timescaledb", True),
        ("pg_stat_statements, timescaledb", True),
        ('"timescaledb",pg_stat_statements', True),
        ("$libdir/timescaledb", True),
        ("timescaledb-2.28.3.so", True),
        ("", False),
        ("pg_stat_statements", False),
        ("timescaledb_toolkit", False),
    ],
)
def test_the_preload_list_is_read_entry_by_entry(value: str, expected: bool) -> None:
    assert preloaded(value) is expected


READY = TimescaleProbe(available=True, installed=False, preloaded=True)
NOT_PRELOADED = TimescaleProbe(available=True, installed=False, preloaded=False)
ABSENT = TimescaleProbe(available=False, installed=False, preloaded=False)
UNREADABLE = TimescaleProbe(available=True, installed=False, preloaded=None)


def test_auto_without_the_preload_falls_back_to_plain_postgresql_with_a_warning() -> None:
    decision = decide_timescale("auto", NOT_PRELOADED)
    assert not decision.use
    assert decision.error is None
    assert decision.warning is not None
    assert "shared_preload_libraries" in decision.warning


def test_on_without_the_preload_refuses_in_one_line_naming_the_setting() -> None:
    decision = decide_timescale("on", NOT_PRELOADED)
    assert not decision.use
    assert decision.error is not None
    assert "shared_preload_libraries" in decision.error
    assert "\n" not in decision.error


@pytest.mark.parametrize(
    ("mode", "probe", "use", "warns", "fails"),
    [
        ("auto", READY, True, False, False),
        ("on", READY, True, False, False),
        ("off", READY, False, False, False),
        ("off", NOT_PRELOADED, False, False, False),
        ("auto", ABSENT, False, False, False),  # plain PostgreSQL is normal: no warning
        ("on", ABSENT, False, False, True),
        ("auto", UNREADABLE, False, True, False),
        ("on", UNREADABLE, False, False, True),
        # already created and in use: a role that cannot read the setting keeps using it
        (
            "auto",
            TimescaleProbe(available=True, installed=True, preloaded=None),
            True,
            False,
            False,
        ),
    ],
)
def test_the_decision_table(
    mode: str, probe: TimescaleProbe, use: bool, warns: bool, fails: bool
) -> None:
    decision = decide_timescale(mode, probe)
    assert (decision.use, decision.warning is not None, decision.error is not None) == (
        use,
        warns,
        fails,
    )


def _as_specified() -> dict[str, CurrentStorage]:
    return {
        "readings": CurrentStorage(
            7 * DAY_S,
            {COMPRESSION: PolicyJob(1000, 14 * DAY_S), RETENTION: PolicyJob(1001, 1825 * DAY_S)},
        ),
        "consumption_15m": CurrentStorage(7 * DAY_S, {COMPRESSION: PolicyJob(1002, 14 * DAY_S)}),
        "consumption_1d": CurrentStorage(365 * DAY_S, {COMPRESSION: PolicyJob(1003, 14 * DAY_S)}),
    }


def test_a_layout_matching_the_settings_needs_no_change() -> None:
    assert plan_storage(SPECS, _as_specified()) == []


def test_a_fresh_hypertable_gets_its_policies_added() -> None:
    current = {"readings": CurrentStorage(7 * DAY_S, {})}
    assert plan_storage(SPECS, current) == [
        AddPolicy("readings", COMPRESSION, 14),
        AddPolicy("readings", RETENTION, 1825),
    ]


def test_changed_settings_alter_the_existing_jobs_and_the_chunk_interval() -> None:
    specs = storage_specs(chunk_interval_days=1, compress_after_days=30, retention_days=400)
    changes = plan_storage(specs, _as_specified())
    assert changes == [
        ChunkInterval("readings", 1),
        AlterPolicy("readings", COMPRESSION, 1000, 30),
        AlterPolicy("readings", RETENTION, 1001, 400),
        ChunkInterval("consumption_15m", 1),
        AlterPolicy("consumption_15m", COMPRESSION, 1002, 30),
        AlterPolicy("consumption_1d", COMPRESSION, 1003, 30),
    ]


def test_tables_that_are_not_hypertables_are_left_alone() -> None:
    assert plan_storage(SPECS, {}) == []


def test_a_retention_policy_on_a_rollup_table_is_removed() -> None:
    assert plan_policy("consumption_15m", RETENTION, PolicyJob(1009, DAY_S), None) == [
        RemovePolicy("consumption_15m", RETENTION, 1009)
    ]


def test_a_policy_set_by_another_measure_is_replaced() -> None:
    assert plan_policy("readings", COMPRESSION, PolicyJob(1000, None), 14) == [
        RemovePolicy("readings", COMPRESSION, 1000),
        AddPolicy("readings", COMPRESSION, 14),
    ]


NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
HORIZON = datetime(2025, 11, 27, tzinfo=UTC)


def test_the_horizon_is_the_oldest_chunk_or_else_the_retention_cut() -> None:
    assert horizon_candidate(HORIZON, NOW, 400) == HORIZON
    assert horizon_candidate(None, NOW, 400) == NOW - timedelta(days=400)


def test_nothing_dropped_never_refuses() -> None:
    assert recompute_refusal(None, None) is None
    assert recompute_refusal(HORIZON - timedelta(days=900), None) is None


@pytest.mark.parametrize(
    "since", [None, HORIZON - timedelta(days=30), HORIZON, HORIZON + timedelta(hours=23)]
)
def test_a_recomputation_reaching_the_dropped_period_is_refused(since: datetime | None) -> None:
    refusal = recompute_refusal(since, HORIZON)
    assert refusal is not None
    assert refusal.startswith("raw readings before 2025-11-27T00:00:00+00:00 are gone")
    assert "--since 2025-11-28T00:00:00+00:00" in refusal
    assert "\n" not in refusal


def test_a_recomputation_after_the_horizon_runs() -> None:
    assert recompute_refusal(HORIZON + timedelta(days=1), HORIZON) is None
    assert recompute_refusal(NOW, HORIZON) is None
