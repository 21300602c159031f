"""The rollup lag as this process last saw it, for ``energymon_accounting_rollup_lag_seconds``.

Every process, active or standby, looks once an interval on a thread of its own, so the figure
stays current while the active process is inside a long pass, and a standby reports it too.
Between two looks a lag grows with the time since; when nothing was pending it stays 0 until the
next look.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from services.core.logging import get_logger
from services.core.store.freshness import LagSeen, rollup_lag_s

log = get_logger(__name__)


def reader(engine: Engine) -> Callable[[], float | None]:
    def read() -> float | None:
        with engine.connect() as conn:
            return rollup_lag_s(conn)

    return read


class LagProbe:
    def __init__(
        self, read: Callable[[], float | None], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._read = read
        self._clock = clock
        self._seen: LagSeen | None = None
        self._failing = False

    def look(self) -> None:
        self._seen = LagSeen(self._read(), self._clock())

    def lag_s(self) -> float:
        """Seconds; 0 when nothing was pending at the last look (or before the first)."""
        seen = self._seen
        lag = None if seen is None else seen.lag_now(self._clock())
        return 0.0 if lag is None else lag

    def run(self, stop: threading.Event, every_s: float) -> None:
        """Look every ``every_s`` until ``stop``; a failed look keeps the last one (ageing)."""
        while True:
            try:
                self.look()
                if self._failing:
                    log.info("rollup lag readable again")
                self._failing = False
            except Exception as err:  # noqa: BLE001 - the database may be away; keep looking
                if not self._failing:
                    log.warning("cannot read the rollup lag", error=str(err))
                self._failing = True
            if stop.wait(every_s):
                return
