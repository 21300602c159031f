"""ReadingWriter: one transaction per batch, idempotent, recording what the rollups must redo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from services.core.errors import StorageRejectedError
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings

T0 = datetime(2026, 11, 20, tzinfo=UTC)
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _dirty(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT point_id, from_ts, to_ts FROM rollup_dirty ORDER BY id"
        ).fetchall()


def test_new_readings_mark_their_time_range_per_point_and_duplicates_mark_nothing(
    db_settings: DatabaseSettings,
) -> None:
    writer = ReadingWriter(db_settings)
    rows = [(p, T0 + timedelta(minutes=15 * i), float(i), NOW, 1) for p in (1, 2) for i in range(4)]
    first = writer.write(Batch(rows=rows))
    assert (first.inserted, first.duplicates) == (8, 0)
    assert sorted(_dirty(db_settings)) == [
        (1, T0, T0 + timedelta(minutes=45)),
        (2, T0, T0 + timedelta(minutes=45)),
    ]
    late = T0 - timedelta(days=3)
    again = writer.write(Batch(rows=[*rows, (1, late, 5.0, NOW, 1)]))
    assert (again.inserted, again.duplicates) == (1, 8)
    assert sorted(_dirty(db_settings))[1:] == [
        (1, T0, T0 + timedelta(minutes=45)),
        (2, T0, T0 + timedelta(minutes=45)),
    ]
    assert (1, late, late) in _dirty(db_settings)
    assert len(_dirty(db_settings)) == 3
    writer.close()


def test_a_failed_batch_leaves_nothing_behind(db_settings: DatabaseSettings) -> None:
    writer = ReadingWriter(db_settings)
    bad = Batch(rows=[(1, T0, 1.0, NOW, 1), (1, None, 2.0, NOW, 1)])  # type: ignore[list-item]
    with pytest.raises(StorageRejectedError, match="null value"):
        writer.write(bad)
    with psycopg.connect(db_settings.libpq_url) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM rollup_dirty").fetchone() == (0,)
    writer.close()


def test_a_key_twice_in_one_batch_with_two_values_stores_one_and_records_the_other(
    db_settings: DatabaseSettings,
) -> None:
    writer = ReadingWriter(db_settings)
    result = writer.write(Batch(rows=[(1, T0, 1.0, NOW, 1), (1, T0, 2.0, NOW, 2)]))
    assert (result.inserted, result.duplicates, result.conflicts) == (1, 1, 1)
    with psycopg.connect(db_settings.libpq_url) as conn:
        [(stored,)] = conn.execute("SELECT value FROM readings").fetchall()
        recorded = conn.execute("SELECT first_value, new_value FROM reading_conflicts").fetchall()
    assert recorded == [(stored, 3.0 - stored)]
    writer.close()
