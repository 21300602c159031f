"""A pymodbus TCP server serving simulated meters (many unit ids on one port).

Each unit is a pymodbus ``SimDevice`` whose access ``action`` writes the meter's current
registers into the response, so values evolve between polls; the same hook injects faults per
unit: slow answers, no answer (a timeout for the client), or an exception code.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from services.core.devices.model import Function
from services.core.embedded import free_port, port_open, wait_for
from simulators.meters.device import SimulatedMeter, highest_address


@dataclass
class Fault:
    """What a unit does wrong: answer late, not at all, or with an exception code."""

    delay_s: float = 0.0
    silent: bool = False
    exception: ExcCodes | None = None


class MeterServer:
    def __init__(
        self, meters: list[SimulatedMeter], port: int | None = None, update_s: float = 1.0
    ) -> None:
        self.meters = {m.unit_id: m for m in meters}
        self.port = port or free_port()
        self.update_s = update_s
        self.faults: dict[int, Fault] = {}
        self.reads = 0
        self._images: dict[int, dict[Function, dict[int, int]]] = {}
        now = datetime.now(UTC)
        for m in meters:
            m.advance(now, 0)
            self._images[m.unit_id] = m.register_image()

    def update(self, dt_s: float) -> None:
        now = datetime.now(UTC)
        for m in self.meters.values():
            m.advance(now, dt_s)
            self._images[m.unit_id] = m.register_image()

    async def _action(  # noqa: PLR0917 - pymodbus calls it with these positions
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        _values: object,
    ) -> ExcCodes | None:
        fault = self.faults.get(unit)
        if fault is not None:
            if fault.silent:
                await asyncio.sleep(3600)  # the client times out; the server stays responsive
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            if fault.exception is not None:
                return fault.exception
        function = Function.INPUT if function_code == 4 else Function.HOLDING
        image = self._images[unit][function]
        for i in range(address - start_address, address - start_address + count):
            registers[i] = image.get(start_address + i, 0)
        self.reads += 1
        return None

    def devices(self) -> list[SimDevice]:
        out = []
        for unit, meter in self.meters.items():
            size = highest_address(meter.device) + 1
            bits = [SimData(0, count=1, values=False, datatype=DataType.BITS)]  # unused, required
            blocks: tuple[list[SimData], list[SimData], list[SimData], list[SimData]] = (
                bits,
                list(bits),
                [SimData(0, count=size, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=size, values=0, datatype=DataType.REGISTERS)],
            )
            out.append(
                SimDevice(unit, simdata=blocks, action=functools.partial(self._action, unit))
            )
        return out

    async def serve(self, stop: asyncio.Event) -> None:
        server = ModbusTcpServer(self.devices(), address=("127.0.0.1", self.port))
        task = asyncio.create_task(server.serve_forever())
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), self.update_s)
                except TimeoutError:
                    self.update(self.update_s)
        finally:
            await server.shutdown()  # type: ignore[no-untyped-call]
            task.cancel()


@contextmanager
def running(server: MeterServer) -> Iterator[MeterServer]:
    """Serve in a background thread while the block runs."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(stop),), daemon=True
    )
    thread.start()
    wait_for(lambda: port_open("127.0.0.1", server.port), 10, "the meter simulator")
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
