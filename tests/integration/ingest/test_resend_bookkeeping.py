"""Which sequence gaps are asked for again, how often, and when they are given up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import Engine

from services.core.db import make_engine
from services.core.settings import DatabaseSettings
from services.ingest.mqtt.resend import Resender, ResendRequest
from tests.integration.conftest import ENT_A

HOUR = timedelta(hours=1)


@pytest.fixture
def engine(small_district: DatabaseSettings) -> Iterator[Engine]:
    engine = make_engine(small_district, pool_size=1)
    yield engine
    engine.dispose()


def _open_gap(db: DatabaseSettings, first: int, last: int, age: timedelta) -> None:
    """A gap of gateway gw-01 of ENT_A in its current epoch, opened ``age`` ago."""
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute(
            "INSERT INTO gateway_seq_gaps (gateway_id, epoch, first_seq, last_seq, opened_at) "
            "SELECT g.id, g.seq_epoch, %s, %s, %s FROM gateways g "
            "JOIN enterprises e ON e.id = g.enterprise_id WHERE e.code = %s AND g.code = 'gw-01'",
            (first, last, datetime.now(UTC) - age, ENT_A),
        )


def _gaps(db: DatabaseSettings) -> list[tuple[int, int, int]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT first_seq, last_seq, resend_requests FROM gateway_seq_gaps ORDER BY first_seq"
        ).fetchall()
    return [(int(a), int(b), int(c)) for a, b, c in rows]


def _resender(engine: Engine, *, max_requests: int = 2, every_s: float = 3 * 3600) -> Resender:
    return Resender(
        engine,
        partitions=1,
        after_s=60,
        every_s=every_s,
        max_requests=max_requests,
        expiry_s=86_400,
    )


def test_a_gap_is_asked_for_once_per_interval_after_the_wait(
    engine: Engine, small_district: DatabaseSettings
) -> None:
    _open_gap(small_district, 10, 12, 2 * HOUR)
    _open_gap(small_district, 20, 20, timedelta(seconds=5))  # too young to ask for
    resender = _resender(engine)
    due = resender.due({0})
    assert [(r.enterprise, r.gateway, r.first_seq, r.last_seq, r.attempt) for r in due] == [
        (ENT_A, "gw-01", 10, 12, 1)
    ]
    assert resender.due({1}) == []  # not a partition this replica holds
    sent: list[ResendRequest] = []
    assert resender.send(due, lambda req, _payload: sent.append(req) is None) == 1
    assert sent == due
    assert _gaps(small_district) == [(10, 12, 1), (20, 20, 0)]
    assert resender.due({0}) == []  # asked for just now: not again before every_s


def test_a_gap_not_sent_is_not_counted_as_asked_for(
    engine: Engine, small_district: DatabaseSettings
) -> None:
    _open_gap(small_district, 10, 12, 2 * HOUR)
    resender = _resender(engine)
    assert resender.send(resender.due({0}), lambda _req, _payload: False) == 0
    assert _gaps(small_district) == [(10, 12, 0)]
    assert [r.attempt for r in resender.due({0})] == [1]


def test_a_gap_is_asked_for_at_most_max_requests_times(
    engine: Engine, small_district: DatabaseSettings
) -> None:
    _open_gap(small_district, 10, 12, 2 * HOUR)
    resender = _resender(engine, every_s=0)
    attempts = []
    for _ in range(3):
        due = resender.due({0})
        attempts += [r.attempt for r in due]
        resender.send(due, lambda _req, _payload: True)
    assert attempts == [1, 2]
    assert _gaps(small_district) == [(10, 12, 2)]


def test_no_gap_is_asked_for_when_requests_are_off(
    engine: Engine, small_district: DatabaseSettings
) -> None:
    _open_gap(small_district, 10, 12, 2 * HOUR)
    assert _resender(engine, max_requests=0).due({0}) == []


def test_gaps_older_than_the_expiry_are_given_up_and_counted(
    engine: Engine, small_district: DatabaseSettings
) -> None:
    _open_gap(small_district, 10, 14, 25 * HOUR)
    _open_gap(small_district, 30, 30, 23 * HOUR)
    assert _resender(engine).expire() == 5
    assert _gaps(small_district) == [(30, 30, 0)]
    assert _resender(engine).expire() == 0
