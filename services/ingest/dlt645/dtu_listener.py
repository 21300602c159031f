"""The TCP server 4G DTUs dial into: each connection is identified by its registration packet
(per DTU model, :mod:`services.core.devices.dtu`) and then carries the DL/T 645 exchanges of the
meters on that DTU's RS-485 port, the DTU's heartbeats filtered out of what it sends.

A DTU the registry does not name is refused (connection closed, counted, its id logged); a DTU
that registers again replaces its older connection, which is closed. The lines of
:mod:`services.ingest.dlt645.line` ask :meth:`DtuListener.streams` for the current connection at
every exchange, so a reconnected DTU is used at once and an absent one fails as a dead serial
server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.core.devices.dtu import DtuModel
from services.core.logging import get_logger

log = get_logger(__name__)
MAX_REGISTRATION_BYTES = 512  # more than this without a registration: not a DTU we know
MAX_REFUSED_IDS = 1024  # unknown ids remembered to log once each (then every refusal is quiet)


class DtuMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registrations = Counter(
            "energymon_ingest_dtu_registrations_total",
            "DTU connections accepted after their registration packet.",
            registry=registry,
        )
        self.refused = Counter(
            "energymon_ingest_dtu_refused_total",
            "DTU connections refused: unknown (an id the registry does not name) or "
            "unrecognised (no model's registration packet within the registration timeout).",
            ["reason"],
            registry=registry,
        )
        self.heartbeats = Counter(
            "energymon_ingest_dtu_heartbeats_total",
            "Heartbeat packets filtered out of DTU connections.",
            registry=registry,
        )
        self.connected = Gauge(
            "energymon_ingest_dtu_connected", "DTUs connected and registered.", registry=registry
        )


class DtuConnection:
    """One registered DTU's connection: ``read`` returns what the DTU sent, heartbeats removed."""

    def __init__(
        self,
        dtu_id: str,
        model: DtuModel,
        *,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        leftover: bytes,
        metrics: DtuMetrics,
    ) -> None:
        self.dtu_id = dtu_id
        self.model = model
        self._reader = reader
        self._writer = writer
        self._leftover = leftover
        self._metrics = metrics
        self.last_heard = time.monotonic()

    async def read(self, n: int = -1) -> bytes:
        while True:
            chunk, self._leftover = self._leftover or await self._reader.read(n), b""
            if not chunk:
                self._writer.close()  # the DTU hung up: not connected any more
                return b""
            self.last_heard = time.monotonic()
            # a DTU sends each heartbeat as one packet, so it arrives whole, also in mid-reply
            data, beats = self.model.strip_heartbeats(chunk)
            if beats:
                self._metrics.heartbeats.inc(beats)
            if data:
                return data

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()

    def is_closing(self) -> bool:
        return self._writer.is_closing()


class DtuListener:
    def __init__(
        self,
        host: str,
        port: int,
        models: Sequence[DtuModel],
        is_known: Callable[[str], bool],
        metrics: DtuMetrics,
        *,
        registration_timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self._models = list(models)
        self._is_known = is_known
        self._metrics = metrics
        self._registration_timeout_s = registration_timeout_s
        self._connections: dict[str, DtuConnection] = {}
        self._refused: set[str] = set()
        self._server: asyncio.Server | None = None
        metrics.connected.set_function(lambda: len(self.connected()))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("dtu listener started", host=self.host, port=self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections.values()):
            conn.close()
        self._connections.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def streams(self, dtu_id: str) -> tuple[DtuConnection, DtuConnection]:
        """The reader and writer (one object) of ``dtu_id``'s current connection; OSError when
        that DTU is not connected."""
        conn = self._connections.get(dtu_id)
        if conn is None or conn.is_closing():
            raise ConnectionRefusedError(f"DTU {dtu_id} is not connected")
        return conn, conn

    def connected(self) -> list[str]:
        return sorted(i for i, c in self._connections.items() if not c.is_closing())

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            async with asyncio.timeout(self._registration_timeout_s):
                found = await self._registration(reader)
        except (TimeoutError, OSError):
            found = None
        if found is None:
            self._metrics.refused.labels("unrecognised").inc()
            log.warning("dtu refused: no registration packet recognised", peer=str(peer))
            writer.close()
            return
        dtu_id, model, leftover = found
        if not self._is_known(dtu_id):
            self._metrics.refused.labels("unknown").inc()
            # a refused DTU redials at once: its id is logged loudly once, then quietly
            if dtu_id not in self._refused and len(self._refused) < MAX_REFUSED_IDS:
                self._refused.add(dtu_id)
                log.warning("dtu refused: not in the registry", dtu_id=dtu_id, peer=str(peer))
            else:
                log.debug("dtu refused: not in the registry", dtu_id=dtu_id, peer=str(peer))
            writer.close()
            return
        self._refused.discard(dtu_id)
        old = self._connections.get(dtu_id)
        if old is not None:
            old.close()  # the DTU dialled again: its old connection is dead or dying
        self._connections[dtu_id] = DtuConnection(
            dtu_id, model, reader=reader, writer=writer, leftover=leftover, metrics=self._metrics
        )
        self._metrics.registrations.inc()
        log.info(
            "dtu registered",
            dtu_id=dtu_id,
            model=model.model,
            peer=str(peer),
            replaced=old is not None,
        )

    async def _registration(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, DtuModel, bytes] | None:
        received = b""
        while len(received) < MAX_REGISTRATION_BYTES:
            chunk = await reader.read(MAX_REGISTRATION_BYTES)
            if not chunk:
                return None
            received += chunk
            for model in self._models:
                found = model.identify(received)
                if found is not None:
                    dtu_id, used = found
                    return dtu_id, model, received[used:]
        return None
