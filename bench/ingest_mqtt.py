"""Ingest throughput: readings committed per second by one `energymon ingest mqtt` process.

For each message shape (50-reading and single-reading QoS 1 messages) the benchmark:
1. starts a private Mosquitto (unbounded queue) and a fresh migrated database with 10 gateways x
   10 meters;
2. lets ingest create its persistent session, stops it, publishes every message into the session's
   queue, starts ingest again and times the drain: from the first committed reading to the last
   (`readings/s end to end`: broker delivery, parsing, validation, COPY, commit, PUBACK);
3. measures two ceilings on the same rows in the same run: a raw binary `COPY` into an empty
   readings table, and the idempotent write ingest uses (COPY into a stage + INSERT ... ON CONFLICT
   DO NOTHING via ReadingWriter, batches of 5,000) without MQTT;
4. writes the same rows once more through ReadingWriter (`replay r/s`: every reading already
   stored, as after a gateway's store-and-forward replay; the writer then also looks for re-sends
   with another value).

Usage: .venv/bin/python bench/ingest_mqtt.py [--readings 500000] [--single-messages 100000]
Needs PostgreSQL (ENERGYMON_TEST_DATABASE_URL or 127.0.0.1:5432) and the mosquitto binary.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings, MqttSettings
from tests.support import db as dbs
from tests.support.ingest import start_ingest
from tests.support.mqtt import Publisher
from tests.support.services import Private, resolve_postgres, start_mosquitto, wait_for

ENT = "91120111MA05K8XX3E"
GATEWAYS = 10
METERS_PER_GATEWAY = 10


def district_yaml() -> str:
    meters = "\n".join(
        f"          - {{code: M-{g}-{m}, carrier: electricity, gateway: gw-{g}, "
        f"points: [energy_import_kwh]}}"
        for g in range(GATEWAYS)
        for m in range(METERS_PER_GATEWAY)
    )
    gws = ", ".join(f"{{code: gw-{g}}}" for g in range(GATEWAYS))
    return (
        f"enterprises:\n  - code: {ENT}\n    name: Bench\n    industry: C33\n"
        f"    town: Xinkou\n    gateways: [{gws}]\n    sites:\n      - code: s\n"
        f"        kind: industrial\n        meters:\n{meters}\n"
    )


def messages(total_readings: int, per_message: int) -> list[tuple[int, bytes]]:
    """(gateway, payload) pairs; every reading at a distinct (meter, ts)."""
    start = datetime.now(UTC) - timedelta(days=30)
    out: list[tuple[int, bytes]] = []
    per_gateway = total_readings // GATEWAYS
    for g in range(GATEWAYS):
        readings = [
            {
                "meter": f"M-{g}-{i % METERS_PER_GATEWAY}",
                "point": "energy_import_kwh",
                "ts": (start + timedelta(seconds=i // METERS_PER_GATEWAY)).isoformat(),
                "value": float(i),
            }
            for i in range(per_gateway)
        ]
        for seq, k in enumerate(range(0, per_gateway, per_message)):
            out.append((g, orjson.dumps({"seq": seq, "readings": readings[k : k + per_message]})))
    return out


def count(db: DatabaseSettings) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
        return int(row[0]) if row else 0


def end_to_end(
    db: DatabaseSettings, mqtt: MqttSettings, msgs: list[tuple[int, bytes]], total: int, work: Path
) -> float:
    ingest = start_ingest(
        db,
        mqtt,
        work,
        extra_env={"ENERGYMON_LOG_LEVEL": "WARNING", "ENERGYMON_INGEST_RECEIVE_MAXIMUM": "4000"},
    )
    ingest.wait_ready(60)
    ingest.stop()
    pub = Publisher(mqtt, "bench-pub")
    by_gw: dict[int, list[bytes]] = {}
    for g, payload in msgs:
        by_gw.setdefault(g, []).append(payload)
    for g, payloads in by_gw.items():
        for i in range(0, len(payloads), 2000):
            pub.publish(mqtt.readings_topic(ENT, f"gw-{g}"), payloads[i : i + 2000])
    pub.close()
    ingest = start_ingest(
        db,
        mqtt,
        work,
        extra_env={"ENERGYMON_LOG_LEVEL": "WARNING", "ENERGYMON_INGEST_RECEIVE_MAXIMUM": "4000"},
    )
    try:
        wait_for(lambda: count(db) > 0, 60, "the first commit", interval=0.01)
        t0, c0 = time.perf_counter(), count(db)
        wait_for(lambda: count(db) >= total, 600, "every reading", interval=0.02)
        elapsed = time.perf_counter() - t0
    finally:
        ingest.stop()
    assert count(db) == total, "readings lost or duplicated"
    return (total - c0) / elapsed


def rows_for(db: DatabaseSettings, total: int) -> list[tuple[int, datetime, float, datetime, int]]:
    with psycopg.connect(db.libpq_url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM points ORDER BY id").fetchall()]
    start = datetime.now(UTC) - timedelta(days=30)
    now = datetime.now(UTC)
    return [
        (ids[i % len(ids)], start + timedelta(seconds=i // len(ids)), float(i), now, 1)
        for i in range(total)
    ]


def raw_copy(db: DatabaseSettings, rows: list[tuple[int, datetime, float, datetime, int]]) -> float:
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("TRUNCATE readings")
        conn.commit()
        t0 = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY readings (point_id, ts, value, received_at, source) "
                "FROM STDIN (FORMAT BINARY)"
            ) as cp,
        ):
            cp.set_types(["int4", "timestamptz", "float8", "timestamptz", "int2"])
            for row in rows:
                cp.write_row(row)
        conn.commit()
        return len(rows) / (time.perf_counter() - t0)


def _write_all(
    db: DatabaseSettings, rows: list[tuple[int, datetime, float, datetime, int]]
) -> float:
    """Rows per second through ReadingWriter, in batches of 5,000."""
    writer = ReadingWriter(db)
    t0 = time.perf_counter()
    for i in range(0, len(rows), 5000):
        writer.write(Batch(rows=rows[i : i + 5000]))
    rate = len(rows) / (time.perf_counter() - t0)
    writer.close()
    return rate


def idempotent_write(
    db: DatabaseSettings, rows: list[tuple[int, datetime, float, datetime, int]]
) -> float:
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        conn.execute("TRUNCATE readings")
    return _write_all(db, rows)


def replay_write(
    db: DatabaseSettings, rows: list[tuple[int, datetime, float, datetime, int]]
) -> float:
    """The same rows again, all already stored (after ``idempotent_write``)."""
    return _write_all(db, rows)


def run_case(
    server: str, template: str, mqtt_port: int, *, per_message: int, total: int, work: Path
) -> dict[str, float]:
    name = dbs.clone(server, template)
    db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(district_yaml()))
    engine.dispose()
    mqtt = MqttSettings(url=f"mqtt://127.0.0.1:{mqtt_port}", topic_root=f"bench{per_message}")
    msgs = messages(total, per_message)
    e2e = end_to_end(db, mqtt, msgs, total, work)
    rows = rows_for(db, total)
    copy = raw_copy(db, rows)
    idem = idempotent_write(db, rows)
    replay = replay_write(db, rows)
    dbs.drop(server, name)
    return {"messages": len(msgs), "e2e": e2e, "copy": copy, "idempotent": idem, "replay": replay}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=500_000)
    parser.add_argument("--single-messages", type=int, default=100_000)
    args = parser.parse_args()
    private = Private()
    try:
        server = resolve_postgres(private)
        port = start_mosquitto(
            private, "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\n"
        )
        template = dbs.create_template(server)
        work = Path(tempfile.mkdtemp(prefix="energymon-bench-"))
        print(
            f"machine: {os.cpu_count()} cores; PostgreSQL {server.rsplit('@', 1)[-1]}; "
            f"private mosquitto :{port}"
        )
        print(
            f"{'case':<28}{'messages':>10}{'e2e r/s':>12}{'COPY r/s':>12}{'idem r/s':>12}"
            f"{'e2e/idem':>10}{'e2e/COPY':>10}{'msg/s':>10}{'replay r/s':>12}"
        )
        for per_message, total in ((50, args.readings), (1, args.single_messages)):
            r = run_case(server, template, port, per_message=per_message, total=total, work=work)
            print(
                f"{f'{per_message}-reading messages':<28}{r['messages']:>10}{r['e2e']:>12,.0f}"
                f"{r['copy']:>12,.0f}{r['idempotent']:>12,.0f}{r['e2e'] / r['idempotent']:>10.2f}"
                f"{r['e2e'] / r['copy']:>10.2f}{r['e2e'] / per_message:>10,.0f}"
                f"{r['replay']:>12,.0f}"
            )
        dbs.drop(server, template)
    finally:
        private.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
