"""Bad input goes to the dead-letter table with a precise reason; good readings are still stored."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg

from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.ingest import IngestProcess
from tests.support.mqtt import Publisher
from tests.support.services import wait_for


def _rows(db: DatabaseSettings, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(sql).fetchall()


def _msg(*readings: dict[str, object], seq: int | None = None) -> bytes:
    doc: dict[str, object] = {"readings": list(readings)}
    if seq is not None:
        doc["seq"] = seq
    return json.dumps(doc).encode()


def test_each_kind_of_bad_input_is_dead_lettered_with_its_reason_and_good_readings_survive(
    ingest: IngestProcess, publisher: Publisher, small_district: DatabaseSettings
) -> None:
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    t = [(base + timedelta(minutes=15 * i)).astimezone().isoformat() for i in range(4)]
    a1 = publisher.readings_topic(ENT_A, "gw-01")
    a2 = publisher.readings_topic(ENT_A, "gw-02")

    def r(meter: str, point: str, ts: object, value: object, **kw: object) -> dict[str, object]:
        return {"meter": meter, "point": point, "ts": ts, "value": value, **kw}

    nan_message = (
        f'{{"readings": [{{"meter": "M-100", "point": "power_kw", "ts": "{t[1]}", "value": NaN}},'
        f' {{"meter": "M-100", "point": "energy_import_kwh", "ts": "{t[1]}", "value": 1001.5}}]}}'
    ).encode()
    publisher.publish(
        a1,
        [
            _msg(r("M-100", "energy_import_kwh", t[0], 1000.0), r("M-100", "power_kw", t[0], 50)),
            b"not json{",
            b'{"readings": {"meter": "M-100"}}',
            nan_message,
            _msg(r("M-100", "power_kw", t[2], 1e9)),
            _msg(r("M-100", "power_kw", (datetime.now(UTC) + timedelta(hours=1)).isoformat(), 1)),
            _msg(r("M-100", "power_kw", "2015-01-01T00:00:00+08:00", 1)),
            _msg(r("X-9", "energy_import_kwh", t[2], 1)),
            _msg(r("M-100", "gas_volume_m3", t[2], 1)),
            _msg(r("M-100", "energy_import_kwh", t[2], 1, unit="m3")),
            _msg(r("M-100", "energy_import_kwh", t[3], 2, unit="MWh")),
            _msg(r("M-100", "power_kw", "x" * 300_000, 1)),
            _msg(r("B-1", "energy_import_kwh", t[2], 1)),
            _msg(r("M-100", "power_kw", "2026-01-01T00:00:00", 1)),
            _msg(
                r(
                    "G-1",
                    "gas_volume_m3",
                    int((base + timedelta(minutes=30)).timestamp() * 1000),
                    7.25,
                )
            ),
            _msg(r("M-100", "power_kw", t[2], "12")),
        ],
    )
    publisher.publish(a2, [_msg(r("M-100", "power_kw", t[2], 1))])
    publisher.publish(
        publisher.readings_topic(ENT_A, "gw-99"), [_msg(r("G-1", "gas_volume_m3", t[2], 1))]
    )
    publisher.publish(publisher.readings_topic("91120111MA07N9RT25", "gw-01"), [_msg()])
    publisher.publish(
        publisher.readings_topic(ENT_B, "gw-01"), [_msg(r("B-1", "energy_import_kwh", t[0], 5.0))]
    )

    expected_reasons = Counter(
        {
            "invalid_json": 1,
            "invalid_schema": 1,
            "non_finite_value": 1,
            "value_out_of_range": 1,
            "timestamp_in_future": 1,
            "timestamp_too_old": 1,
            "unknown_meter": 1,
            "unknown_point": 1,
            "incompatible_unit": 1,
            "payload_too_large": 1,
            "meter_enterprise_mismatch": 1,
            "invalid_timestamp": 1,
            "invalid_reading": 1,
            "meter_gateway_mismatch": 1,
            "unknown_gateway": 1,
            "unknown_enterprise": 1,
        }
    )
    total = sum(expected_reasons.values())
    wait_for(
        lambda: (
            _rows(small_district, "SELECT count(*) FROM dead_letters")[0][0] >= total
            and _rows(small_district, "SELECT count(*) FROM readings")[0][0] >= 6
        ),
        30,
        "dead letters and readings",
    )

    reasons = Counter(r[0] for r in _rows(small_district, "SELECT reason FROM dead_letters"))
    assert reasons == expected_reasons

    stored = _rows(
        small_district,
        """
        SELECT m.code, p.quantity, r.value FROM readings r JOIN points p ON p.id = r.point_id
        JOIN meters m ON m.id = p.meter_id ORDER BY r.ts, m.code, p.quantity""",
    )
    assert stored == [
        ("B-1", "energy_import_kwh", 5.0),
        ("M-100", "energy_import_kwh", 1000.0),
        ("M-100", "power_kw", 50.0),
        ("M-100", "energy_import_kwh", 1001.5),
        ("G-1", "gas_volume_m3", 7.25),
        ("M-100", "energy_import_kwh", 2000.0),  # sent as 2 MWh
    ]

    # Whole-message rejections keep the raw payload and topic; per-reading ones the reading.
    row = _rows(
        small_district,
        "SELECT topic, payload, reading_index, detail FROM dead_letters "
        "WHERE reason = 'invalid_json'",
    )[0]
    assert row[0] == a1
    assert bytes(row[1]) == b"not json{"
    assert row[2] is None
    row = _rows(
        small_district,
        "SELECT payload, reading_index, payload_size FROM dead_letters "
        "WHERE reason = 'non_finite_value'",
    )[0]
    assert row[1] == 0
    assert b"NaN" in bytes(row[0])
    row = _rows(
        small_district,
        "SELECT payload_size, length(payload) FROM dead_letters WHERE reason = 'payload_too_large'",
    )[0]
    assert row[0] > 262_144
    assert row[1] <= 65_536

    assert ingest.metric("energymon_ingest_rejected_total", 'reason="invalid_json"') == 1
    assert ingest.metric("energymon_ingest_readings_written_total") == 6
    assert ingest.proc.poll() is None


def test_redelivered_and_duplicated_messages_leave_no_duplicate_rows(
    ingest: IngestProcess, publisher: Publisher, small_district: DatabaseSettings
) -> None:
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    readings = [
        {
            "meter": "M-100",
            "point": "energy_import_kwh",
            "ts": (base + timedelta(minutes=15 * i)).isoformat(),
            "value": 100.0 + i,
        }
        for i in range(8)
    ]
    messages = [_msg(*readings[i : i + 2], seq=i) for i in range(0, 8, 2)]
    topic = publisher.readings_topic(ENT_A, "gw-01")
    publisher.publish(topic, messages)
    publisher.publish(topic, messages)  # the whole stream again
    publisher.publish(topic, [_msg(*readings)])  # and the same readings regrouped
    wait_for(
        lambda: ingest.metric("energymon_ingest_readings_duplicate_total") >= 16,
        30,
        "duplicates to be processed",
    )
    rows = _rows(small_district, "SELECT value FROM readings ORDER BY ts")
    assert [r[0] for r in rows] == [100.0 + i for i in range(8)]
    assert ingest.metric("energymon_ingest_readings_written_total") == 8


def test_a_message_the_database_refuses_is_isolated_and_the_rest_are_stored(
    ingest: IngestProcess, publisher: Publisher, small_district: DatabaseSettings
) -> None:
    with psycopg.connect(small_district.libpq_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE readings ADD CONSTRAINT no_thirteen CHECK (value <> 13)")
    base = datetime.now(UTC) - timedelta(hours=3)
    topic = publisher.readings_topic(ENT_A, "gw-01")
    values = [11.0, 12.0, 13.0, 14.0]
    publisher.publish(
        topic,
        [
            _msg(
                {
                    "meter": "M-100",
                    "point": "power_kw",
                    "value": v,
                    "ts": (base + timedelta(minutes=i)).isoformat(),
                }
            )
            for i, v in enumerate(values)
        ],
    )
    wait_for(
        lambda: (
            _rows(small_district, "SELECT count(*) FROM dead_letters")[0][0] == 1
            and _rows(small_district, "SELECT count(*) FROM readings")[0][0] == 3
        ),
        30,
        "the refused message dead-lettered and the others stored",
    )
    assert _rows(small_district, "SELECT reason FROM dead_letters") == [("storage_rejected",)]
    assert [r[0] for r in _rows(small_district, "SELECT value FROM readings ORDER BY ts")] == [
        11.0,
        12.0,
        14.0,
    ]
    assert ingest.status("/readyz") == 200
