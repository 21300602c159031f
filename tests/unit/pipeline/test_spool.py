from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.core.pipeline.model import InboundMessage
from services.core.pipeline.spool import Spool


def test_spooled_messages_read_back_identically_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    at = datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC)
    batches = [
        [
            InboundMessage(
                "mqtt", f"r/v1/E/g/readings{i}", "E", "g", bytes([i]) * i, at, dup=i % 2 == 0
            )
            for i in range(5)
        ],
        [InboundMessage("modbus", None, "E", None, b"\x00\xff{}", at)],
    ]
    for b in batches:
        spool.append(b)
    segments = spool.segments()
    assert len(segments) == 2
    assert [list(Spool.read(s)) for s in segments] == batches
    assert spool.size_bytes() > 0
    Spool.remove(segments[0])
    assert spool.segments() == segments[1:]


def test_an_unfinished_segment_is_discarded_on_start(tmp_path: Path) -> None:
    (tmp_path / "x.tmp").write_bytes(b"torn")
    spool = Spool(tmp_path, max_bytes=1 << 20)
    assert spool.is_empty()
    assert not (tmp_path / "x.tmp").exists()


def test_the_spool_reports_full_at_its_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    at = datetime(2026, 11, 23, tzinfo=UTC)
    spool.append([InboundMessage("mqtt", "t", "E", "g", b"x" * (1 << 20), at)])
    assert not spool.has_room()
