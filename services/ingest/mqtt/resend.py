"""Asking gateways to send missing messages again, and giving up on gaps nobody filled.

The writer keeps each gateway's missing messages as seq ranges (``gateway_seq_gaps``). A gap that
is still open ``resend_after_s`` after it was seen is requested from the gateway on its commands
topic (docs/mqtt.md, "Re-send requests"), again every ``resend_every_s``, at most
``resend_max_requests`` times; the ``sequence_gap`` alert reports it either way. Gaps older than
``seq_gap_expiry_days`` are given up. Each replica handles the gateways of the partitions it holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import Engine, text

from services.core.logging import get_logger
from services.ingest.mqtt.partitions import partition_of

log = get_logger(__name__)

MAX_SEQS_PER_REQUEST = 1000

_DUE = """
SELECT g.gateway_id, e.code, w.code, g.epoch, g.first_seq, g.last_seq, g.resend_requests
FROM gateway_seq_gaps g
JOIN gateways w ON w.id = g.gateway_id AND w.seq_epoch = g.epoch
JOIN enterprises e ON e.id = w.enterprise_id
WHERE w.active AND e.active AND g.resend_requests < :max_requests
  AND g.opened_at <= now() - make_interval(secs => :after)
  AND (g.last_request_at IS NULL OR g.last_request_at <= now() - make_interval(secs => :every))
ORDER BY g.opened_at, g.gateway_id, g.first_seq
LIMIT 1000
"""
_MARK = """
UPDATE gateway_seq_gaps SET resend_requests = resend_requests + 1, last_request_at = now()
WHERE gateway_id = :gateway AND epoch = :epoch AND first_seq = :first
"""
_EXPIRE = """
DELETE FROM gateway_seq_gaps
WHERE opened_at < now() - make_interval(secs => :expiry)
RETURNING gateway_id, epoch, first_seq, last_seq
"""


@dataclass(frozen=True, slots=True)
class ResendRequest:
    gateway_id: int
    enterprise: str
    gateway: str
    epoch: int
    first_seq: int
    last_seq: int
    attempt: int

    def payload(self, now: datetime) -> bytes:
        """The command as docs/mqtt.md describes it; long gaps are asked for in slices."""
        return orjson.dumps(
            {
                "command": "resend",
                "request_id": str(uuid.uuid4()),
                "from_seq": self.first_seq,
                "to_seq": min(self.last_seq, self.first_seq + MAX_SEQS_PER_REQUEST - 1),
                "ts": now.isoformat(),
            }
        )


class Resender:
    def __init__(
        self,
        engine: Engine,
        *,
        partitions: int,
        after_s: float,
        every_s: float,
        max_requests: int,
        expiry_s: float,
    ) -> None:
        self._engine = engine
        self._partitions = partitions
        self._after_s = after_s
        self._every_s = every_s
        self._max_requests = max_requests
        self._expiry_s = expiry_s

    def due(self, held: Collection[int]) -> list[ResendRequest]:
        """Gaps of the gateways in ``held`` partitions that should be requested now."""
        if self._max_requests == 0 or not held:
            return []
        params = {
            "max_requests": self._max_requests,
            "after": self._after_s,
            "every": self._every_s,
        }
        with self._engine.connect() as conn:
            rows = conn.execute(text(_DUE), params).all()
        return [
            ResendRequest(gid, ent, gw, epoch, first, last, requests + 1)
            for gid, ent, gw, epoch, first, last, requests in rows
            if partition_of(ent, self._partitions) in held
        ]

    def send(
        self, requests: list[ResendRequest], publish: Callable[[ResendRequest, bytes], bool]
    ) -> int:
        """Publish each request (``publish`` says whether it went out) and record it."""
        now = datetime.now(UTC)
        sent = []
        for req in requests:
            if publish(req, req.payload(now)):
                sent.append(req)
        if sent:
            with self._engine.begin() as conn:
                conn.execute(
                    text(_MARK),
                    [
                        {"gateway": r.gateway_id, "epoch": r.epoch, "first": r.first_seq}
                        for r in sent
                    ],
                )
            for r in sent:
                log.info(
                    "re-send requested",
                    enterprise=r.enterprise,
                    gateway=r.gateway,
                    from_seq=r.first_seq,
                    to_seq=r.last_seq,
                    attempt=r.attempt,
                )
        return len(sent)

    def expire(self) -> int:
        """Give up gaps older than the expiry; returns how many messages were given up."""
        with self._engine.begin() as conn:
            rows = conn.execute(text(_EXPIRE), {"expiry": self._expiry_s}).all()
        lost = 0
        for gid, epoch, first, last in rows:
            lost += last - first + 1
            log.error(
                "messages given up as lost",
                gateway_id=gid,
                epoch=epoch,
                from_seq=first,
                to_seq=last,
            )
        return lost
