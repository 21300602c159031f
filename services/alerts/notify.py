"""Notification channels, routing, and delivery with retries.

Evaluation only *enqueues* notifications (one row per alert, channel and event, so a condition
re-evaluated a hundred times notifies once). A separate delivery pass sends what is due, one
notification at a time with a timeout, so a failing channel delays only its own rows: failures are
retried with exponential back-off (5 s doubling to one hour) until ``max_attempts``.

Re-notify (``ENERGYMON_ALERTS_RENOTIFY_S``): an alert still *open* (not acknowledged, not clearing)
whose last notification on a channel was delivered that long ago gets a ``renotify-N`` event on
the same channel. Digest (``ENERGYMON_ALERTS_DIGEST_S``): email notifications wait until the
oldest has waited that long, then go out as one mail listing every alert event.

Webhook: ``POST`` of the alert as JSON with ``X-Energymon-Event`` and
``X-Energymon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``; the receiver
recomputes it with the shared secret and rejects stale timestamps.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html import escape
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from services.core.alerting import outbox
from services.core.alerting.lifecycle import Severity
from services.core.errors import EnergymonError
from services.core.logging import get_logger
from services.core.settings import AlertsSettings

log = get_logger(__name__)
_RANK = {Severity.INFO.value: 0, Severity.WARNING.value: 1, Severity.CRITICAL.value: 2}


class DeliveryError(EnergymonError):
    pass


class Channel(Protocol):
    name: str

    def send(self, alert: dict[str, Any], event: str) -> None: ...


def alert_document(alert: dict[str, Any], event: str) -> dict[str, Any]:
    def iso(v: Any) -> Any:
        return v.isoformat() if isinstance(v, datetime) else v

    keys = (
        "id",
        "rule",
        "subject_type",
        "subject",
        "time_window",
        "severity",
        "state",
        "title",
        "value",
        "limit_value",
        "evidence",
        "opened_at",
        "resolved_at",
        "resolution_comment",
    )
    return {"event": event, "alert": {k: iso(alert.get(k)) for k in keys}}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str, timeout_s: float) -> None:
        self.url, self.secret, self.timeout_s = url, secret, timeout_s

    def send(self, alert: dict[str, Any], event: str) -> None:
        body = json.dumps(alert_document(alert, event), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Energymon-Event": event,
            "User-Agent": "energymon-alerts",
        }
        if self.secret:
            headers["X-Energymon-Signature"] = sign(self.secret, body, int(time.time()))
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 - operator-configured URL
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:  # noqa: S310
                if resp.status >= 300:
                    raise DeliveryError(f"webhook answered {resp.status}")
        except (urllib.error.URLError, OSError) as err:
            raise DeliveryError(f"webhook failed: {err}") from err


class EmailChannel:
    name = "email"

    def __init__(self, settings: AlertsSettings) -> None:
        self.s = settings
        self.recipients = [a.strip() for a in settings.email_to.split(",") if a.strip()]

    def message(self, alert: dict[str, Any], event: str) -> EmailMessage:
        doc = alert_document(alert, event)["alert"]
        msg = EmailMessage()
        msg["Subject"] = f"[energymon {doc['severity']}] {event}: {doc['title']}"
        msg["From"] = self.s.smtp_from
        msg["To"] = ", ".join(self.recipients)
        rows = [
            (k, doc[k])
            for k in (
                "rule",
                "subject",
                "time_window",
                "value",
                "limit_value",
                "opened_at",
                "state",
            )
            if doc[k] not in (None, "")
        ]
        msg.set_content(
            "\n".join(
                [
                    doc["title"],
                    "",
                    *(f"{k}: {v}" for k, v in rows),
                    "",
                    f"evidence: {json.dumps(doc['evidence'], ensure_ascii=False)}",
                ]
            )
        )
        table = "".join(
            f"<tr><th align='left'>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
            for k, v in rows
        )
        msg.add_alternative(
            f"<h3>{escape(doc['title'])}</h3><table>{table}</table>"
            f"<pre>{escape(json.dumps(doc['evidence'], indent=2))}</pre>",
            subtype="html",
        )
        return msg

    def digest(self, items: Sequence[tuple[dict[str, Any], str]]) -> EmailMessage:
        """One mail for several alert events, most severe first."""
        docs = sorted(
            (alert_document(a, e)["alert"] | {"event": e} for a, e in items),
            key=lambda d: (-_RANK.get(d["severity"], 1), str(d["opened_at"])),
        )
        worst = docs[0]["severity"]
        msg = EmailMessage()
        msg["Subject"] = f"[energymon {worst}] digest: {len(docs)} alert events"
        msg["From"] = self.s.smtp_from
        msg["To"] = ", ".join(self.recipients)
        lines = [
            f"{d['severity']:<8} {d['event']:<10} {d['title']} ({d['subject']}, "
            f"{d['time_window']}, alert {d['id']})"
            for d in docs
        ]
        msg.set_content("\n".join([f"{len(docs)} alert events", "", *lines]))
        rows = "".join(
            f"<tr><td>{escape(str(d['severity']))}</td><td>{escape(str(d['event']))}</td>"
            f"<td>{escape(str(d['title']))}</td><td>{escape(str(d['subject']))}</td>"
            f"<td>{escape(str(d['time_window']))}</td></tr>"
            for d in docs
        )
        msg.add_alternative(
            f"<h3>{len(docs)} alert events</h3><table><tr><th>severity</th><th>event</th>"
            f"<th>alert</th><th>subject</th><th>window</th></tr>{rows}</table>",
            subtype="html",
        )
        return msg

    def send(self, alert: dict[str, Any], event: str) -> None:
        self._deliver(self.message(alert, event))

    def send_digest(self, items: Sequence[tuple[dict[str, Any], str]]) -> None:
        self._deliver(self.digest(items))

    def _deliver(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.s.smtp_host, self.s.smtp_port, timeout=10) as smtp:
                if self.s.smtp_starttls:
                    smtp.starttls()
                if self.s.smtp_user:
                    smtp.login(self.s.smtp_user, self.s.smtp_password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"smtp failed: {err}") from err


def channels_from(settings: AlertsSettings) -> dict[str, Channel]:
    out: dict[str, Channel] = {}
    if settings.webhook_url:
        out["webhook"] = WebhookChannel(
            settings.webhook_url, settings.webhook_secret, settings.webhook_timeout_s
        )
    if settings.smtp_host and settings.email_to:
        out["email"] = EmailChannel(settings)
    return out


class Router:
    """``rule-glob:min-severity=channel,channel;...``, first match wins."""

    def __init__(self, spec: str, available: Sequence[str]) -> None:
        self.routes: list[tuple[str, int, list[str]]] = []
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            head, _, chans = part.partition("=")
            pattern, _, severity = head.partition(":")
            self.routes.append(
                (
                    pattern or "*",
                    _RANK.get(severity or "info", 0),
                    [c for c in chans.split(",") if c in available],
                )
            )

    def __call__(self, alert: Any) -> list[str]:
        rule, severity = alert.rule, getattr(alert, "severity", "warning")
        severity = getattr(severity, "value", severity)
        for pattern, min_rank, chans in self.routes:
            if fnmatch.fnmatch(rule, pattern):
                return chans if _RANK.get(severity, 1) >= min_rank else []
        return []


def enqueue_renotify(engine: Engine, every_s: float, now: datetime | None = None) -> int:
    """Queue a ``renotify-N`` for every open alert last notified ``every_s`` ago or longer, on
    the channels it was notified on. Returns how many were queued."""
    if every_s <= 0:
        return 0
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        return outbox.queue_renotifications(conn, now=now, cutoff=now - timedelta(seconds=every_s))


def deliver_due(
    engine: Engine,
    channels: dict[str, Channel],
    *,
    max_attempts: int,
    now: datetime | None = None,
    limit: int = 50,
    digest_s: float = 0.0,
) -> dict[str, int]:
    """Send due notifications, each in its own short transaction (row locked, skipped by a
    concurrent sender); with ``digest_s`` email goes out as digests. Returns counts by outcome."""
    now = now or datetime.now(UTC)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    email = channels.get("email")
    digesting = digest_s > 0 and isinstance(email, EmailChannel)
    if digesting:
        assert isinstance(email, EmailChannel)
        outcome, n = _deliver_digest(engine, email, max_attempts, now, digest_s)
        counts[outcome] += n
    with engine.connect() as conn:
        due = outbox.due_ids(
            conn, now=now, limit=limit, except_channel="email" if digesting else None
        )
    for n_id in due:
        with engine.begin() as conn:
            item = outbox.lock_pending(conn, notification_id=n_id)
            if item is not None:
                counts[_attempt(conn, item, channels, max_attempts, now)] += 1
    return counts


def _retry_at(now: datetime, attempts: int) -> datetime:
    return now + timedelta(seconds=min(3600, 5 * 2 ** (attempts - 1)))


def _deliver_digest(
    engine: Engine, email: EmailChannel, max_attempts: int, now: datetime, digest_s: float
) -> tuple[str, int]:
    """All pending email notifications in one mail, once the oldest has waited ``digest_s``."""
    with engine.begin() as conn:
        items = outbox.lock_due_on_channel(conn, channel="email", now=now)
        if not items or min(i.created_at for i in items) > now - timedelta(seconds=digest_s):
            return "sent", 0  # nothing due yet: the digest is still collecting
        ids = [i.notification_id for i in items]
        attempts = max(i.attempts for i in items) + 1
        try:
            email.send_digest([(i.alert, i.event) for i in items])
        except DeliveryError as err:
            final = attempts >= max_attempts
            outbox.record_failure(
                conn,
                ids=ids,
                attempts=attempts,
                error=str(err),
                final=final,
                retry_at=_retry_at(now, attempts),
            )
            log.warning("digest not delivered", notifications=len(ids), error=str(err))
            return ("failed" if final else "retry"), len(ids)
        outbox.record_sent(conn, ids=ids, attempts=attempts, at=datetime.now(UTC))
        return "sent", len(ids)


def _attempt(
    conn: Connection,
    item: outbox.Outgoing,
    channels: dict[str, Channel],
    max_attempts: int,
    now: datetime,
) -> str:
    channel = channels.get(item.channel)
    attempts = item.attempts + 1
    try:
        if channel is None:
            raise DeliveryError(f"channel {item.channel} is not configured")
        channel.send(item.alert, item.event)
    except DeliveryError as err:
        final = attempts >= max_attempts
        outbox.record_failure(
            conn,
            ids=[item.notification_id],
            attempts=attempts,
            error=str(err),
            final=final,
            retry_at=_retry_at(now, attempts),
        )
        log.warning(
            "notification not delivered", channel=item.channel, attempt=attempts, error=str(err)
        )
        return "failed" if final else "retry"
    outbox.record_sent(conn, ids=[item.notification_id], attempts=attempts, at=datetime.now(UTC))
    return "sent"
