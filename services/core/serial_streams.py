"""A serial port (an RS-485 adapter, or one end of a pseudo-terminal pair) as asyncio streams.

pyserial sets the line up (rate, parity, raw mode); the event loop then reads and writes the
port's file descriptor like a pipe, so a protocol on a serial line is written exactly as over TCP.
"""

from __future__ import annotations

import asyncio
import os

import serial

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


async def open_serial_streams(
    port: str, baudrate: int, parity: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Reader and writer on ``port`` at ``baudrate`` with ``parity`` (N, E or O), 8 data bits and
    one stop bit. Closing the writer closes the port. Raises OSError when it cannot be opened."""
    if parity not in PARITIES:
        raise ValueError(f"parity {parity!r} is not one of {', '.join(PARITIES)}")
    try:
        line = serial.Serial(port, baudrate=baudrate, parity=PARITIES[parity], timeout=0)
    except serial.SerialException as err:
        raise OSError(f"cannot open {port}: {err}") from err
    loop = asyncio.get_running_loop()
    try:
        reader = asyncio.StreamReader()
        read_end = os.fdopen(os.dup(line.fileno()), "rb", buffering=0)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_end)
        write_end = os.fdopen(os.dup(line.fileno()), "wb", buffering=0)
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()), write_end
        )
    finally:
        line.close()  # the duplicated descriptors keep the port open and configured
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)
