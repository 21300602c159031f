"""No message can stall ingest: each poison payload is dead-lettered with its reason while the
valid readings beside it, and the messages after it, are stored — over MQTT and over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from services.core.settings import DatabaseSettings
from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A
from tests.support.ingest import IngestProcess
from tests.support.mqtt import Publisher
from tests.support.services import wait_for

TS = datetime.now(UTC) - timedelta(days=2)


def _reading(minute: int, **changes: object) -> dict[str, object]:
    ts = (TS + timedelta(minutes=minute)).isoformat()
    # G-1 has no CT/PT multiplier: the stored value is the value sent
    return {"meter": "G-1", "point": "gas_volume_m3", "ts": ts, "value": float(minute), **changes}


def _doc(*readings: dict[str, object]) -> bytes:
    return json.dumps({"readings": list(readings)}).encode()


def _raw(poison: bytes, sibling: dict[str, object]) -> bytes:
    """A message whose first reading is written out by hand, then a valid sibling."""
    return b'{"readings": [' + poison + b", " + json.dumps(sibling).encode() + b"]}"


# (name, payload, expected dead-letter reasons, minute of the valid sibling reading or None)
POISON: list[tuple[str, bytes, list[str], int | None]] = [
    ("100,000 brackets deep", b"[" * 100_000, ["invalid_json"], None),
    (
        "a reading nested 1,000 deep",
        _raw(b'{"meter": ' + b"[" * 1000 + b"1" + b"]" * 1000 + b', "ts": 1}', _reading(1)),
        ["invalid_reading"],
        1,
    ),
    (
        "an integer value of 401 digits",
        _raw(
            json.dumps(_reading(0)).encode().replace(b": 0.0}", b": " + b"9" * 401 + b"}"),
            _reading(2),
        ),
        ["value_out_of_range"],
        2,
    ),
    (
        "year 1 at +00:01",
        _doc(_reading(0, ts="0001-01-01T00:00:00+00:01"), _reading(3)),
        ["invalid_timestamp"],
        3,
    ),
    (
        "a seq of 30 digits",
        b'{"seq": ' + b"1" * 30 + b', "readings": []}',
        ["invalid_schema"],
        None,
    ),
    (
        "NUL in codes and a 10,000-character timestamp",
        _doc(_reading(0, meter="M-\u0000"), _reading(0, ts="2" * 10_000), _reading(4)),
        ["unknown_meter", "invalid_timestamp"],
        4,
    ),
]


def _reasons(db: DatabaseSettings) -> list[str]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute("SELECT reason FROM dead_letters ORDER BY id").fetchall()
    return [str(r[0]) for r in rows]


def _values(db: DatabaseSettings) -> set[float]:
    with psycopg.connect(db.libpq_url) as conn:
        return {float(r[0]) for r in conn.execute("SELECT value FROM readings").fetchall()}


def _check_each(
    db: DatabaseSettings, send: Callable[[bytes], None], deadline_s: float = 10
) -> None:
    """Send every poison payload, each followed by a valid message that must be stored."""
    reasons: list[str] = []
    for n, (name, payload, expected, sibling) in enumerate(POISON):
        send(payload)
        follow_up = 1000 + n
        send(_doc(_reading(follow_up)))
        wait_for(lambda f=follow_up: float(f) in _values(db), deadline_s, f"stored after {name}")
        reasons += expected
        assert sorted(_reasons(db)) == sorted(reasons), name
        if sibling is not None:
            assert float(sibling) in _values(db), name


@pytest.mark.timeout(120)
def test_poison_messages_over_mqtt_are_dead_lettered_and_ingest_moves_on(
    ingest: IngestProcess, publisher: Publisher, small_district: DatabaseSettings
) -> None:
    topic = publisher.readings_topic(ENT_A, "gw-01")
    _check_each(small_district, lambda p: publisher.publish(topic, [p]) and None)
    assert ingest.status("/readyz") == 200
    assert ingest.metric("energymon_ingest_writer_failures_total") == 0
    assert ingest.proc.poll() is None


@pytest.mark.timeout(120)
def test_poison_messages_over_http_are_dead_lettered_with_a_clear_answer(
    api: ApiHarness,
) -> None:
    answers = []

    def send(payload: bytes) -> None:
        resp = api.client.post(
            "/api/v1/ingest/readings",
            content=payload,
            headers={**api.as_("gw_a"), "Content-Type": "application/json"},
        )
        answers.append(resp)

    _check_each(api.db, send)
    assert {r.status_code for r in answers} == {202}, [r.text[:200] for r in answers]
    listed = [x["reason"] for r in answers for x in r.json()["rejections"]]
    assert sorted(listed) == sorted(reason for _n, _p, rs, _s in POISON for reason in rs)
