"""The one writer: a validated batch goes to PostgreSQL in one transaction.

Readings are staged with binary ``COPY`` into a temporary table and moved with
``INSERT ... ON CONFLICT DO NOTHING``, so a re-delivered reading adds nothing; dead letters are
keyed by a fingerprint for the same reason. Gateway last-seen and sequence accounting ride in the
same transaction, so a batch is either entirely stored or not at all.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import psycopg

from services.core.errors import StorageRejectedError, StorageUnavailableError
from services.core.pipeline.model import Batch, DeadLetter
from services.core.settings import DatabaseSettings

_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS stage_readings (
    point_id integer, ts timestamptz, value double precision,
    received_at timestamptz, source smallint
) ON COMMIT DELETE ROWS
"""

# New readings, and for each point the time range they cover: the accounting recomputes exactly
# the buckets those ranges touch (duplicates change nothing, so they mark nothing).
_INSERT_READINGS = """
WITH inserted AS (
    INSERT INTO readings (point_id, ts, value, received_at, source)
    SELECT point_id, ts, value, received_at, source FROM stage_readings
    ON CONFLICT DO NOTHING
    RETURNING point_id, ts
), dirty AS (
    INSERT INTO rollup_dirty (point_id, from_ts, to_ts)
    SELECT point_id, min(ts), max(ts) FROM inserted GROUP BY point_id
)
SELECT count(*) FROM inserted
"""

_INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (received_at, source, topic, enterprise_code, gateway_code,
                          reading_index, reason, detail, payload, payload_size, fingerprint)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (fingerprint) DO NOTHING
"""

# Sequence accounting per gateway: `seq_first..last_seq` is the range seen since the gateway's
# counter (re)started and `seq_received` the messages seen in it; missing = range - received.
# A max far below the last seq means the gateway restarted its counter: start a new range.
_GATEWAY_ACTIVITY = """
UPDATE gateways AS g SET
    last_seen_at = GREATEST(g.last_seen_at, v.seen),
    seq_first = CASE WHEN v.max_seq IS NULL THEN g.seq_first
                     WHEN g.last_seq IS NULL OR v.max_seq + 1000 < g.last_seq THEN v.min_seq
                     ELSE LEAST(g.seq_first, v.min_seq) END,
    seq_received = CASE WHEN v.max_seq IS NULL THEN g.seq_received
                        WHEN g.last_seq IS NULL OR v.max_seq + 1000 < g.last_seq THEN v.n
                        ELSE g.seq_received + v.n END,
    last_seq = CASE WHEN v.max_seq IS NULL THEN g.last_seq
                    WHEN g.last_seq IS NULL OR v.max_seq + 1000 < g.last_seq THEN v.max_seq
                    ELSE GREATEST(g.last_seq, v.max_seq) END
FROM unnest(%s::int[], %s::timestamptz[], %s::bigint[], %s::bigint[], %s::bigint[])
     AS v(id, seen, min_seq, max_seq, n)
WHERE g.id = v.id
RETURNING g.id, GREATEST(g.last_seq - g.seq_first + 1 - g.seq_received, 0)
"""

_GATEWAY_STATUS = """
UPDATE gateways SET status = %s, status_at = %s
WHERE id = %s AND (status_at IS NULL OR status_at <= %s)
"""


def fingerprint(dl: DeadLetter) -> bytes:
    """Identity of a dead letter: the same rejected thing delivered twice is stored once."""
    h = hashlib.sha256()
    for part in (
        dl.source,
        dl.topic or "",
        dl.enterprise_code or "",
        dl.gateway_code or "",
        str(dl.reading_index),
        dl.reason.value,
    ):
        h.update(part.encode())
        h.update(b"\0")
    h.update(dl.payload)
    # Content only, not the time of receipt: an HTTP client's retry is as much a duplicate
    # delivery as an MQTT redelivery. Readings carry their own timestamps, so new data differs.
    return h.digest()


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int
    duplicates: int
    dead_letters: int
    seconds: float
    sequence_gaps: dict[int, int]


class ReadingWriter:
    """Owns one database connection and writes batches through it; reconnects on demand."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self._settings = settings
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._settings.libpq_url,
                connect_timeout=max(1, int(self._settings.connect_timeout_s)),
                application_name="energymon-writer",
            )
            with self._conn.cursor() as cur:
                cur.execute(_STAGE)
            self._conn.commit()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def write(self, batch: Batch) -> WriteResult:
        """Store ``batch`` in one transaction; raises StorageUnavailableError if it could not."""
        start = time.perf_counter()
        try:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                inserted = 0
                if batch.rows:
                    with cur.copy(
                        "COPY stage_readings (point_id, ts, value, received_at, source) "
                        "FROM STDIN (FORMAT BINARY)"
                    ) as copy:
                        copy.set_types(["int4", "timestamptz", "float8", "timestamptz", "int2"])
                        for row in batch.rows:
                            copy.write_row(row)
                    cur.execute(_INSERT_READINGS)
                    counted = cur.fetchone()
                    inserted = int(counted[0]) if counted else 0  # type: ignore[call-overload]
                if batch.dead_letters:
                    cur.executemany(
                        _INSERT_DEAD_LETTER,
                        [
                            (
                                d.received_at,
                                d.source,
                                d.topic,
                                d.enterprise_code,
                                d.gateway_code,
                                d.reading_index,
                                d.reason.value,
                                d.detail,
                                d.payload,
                                d.payload_size,
                                fingerprint(d),
                            )
                            for d in batch.dead_letters
                        ],
                    )
                gaps: dict[int, int] = {}
                if batch.gateways:
                    acts = sorted(batch.gateways.values(), key=lambda a: a.gateway_id)
                    cur.execute(
                        _GATEWAY_ACTIVITY,
                        (
                            [a.gateway_id for a in acts],
                            [a.last_seen for a in acts],
                            [a.min_seq for a in acts],
                            [a.max_seq for a in acts],
                            [a.messages_with_seq for a in acts],
                        ),
                    )
                    gaps = {int(gid): int(n) for gid, n in cur.fetchall()}  # type: ignore[call-overload]
                for gateway_id, status, at in batch.statuses:
                    cur.execute(_GATEWAY_STATUS, (status, at, gateway_id, at))
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            self.close()
            raise StorageUnavailableError(f"database write failed: {err}") from err
        except psycopg.Error as err:
            raise StorageRejectedError(f"database rejected the batch: {err}") from err
        return WriteResult(
            inserted=inserted,
            duplicates=len(batch.rows) - inserted,
            dead_letters=len(batch.dead_letters),
            seconds=time.perf_counter() - start,
            sequence_gaps=gaps,
        )

    def ping(self) -> bool:
        try:
            conn = self._connection()
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.rollback()
        except psycopg.Error:
            self.close()
            return False
        return True
