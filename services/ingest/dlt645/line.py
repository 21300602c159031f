"""One object owns each DL/T 645 line: a TCP connection to a serial server (a serial-to-Ethernet
converter in transparent mode, or a DTU the poller dials), a local serial port, or the connection
a DTU dialled in on (held by the DTU listener), with the RS-485 meters behind it.

An RS-485 bus carries one exchange at a time, so a lock holds the line from a request to the end
of its reply (and of every follow-up frame it announces). Failures become one typed
:class:`PollError`; the first failure of a line is logged loudly, repeats quietly, recovery once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from services.core.devices.dlt645.frame import Frame, FrameError, encode_frame, take_frame
from services.core.devices.dlt645.messages import (
    MeterError,
    ReplyError,
    address_request,
    follow_up_request,
    parse_address_reply,
    parse_read_reply,
    read_request,
)
from services.core.serial_streams import ByteReader, ByteWriter, open_serial_streams
from services.ingest.modbus.connection import FailureReason, LineHealth, PollError

MAX_FOLLOW_UPS = 255  # SEQ is one byte
T = TypeVar("T")


class DtuStreams(Protocol):
    """Where the connection of a DTU that dialled in is found (the DTU listener)."""

    def streams(self, dtu_id: str) -> tuple[ByteReader, ByteWriter]: ...


@dataclass(frozen=True, slots=True)
class Dlt645LineSettings:
    """A TCP serial server (``host``:``port``) or a local serial port (``serial_port`` at
    ``baudrate`` with ``parity``; DL/T 645 sends each byte with an even parity bit). ``gap_s`` is
    the silence kept between the end of one exchange and the next request (0 unless a converter
    needs one). ``dtu``: the meters are on the RS-485 port of the DTU ``dtu_id``, reached
    through the connection it dialled in on (found in ``dtus``)."""

    transport: str = "tcp"  # tcp | serial | dtu
    host: str = ""
    port: int = 0
    serial_port: str = ""
    baudrate: int = 0
    parity: str = "E"
    timeout_s: float = 1.0
    gap_s: float = 0.0
    wake_up: bool = True
    dtu_id: str = ""
    dtus: DtuStreams | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        if self.transport == "dtu":
            return f"dtu:{self.dtu_id}"
        if self.transport == "serial":
            return f"serial:{self.serial_port}"
        return f"dlt645-tcp:{self.host}:{self.port}"

    def open(self) -> Dlt645Line:
        return Dlt645Line(self)


class Dlt645Line:
    def __init__(self, settings: Dlt645LineSettings, *, log_failures: bool = True) -> None:
        self.settings = settings
        self._lock = asyncio.Lock()
        self._reader: ByteReader | None = None
        self._writer: ByteWriter | None = None
        self._health = LineHealth("dlt645", settings.key, quiet=not log_failures)
        self._last_exchange = 0.0

    async def request(self, block: Any, unit: Any) -> bytes:
        """The poller's entry point: ``block`` is a data identifier, ``unit`` the address."""
        return await self.read(str(unit), int(block))

    async def read(self, address: str, di: int) -> bytes:
        """The data of ``di`` from the meter at ``address``, follow-up frames joined; raises
        PollError (``permanent`` when the meter holds no such data)."""
        async with self._lock:
            return await self._guarded(self._read_frames(address, di))

    async def read_address(self) -> str:
        """The address of the one meter on the line (clause 7.4, sent to AAAAAAAAAAAA); two or
        more meters answer at once and garble each other, so commission one at a time."""
        async with self._lock:
            return await self._guarded(self._address_frames())

    async def _guarded(self, work: Coroutine[Any, Any, T]) -> T:
        """Run one exchange (the lock held): keep the gap, turn failures into PollError."""
        gap = self.settings.gap_s - (time.monotonic() - self._last_exchange)
        if gap > 0:
            await asyncio.sleep(gap)
        try:
            result = await work
        except PollError as err:
            self._health.failed(err)
            raise
        except MeterError as err:
            code = FailureReason.EXCEPTION_CODE
            raise PollError(code, str(err), err.err, permanent=err.no_data) from err
        except TimeoutError as err:
            raise self._failed(
                FailureReason.TIMEOUT, f"no answer within {self.settings.timeout_s}s"
            ) from err
        except OSError as err:
            raise self._failed(FailureReason.CONNECTION, f"{self.settings.key}: {err}") from err
        except (FrameError, ReplyError, ValueError) as err:
            raise self._failed(FailureReason.GARBAGE, str(err)) from err
        finally:
            self._last_exchange = time.monotonic()
        self._health.ok()
        return result

    def _failed(self, reason: FailureReason, detail: str) -> PollError:
        self._drop()  # a failed exchange may leave bytes in flight: start the next one clean
        err = PollError(reason, detail)
        self._health.failed(err)
        return err

    async def _read_frames(self, address: str, di: int) -> bytes:
        request = read_request(address, di)
        reply = parse_read_reply(await self._exchange(request), request)
        payload, seq = reply.payload, 0
        while reply.more:
            seq += 1
            if seq > MAX_FOLLOW_UPS:
                raise ReplyError(f"more than {MAX_FOLLOW_UPS} follow-up frames")
            request = follow_up_request(address, di, seq)
            reply = parse_read_reply(await self._exchange(request), request)
            if reply.seq != seq:
                raise ReplyError(f"follow-up frame {reply.seq} answered request {seq}")
            payload += reply.payload
        return payload

    async def _address_frames(self) -> str:
        return parse_address_reply(await self._exchange(address_request()))

    async def _exchange(self, request: Frame) -> Frame:
        reader, writer = await self._connection()
        writer.write(encode_frame(request, wake_up=self.settings.wake_up))
        buffer = b""
        async with asyncio.timeout(self.settings.timeout_s):
            await writer.drain()
            while True:
                frame, used = take_frame(buffer)
                if frame is not None and self._stale(request, frame):
                    buffer = buffer[used:]  # a late reply to an exchange that timed out
                    continue
                if frame is not None:
                    return frame  # a meter sends one reply per request
                chunk = await reader.read(512)
                if not chunk:
                    raise ConnectionResetError("the serial server closed the connection")
                buffer += chunk

    def _stale(self, request: Frame, frame: Frame) -> bool:
        """A DTU's connection outlives a failed exchange (it is the DTU's, not the line's), so a
        reply that comes too late arrives at the next exchange: it names another meter or
        function."""
        if self.settings.transport != "dtu":
            return False
        wildcard = "A" in request.address
        return frame.function != request.function or (
            not wildcard and frame.address != request.address
        )

    async def _connection(self) -> tuple[ByteReader, ByteWriter]:
        s = self.settings
        if s.transport == "dtu":
            if s.dtus is None:
                raise ConnectionRefusedError("no DTU listener in this process")
            # asked at every exchange: a DTU that dialled in again is used at once
            self._reader, self._writer = s.dtus.streams(s.dtu_id)
            return self._reader, self._writer
        if self._reader is None or self._writer is None or self._writer.is_closing():
            async with asyncio.timeout(s.timeout_s * 2):
                if s.transport == "serial":
                    self._reader, self._writer = await open_serial_streams(
                        s.serial_port, s.baudrate, s.parity
                    )
                else:
                    self._reader, self._writer = await asyncio.open_connection(s.host, s.port)
        return self._reader, self._writer

    def _drop(self) -> None:
        # a DTU's connection is its own: the DTU listener closes it when the DTU dials again
        if self._writer is not None and self.settings.transport != "dtu":
            self._writer.close()
        self._reader = self._writer = None

    def close(self) -> None:
        self._drop()
