"""A reading re-sent over MQTT for the same point and time with another value keeps its first
value; the re-send is recorded for audit with both values and counted. An identical re-send stays
a silent duplicate."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A
from tests.support.ingest import IngestProcess
from tests.support.mqtt import Publisher
from tests.support.services import wait_for

TS = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
MARK = TS + timedelta(minutes=15)


def _doc(value: float, ts: datetime = TS) -> bytes:
    reading = {"meter": "G-1", "point": "gas_volume_m3", "ts": ts.isoformat(), "value": value}
    return json.dumps({"readings": [reading]}).encode()


def _stored(db: DatabaseSettings) -> dict[datetime, float]:
    with psycopg.connect(db.libpq_url) as conn:
        return dict(conn.execute("SELECT ts, value FROM readings").fetchall())  # type: ignore[arg-type]


def _conflicts(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT c.ts, c.first_value, c.new_value, c.source, g.code "
            "FROM reading_conflicts c LEFT JOIN gateways g ON g.id = c.gateway_id ORDER BY c.id"
        ).fetchall()


@pytest.mark.timeout(90)
def test_a_resend_with_another_value_keeps_the_first_and_is_recorded_with_both(
    ingest: IngestProcess, publisher: Publisher, small_district: DatabaseSettings
) -> None:
    topic = publisher.readings_topic(ENT_A, "gw-01")
    publisher.publish(topic, [_doc(100.0)])
    wait_for(lambda: TS in _stored(small_district), 10, "the first reading stored")

    publisher.publish(topic, [_doc(100.0)])  # identical: a duplicate, nothing to record
    publisher.publish(topic, [_doc(250.5)])  # another value for the same point and time
    publisher.publish(topic, [_doc(7.0, MARK)])  # a later message: when stored, all above were
    wait_for(lambda: MARK in _stored(small_district), 10, "the marker reading stored")

    assert _stored(small_district)[TS] == 100.0
    assert _conflicts(small_district) == [(TS, 100.0, 250.5, 1, None)]
    assert ingest.metric("energymon_ingest_reading_conflicts_total", 'source="mqtt"') == 1
    assert ingest.metric("energymon_ingest_readings_duplicate_total", 'source="mqtt"') == 2

    publisher.publish(topic, [_doc(250.5)])  # the same conflicting re-send again: one record
    publisher.publish(topic, [_doc(8.0, MARK + timedelta(minutes=15))])
    wait_for(lambda: len(_stored(small_district)) == 3, 10, "the second marker stored")
    assert len(_conflicts(small_district)) == 1
