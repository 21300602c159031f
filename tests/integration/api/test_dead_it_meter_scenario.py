"""The issue's scenario end to end: a data centre's IT gateway reports every 5 minutes (the
registry leaves ``interval_s`` at 900) and stops after 3 days of a week while the facility meter
goes on. Through MQTT ingest, the accounting pass, ``energymon report pue``, the API and the
alerts evaluation, the PUE is "insufficient data" everywhere and no ``pue_over_limit`` opens;
when the missing days arrive late (with duplicates), the figure changes to a verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import psycopg
from prometheus_client import CollectorRegistry

from services.alerts.evaluator import AlertsMetrics, Evaluator, pue_family
from services.alerts.notify import Router
from services.core.db import make_engine
from services.core.settings import AlertsSettings, DatabaseSettings
from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A
from tests.support.cli import run_cli
from tests.support.ingest import IngestProcess
from tests.support.mqtt import Publisher
from tests.support.services import wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
STEP = timedelta(minutes=5)


def _now_slot() -> datetime:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=now.minute % 5)


def _messages(meter: str, start: datetime, stop: datetime, per_step: float) -> list[bytes]:
    """The meter's counter every 5 minutes in [start, stop), a day per message."""
    readings, ts = [], start
    while ts < stop:
        value = 1000.0 + per_step * ((ts - start) / STEP)
        readings.append(
            {"meter": meter, "point": "energy_import_kwh", "ts": ts.isoformat(), "value": value}
        )
        ts += STEP
    return [orjson.dumps({"readings": readings[i : i + 288]}) for i in range(0, len(readings), 288)]


def _stored(db: DatabaseSettings) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]


def _env(db: DatabaseSettings) -> dict[str, str]:
    return {"ENERGYMON_DATABASE_URL": db.url, "ENERGYMON_TIMEZONE": "Asia/Shanghai"}


def _roll_up(db: DatabaseSettings) -> None:
    done = run_cli("accounting", "run", "--once", env=_env(db))
    assert done.returncode == 0, done.stderr


def _report(db: DatabaseSettings, start: datetime, end: datetime) -> str:
    out = run_cli(
        "report", "pue", "--enterprise", ENT_A, "--site", "dc-1", "--window", "custom",
        "--from", start.isoformat(), "--to", end.isoformat(), env=_env(db),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


def _alerts(db: DatabaseSettings, now: datetime) -> list[tuple[str, str]]:
    settings = AlertsSettings(hold_s=0)
    engine = make_engine(db)
    try:
        Evaluator(
            engine,
            settings,
            [pue_family(settings, SHANGHAI)],
            Router(settings.routes, []),
            AlertsMetrics(CollectorRegistry()),
        ).evaluate_all(now=now)
    finally:
        engine.dispose()
    with psycopg.connect(db.libpq_url) as conn:
        return [
            (str(rule), str(window))
            for rule, window in conn.execute(
                "SELECT rule, time_window FROM alerts WHERE state = 'open' AND rule LIKE 'pue%%' "
                "AND subject = %s ORDER BY rule, time_window",
                (f"{ENT_A}/dc-1",),
            )
        ]


def test_a_dead_it_meter_gives_insufficient_data_everywhere_until_its_data_arrives(
    api: ApiHarness, ingest: IngestProcess, publisher: Publisher
) -> None:
    now = _now_slot()
    start = now - timedelta(days=7)
    stop_it = start + timedelta(days=3)
    topic = publisher.readings_topic(ENT_A, "gw-01")
    # facility 13 kWh and IT 10 kWh per 5 minutes: PUE 1.300 against new_large's 1.25
    publisher.publish(topic, _messages("DC-IN-1", start, now + STEP, 13.0))
    publisher.publish(topic, _messages("DC-IT-1", start, stop_it, 10.0))
    sent = 7 * 288 + 1 + 3 * 288
    wait_for(lambda: _stored(api.db) == sent, 60, "the readings stored")
    _roll_up(api.db)

    line = _report(api.db, start, now)
    assert "verdict: insufficient data (IT side 43% < 90%)" in line, line
    assert line.split(": ")[1].startswith("-;"), line  # no ratio presented
    assert "limit 1.25 (new_large)" in line
    # 288 of the week's 672 periods measured on the IT side (it never reached 100 %)
    assert "(coverage 42.9 %, estimated 0.0 %)" in line
    assert "kWh (coverage 100.0 %, estimated 0.0 %), IT" in line  # the facility side

    for window in ("rolling_24h", "mtd", "ytd", "custom"):
        params = {"window": window}
        if window == "custom":
            params |= {"from": start.isoformat(), "to": now.isoformat()}
        body = api.client.get(
            f"/api/v1/enterprises/{ENT_A}/sites/dc-1/pue", params=params, headers=api.as_("ent_a")
        ).json()
        assert (body["status"], body["verdict"], body["pue"], body["over_limit"]) == (
            "insufficient_data",
            "insufficient_data",
            None,
            None,
        ), (window, body)
        assert body["facility_coverage"] >= 0.9 or window != "custom"
        assert body["it_coverage"] < 0.9

    # every alert window: insufficient data, never a breach
    assert _alerts(api.db, now) == [
        ("pue_insufficient_data", "mtd"),
        ("pue_insufficient_data", "rolling_24h"),
        ("pue_insufficient_data", "ytd"),
    ]

    # the gateway forwards the missing days late, re-sending the first three with them
    publisher.publish(topic, _messages("DC-IT-1", start, now + STEP, 10.0))
    wait_for(lambda: _stored(api.db) == 2 * (7 * 288 + 1), 60, "the late readings stored")
    _roll_up(api.db)
    revised = _report(api.db, start, now)
    assert "1.300; verdict: over the limit (1.300 > 1.25)" in revised, revised
    assert "coverage 42.9 %" not in revised
