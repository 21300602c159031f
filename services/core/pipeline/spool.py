"""A durable local spool for messages that could not be written to the database.

While the database is unreachable, ingest appends each batch's raw messages to a segment file,
fsyncs it (and its directory), and only then acknowledges the messages to the broker. Segments are
drained oldest first through the normal validation and write path once the database is back, and
deleted only after their transaction commits; replaying a segment twice is harmless because every
write is idempotent. The spool is bounded in bytes: when full, ingest stops acknowledging and the
broker keeps the rest.

Segment format: a sequence of frames ``<u32 header length><header JSON><u32 payload length>
<payload>``; the header holds source, topic, enterprise, gateway, received_at and dup.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

from services.core.errors import EnergymonError
from services.core.pipeline.model import InboundMessage
from services.core.pipeline.reading import encode_readings

_LEN = struct.Struct("<I")
_SUFFIX = ".seg"


class SpoolCorruptError(EnergymonError):
    """A segment could not be decoded (a torn write is impossible: segments are renamed in)."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        super().__init__(f"spool segment {path} is corrupt: {detail}")


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("*.tmp"):
            leftover.unlink()  # never renamed in: its messages were never acknowledged
        self._counter = 0

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob(f"*{_SUFFIX}"))

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.segments())

    def is_empty(self) -> bool:
        return not self.segments()

    def has_room(self) -> bool:
        return self.size_bytes() < self.max_bytes

    def append(self, messages: Iterable[InboundMessage]) -> Path:
        """Write one segment durably; when this returns, the messages may be acknowledged."""
        self._counter += 1
        name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}-{self._counter:08d}"
        tmp = self.directory / f"{name}.tmp"
        final = self.directory / f"{name}{_SUFFIX}"
        with tmp.open("wb") as fh:
            for msg in messages:
                # typed readings (Modbus) are kept as the JSON a gateway would have sent
                payload = msg.payload if msg.readings is None else encode_readings(msg.readings)
                header = orjson.dumps(
                    {
                        "source": msg.source,
                        "topic": msg.topic,
                        "enterprise": msg.enterprise_code,
                        "gateway": msg.gateway_code,
                        "received_at": msg.received_at.isoformat(),
                        "dup": msg.dup,
                    }
                )
                fh.write(_LEN.pack(len(header)))
                fh.write(header)
                fh.write(_LEN.pack(len(payload)))
                fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.rename(final)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return final

    @staticmethod
    def read(path: Path) -> Iterator[InboundMessage]:
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            try:
                (hlen,) = _LEN.unpack_from(data, pos)
                header = orjson.loads(data[pos + 4 : pos + 4 + hlen])
                pos += 4 + hlen
                (plen,) = _LEN.unpack_from(data, pos)
                payload = data[pos + 4 : pos + 4 + plen]
                pos += 4 + plen
            except (struct.error, orjson.JSONDecodeError) as err:
                raise SpoolCorruptError(path, str(err)) from err
            yield InboundMessage(
                source=header["source"],
                topic=header["topic"],
                enterprise_code=header["enterprise"],
                gateway_code=header["gateway"],
                payload=payload,
                received_at=datetime.fromisoformat(header["received_at"]),
                dup=header["dup"],
            )

    @staticmethod
    def remove(path: Path) -> None:
        path.unlink(missing_ok=True)

    @staticmethod
    def quarantine(path: Path) -> Path:
        """Set an unreadable segment aside (``*.corrupt``, kept for the operator) so that the
        rest of the spool drains."""
        target = path.with_suffix(".corrupt")
        path.rename(target)
        return target
