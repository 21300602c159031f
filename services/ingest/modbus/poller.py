"""The field poller (Modbus meters, and DL/T 645 meters through the same runners): leases decide
which devices this process polls; each device is polled on its own wall-clock-aligned schedule;
readings go through the ingest engine (the one validation and write path, with the spool).

Per device: a poll sends the device's requests over its line (coalesced register blocks, or data
identifiers), decodes the answers, and stamps every value with the time the last response arrived
(UTC), except values the device stamped itself. A failure costs only that poll: nothing is stored
for it, the device goes degraded, then offline after ``offline_after`` consecutive failures, and
offline devices are probed with back-off until they answer again.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from services.core.logging import get_logger
from services.core.pipeline.model import InboundMessage, Reading
from services.ingest.modbus.connection import FailureReason, PollError
from services.ingest.modbus.metrics import PollerMetrics

log = get_logger(__name__)

# (point, value, unit) for every register a device map feeds into a platform point
Decoded = list[tuple[str, float, str]]
# (point, value, unit, time) for values the device stamped itself (e.g. a meter's daily freeze)
Dated = list[tuple[str, float, str, datetime]]


class DeviceState(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class ReadBlock:
    function: str  # holding | input
    start: int
    count: int


class Line(Protocol):
    """One connection shared by the devices on it, one request in flight at a time."""

    async def request(self, block: Any, unit: Any) -> Any: ...

    def close(self) -> None: ...


class Stamped(Protocol):
    """Values a device stamps itself (e.g. a meter's daily freezes), read after a poll's blocks
    with the poll's own ``request`` (retries included); it may keep state between polls.
    ``resumed``: the device is back after failed polls."""

    async def read(self, request: Callable[[Any], Awaitable[Any]], *, resumed: bool) -> Dated: ...


class LineConfig(Protocol):
    """Where a line is: ``key`` names it (devices with the same key share it)."""

    @property
    def key(self) -> str: ...

    def open(self) -> Line: ...


@dataclass(frozen=True)
class DeviceSpec:
    """A device to poll: ``blocks`` are the requests a poll sends on ``line`` to ``unit_id`` (a
    Modbus unit id and ReadBlocks, or a DL/T 645 address and data identifiers); ``decode`` turns
    their answers into readings."""

    meter_id: int
    enterprise: str
    meter: str
    unit_id: int | str
    line: LineConfig
    interval_s: float
    blocks: tuple[Any, ...]
    decode: Callable[[Sequence[Any]], Decoded] = field(compare=False)
    source: str = "modbus"  # the readings' source, as the pipeline names it
    # makes the runner's reader of values that carry their own time, stored at that time
    stamped: Callable[[], Stamped] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    retries: int = 1
    retry_backoff_s: float = 0.05
    offline_after: int = 3
    max_backoff_s: float = 60.0


Submit = Callable[[InboundMessage], None]
StatusSink = Callable[[int, DeviceState, int, str | None, datetime | None], None]


def next_slot(now: float, interval: float) -> float:
    """The next wall-clock instant that is a whole multiple of ``interval`` seconds."""
    return (math.floor(now / interval) + 1) * interval


class DeviceRunner:
    def __init__(
        self,
        spec: DeviceSpec,
        line: Line,
        *,
        policy: PollPolicy,
        submit: Submit,
        status: StatusSink,
        metrics: PollerMetrics,
        gate: asyncio.Semaphore,
        lease_valid: Callable[[], bool],
    ) -> None:
        self.spec = spec
        self._line = line
        self._policy = policy
        self._submit = submit
        self._status = status
        self._metrics = metrics
        self._gate = gate
        self._lease_valid = lease_valid
        self.state = DeviceState.ONLINE
        self.failures = 0
        self.in_flight = asyncio.Lock()
        self._stamped = spec.stamped() if spec.stamped is not None else None
        # labelled children resolved once: a label lookup per poll is measurable at 1,000 polls/s
        self._polls_ok = metrics.polls.labels("ok", spec.source)
        self._observe_lag = metrics.schedule_lag.observe
        self._observe_poll = metrics.poll_seconds.labels(spec.source).observe

    def _backoff(self) -> float:
        if self.state != DeviceState.OFFLINE:
            return 0.0
        extra = self.failures - self._policy.offline_after
        return min(self.spec.interval_s * float(2 ** max(0, extra)), self._policy.max_backoff_s)

    async def run(self) -> None:
        interval = self.spec.interval_s
        while True:
            slot = next_slot(time.time() + self._backoff(), interval)
            await asyncio.sleep(max(0.0, slot - time.time()))
            if not self._lease_valid():
                continue
            async with self._gate, self.in_flight:
                self._observe_lag(max(0.0, time.time() - slot))
                await self.poll_once()

    async def poll_once(self) -> bool:
        started = time.perf_counter()
        try:
            answers = []
            for block in self.spec.blocks:
                answers.append(await self._read(block))
            arrived = datetime.now(UTC)
            decoded = self.spec.decode(answers)
            dated: Dated = []
            if self._stamped is not None:
                resumed = self.state != DeviceState.ONLINE
                dated = await self._stamped.read(self._read, resumed=resumed)
        except PollError as err:
            self._failed(err)
            return False
        except (ValueError, ArithmeticError) as err:
            self._failed(PollError(FailureReason.GARBAGE, f"cannot decode: {err}"))
            return False
        finally:
            self._observe_poll(time.perf_counter() - started)
        readings = tuple(
            Reading(self.spec.meter, point, arrived, value, unit) for point, value, unit in decoded
        )
        if dated:
            readings += tuple(Reading(self.spec.meter, p, at, v, unit) for p, v, unit, at in dated)
        self._submit(
            InboundMessage(
                self.spec.source, None, self.spec.enterprise, None, b"", arrived, readings=readings
            )
        )
        self._polls_ok.inc()
        if self.state != DeviceState.ONLINE:
            log.info(
                f"{self.spec.source} device back online",
                meter=self.spec.meter,
                after_failures=self.failures,
            )
        changed = self.state != DeviceState.ONLINE
        self.state, self.failures = DeviceState.ONLINE, 0
        if changed:
            self._status(self.spec.meter_id, self.state, 0, None, arrived)
        return True

    async def _read(self, block: Any) -> Any:
        attempt = 0
        while True:
            try:
                return await self._line.request(block, self.spec.unit_id)
            except PollError as err:
                # e.g. Modbus illegal function/address (1, 2, 3) will not change on a retry; busy
                # (6) may
                if err.permanent or attempt >= self._policy.retries:
                    raise
                attempt += 1
                await asyncio.sleep(self._policy.retry_backoff_s * 2 ** (attempt - 1))

    def _failed(self, err: PollError) -> None:
        self.failures += 1
        self._metrics.polls.labels("failed", self.spec.source).inc()
        self._metrics.failures.labels(err.reason.value, self.spec.source).inc()
        self._metrics.device_failures.labels(self.spec.enterprise, self.spec.meter).inc()
        new = (
            DeviceState.OFFLINE
            if self.failures >= self._policy.offline_after
            else DeviceState.DEGRADED
        )
        if new != self.state:
            log.warning(
                f"{self.spec.source} device {new.value}", meter=self.spec.meter, error=str(err)
            )
            self.state = new
            self._status(self.spec.meter_id, new, self.failures, str(err), None)
