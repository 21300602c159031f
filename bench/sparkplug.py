"""Sparkplug throughput: metrics committed per second by one `energymon ingest sparkplug` process,
against the JSON path (`energymon ingest mqtt`) measured the same way in the same run.

Each case gets a fresh migrated database (one enterprise, 100 meters) and a private Mosquitto with
unbounded queues; the ingest process is started and ready before anything is published. Then:
- Sparkplug: an edge node's NBIRTH (100 metrics, one per meter, with aliases), then NDATA
  messages of 100 metrics each by alias, seq 0-255 in order, QoS 0 as the specification asks;
- JSON: the same number of readings in 100-reading messages to one gateway, QoS 1.
The figure is readings committed per second from the first publish to the last commit (publish,
broker, decoding, host state machine or JSON parsing, validation, COPY, commit). The ratio is
Sparkplug over JSON; the target is >= 50,000 metrics/s through one process.

Usage: .venv/bin/python bench/sparkplug.py [--metrics 200000]
Needs PostgreSQL (ENERGYMON_TEST_DATABASE_URL or 127.0.0.1:5432) and the mosquitto binary.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings, MqttSettings
from services.core.sparkplug.codec import DataType, MetricOut, encode_payload
from tests.support import db as dbs
from tests.support.ingest import IngestProcess, start_ingest, start_service
from tests.support.mqtt import Publisher
from tests.support.services import Private, free_port, resolve_postgres, start_mosquitto, wait_for

ENT = "91120111MA05K8XX3E"
METERS = 100
PER_MESSAGE = 100
GROUP, NODE = "bench", "edge-1"


def district_yaml() -> str:
    sparkplug = "\n".join(
        f"          - {{code: S-{m}, carrier: electricity, points: [energy_import_kwh], "
        f"connection: {{sparkplug: {{group: {GROUP}, node: {NODE}, "
        f'metrics: {{"S-{m}/kWh": energy_import_kwh}}}}}}}}'
        for m in range(METERS)
    )
    json_meters = "\n".join(
        f"          - {{code: J-{m}, carrier: electricity, gateway: gw-0, "
        f"points: [energy_import_kwh]}}"
        for m in range(METERS)
    )
    return (
        f"enterprises:\n  - code: {ENT}\n    name: Bench\n    industry: C33\n"
        f"    town: Xinkou\n    gateways: [{{code: gw-0}}]\n    sites:\n      - code: s\n"
        f"        kind: industrial\n        meters:\n{sparkplug}\n{json_meters}\n"
    )


def count(db: DatabaseSettings) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
        return int(row[0]) if row else 0


def sparkplug_messages(total: int, start: datetime) -> list[tuple[str, bytes]]:
    base = int(start.timestamp() * 1000)
    birth = encode_payload(
        [MetricOut(0, DataType.INT64, name="bdSeq", timestamp_ms=base)]
        + [MetricOut(False, DataType.BOOLEAN, name="Node Control/Rebirth", timestamp_ms=base)]
        + [
            MetricOut(0.0, DataType.DOUBLE, name=f"S-{m}/kWh", alias=m + 1, timestamp_ms=base)
            for m in range(METERS)
        ],
        timestamp_ms=base,
        seq=0,
    )
    out = [(f"spBv1.0/{GROUP}/NBIRTH/{NODE}", birth)]
    for k in range(total // PER_MESSAGE):
        ts = base + (k + 1) * 1000
        metrics = [
            MetricOut(float(k), DataType.DOUBLE, alias=m + 1, timestamp_ms=ts)
            for m in range(METERS)
        ]
        out.append(
            (
                f"spBv1.0/{GROUP}/NDATA/{NODE}",
                encode_payload(metrics, timestamp_ms=ts, seq=(k + 1) % 256, with_datatype=False),
            )
        )
    return out


def json_messages(total: int, start: datetime, mqtt: MqttSettings) -> list[tuple[str, bytes]]:
    topic = mqtt.readings_topic(ENT, "gw-0")
    out = []
    for k in range(total // PER_MESSAGE):
        ts = (start + timedelta(seconds=k + 1)).isoformat()
        readings = [
            {"meter": f"J-{m}", "point": "energy_import_kwh", "ts": ts, "value": float(k)}
            for m in range(METERS)
        ]
        out.append((topic, orjson.dumps({"seq": k + 1, "readings": readings})))
    return out


def timed(
    db: DatabaseSettings,
    mqtt: MqttSettings,
    process: IngestProcess,
    *,
    msgs: list[tuple[str, bytes]],
    expected: int,
    qos: int,
) -> float:
    """Readings/s from the first publish to the commit of the ``expected``-th reading."""
    process.wait_ready(60)
    pub = Publisher(mqtt, f"bench-pub-{qos}")
    try:
        t0 = time.perf_counter()
        for i in range(0, len(msgs), 500):
            infos = [pub.client.publish(t, p, qos=qos) for t, p in msgs[i : i + 500]]
            for info in infos:
                info.wait_for_publish(60)
        wait_for(lambda: count(db) >= expected, 900, "every reading", interval=0.02)
        elapsed = time.perf_counter() - t0
    finally:
        pub.close()
        process.stop()
    assert count(db) == expected, f"{count(db)} readings stored, {expected} expected"
    return expected / elapsed


def run_case(
    server: str,
    template: str,
    mqtt: MqttSettings,
    *,
    start: Callable[[DatabaseSettings], IngestProcess],
    build: Callable[[], list[tuple[str, bytes]]],
    expected: int,
    qos: int,
) -> float:
    name = dbs.clone(server, template)
    db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(district_yaml()))
    engine.dispose()
    try:
        return timed(db, mqtt, start(db), msgs=build(), expected=expected, qos=qos)
    finally:
        dbs.drop(server, name)


def start_sparkplug(db: DatabaseSettings, mqtt: MqttSettings, work: Path) -> IngestProcess:
    port = free_port()
    env = {
        "ENERGYMON_DATABASE_URL": db.url,
        "ENERGYMON_DATABASE_TIMESCALE": "off",
        "ENERGYMON_MQTT_URL": mqtt.url,
        "ENERGYMON_SPARKPLUG_HOST_ID": "bench-host",
        "ENERGYMON_SPARKPLUG_SPOOL_DIR": str(work / "spool-sparkplug"),
        "ENERGYMON_SPARKPLUG_METRICS_PORT": str(port),
        "ENERGYMON_LOG_LEVEL": "WARNING",
    }
    return start_service(["ingest", "sparkplug"], env, work, "sparkplug", port)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=200_000)
    args = parser.parse_args()
    total = args.metrics // PER_MESSAGE * PER_MESSAGE
    private = Private()
    try:
        server = resolve_postgres(private)
        port = start_mosquitto(
            private, "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\n"
        )
        mqtt = MqttSettings(url=f"mqtt://127.0.0.1:{port}", topic_root="energymon")
        template = dbs.create_template(server)
        work = Path(tempfile.mkdtemp(prefix="energymon-bench-"))
        start = datetime.now(UTC) - timedelta(days=3)
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {total} readings")
        sp = run_case(
            server,
            template,
            mqtt,
            start=lambda db: start_sparkplug(db, mqtt, work),
            build=lambda: sparkplug_messages(total, start),
            expected=total + METERS,  # the birth's values too
            qos=0,
        )
        js = run_case(
            server,
            template,
            mqtt,
            start=lambda db: start_ingest(
                db, mqtt, work, extra_env={"ENERGYMON_LOG_LEVEL": "WARNING"}
            ),
            build=lambda: json_messages(total, start, mqtt),
            expected=total,
            qos=1,
        )
        dbs.drop(server, template)
    finally:
        private.close()
    verdict = "✔" if sp >= 50_000 else "✘"
    print(f"{'path':<34}{'readings/s':>12}")
    print(f"{'Sparkplug NDATA, 100 metrics, QoS 0':<34}{sp:>12,.0f}")
    print(f"{'JSON, 100 readings, QoS 1':<34}{js:>12,.0f}")
    print(f"ratio Sparkplug / JSON: {sp / js:.2f}; target >= 50,000 metrics/s {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
