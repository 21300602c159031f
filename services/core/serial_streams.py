"""A serial port (an RS-485 adapter, or one end of a pseudo-terminal pair) read and written from
an event loop, with the reader/writer methods a protocol over TCP uses.

pyserial sets the line up (rate, parity, raw mode); the loop then watches the descriptor with
``add_reader``/``add_writer`` and reads only what is there. Pipe transports are not used: a raw
tty read with no bytes waiting returns nothing, which uvloop's pipe transport takes for the end of
the stream.
"""

from __future__ import annotations

import asyncio
import os
from typing import Protocol

import serial

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class ByteReader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class ByteWriter(Protocol):
    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...

    def is_closing(self) -> bool: ...


class SerialStream:
    """Both ends of one open serial port: ``read`` waits for bytes, ``write`` queues them and
    ``drain`` sends them; ``read`` returns b"" once the port is closed or hung up."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = b""
        self._closed = False
        os.set_blocking(fd, False)

    async def read(self, n: int = -1) -> bytes:
        size = n if n > 0 else 4096
        waited = False
        while not self._closed:
            try:
                data: bytes | None = os.read(self._fd, size)
            except BlockingIOError:
                data = None
            except OSError:  # EIO: the other end of a pty went away
                return b""
            if data or (data == b"" and waited):
                return data  # bytes, or nothing although readable: hung up
            # a raw tty answers "no bytes" when none wait (pyserial sets VMIN 0): wait for some
            await self._ready(writing=False)
            waited = True
        return b""

    def write(self, data: bytes) -> None:
        self._pending += data

    async def drain(self) -> None:
        while self._pending and not self._closed:
            try:
                sent = os.write(self._fd, self._pending)
            except BlockingIOError:
                await self._ready(writing=True)
                continue
            self._pending = self._pending[sent:]

    async def _ready(self, *, writing: bool) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        if writing:
            loop.add_writer(self._fd, wake)
        else:
            loop.add_reader(self._fd, wake)
        try:
            await ready
        finally:
            if writing:
                loop.remove_writer(self._fd)
            else:
                loop.remove_reader(self._fd)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._fd)

    def is_closing(self) -> bool:
        return self._closed


async def open_serial_streams(
    port: str, baudrate: int, parity: str
) -> tuple[SerialStream, SerialStream]:
    """Reader and writer (one object) on ``port`` at ``baudrate`` with ``parity`` (N, E or O), 8
    data bits and one stop bit. Raises OSError when the port cannot be opened."""
    if parity not in PARITIES:
        raise ValueError(f"parity {parity!r} is not one of {', '.join(PARITIES)}")
    try:
        line = serial.Serial(port, baudrate=baudrate, parity=PARITIES[parity], timeout=0)
    except serial.SerialException as err:
        raise OSError(f"cannot open {port}: {err}") from err
    try:
        stream = SerialStream(os.dup(line.fileno()))
    finally:
        line.close()  # the duplicated descriptor keeps the port open and configured
    return stream, stream
