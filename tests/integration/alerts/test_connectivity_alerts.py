"""Silent meters, offline gateways and Modbus devices open one alert each, notify once, and
resolve automatically after the hold time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from services.alerts.evaluator import Evaluator
from services.core.settings import DatabaseSettings
from tests.integration.alerts.conftest import write_reading

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def _alerts(db: DatabaseSettings, rule: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT id, subject, state, severity, resolved_by FROM alerts "
            "WHERE rule = %s ORDER BY id",
            (rule,),
        ).fetchall()


def _mark_offline(conn: psycopg.Connection, meter: str, now: datetime) -> None:
    """What the poller records after failed polls."""
    conn.execute(
        "INSERT INTO device_status (meter_id, state, since, consecutive_failures, last_error) "
        "SELECT id, 'offline', %s, 4, 'timeout' FROM meters WHERE code = %s",
        (now, meter),
    )


def _notifications(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT alert_id, channel, event FROM notifications ORDER BY id"
        ).fetchall()


def _set_intervals(db: DatabaseSettings, seconds: int) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE points SET interval_s = %s", (seconds,))
        conn.execute("UPDATE meters SET created_at = %s", (T0 - timedelta(days=1),))


def _feed_all_but(db: DatabaseSettings, silent: str, at: datetime) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        pts = conn.execute(
            "SELECT m.code, p.quantity FROM points p JOIN meters m ON m.id = p.meter_id"
        ).fetchall()
    for meter, quantity in pts:
        if meter != silent:
            write_reading(db, meter, quantity, at, 1.0)


def test_a_meter_silent_for_three_intervals_opens_one_alert_and_resolves_after_the_hold(
    evaluator: Evaluator, small_district: DatabaseSettings
) -> None:
    db = small_district
    _set_intervals(db, 60)
    _feed_all_but(db, "", T0)  # everyone reports at T0
    assert evaluator.evaluate_all(now=T0 + timedelta(minutes=3))["opened"] == 0
    _feed_all_but(db, "G-1", T0 + timedelta(minutes=3))  # G-1 goes quiet
    counts = evaluator.evaluate_all(now=T0 + timedelta(minutes=3, seconds=1))
    assert counts["opened"] == 1
    alert_id = _alerts(db, "silent_meter")[0][0]
    for i in range(100):  # re-evaluation never duplicates nor re-notifies
        _feed_all_but(db, "G-1", T0 + timedelta(minutes=3, seconds=2 + i))
        evaluator.evaluate_all(now=T0 + timedelta(minutes=3, seconds=2 + i))
    assert _alerts(db, "silent_meter") == [
        (alert_id, "91120111MA05K8XX3E/G-1", "open", "warning", None)
    ]
    assert _notifications(db) == [(alert_id, "webhook", "opened")]

    resumed = T0 + timedelta(minutes=6)
    write_reading(db, "G-1", "gas_volume_m3", resumed, 2.0)
    _feed_all_but(db, "G-1", resumed)
    evaluator.evaluate_all(now=resumed)
    assert _alerts(db, "silent_meter")[0][2] == "open"  # clearing, not yet resolved
    _feed_all_but(db, "", resumed + timedelta(minutes=2))
    evaluator.evaluate_all(now=resumed + timedelta(minutes=2))
    _feed_all_but(db, "", resumed + timedelta(minutes=10))
    evaluator.evaluate_all(now=resumed + timedelta(minutes=10))
    assert _alerts(db, "silent_meter") == [
        (alert_id, "91120111MA05K8XX3E/G-1", "resolved", "warning", "system")
    ]
    assert _notifications(db) == [
        (alert_id, "webhook", "opened"),
        (alert_id, "webhook", "resolved"),
    ]
    with psycopg.connect(db.libpq_url) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM alert_events WHERE alert_id = %s ORDER BY id", (alert_id,)
            )
        ]
    assert actions == ["opened", "resolved"]


def test_gateway_last_will_and_modbus_offline_open_alerts(
    evaluator: Evaluator, small_district: DatabaseSettings
) -> None:
    db = small_district
    now = datetime.now(UTC)
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute(
            "UPDATE gateways SET status = 'offline', status_at = %s WHERE code = 'gw-02'",
            (now - timedelta(minutes=5),),
        )
        _mark_offline(conn, "B-1", now)
    evaluator.evaluate_all(now=now)
    assert [r[1] for r in _alerts(db, "gateway_offline")] == ["91120111MA05K8XX3E/gw-02"]
    assert [r[1] for r in _alerts(db, "modbus_device_offline")] == ["91120111MA06L2QW8F/B-1"]
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE gateways SET status = 'online', status_at = %s", (now,))
    evaluator.evaluate_all(now=now + timedelta(minutes=11))
    evaluator.evaluate_all(now=now + timedelta(minutes=22))
    assert _alerts(db, "gateway_offline")[0][2] == "resolved"
    assert _alerts(db, "modbus_device_offline")[0][2] == "open"


def test_an_offline_dlt645_meter_opens_the_offline_alert_named_for_its_protocol(
    evaluator: Evaluator, small_district: DatabaseSettings
) -> None:
    db = small_district
    now = datetime.now(UTC)
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE meters SET protocol = 'dlt645' WHERE code = 'B-1'")
        _mark_offline(conn, "B-1", now)
    evaluator.evaluate_all(now=now)
    with psycopg.connect(db.libpq_url) as conn:
        title, evidence = conn.execute(
            "SELECT title, evidence FROM alerts WHERE rule = 'modbus_device_offline'"
        ).fetchone() or (None, None)
    assert title == "DL/T 645 meter B-1 of 91120111MA06L2QW8F is offline"
    assert evidence["protocol"] == "dlt645"
