"""One tick of the accounting service: while this process holds the accounting lock, a rollup
pass over every pending range; otherwise nothing (a standby)."""

from __future__ import annotations

import contextlib

from sqlalchemy import Engine

from services.accounting.lag import LagProbe
from services.accounting.metrics import AccountingMetrics
from services.accounting.rollup import CatchUpStats, catch_up
from services.core.leader import LeaderLock
from services.core.logging import get_logger

log = get_logger(__name__)


class Runner:
    def __init__(
        self,
        engine: Engine,
        leader: LeaderLock,
        metrics: AccountingMetrics,
        probe: LagProbe,
        *,
        ranges_per_transaction: int,
    ) -> None:
        self._engine = engine
        self._leader = leader
        self._metrics = metrics
        self._probe = probe
        self._limit = ranges_per_transaction

    def tick(self) -> CatchUpStats | None:
        """The pass's figures, or None when standing by or when the pass failed."""
        active = self._leader.ensure()
        self._metrics.leader.set(1 if active else 0)
        if not active:
            return None
        try:
            stats = catch_up(self._engine, limit=self._limit)
        except Exception:  # a failed pass rolls back and is retried next tick
            self._metrics.pass_failures.inc()
            log.exception("rollup pass failed")
            return None
        # the figures are current now: say so before the probe's next look (which logs failures)
        with contextlib.suppress(Exception):
            self._probe.look()
        self._metrics.pass_seconds.observe(stats.seconds)
        self._metrics.last_pass.set_to_current_time()
        self._metrics.ranges.inc(stats.ranges)
        self._metrics.buckets_written.inc(stats.buckets_written)
        if stats.ranges:
            log.info(
                "rollup pass",
                ranges=stats.ranges,
                points=stats.points,
                buckets=stats.buckets_written,
                seconds=round(stats.seconds, 3),
            )
        return stats
