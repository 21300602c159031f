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
from sqlalchemy import Engine

from services.core.logging import get_logger
from services.core.store.seq_gaps import GapKey, due_gaps, expire_gaps, mark_requested
from services.ingest.mqtt.partitions import partition_of

log = get_logger(__name__)

MAX_SEQS_PER_REQUEST = 1000


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
        with self._engine.connect() as conn:
            gaps = due_gaps(
                conn,
                after_s=self._after_s,
                every_s=self._every_s,
                max_requests=self._max_requests,
            )
        return [
            ResendRequest(
                gateway_id=g.gateway_id,
                enterprise=g.enterprise,
                gateway=g.gateway,
                epoch=g.epoch,
                first_seq=g.first_seq,
                last_seq=g.last_seq,
                attempt=g.requests + 1,
            )
            for g in gaps
            if partition_of(g.enterprise, self._partitions) in held
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
                mark_requested(
                    conn, gaps=[GapKey(r.gateway_id, r.epoch, r.first_seq) for r in sent]
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
            expired = expire_gaps(conn, older_than_s=self._expiry_s)
        lost = 0
        for g in expired:
            lost += g.last_seq - g.first_seq + 1
            log.error(
                "messages given up as lost",
                gateway_id=g.gateway_id,
                epoch=g.epoch,
                from_seq=g.first_seq,
                to_seq=g.last_seq,
            )
        return lost
