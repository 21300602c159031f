"""Pollers share devices through PostgreSQL leases: fair split, no overlap, bounded takeover."""

from __future__ import annotations

import time

import psycopg
import pytest

from services.core.db import make_engine
from services.core.settings import DatabaseSettings
from services.ingest.modbus.leases import LeaseManager


@pytest.fixture
def meter_ids(small_district: DatabaseSettings) -> list[int]:
    with psycopg.connect(small_district.libpq_url) as conn:
        return [int(r[0]) for r in conn.execute("SELECT id FROM meters ORDER BY id")]


def test_two_pollers_split_the_devices_without_overlap(
    small_district: DatabaseSettings, meter_ids: list[int]
) -> None:
    engine = make_engine(small_district)
    a = LeaseManager(engine, "poller-a", ttl_s=2)
    b = LeaseManager(engine, "poller-b", ttl_s=2)
    first = a.round(meter_ids)
    assert first.held == frozenset(meter_ids)  # alone, it takes everything
    b.round(meter_ids)  # b joins: nothing is free yet
    shrink = a.round(meter_ids)  # a sees two pollers and reports its surplus
    assert len(shrink.held) == 3
    assert len(shrink.surplus) == 2
    a.release(sorted(shrink.surplus))  # after stopping those devices
    got = b.round(meter_ids)
    assert got.held == shrink.surplus
    assert not (got.held & shrink.held)
    assert got.live_pollers == 2
    engine.dispose()


def test_a_dead_pollers_devices_are_taken_over_after_the_lease_expires(
    small_district: DatabaseSettings, meter_ids: list[int]
) -> None:
    engine = make_engine(small_district)
    a = LeaseManager(engine, "poller-a", ttl_s=1.5)
    b = LeaseManager(engine, "poller-b", ttl_s=1.5)
    a_round = a.round(meter_ids)
    assert b.round(meter_ids).held == frozenset()  # leased to a
    # a dies (no more rounds). b must not get them before a's lease expires ...
    assert time.monotonic() < a_round.valid_until
    assert b.round(meter_ids).held == frozenset()
    deadline = time.monotonic() + 5
    held: frozenset[int] = frozenset()
    while time.monotonic() < deadline and len(held) < len(meter_ids):
        time.sleep(0.2)
        held = b.round(meter_ids).held
    assert held == frozenset(meter_ids)
    # ... and a would have stopped trusting its leases before b could claim them
    assert time.monotonic() > a_round.valid_until
    engine.dispose()


def test_a_clean_leave_hands_devices_over_at_once(
    small_district: DatabaseSettings, meter_ids: list[int]
) -> None:
    engine = make_engine(small_district)
    a = LeaseManager(engine, "poller-a", ttl_s=30)
    b = LeaseManager(engine, "poller-b", ttl_s=30)
    a.round(meter_ids)
    a.leave()
    assert b.round(meter_ids).held == frozenset(meter_ids)
    engine.dispose()
