"""A simulated 4G DTU: dials the platform's DTU listener, sends its registration packet and then a
heartbeat every ``heartbeat_s``, and passes bytes both ways between that connection and an RS-485
line (the TCP port of a :class:`~simulators.meters.dlt645_server.Dlt645Server`, meters behind it).

Its packets follow the shipped generic DTU models (``services/core/devices/dtu_models``). For the
tests: ``heartbeat_in_replies`` puts a heartbeat in the middle of every reply; ``silent`` stops
everything (the connection stays open: a DTU whose radio link died unnoticed); :meth:`redial`
dials again without closing the old connection; a connection the platform closes is redialled.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from simulators.meters.dlt645_server import Dlt645Server


def packets(model: str, dtu_id: str) -> tuple[bytes, bytes]:
    """The registration and heartbeat packets of a shipped generic model for ``dtu_id``."""
    if model == "generic-ascii":
        return f"REG:{dtu_id}\r\n".encode("ascii"), f"HB:{dtu_id}\r\n".encode("ascii")
    if model == "generic-hex":
        raw = bytes.fromhex(dtu_id)
        if len(raw) != 8:
            raise ValueError(f"a generic-hex DTU id is 16 hex digits: {dtu_id!r}")
        return b"\x7eR" + raw, b"\x7eH" + raw
    raise ValueError(f"no simulated packets for DTU model {model!r}")


class SimulatedDtu:
    def __init__(
        self,
        dtu_id: str,
        platform_port: int,
        line_port: int,
        *,
        model: str = "generic-ascii",
        heartbeat_s: float = 1.0,
        redial_s: float = 0.2,
        host: str = "127.0.0.1",
    ) -> None:
        self.dtu_id = dtu_id
        self.platform_port = platform_port
        self.line_port = line_port
        self.host = host
        self.registration, self.heartbeat = packets(model, dtu_id)
        self.heartbeat_s = heartbeat_s
        self.redial_s = redial_s
        self.heartbeat_in_replies = False
        self.silent = False
        self.dials = 0  # connections opened to the platform
        self.closed_by_platform = 0
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._redial: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"DTU {self.dtu_id} dialling 127.0.0.1:{self.platform_port}"

    def redial(self) -> None:
        """Dial again now, leaving the current connection open (from any thread)."""
        if self._loop is not None and self._redial is not None:
            self._loop.call_soon_threadsafe(self._redial.set)

    async def serve(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._redial = asyncio.Event()
        try:
            while not stop.is_set():
                self._redial.clear()
                session = asyncio.create_task(self._session())
                self._tasks.add(session)
                session.add_done_callback(self._tasks.discard)
                waits = [asyncio.create_task(e.wait()) for e in (stop, self._redial)]
                done, _ = await asyncio.wait([session, *waits], return_when="FIRST_COMPLETED")
                for w in waits:
                    w.cancel()
                if session in done and not stop.is_set():
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.redial_s)
        finally:
            self.ready.clear()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _session(self) -> None:
        try:
            platform_r, platform_w = await asyncio.open_connection(self.host, self.platform_port)
        except OSError:
            return
        self.dials += 1
        try:
            line_r, line_w = await asyncio.open_connection("127.0.0.1", self.line_port)
        except OSError:
            platform_w.close()
            return
        platform_w.write(self.registration)
        await platform_w.drain()
        self.ready.set()
        pumps = [
            asyncio.create_task(self._downstream(platform_r, line_w)),
            asyncio.create_task(self._upstream(line_r, platform_w)),
            asyncio.create_task(self._beat(platform_w)),
        ]
        try:
            await pumps[0]  # ends when the platform closes the connection
            self.closed_by_platform += 1
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            platform_w.close()
            line_w.close()

    async def _downstream(self, platform: asyncio.StreamReader, line: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await platform.read(512):
                if not self.silent:
                    line.write(chunk)
                    await line.drain()

    async def _upstream(self, line: asyncio.StreamReader, platform: asyncio.StreamWriter) -> None:
        while chunk := await line.read(512):
            if self.silent:
                continue
            if self.heartbeat_in_replies and len(chunk) > 1:
                half = len(chunk) // 2
                for part in (chunk[:half], self.heartbeat, chunk[half:]):
                    platform.write(part)
                    await platform.drain()
                    await asyncio.sleep(0.01)  # separate packets, as a DTU sends them
            else:
                platform.write(chunk)
                await platform.drain()

    async def _beat(self, platform: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            if not self.silent:
                platform.write(self.heartbeat)
                await platform.drain()


class MetersBehindDtu:
    """A line of simulated meters and the DTU bridging to it, served together (the CLI's
    ``--dtu-dial``): the DTU redials until the line listens."""

    def __init__(self, line: Dlt645Server, dtu: SimulatedDtu) -> None:
        self.line = line
        self.dtu = dtu
        self.ready = line.ready

    @property
    def address(self) -> str:
        return f"{self.line.address}, behind {self.dtu.address}"

    async def serve(self, stop: asyncio.Event) -> None:
        await asyncio.gather(self.line.serve(stop), self.dtu.serve(stop))
