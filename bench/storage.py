"""What a benchmark's tables take on disk, per row and per point-year.

Sizes are ``pg_relation_size`` (heap, with its TOAST and free-space maps in the total),
``pg_indexes_size`` and ``pg_total_relation_size``; rows are counted exactly. A point-year is the
rows one point adds in a year at the table's cadence: 86,400 x 365.25 / interval readings, 35,064
fifteen-minute buckets, 365.25 days. Run after VACUUM so that dead rows do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

YEAR_S = 86_400 * 365.25


@dataclass(frozen=True, slots=True)
class TableSize:
    table: str
    rows: int
    heap_bytes: int
    index_bytes: int
    total_bytes: int
    rows_per_point_year: float

    @property
    def bytes_per_row(self) -> float:
        return self.total_bytes / self.rows if self.rows else 0.0

    @property
    def mb_per_point_year(self) -> float:
        return self.bytes_per_row * self.rows_per_point_year / 1e6


def measure(
    conn: psycopg.Connection[tuple[Any, ...]], cadences: dict[str, float]
) -> list[TableSize]:
    """Sizes of each table in ``cadences`` (table name -> rows per point-year)."""
    out = []
    for table, per_year in cadences.items():
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        counted = rows.fetchone()
        sizes = conn.execute(
            "SELECT pg_relation_size(%(t)s::regclass), pg_indexes_size(%(t)s::regclass),"
            " pg_total_relation_size(%(t)s::regclass)",
            {"t": table},
        ).fetchone()
        assert counted is not None
        assert sizes is not None
        out.append(TableSize(table, int(counted[0]), *(int(s) for s in sizes), per_year))
    return out


def cadences(reading_interval_s: int | None) -> dict[str, float]:
    """Rows per point-year of the tables that grow with time (readings only when given)."""
    rows = {"consumption_15m": YEAR_S / 900, "consumption_1d": YEAR_S / 86_400}
    if reading_interval_s is not None:
        return {"readings": YEAR_S / reading_interval_s, **rows}
    return rows


def print_sizes(sizes: list[TableSize]) -> None:
    print("storage (VACUUMed; bytes per row x rows per point-year):")
    for s in sizes:
        print(
            f"  {s.table:<16} {s.rows:>13,} rows  heap {s.heap_bytes / 1e9:7.3f} GB  indexes "
            f"{s.index_bytes / 1e9:7.3f} GB  total {s.total_bytes / 1e9:7.3f} GB  "
            f"{s.bytes_per_row:6.1f} B/row  {s.rows_per_point_year:9,.0f} rows/point-year  "
            f"{s.mb_per_point_year:7.3f} MB/point-year"
        )
