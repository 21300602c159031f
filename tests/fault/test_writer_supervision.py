"""The writer thread is supervised: a failure, even one that kills the thread, makes /readyz fail
and is counted; the thread restarts; a message that keeps failing is dead-lettered, not retried
for ever; everything else is stored."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from prometheus_client import CollectorRegistry

from services.core.db import make_engine
from services.core.ops_http import OpsServer
from services.core.pipeline.model import Batch, InboundMessage
from services.core.pipeline.writer import ReadingWriter, WriteResult
from services.core.settings import DatabaseSettings, IngestSettings
from services.ingest.engine import IngestEngine, build_engine
from tests.integration.conftest import ENT_A
from tests.support.services import wait_for

TS = datetime.now(UTC) - timedelta(days=1)


class FlakyWriter(ReadingWriter):
    """A writer with a defect switched on from the test: raising ``fail`` on every batch, or on
    batches holding the ``poison`` value (dead letters alone still go through)."""

    def __init__(self, settings: DatabaseSettings) -> None:
        super().__init__(settings)
        self.fail: BaseException | None = None
        self.poison: float | None = None

    def write(self, batch: Batch) -> WriteResult:
        if self.fail is not None:
            err, self.fail = self.fail, (None if isinstance(self.fail, SystemExit) else self.fail)
            raise err
        if self.poison is not None and any(row[2] == self.poison for row in batch.rows):
            raise RuntimeError("a defect triggered by this reading")
        return super().write(batch)


def _message(value: float) -> InboundMessage:
    payload = orjson.dumps(
        {
            "readings": [
                {
                    "meter": "G-1",
                    "point": "gas_volume_m3",
                    "ts": (TS + timedelta(minutes=value)).isoformat(),
                    "value": value,
                }
            ]
        }
    )
    topic = f"energymon/v1/{ENT_A}/gw-01/readings"
    return InboundMessage("mqtt", topic, ENT_A, "gw-01", payload, datetime.now(UTC))


def _values(db: DatabaseSettings) -> set[float]:
    with psycopg.connect(db.libpq_url) as conn:
        return {float(r[0]) for r in conn.execute("SELECT value FROM readings").fetchall()}


def _dead(db: DatabaseSettings) -> list[tuple[Any, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute("SELECT reason, detail FROM dead_letters").fetchall()


class Harness:
    def __init__(self, engine: IngestEngine, writer: FlakyWriter, ops: OpsServer) -> None:
        self.engine = engine
        self.writer = writer
        self.ops = ops
        self.acked: list[float] = []

    def send(self, value: float) -> None:
        self.engine.submit("readings", _message(value), lambda: self.acked.append(value))

    def readyz(self) -> int:
        url = f"http://127.0.0.1:{self.ops.port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return int(err.code)

    def metric(self, name: str) -> float:
        value = self.engine.metrics.registry.get_sample_value(name)
        return float(value or 0)


@pytest.fixture
def harness(small_district: DatabaseSettings, tmp_path: Path) -> Iterator[Harness]:
    settings = IngestSettings(spool_dir=tmp_path / "spool", max_attempts=3)
    registry = CollectorRegistry()
    engine = build_engine(small_district, settings, registry, engine=make_engine(small_district))
    writer = FlakyWriter(small_district)
    engine._writer = writer  # the defect under test lives in the writer
    ops = OpsServer("127.0.0.1", 0, registry, lambda: engine.ready)
    ops.start()
    engine.start()
    try:
        yield Harness(engine, writer, ops)
    finally:
        engine.stop()
        ops.stop()


def test_a_failing_writer_makes_readyz_fail_and_recovers(
    harness: Harness, small_district: DatabaseSettings
) -> None:
    harness.send(1)
    wait_for(lambda: 1.0 in _values(small_district), 10, "the first reading")
    assert harness.readyz() == 200
    harness.writer.fail = RuntimeError("connection pool corrupted")  # fails every write
    harness.send(2)
    wait_for(lambda: harness.readyz() == 503, 10, "/readyz to fail")
    assert harness.metric("energymon_ingest_writer_failures_total") >= 1
    harness.writer.fail = None
    harness.send(3)
    wait_for(lambda: {2.0, 3.0} <= _values(small_district), 15, "the retried and the next")
    wait_for(lambda: harness.readyz() == 200, 15, "/readyz to recover")
    assert sorted(harness.acked) == [1, 2, 3]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_writer_thread_is_restarted_and_nothing_is_lost(
    harness: Harness, small_district: DatabaseSettings
) -> None:
    harness.writer.fail = SystemExit(3)  # ends the thread: nothing inside it catches SystemExit
    harness.send(10)
    wait_for(lambda: harness.readyz() == 503, 10, "/readyz to fail")
    wait_for(lambda: harness.metric("energymon_ingest_writer_restarts_total") >= 1, 10, "a restart")
    harness.send(11)
    wait_for(lambda: {10.0, 11.0} <= _values(small_district), 15, "both readings")
    wait_for(lambda: harness.readyz() == 200, 15, "/readyz to recover")
    assert sorted(harness.acked) == [10, 11]


def test_a_message_that_keeps_failing_is_dead_lettered_and_the_stream_goes_on(
    harness: Harness, small_district: DatabaseSettings
) -> None:
    harness.writer.poison = 666.0
    for value in (20, 666, 21):
        harness.send(value)
    wait_for(lambda: {20.0, 21.0} <= _values(small_district), 15, "the good readings")
    wait_for(lambda: len(_dead(small_district)) == 1, 15, "the dead letter")
    ((reason, detail),) = _dead(small_district)
    assert reason == "processing_error"
    assert "a defect triggered by this reading" in detail
    assert 666.0 not in _values(small_district)
    wait_for(lambda: sorted(harness.acked) == [20, 21, 666], 10, "every message acknowledged")
    # a redelivery of the same message is recognised and set aside at once
    failures = harness.metric("energymon_ingest_writer_failures_total")
    harness.send(666)
    wait_for(lambda: harness.acked.count(666) == 2, 10, "the redelivery acknowledged")
    assert harness.metric("energymon_ingest_writer_failures_total") == failures
    assert len(_dead(small_district)) == 1  # the same dead letter (by fingerprint), stored once
