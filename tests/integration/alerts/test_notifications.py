"""Delivery: a webhook that is down and then up receives the notification exactly once, signed;
SMTP delivers the expected mail."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import psycopg
import pytest
from aiosmtpd.controller import Controller

from services.alerts.notify import EmailChannel, WebhookChannel, deliver_due, enqueue_renotify
from services.core.db import make_engine
from services.core.settings import AlertsSettings, DatabaseSettings
from tests.support.services import free_port

SECRET = "webhook-shared-secret"


@pytest.fixture
def one_alert(small_district: DatabaseSettings) -> int:
    now = datetime.now(UTC)
    with psycopg.connect(small_district.libpq_url) as conn:
        alert_id = conn.execute(
            "INSERT INTO alerts (rule, subject_type, subject_id, subject, time_window, severity, "
            "state, title, value, limit_value, evidence, opened_at, updated_at, "
            "last_evaluated_at) VALUES ('pue_over_limit', 'site', 1, 'E/dc-1', 'ytd', "
            "'critical', 'open', 'PUE 1.31 above 1.25', 1.31, 1.25, "
            '\'{"facility_kwh": 1310, "it_kwh": 1000}\', %s, %s, %s) RETURNING id',
            (now, now, now),
        ).fetchone()[0]  # type: ignore[index]
        for channel in ("webhook", "email"):
            conn.execute(
                "INSERT INTO notifications (alert_id, channel, event, next_attempt_at) "
                "VALUES (%s, %s, 'opened', %s)",
                (alert_id, channel, now),
            )
    return int(alert_id)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def receiver_port() -> Iterator[int]:
    _Receiver.received = []
    return free_port()


def _status(db: DatabaseSettings) -> dict[str, tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return {
            r[0]: r[1:] for r in conn.execute("SELECT channel, status, attempts FROM notifications")
        }


def test_webhook_down_then_up_is_delivered_once_and_signed(
    small_district: DatabaseSettings, one_alert: int, receiver_port: int
) -> None:
    engine = make_engine(small_district)
    channels = {"webhook": WebhookChannel(f"http://127.0.0.1:{receiver_port}/hook", SECRET, 2)}
    now = datetime.now(UTC)
    first = deliver_due(engine, channels, max_attempts=5, now=now)
    assert first == {"sent": 0, "retry": 2, "failed": 0}  # webhook down; email not configured
    assert _status(small_district)["webhook"] == ("pending", 1)
    # not due yet: nothing is attempted before the back-off
    assert deliver_due(engine, channels, max_attempts=5, now=now + timedelta(seconds=1)) == {
        "sent": 0,
        "retry": 0,
        "failed": 0,
    }
    server = HTTPServer(("127.0.0.1", receiver_port), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        later = now + timedelta(seconds=6)
        second = deliver_due(engine, channels, max_attempts=5, now=later)
        assert second["sent"] == 1
        deliver_due(engine, channels, max_attempts=5, now=later + timedelta(hours=1))
    finally:
        server.shutdown()
    assert len(_Receiver.received) == 1
    headers, body = _Receiver.received[0]
    doc = json.loads(body)
    assert doc["event"] == "opened"
    assert doc["alert"]["id"] == one_alert
    assert doc["alert"]["evidence"] == {"facility_kwh": 1310, "it_kwh": 1000}
    t, v1 = (p.split("=", 1)[1] for p in headers["X-Energymon-Signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, expected)
    assert _status(small_district)["webhook"] == ("sent", 2)
    engine.dispose()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


def test_smtp_delivers_plain_and_html_mail(
    small_district: DatabaseSettings, one_alert: int
) -> None:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = AlertsSettings(
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            email_to="officer@xiqing.example, duty@xiqing.example",
            smtp_from="energymon@xiqing.example",
        )
        engine = make_engine(small_district)
        counts = deliver_due(engine, {"email": EmailChannel(settings)}, max_attempts=3)
        engine.dispose()
    finally:
        controller.stop()
    assert counts["sent"] == 1
    assert len(inbox.messages) == 1
    mail = message_from_bytes(inbox.messages[0])
    assert mail["Subject"] == "[energymon critical] opened: PUE 1.31 above 1.25"
    assert mail["To"] == "officer@xiqing.example, duty@xiqing.example"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in mail.walk()
        if not p.is_multipart()
    }
    assert "limit_value: 1.25" in parts["text/plain"]
    assert "<h3>PUE 1.31 above 1.25</h3>" in parts["text/html"]
    assert _status(small_district)["email"] == ("sent", 1)


def _events(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT channel, event, status FROM notifications ORDER BY channel, id"
        ).fetchall()


def test_an_open_alert_is_renotified_on_its_channels_until_acknowledged(
    small_district: DatabaseSettings, one_alert: int
) -> None:
    db = small_district
    now = datetime.now(UTC)
    engine = make_engine(db)
    assert enqueue_renotify(engine, 3600, now) == 0  # the first notifications are still pending
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE notifications SET status = 'sent', sent_at = %s", (now,))
    assert enqueue_renotify(engine, 3600, now + timedelta(minutes=59)) == 0
    assert enqueue_renotify(engine, 3600, now + timedelta(minutes=61)) == 2
    assert enqueue_renotify(engine, 3600, now + timedelta(minutes=62)) == 0  # once
    assert _events(db) == [
        ("email", "opened", "sent"),
        ("email", "renotify-1", "pending"),
        ("webhook", "opened", "sent"),
        ("webhook", "renotify-1", "pending"),
    ]
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE notifications SET status = 'sent', sent_at = %s", (now,))
    assert enqueue_renotify(engine, 3600, now + timedelta(minutes=121)) == 2
    assert {e for _, e, _ in _events(db)} == {"opened", "renotify-1", "renotify-2"}
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE notifications SET status = 'sent', sent_at = %s", (now,))
        conn.execute("UPDATE alerts SET state = 'acknowledged' WHERE id = %s", (one_alert,))
    assert enqueue_renotify(engine, 3600, now + timedelta(hours=5)) == 0  # someone is on it
    assert enqueue_renotify(engine, 0, now + timedelta(hours=5)) == 0  # 0 = never
    engine.dispose()


def test_with_a_digest_interval_email_goes_out_as_one_mail_once_the_oldest_has_waited(
    small_district: DatabaseSettings, one_alert: int
) -> None:
    db = small_district
    now = datetime.now(UTC)
    with psycopg.connect(db.libpq_url) as conn:
        for subject_id, subject, severity, title in (
            (11, "E/M-1", "warning", "meter M-1 silent"),
            (12, "E/M-2", "info", "meter M-2 rolled over"),
        ):
            alert_id = conn.execute(
                "INSERT INTO alerts (rule, subject_type, subject_id, subject, time_window, "
                "severity, state, title, opened_at, updated_at, last_evaluated_at) VALUES "
                "('silent_meter', 'meter', %s, %s, '', %s, 'open', %s, %s, %s, %s) RETURNING id",
                (subject_id, subject, severity, title, now, now, now),
            ).fetchone()[0]  # type: ignore[index]
            conn.execute(
                "INSERT INTO notifications (alert_id, channel, event, next_attempt_at) "
                "VALUES (%s, 'email', 'opened', %s)",
                (alert_id, now),
            )
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = AlertsSettings(
            smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, email_to="duty@x.example"
        )
        engine = make_engine(db)
        channels = {"email": EmailChannel(settings)}
        early = deliver_due(engine, channels, max_attempts=3, digest_s=300, now=now)
        assert early["sent"] == 0
        assert inbox.messages == []
        due = deliver_due(
            engine, channels, max_attempts=3, digest_s=300, now=now + timedelta(seconds=301)
        )
        engine.dispose()
    finally:
        controller.stop()
    assert due["sent"] == 3
    assert len(inbox.messages) == 1
    mail = message_from_bytes(inbox.messages[0])
    assert mail["Subject"] == "[energymon critical] digest: 3 alert events"
    text = next(
        p.get_payload(decode=True).decode()
        for p in mail.walk()
        if p.get_content_type() == "text/plain"
    )
    lines = text.splitlines()
    assert lines[0] == "3 alert events"
    assert [line.split()[0] for line in lines[2:]] == ["critical", "warning", "info"]
    assert "PUE 1.31 above 1.25" in lines[2]
    assert {s for channel, _event, s in _events(db) if channel == "email"} == {"sent"}
