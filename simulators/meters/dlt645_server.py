"""DL/T 645-2007 meters behind a TCP serial server, or on a serial port (one end of a pty pair):
several meters share one line (one TCP port, as an RS-485 bus reached through a serial-to-Ethernet
converter, or the serial port), answering by address.

Per request frame the server finds the meter the address names (``AA`` bytes are wildcards),
answers read data (clause 7.1), read follow-up data (7.2) and read address (7.4), and answers an
identifier the meter lacks with an abnormal reply (ERR bit 无请求数据). Data longer than
``max_data`` bytes is split into follow-up frames. A frame with a bad checksum gets no answer, as
on a real bus. With ``baudrate`` set, each exchange takes the time its bytes need on the wire at
11 bits a byte (start, 8 data, even parity, stop). Faults per meter: silent, slow, or an error byte.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime

from services.core.devices.dlt645.frame import (
    WILDCARD_ADDRESS,
    ErrorReason,
    Frame,
    FrameError,
    Function,
    encode_frame,
    take_frame,
)
from services.core.devices.dlt645.messages import (
    abnormal_reply,
    address_reply,
    follow_up_reply,
    read_reply,
)
from services.core.embedded import free_port
from services.core.logging import get_logger
from services.core.serial_streams import ByteReader, ByteWriter, open_serial_streams
from simulators.meters.dlt645_meter import Dlt645Meter, NoSuchDataError
from simulators.meters.server import update_until

log = get_logger(__name__)
BITS_PER_BYTE = 11
MAX_READ_DATA = 200  # the data bytes a read reply carries before follow-up frames
DEFAULT_SERIAL_RATE = 9600  # the simulator's choice when serving a serial port without timing


@dataclass
class Dlt645Fault:
    delay_s: float = 0.0
    silent: bool = False
    err: int | None = None  # answer every request with this error byte


@dataclass(frozen=True, slots=True)
class Dlt645Exchange:
    address: str
    control: int
    started_s: float
    ended_s: float


class Dlt645Server:
    def __init__(
        self,
        meters: list[Dlt645Meter],
        port: int | None = None,
        update_s: float = 1.0,
        *,
        baudrate: int | None = None,
        max_data: int = MAX_READ_DATA,
        wake_up: bool = True,
        serial_port: str = "",
        parity: str = "E",
    ) -> None:
        self.meters = {m.address: m for m in meters}
        self.serial_port = serial_port  # serve on this serial port (e.g. a pty) instead of TCP
        self.parity = parity
        self.port = port or free_port()
        self.update_s = update_s
        self.baudrate = baudrate
        self.max_data = max_data
        self.wake_up = wake_up
        self.faults: dict[str, Dlt645Fault] = {}
        self.exchanges: deque[Dlt645Exchange] = deque(maxlen=10_000)
        self.reads = 0
        self.requested: Counter[int] = Counter()  # read requests by data identifier
        self.ready = threading.Event()
        self._pending: dict[tuple[str, int], list[bytes]] = {}
        self._bus = asyncio.Lock()  # one exchange at a time on the line, whatever the clients
        self._clients: set[asyncio.Task[None]] = set()
        now = datetime.now(UTC)
        for m in meters:
            m.advance(now, 0)

    @property
    def address(self) -> str:
        timing = f", {self.baudrate} baud" if self.baudrate else ""
        if self.serial_port:
            return f"{self.serial_port} (DL/T 645, parity {self.parity}{timing})"
        return f"127.0.0.1:{self.port} (DL/T 645 over TCP{timing})"

    def update(self, dt_s: float) -> None:
        now = datetime.now(UTC)
        for m in self.meters.values():
            m.advance(now, dt_s)

    async def _client(self, reader: ByteReader, writer: ByteWriter) -> None:
        buffer = b""
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            while chunk := await reader.read(512):
                buffer += chunk
                while buffer:
                    try:
                        frame, used = take_frame(buffer)
                    except FrameError as err:
                        log.info("dlt645 simulator dropped a bad frame", error=str(err))
                        buffer = b""
                        break
                    if frame is None:
                        break
                    request, buffer = buffer[:used], buffer[used:]
                    reply = await self._exchange(frame, len(request))
                    if reply is not None:
                        writer.write(reply)
                        await writer.drain()
        except ConnectionError:
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()

    async def _exchange(self, frame: Frame, request_bytes: int) -> bytes | None:
        async with self._bus:
            started = time.monotonic()
            answer = await self._answer(frame)
            wire = encode_frame(answer, wake_up=self.wake_up) if answer is not None else None
            if self.baudrate:
                sent = request_bytes + (len(wire) if wire else 0)
                await asyncio.sleep(sent * BITS_PER_BYTE / self.baudrate)
            self.exchanges.append(
                Dlt645Exchange(frame.address, frame.control, started, time.monotonic())
            )
            return wire

    def _meter(self, pattern: str) -> Dlt645Meter | None:
        found = [
            m
            for address, m in self.meters.items()
            if all(p in "Aa" or p == a for p, a in zip(pattern, address, strict=True))
        ]
        return found[0] if len(found) == 1 else None  # two answers would collide on the bus

    async def _answer(self, frame: Frame) -> Frame | None:
        if frame.is_reply:
            return None
        if frame.function == Function.READ_ADDRESS:
            meter = self._meter(WILDCARD_ADDRESS) if frame.address == WILDCARD_ADDRESS else None
            return address_reply(meter.address) if meter is not None else None
        meter = self._meter(frame.address)
        if meter is None:
            return None
        fault = self.faults.get(meter.address)
        if fault is not None:
            return await self._faulty(meter, frame, fault)
        return self._normal(meter, frame)

    async def _faulty(self, meter: Dlt645Meter, frame: Frame, fault: Dlt645Fault) -> Frame | None:
        if fault.silent:
            return None
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.err is not None:
            return abnormal_reply(meter.address, frame.function, fault.err)
        return self._normal(meter, frame)

    def _normal(self, meter: Dlt645Meter, frame: Frame) -> Frame:
        if frame.function == Function.READ_DATA and len(frame.data) == 4:
            return self._read(meter, int.from_bytes(frame.data, "little"))
        if frame.function == Function.READ_FOLLOW_UP and len(frame.data) == 5:
            return self._follow_up(meter, int.from_bytes(frame.data[:4], "little"), frame.data[4])
        return abnormal_reply(meter.address, frame.function, ErrorReason.OTHER)

    def _read(self, meter: Dlt645Meter, di: int) -> Frame:
        self.requested[di] += 1
        try:
            payload = meter.payload(di)
        except NoSuchDataError:
            return abnormal_reply(meter.address, Function.READ_DATA, ErrorReason.NO_DATA)
        self.reads += 1
        room = self.max_data - 4
        if len(payload) <= room:
            return read_reply(meter.address, di, payload)
        # the rest waits for follow-up requests; each follow-up frame also carries SEQ
        step = room - 1
        self._pending[(meter.address, di)] = [
            payload[i : i + step] for i in range(room, len(payload), step)
        ]
        return read_reply(meter.address, di, payload[:room], more=True)

    def _follow_up(self, meter: Dlt645Meter, di: int, seq: int) -> Frame:
        chunks = self._pending.get((meter.address, di), [])
        if not 1 <= seq <= len(chunks):
            return abnormal_reply(meter.address, Function.READ_FOLLOW_UP, ErrorReason.NO_DATA)
        more = seq < len(chunks)
        if not more:
            self._pending.pop((meter.address, di))
        return follow_up_reply(meter.address, di, chunks[seq - 1], seq, more=more)

    async def serve(self, stop: asyncio.Event) -> None:
        if self.serial_port:
            # the rate configures the port; a pty ignores it (timing comes from ``baudrate``)
            reader, writer = await open_serial_streams(
                self.serial_port, self.baudrate or DEFAULT_SERIAL_RATE, self.parity
            )
            self._clients.add(asyncio.create_task(self._client(reader, writer)))
            server = None
        else:
            server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        try:
            self.ready.set()
            await update_until(stop, self.update_s, self.update)
        finally:
            self.ready.clear()
            if server is not None:
                server.close()
            clients = list(self._clients)
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
            if server is not None:
                await server.wait_closed()
