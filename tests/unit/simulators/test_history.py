"""Store and forward: the history a gateway sends before its backlog carries the counters (not
power), at the history interval, continuous into the backlog and live readings."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from simulators.gateways.fleet import FleetConfig, GatewayMessage, ReadingStream, build_fleet

HISTORY_FROM = datetime(2026, 10, 31, 16, tzinfo=UTC)  # 2026-11-01 00:00 in Asia/Shanghai
BACKLOG_FROM = datetime(2026, 11, 2, 10, 7, tzinfo=UTC)  # not on the history's 15-min grid
CONFIG = FleetConfig(seed=7, enterprises=4, data_centres=1, interval_s=60)


def _stream() -> ReadingStream:
    return ReadingStream(build_fleet(CONFIG), HISTORY_FROM, readings_per_message=50)


def _series(msgs: list[GatewayMessage]) -> dict[tuple[str, str, str], list[tuple[datetime, float]]]:
    out: dict[tuple[str, str, str], list[tuple[datetime, float]]] = {}
    for m in msgs:
        for meter, point, ts, value in m.readings:
            out.setdefault((m.enterprise, meter, point), []).append((ts, value))
    return out


def test_the_history_holds_only_cumulative_points_every_history_interval() -> None:
    history = list(_stream().history(BACKLOG_FROM, 900))
    series = _series(history)
    assert series
    assert not [k for k in series if k[2] == "power_kw"]
    steps = int((BACKLOG_FROM - HISTORY_FROM).total_seconds() // 900) + 1  # 10:00 is the last
    for key, values in series.items():
        stamps = [ts for ts, _ in values]
        assert stamps == [HISTORY_FROM + timedelta(seconds=900 * i) for i in range(steps)], key


def test_the_history_is_sent_in_full_messages_of_several_intervals() -> None:
    history = list(_stream().history(BACKLOG_FROM, 900))
    assert all(len(m.readings) <= 50 for m in history)
    assert sum(len(m.readings) == 50 for m in history) > len(history) * 0.9
    payload = orjson.loads(history[0].payload)
    assert len({r["ts"] for r in payload["readings"]}) > 1


def test_counters_run_on_from_the_history_into_the_backlog_without_a_reset() -> None:
    stream = _stream()
    msgs = [*stream.history(BACKLOG_FROM, 900), *stream.take(30)]
    for key, values in _series(msgs).items():
        if key[2] == "power_kw":
            continue
        stamps = [ts for ts, _ in values]
        assert stamps == sorted(stamps), key
        assert all(b >= a for (_, a), (_, b) in itertools.pairwise(values)), key
        first_live = next(i for i, (ts, _) in enumerate(values) if ts >= BACKLOG_FROM)
        assert stamps[first_live] == BACKLOG_FROM


def test_the_first_backlog_reading_counts_the_energy_since_the_last_stored_one() -> None:
    """Counters integrate power over the time since the previous reading, whatever the cadence:
    the step from the history's 10:00 reading to the backlog's 10:07 one adds 7 minutes."""
    stream = _stream()
    history = _series(list(stream.history(BACKLOG_FROM, 900)))
    live = _series(list(stream.take(1)))
    for key, values in live.items():
        if key[2] != "energy_import_kwh":
            continue
        (_, power), *_ = live[(key[0], key[1], "power_kw")]
        (ts, last), (_, now) = history[key][-1], values[0]
        assert ts == BACKLOG_FROM - timedelta(minutes=7)
        assert now - last == pytest.approx(power * 7 / 60, abs=2e-4)


def test_messages_keep_one_sequence_per_gateway_across_history_and_backlog() -> None:
    stream = _stream()
    msgs = [*stream.history(BACKLOG_FROM, 900), *stream.take(5)]
    by_gateway: dict[tuple[str, str], list[int]] = {}
    for m in msgs:
        by_gateway.setdefault((m.enterprise, m.gateway), []).append(m.seq)
    for seqs in by_gateway.values():
        assert seqs == list(range(1, len(seqs) + 1))


def test_no_history_when_it_would_start_at_the_backlog() -> None:
    stream = ReadingStream(build_fleet(CONFIG), BACKLOG_FROM)
    assert list(stream.history(BACKLOG_FROM, 900)) == []
    (first, *_) = stream.take(1)
    assert first.readings[0][2] == BACKLOG_FROM
