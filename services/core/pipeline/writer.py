"""The one writer: a validated batch goes to PostgreSQL in one transaction.

Readings are staged with binary ``COPY`` into a temporary table and moved with
``INSERT ... ON CONFLICT DO NOTHING``, so a re-delivered reading adds nothing. A reading re-sent
with another value than the stored one keeps the first value and is recorded in
``reading_conflicts`` for audit (looked for only when a batch held already-stored readings, so
the common batch pays nothing for it). Dead letters are keyed by a fingerprint for the same
reason. Gateway last-seen and sequence accounting ride in the
same transaction, so a batch is either entirely stored or not at all.

This is raw psycopg, not SQLAlchemy Core like ``services/core/store``: binary ``COPY`` (which Core
cannot express) and array-parameter statements are what make the one write path for readings
fast, and this module is that path's only SQL.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg

from services.core.domain.sequence import SeqGap, SeqState, advance
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

# Staged readings whose point and time are stored with another value: the stored one was first
# (this runs after the insert, so a batch holding one key twice records its second value too).
# The LATERAL ... LIMIT 1 keeps it to one primary-key lookup per staged row: as a plain join the
# planner, knowing nothing of the temporary stage, would hash the whole readings table.
# The unique key on (point, ts, new value) keeps a redelivered conflicting re-send to one row.
_RECORD_CONFLICTS = """
INSERT INTO reading_conflicts (point_id, ts, first_value, new_value, source, received_at,
                               first_received_at, gateway_id)
SELECT s.point_id, s.ts, r.value, s.value, s.source, s.received_at, r.received_at,
       (SELECT m.gateway_id FROM points p JOIN meters m ON m.id = p.meter_id
        WHERE p.id = s.point_id)
FROM stage_readings s
CROSS JOIN LATERAL (
    SELECT value, received_at FROM readings
    WHERE readings.point_id = s.point_id AND readings.ts = s.ts LIMIT 1
) r
WHERE r.value <> s.value
ON CONFLICT (point_id, ts, new_value) DO NOTHING
"""

_INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (received_at, source, topic, enterprise_code, gateway_code,
                          reading_index, reason, detail, payload, payload_size, fingerprint)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (fingerprint) DO NOTHING
"""

# Gateway activity: last seen, and the message counter (services/core/domain/sequence.py). The
# gateways' rows are locked first, in id order, so that two writers (replicas during a partition
# hand-over, HTTP ingest) never interleave their sequence accounting for one gateway.
_LOCK_GATEWAYS = """
SELECT id, last_seq, seq_epoch FROM gateways WHERE id = ANY(%s) ORDER BY id FOR UPDATE
"""
_OPEN_GAPS = """
SELECT g.gateway_id, g.first_seq, g.last_seq, g.opened_at, g.resend_requests, g.last_request_at
FROM gateway_seq_gaps g JOIN gateways w ON w.id = g.gateway_id AND w.seq_epoch = g.epoch
WHERE g.gateway_id = ANY(%s)
ORDER BY g.gateway_id, g.first_seq
"""
_GATEWAY_ACTIVITY = """
UPDATE gateways AS g SET
    last_seen_at = GREATEST(g.last_seen_at, v.seen),
    last_seq = COALESCE(v.last_seq, g.last_seq),
    seq_epoch = COALESCE(v.epoch, g.seq_epoch)
FROM unnest(%s::int[], %s::timestamptz[], %s::bigint[], %s::int[]) AS v(id, seen, last_seq, epoch)
WHERE g.id = v.id
"""
_DROP_GAPS = """
DELETE FROM gateway_seq_gaps AS g USING unnest(%s::int[], %s::int[]) AS v(id, epoch)
WHERE g.gateway_id = v.id AND g.epoch = v.epoch
"""
_INSERT_GAPS = """
INSERT INTO gateway_seq_gaps (gateway_id, epoch, first_seq, last_seq, opened_at, resend_requests,
                              last_request_at)
SELECT * FROM unnest(%s::int[], %s::int[], %s::bigint[], %s::bigint[], %s::timestamptz[],
                     %s::int[], %s::timestamptz[])
"""
_MISSING = """
SELECT gateway_id, sum(last_seq - first_seq + 1) FROM gateway_seq_gaps
WHERE gateway_id = ANY(%s) GROUP BY gateway_id
"""

