"""A real pymodbus TCP server on loopback, run in its own thread and event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusTcpServer

from tests.support.services import free_port, port_open, wait_for


def device(holding: list[int]) -> ModbusDeviceContext:
    # pymodbus blocks are 1-based: block address 1 serves protocol address 0
    return ModbusDeviceContext(
        hr=ModbusSequentialDataBlock(1, holding), ir=ModbusSequentialDataBlock(1, holding)
    )


@contextmanager
def modbus_server(
    devices: dict[int, ModbusDeviceContext], port: int | None = None
) -> Iterator[tuple[int, ModbusServerContext]]:
    port = port or free_port()
    context = ModbusServerContext(devices=devices, single=False)
    loop = asyncio.new_event_loop()
    server: list[ModbusTcpServer] = []

    async def main() -> None:
        srv = ModbusTcpServer(context, address=("127.0.0.1", port))
        server.append(srv)
        await srv.serve_forever()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    wait_for(lambda: port_open("127.0.0.1", port), 10, "the Modbus server")
    try:
        yield port, context
    finally:
        asyncio.run_coroutine_threadsafe(server[0].shutdown(), loop).result(10)
        thread.join(10)
