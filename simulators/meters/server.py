"""A pymodbus server serving simulated meters (many unit ids on one line).

The line is Modbus TCP (the default), RTU frames over TCP (what a serial-to-Ethernet converter
passes through) or RTU on a serial port. Each unit is a pymodbus ``SimDevice`` whose access
``action`` writes the meter's current registers into the response, so values evolve between
polls; the same hook injects faults per unit (slow answers, no answer — a timeout for the client —
or an exception code) and records when each request was served, so a test can check that a bus
carried one request at a time. A unit can also have its answers damaged on the way out (RTU: the
CRC no longer matches). With RTU framing a unit id nobody serves gets no answer, as on a real bus.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeVar, cast

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusBaseServer, ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from services.core.devices.model import Function
from services.core.embedded import free_port, wait_for
from simulators.meters.device import SimulatedMeter, highest_address

# The registry's names for the ways a poller reaches a meter (connection.transport).
Transport = Literal["tcp", "rtu-over-tcp", "serial"]
TRANSPORTS: tuple[Transport, ...] = ("tcp", "rtu-over-tcp", "serial")


@dataclass
class Fault:
    """What a unit does wrong: answer late, not at all, with an exception code, or garbled."""

    delay_s: float = 0.0
    silent: bool = False
    exception: ExcCodes | None = None
    garbled: bool = False  # RTU: last CRC byte flipped; TCP: the frame cut short by one byte


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request a unit served: from the start to the end of its handling (time.monotonic()).

    Handling starts after the whole request frame arrived and ends before the answer is sent, so
    the gap between two exchanges is the silence the client kept on the line plus the frames'
    transit."""

    unit: int
    function_code: int
    started_s: float
    ended_s: float


class MeterServer:
    def __init__(
        self,
        meters: list[SimulatedMeter],
        port: int | None = None,
        update_s: float = 1.0,
        *,
        transport: Transport = "tcp",
        serial_port: str = "",
        baudrate: int = 9600,
        parity: str = "N",
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; one of {', '.join(TRANSPORTS)}")
        if transport == "serial" and not serial_port:
            raise ValueError("transport serial needs serial_port")
        self.meters = {m.unit_id: m for m in meters}
        self.transport = transport
        self.port = port or free_port()
        self.serial_port = serial_port
        self.baudrate = baudrate
        self.parity = parity
        self.update_s = update_s
        self.faults: dict[int, Fault] = {}
        self.reads = 0
        self.exchanges: deque[Exchange] = deque(maxlen=10_000)
        self.ready = threading.Event()
        self._images: dict[int, dict[Function, dict[int, int]]] = {}
        now = datetime.now(UTC)
        for m in meters:
            m.advance(now, 0)
            self._images[m.unit_id] = m.register_image()

    @property
    def framer(self) -> FramerType:
        return FramerType.SOCKET if self.transport == "tcp" else FramerType.RTU

    @property
    def address(self) -> str:
        if self.transport == "serial":
            return f"{self.serial_port} (RTU, {self.baudrate} baud, parity {self.parity})"
        framing = "Modbus TCP" if self.transport == "tcp" else "RTU over TCP"
        return f"127.0.0.1:{self.port} ({framing})"

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
        started = time.monotonic()
        fault = self.faults.get(unit)
        if fault is not None:
            if fault.silent:
                await asyncio.sleep(3600)  # the client times out; the server stays responsive
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            if fault.exception is not None:
                self.exchanges.append(Exchange(unit, function_code, started, time.monotonic()))
                return fault.exception
        function = Function.INPUT if function_code == 4 else Function.HOLDING
        image = self._images[unit][function]
        for i in range(address - start_address, address - start_address + count):
            registers[i] = image.get(start_address + i, 0)
        self.reads += 1
        self.exchanges.append(Exchange(unit, function_code, started, time.monotonic()))
        return None

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        """Damage the answers of a ``garbled`` unit on their way out."""
        if not sending or not data:
            return data
        # the unit id: first byte of an RTU frame, seventh of a Modbus TCP one (after the MBAP)
        at = 0 if self.framer == FramerType.RTU else 6
        fault = self.faults.get(data[at]) if len(data) > at else None
        if fault is None or not fault.garbled:
            return data
        if self.framer == FramerType.RTU:
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data[:-1]

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

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU | None:
        """On an RS-485 bus (or behind a transparent converter) a unit nobody serves stays silent.

        Only a Modbus TCP gateway answers for it. pymodbus' ``ignore_missing_devices`` does not
        help with ``SimDevice`` units (an unknown id is answered with exception 4), so the request
        is dropped here: the server handles no request when this hook returns None."""
        if sending or self.framer != FramerType.RTU or pdu.dev_id in self.meters:
            return pdu
        return None

    def _server(self) -> ModbusBaseServer:
        # pymodbus' hook is typed to return a PDU; None (no request to handle) is what it checks
        trace_pdu = cast("Callable[[bool, ModbusPDU], ModbusPDU]", self._trace_pdu)
        if self.transport == "serial":
            return ModbusSerialServer(
                self.devices(),
                framer=FramerType.RTU,
                port=self.serial_port,
                baudrate=self.baudrate,
                parity=self.parity,
                trace_packet=self._trace_packet,
                trace_pdu=trace_pdu,
            )
        return ModbusTcpServer(
            self.devices(),
            framer=self.framer,
            address=("127.0.0.1", self.port),
            trace_packet=self._trace_packet,
            trace_pdu=trace_pdu,
        )

    async def serve(self, stop: asyncio.Event) -> None:
        server = self._server()
        try:
            await server.serve_forever(background=True)  # raises if it cannot listen
            self.ready.set()
            await update_until(stop, self.update_s, self.update)
        finally:
            self.ready.clear()
            await server.shutdown()  # type: ignore[no-untyped-call]


async def update_until(
    stop: asyncio.Event, every_s: float, update: Callable[[float], None]
) -> None:
    """Let the simulated values evolve: ``update(every_s)`` every ``every_s`` until ``stop``."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            update(every_s)


class Serving(Protocol):
    """A simulator that serves until ``stop`` is set and says when it is ready."""

    ready: threading.Event

    @property
    def address(self) -> str: ...

    async def serve(self, stop: asyncio.Event) -> None: ...


S = TypeVar("S", bound=Serving)


@contextmanager
def running(server: S) -> Iterator[S]:
    """Serve in a background thread while the block runs (Modbus or DL/T 645 meters)."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failed: list[BaseException] = []

    def serve() -> None:
        try:
            loop.run_until_complete(server.serve(stop))
        except BaseException as err:  # noqa: BLE001 - reported to the waiting caller below
            failed.append(err)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    wait_for(
        lambda: server.ready.is_set() or failed, 10, f"the meter simulator on {server.address}"
    )
    if failed:
        thread.join(10)
        where = server.address
        raise RuntimeError(f"the meter simulator could not serve on {where}") from failed[0]
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
