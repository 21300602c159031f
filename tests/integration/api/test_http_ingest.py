"""HTTP ingest takes the MQTT payload through the same validation and writer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings, MqttSettings
from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A, FIXTURES
from tests.support import db as dbs
from tests.support.ingest import start_ingest
from tests.support.mqtt import Publisher
from tests.support.services import wait_for

BASE = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def _payload() -> dict[str, object]:
    now = datetime.now(UTC) - timedelta(hours=1)
    return {
        "seq": 1,
        "readings": [
            {"meter": "M-100", "point": "energy_import_kwh", "ts": now.isoformat(), "value": 10.5},
            {
                "meter": "M-100",
                "point": "power_kw",
                "ts": int(now.timestamp() * 1000),
                "value": 1500,
                "unit": "W",
            },
            {
                "meter": "G-1",
                "point": "gas_volume_m3",
                "ts": (now + timedelta(minutes=15)).isoformat(),
                "value": 3.25,
            },
            {"meter": "M-100", "point": "gas_volume_m3", "ts": now.isoformat(), "value": 1},
            {"meter": "B-1", "point": "energy_import_kwh", "ts": now.isoformat(), "value": 1},
        ],
    }


def _stored(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT m.code, p.quantity, r.ts, r.value FROM readings r "
            "JOIN points p ON p.id = r.point_id JOIN meters m ON m.id = p.meter_id "
            "ORDER BY 1, 2, 3"
        ).fetchall()


def _reasons(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT reading_index, reason FROM dead_letters ORDER BY reading_index"
        ).fetchall()


def test_http_and_mqtt_ingest_of_the_same_payload_store_the_same_rows(
    api: ApiHarness,
    pg_server: str,
    template_db: str,
    mqtt_settings: MqttSettings,
    tmp_path: Path,
) -> None:
    payload = _payload()
    resp = api.client.post("/api/v1/ingest/readings", json=payload, headers=api.as_("gw_a"))
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 0, 2)
    assert [(r["index"], r["reason"]) for r in body["rejections"]] == [
        (3, "unknown_point"),
        (4, "meter_enterprise_mismatch"),
    ]
    again = api.client.post("/api/v1/ingest/readings", json=payload, headers=api.as_("gw_a"))
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 3)

    name = dbs.clone(pg_server, template_db)
    other = DatabaseSettings(url=dbs.with_database(pg_server, name), timescale="off")
    try:
        engine = make_engine(other)
        with engine.begin() as conn:
            apply_district(conn, parse_district((FIXTURES / "district_small.yaml").read_text()))
        engine.dispose()
        ingest = start_ingest(other, mqtt_settings, tmp_path)
        try:
            ingest.wait_ready()
            pub = Publisher(mqtt_settings, f"{mqtt_settings.topic_root}-p")
            pub.publish(pub.readings_topic(ENT_A, "gw-01"), [json.dumps(payload).encode()])
            pub.close()
            wait_for(
                lambda: len(_reasons(other)) == 2 and len(_stored(other)) == 3, 20, "the MQTT copy"
            )
        finally:
            ingest.stop()
        assert _stored(other) == _stored(api.db)
        assert _reasons(other) == _reasons(api.db)
    finally:
        dbs.drop(pg_server, name)


def test_raw_readings_page_through_a_range_in_the_requested_zone(api: ApiHarness) -> None:
    from services.core.pipeline.model import Batch
    from services.core.pipeline.writer import ReadingWriter

    with psycopg.connect(api.db.libpq_url) as conn:
        pid = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = 'M-100' AND p.quantity = 'energy_import_kwh'"
        ).fetchone()[0]  # type: ignore[index]
    writer = ReadingWriter(api.db)
    writer.write(
        Batch(rows=[(pid, BASE + timedelta(minutes=15 * i), float(i), BASE, 1) for i in range(10)])
    )
    writer.close()
    url = f"/api/v1/enterprises/{ENT_A}/meters/M-100/points/energy_import_kwh/readings"
    params = {"from": "2026-11-23T08:30:00+08:00", "to": "2026-11-23T10:00:00+08:00", "limit": 4}
    first = api.client.get(url, params=params, headers=api.as_("ent_a")).json()
    assert [i["value"] for i in first["items"]] == [2.0, 3.0, 4.0, 5.0]
    assert first["items"][0]["ts"] == "2026-11-23T08:30:00+08:00"
    second = api.client.get(
        url, params={**params, "cursor": first["next_cursor"]}, headers=api.as_("ent_a")
    ).json()
    assert [i["value"] for i in second["items"]] == [6.0, 7.0]
    assert second["next_cursor"] is None
    utc = api.client.get(url, params={**params, "tz": "UTC"}, headers=api.as_("ent_a")).json()
    assert utc["items"][0]["ts"] == "2026-11-23T00:30:00Z"
    too_long = api.client.get(
        url,
        params={"from": "2025-01-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"},
        headers=api.as_("ent_a"),
    )
    assert (too_long.status_code, too_long.json()["type"].rsplit("/", 1)[1]) == (
        400,
        "range-too-long",
    )
