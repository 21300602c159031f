"""``energymon ingest modbus``: the reconcile loop around the device runners.

Every ``round_s``: read the registry's active meters of the polled protocols (Modbus, and DL/T
645 when a factory for it is given), run a lease round, start runners for
devices newly held, stop the surplus (waiting for in-flight polls) before releasing their leases,
and refresh the device-state gauges. Runners poll only while the last successful lease round is
within its validity, so a poller cut off from the database stops in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert

from services.core.logging import get_logger
from services.core.pipeline.model import InboundMessage
from services.core.schema.tables import device_status, enterprises, meters, points
from services.ingest.modbus.leases import LeaseManager
from services.ingest.modbus.metrics import PROTOCOLS, PollerMetrics
from services.ingest.modbus.poller import DeviceRunner, DeviceSpec, DeviceState, Line, PollPolicy

log = get_logger(__name__)

# Builds a device from a registry meter (its id, enterprise code, code, connection settings).
SpecFactory = Callable[..., DeviceSpec]  # (id, enterprise, code, connection, *, points)


class Server(Protocol):
    """A server the lines need, run for the service's lifetime (the DTU listener)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class ModbusPollerService:
    def __init__(
        self,
        *,
        engine: Engine,
        leases: LeaseManager,
        factory: SpecFactory,
        submit: Callable[[InboundMessage], None],
        other_factories: Mapping[str, SpecFactory] | None = None,
        metrics: PollerMetrics,
        policy: PollPolicy | None = None,
        round_s: float = 5.0,
        max_concurrency: int = 256,
        servers: Sequence[Server] = (),
    ) -> None:
        self._engine = engine
        self._leases = leases
        # registry protocol -> the factory of its devices ("modbus" is always polled)
        self._factories = {"modbus": factory, **(other_factories or {})}
        self._submit = submit
        self._metrics = metrics
        self._policy = policy or PollPolicy()
        self._round_s = round_s
        self._max_concurrency = max_concurrency
        self._servers = list(servers)
        self._valid_until = 0.0
        self._runners: dict[int, tuple[DeviceRunner, asyncio.Task[None]]] = {}
        self._lines: dict[str, Line] = {}
        # the lines of every active meter in the registry (a DTU that dials in must be on one)
        self.line_keys: frozenset[str] = frozenset()
        self.rounds = 0

    def lease_valid(self) -> bool:
        return time.monotonic() < self._valid_until

    @property
    def held(self) -> set[int]:
        return set(self._runners)

    def states(self) -> dict[int, DeviceState]:
        return {mid: r.state for mid, (r, _t) in self._runners.items()}

    async def run(self, stop: threading.Event) -> None:
        gate = asyncio.Semaphore(self._max_concurrency)
        for server in self._servers:
            await server.start()
        try:
            while not stop.is_set():
                try:
                    await self._reconcile(gate)
                except Exception as err:  # noqa: BLE001 - the loop must survive any failure
                    log.error("modbus reconcile failed; keeping current devices", error=str(err))
                await asyncio.sleep(self._round_s)
        finally:
            await self._stop_runners(list(self._runners))
            await asyncio.to_thread(self._leases.leave)
            for line in self._lines.values():
                line.close()
            for server in self._servers:
                await server.close()

    def _load(self) -> dict[int, DeviceSpec]:
        registered = (
            select(func.array_agg(points.c.quantity))
            .where(
                points.c.meter_id == meters.c.id,
                points.c.active,
                points.c.source_point_id.is_(None),
            )
            .scalar_subquery()
        )
        stmt = (
            select(
                meters.c.id,
                meters.c.code,
                meters.c.protocol,
                meters.c.connection,
                enterprises.c.code,
                registered,
            )
            .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
            .where(
                meters.c.protocol.in_(sorted(self._factories)),
                meters.c.active,
                enterprises.c.active,
            )
        )
        specs: dict[int, DeviceSpec] = {}
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        for meter_id, code, protocol, connection, ent, quantities in rows:
            try:
                specs[meter_id] = self._factories[protocol](
                    meter_id, ent, code, connection or {}, points=frozenset(quantities or ())
                )
            except Exception as err:  # noqa: BLE001 - one bad registry entry costs only itself
                log.error(
                    f"{protocol} meter not pollable", meter=code, enterprise=ent, error=str(err)
                )
        return specs

    async def _reconcile(self, gate: asyncio.Semaphore) -> None:
        specs = await asyncio.to_thread(self._load)
        self.line_keys = frozenset(spec.line.key for spec in specs.values())
        lease = await asyncio.to_thread(self._leases.round, sorted(specs))
        self._valid_until = lease.valid_until
        self.rounds += 1
        gone = [
            m
            for m in self._runners
            if m not in lease.held or m not in specs or self._runners[m][0].spec != specs[m]
        ]
        await self._stop_runners(gone)
        if lease.surplus:
            await asyncio.to_thread(self._leases.release, sorted(lease.surplus))
        for meter_id in sorted(lease.held):
            if meter_id in self._runners or meter_id not in specs:
                continue
            spec = specs[meter_id]
            line = self._lines.get(spec.line.key)
            if line is None:
                line = self._lines[spec.line.key] = spec.line.open()
            runner = DeviceRunner(
                spec,
                line,
                policy=self._policy,
                submit=self._submit,
                status=self._record_status,
                metrics=self._metrics,
                gate=gate,
                lease_valid=self.lease_valid,
            )
            self._runners[meter_id] = (runner, asyncio.create_task(runner.run()))
        self._metrics.leases.set(len(lease.held))
        self._metrics.live_pollers.set(lease.live_pollers)
        held = Counter((r.spec.source, r.state) for r, _t in self._runners.values())
        for protocol in PROTOCOLS:
            for state in DeviceState:
                self._metrics.devices.labels(state.value, protocol).set(held[protocol, state])

    async def _stop_runners(self, meter_ids: list[int]) -> None:
        for meter_id in meter_ids:
            runner, task = self._runners.pop(meter_id)
            async with runner.in_flight:  # let a poll in progress finish first
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _record_status(
        self,
        meter_id: int,
        state: DeviceState,
        failures: int,
        error: str | None,
        success_at: datetime | None,
    ) -> None:
        now = datetime.now(UTC)
        values = {
            "state": state.value,
            "since": now,
            "consecutive_failures": failures,
            "last_error": error,
            "owner": self._leases.owner,
            "updated_at": now,
        }
        if success_at is not None:
            values["last_success_at"] = success_at
        stmt = insert(device_status).values(meter_id=meter_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["meter_id"], set_=values)

        def write() -> None:
            try:
                with self._engine.begin() as conn:
                    conn.execute(stmt)
            except Exception as err:  # noqa: BLE001 - status is advisory; polling goes on
                log.warning("device status not recorded", meter_id=meter_id, error=str(err))

        threading.Thread(target=write, daemon=True).start()