_GATEWAY_STATUS = """
UPDATE gateways SET status = %s, status_at = %s
WHERE id = %s AND (status_at IS NULL OR status_at <= %s)
"""


def _gateway_activity(cur: psycopg.Cursor[tuple[Any, ...]], batch: Batch) -> dict[int, int]:
    """Record last-seen and sequence numbers; returns messages missing per gateway that sent
    numbered messages in this batch."""
    acts = sorted(batch.gateways.values(), key=lambda a: a.gateway_id)
    numbered = [a.gateway_id for a in acts if a.seqs]
    after: dict[int, SeqState] = {}
    if numbered:
        cur.execute(_LOCK_GATEWAYS, (numbered,))
        before = {int(r[0]): SeqState(int(r[2]), r[1], ()) for r in cur.fetchall()}
        cur.execute(_OPEN_GAPS, (numbered,))
        open_gaps: dict[int, list[SeqGap]] = {}
        for gid, first, last, opened, requests, requested in cur.fetchall():
            open_gaps.setdefault(gid, []).append(SeqGap(first, last, opened, requests, requested))
        now = datetime.now(UTC)
        for act in acts:
            state = before.get(act.gateway_id)
            if state is None or not act.seqs:
                continue
            state = replace(state, gaps=tuple(open_gaps.get(act.gateway_id, ())))
            after[act.gateway_id] = new = advance(state, act.seqs, now)
            if new.gaps != state.gaps:
                _replace_gaps(cur, act.gateway_id, new)
    cur.execute(
        _GATEWAY_ACTIVITY,
        (
            [a.gateway_id for a in acts],
            [a.last_seen for a in acts],
            [after[a.gateway_id].last_seq if a.gateway_id in after else None for a in acts],
            [after[a.gateway_id].epoch if a.gateway_id in after else None for a in acts],
        ),
    )
    if not after:
        return {}
    cur.execute(_MISSING, (list(after),))
    missing = dict.fromkeys(after, 0)
    missing.update({int(gid): int(n) for gid, n in cur.fetchall()})
    return missing


def _replace_gaps(cur: psycopg.Cursor[tuple[Any, ...]], gateway_id: int, state: SeqState) -> None:
    cur.execute(_DROP_GAPS, ([gateway_id], [state.epoch]))
    if not state.gaps:
        return
    gaps = state.gaps
    cur.execute(
        _INSERT_GAPS,
        (
            [gateway_id] * len(gaps),
            [state.epoch] * len(gaps),
            [g.first for g in gaps],
            [g.last for g in gaps],
            [g.opened_at for g in gaps],
            [g.resend_requests for g in gaps],
            [g.last_request_at for g in gaps],
        ),
    )


def _text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL; a dead letter must be storable whatever it quotes."""
    return value.replace("\x00", "\\x00") if value is not None and "\x00" in value else value


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
    duplicates: int  # valid readings already stored (identical or not)
    dead_letters: int
    seconds: float
    sequence_gaps: dict[int, int]
    conflicts: int = 0  # of the duplicates, those with another value than the stored one


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
                # JIT compiling costs more than these short statements take (its threshold goes
                # by estimates, and the planner has no statistics for the temporary stage)
                cur.execute("SET jit = off")
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
                inserted = conflicts = 0
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
                    if inserted < len(batch.rows):
                        cur.execute(_RECORD_CONFLICTS)
                        conflicts = max(0, cur.rowcount)
                if batch.dead_letters:
                    cur.executemany(
                        _INSERT_DEAD_LETTER,
                        [
                            (
                                d.received_at,
                                d.source,
                                _text(d.topic),
                                _text(d.enterprise_code),
                                _text(d.gateway_code),
                                d.reading_index,
                                d.reason.value,
                                _text(d.detail),
                                d.payload,
                                d.payload_size,
                                fingerprint(d),
                            )
                            for d in batch.dead_letters
                        ],
                    )
                gaps = _gateway_activity(cur, batch) if batch.gateways else {}
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
            conflicts=conflicts,
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
