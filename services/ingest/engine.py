"""The ingest engine: batches messages from any source, validates, writes, and acknowledges.

Sources (the MQTT subscriber, the Modbus poller) hand messages to :meth:`IngestEngine.submit`
together with an acknowledgement callback. One worker thread collects a batch (by reading count or
age), validates it against the registry snapshot, writes it in one transaction and only then calls
the acknowledgements. When the database is unreachable the raw messages go to the durable spool
first and are acknowledged once fsynced; the spool is drained, in order, as soon as the database
answers again.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from services.core.db import make_engine
from services.core.errors import StorageRejectedError, StorageUnavailableError
from services.core.logging import get_logger
from services.core.pipeline.index import RegistryIndex, load_index
from services.core.pipeline.model import Batch, InboundMessage, Reason
from services.core.pipeline.reading import encode_readings
from services.core.pipeline.spool import Spool, SpoolCorruptError
from services.core.pipeline.validate import Limits, processing_error, validate_guarded
from services.core.pipeline.writer import ReadingWriter, WriteResult
from services.core.schema.tables import SOURCE_CODES
from services.core.settings import DatabaseSettings, IngestSettings
from services.ingest.metrics import IngestMetrics

log = get_logger(__name__)
_SOURCE_NAMES = {code: name for name, code in SOURCE_CODES.items()}

Ack = Callable[[], None]
MessageKind = Literal["readings", "status"]

_REGISTRY_MISS = {
    Reason.UNKNOWN_ENTERPRISE,
    Reason.UNKNOWN_GATEWAY,
    Reason.UNKNOWN_METER,
    Reason.UNKNOWN_POINT,
    Reason.METER_ENTERPRISE_MISMATCH,
    Reason.METER_GATEWAY_MISMATCH,
}
_MISS_RELOAD_S = 2.0
_DRAIN_BUDGET_S = 1.0
_IDLE_CHECK_S = 5.0
_SUPERVISE_EVERY_S = 1.0
_RECOVERED_S = 5.0
_FAILURES_REMEMBERED = 10_000


@dataclass(slots=True)
class _Item:
    kind: MessageKind
    message: InboundMessage
    ack: Ack
    origin: str = ""  # which source handed it over (an MQTT partition), for draining by origin
    arrived: float = field(default_factory=time.monotonic)
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class EngineConfig:
    batch_max_readings: int = 5000
    batch_max_age_s: float = 0.1
    registry_refresh_s: float = 30.0
    db_retry_max_s: float = 30.0
    max_attempts: int = 3
    stall_s: float = 60.0


class IngestEngine:
    def __init__(
        self,
        *,
        config: EngineConfig,
        limits: Limits,
        engine: Engine,
        writer: ReadingWriter,
        spool: Spool,
        metrics: IngestMetrics | None = None,
    ) -> None:
        self._config = config
        self._limits = limits
        self._db = engine
        self._writer = writer
        self._spool = spool
        self.metrics = metrics or IngestMetrics(CollectorRegistry())
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._index: RegistryIndex | None = None
        self._index_loaded_at = 0.0
        self._gateway_names: dict[int, tuple[str, str]] = {}
        self._db_up = False
        self._retry_at = 0.0
        self._backoff = 0.5
        self._unacked = 0
        self._unacked_lock = threading.Lock()
        self.written_batches = 0
        self._spool_segments = 0
        # supervision: the items of the cycle in progress, items to retry one at a time after a
        # failed cycle, and how often recently seen messages failed (by content, so that a
        # redelivery of a message that keeps failing is given up instead of retried for ever)
        self._current: list[_Item] = []
        self._retry: deque[_Item] = deque()
        self._failures: OrderedDict[bytes, int] = OrderedDict()
        self._heartbeat = time.monotonic()
        self._failed_at: float | None = None
        self._supervisor: threading.Thread | None = None
        self._pending: dict[str, int] = {}

    # ---- called from source threads -------------------------------------------------------
    def submit(
        self, kind: MessageKind, message: InboundMessage, ack: Ack, origin: str = ""
    ) -> None:
        with self._unacked_lock:
            self._unacked += 1
            self._pending[origin] = self._pending.get(origin, 0) + 1
        self._queue.put(_Item(kind, message, ack, origin))

    @property
    def ready(self) -> bool:
        """Ready = the database accepted the last operation, the registry is loaded and the
        writer thread is alive, cycling, and did not just fail."""
        return self._db_up and self._index is not None and self.writer_healthy

    @property
    def writer_healthy(self) -> bool:
        alive = self._thread is not None and self._thread.is_alive()
        fresh = time.monotonic() - self._heartbeat < self._config.stall_s
        return alive and fresh and self._failed_at is None

    @property
    def unacknowledged(self) -> int:
        return self._unacked

    def registry_snapshot(self) -> RegistryIndex | None:
        """The registry as last loaded (None before the first load)."""
        return self._index

    def pending(self, origin: str) -> int:
        """Messages handed over by ``origin`` and not yet acknowledged (or given back)."""
        with self._unacked_lock:
            return self._pending.get(origin, 0)

    def start(self) -> None:
        self._refresh_spool_metrics()
        try:
            self._load_registry()
            self._database_ok()
        except StorageUnavailableError as err:
            self._database_failed(err)
        self._start_writer()
        self._supervisor = threading.Thread(
            target=self._supervise, name="ingest-supervisor", daemon=True
        )
        self._supervisor.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Flush what was received and stop the worker."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._writer.close()

    # ---- supervision ------------------------------------------------------------------------
    def _start_writer(self) -> None:
        self._heartbeat = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def _supervise(self) -> None:
        """Restart the writer thread if it ever dies (it survives every failure of a cycle, so
        only something like SystemExit from a library can end it)."""
        while not self._stop.wait(_SUPERVISE_EVERY_S):
            thread = self._thread
            if thread is not None and not thread.is_alive() and not self._stop.is_set():
                self.metrics.writer_restarts.inc()
                self._failed_at = time.monotonic()  # not ready until a cycle succeeds again
                log.error("ingest writer thread died; restarting it", pending=len(self._current))
                self._requeue_current(RuntimeError("the writer thread died"))
                self._start_writer()
            elif time.monotonic() - self._heartbeat > self._config.stall_s:
                log.error("ingest writer thread stalled", stalled_s=self._config.stall_s)

    def _cycle_failed(self, err: Exception) -> None:
        self.metrics.writer_failures.inc()
        self._failed_at = time.monotonic()
        log.error(
            "ingest writer cycle failed; retrying its messages one at a time",
            error=f"{type(err).__name__}: {err}"[:500],
            messages=len(self._current),
            exc_info=True,
        )
        self._requeue_current(err)
        self._stop.wait(0.2)  # never a hot loop

    def _requeue_current(self, err: BaseException) -> None:
        items, self._current = self._current, []
        for item in items:
            item.attempts += 1
            self._count_failure(item)
            if item.attempts >= self._config.max_attempts:
                self._give_up(item, err)
            else:
                self._retry.append(item)

    def _count_failure(self, item: _Item) -> int:
        key = _identity(item.message)
        n = self._failures.pop(key, 0) + 1
        self._failures[key] = n
        while len(self._failures) > _FAILURES_REMEMBERED:
            self._failures.popitem(last=False)
        return n

    def _give_up(self, item: _Item, err: BaseException) -> None:
        """Dead-letter a message that failed ``max_attempts`` times, then acknowledge it. If even
        its dead letter cannot be stored, it stays unacknowledged (the broker keeps it)."""
        dead = processing_error(item.message, self._limits, err)
        try:
            self._writer.write(Batch(dead_letters=[dead], messages=1))
        except Exception as again:  # noqa: BLE001 - nothing may escape the supervisor
            log.error("could not dead-letter a failing message", error=str(again))
            self._forget(item)
            return
        self.metrics.rejected.labels(item.message.source, Reason.PROCESSING_ERROR.value).inc()
        log.error(
            "message dead-lettered after repeated failures",
            topic=item.message.topic,
            attempts=item.attempts,
            error=dead.detail,
        )
        self._ack([item])

    # ---- worker -----------------------------------------------------------------------------
    def _run(self) -> None:
        """The writer thread: one cycle after another; a cycle that fails is survived."""
        self._last_check = time.monotonic()
        while True:
            self._heartbeat = time.monotonic()
            try:
                if self._cycle():
                    return
            except Exception as err:  # noqa: BLE001 - the writer must outlive any failure
                self._cycle_failed(err)

    def _cycle(self) -> bool:
        """Collect and write one batch (or check the database when idle); True when stopped."""
        items = self._collect()
        if items:
            self._current = items
            self._flush(items)
            self._current = []
            self._failed_at = None
            self._last_check = time.monotonic()
        elif self._stop.is_set():
            return True
        elif self._failed_at is not None and time.monotonic() - self._failed_at > _RECOVERED_S:
            self._failed_at = None  # cycling again, with nothing left to retry
        elif time.monotonic() - self._last_check > _IDLE_CHECK_S and self._database_due():
            # Keep readiness honest while no traffic arrives.
            self._last_check = time.monotonic()
            if self._writer.ping():
                self._database_ok()
            else:
                self._database_failed(StorageUnavailableError("ping failed"))
        self._maybe_drain_spool()
        return False

    def _collect(self) -> list[_Item]:
        if self._retry:
            return [self._retry.popleft()]  # after a failed cycle: one message at a time
        try:
            first = self._queue.get(timeout=0.05)
        except queue.Empty:
            return []
        items = [first]
        readings = self._estimate(first)
        deadline = first.arrived + self._config.batch_max_age_s
        while readings < self._config.batch_max_readings:
            # Take what is already queued without waiting (a backlog fills a batch at once);
            # wait for more only while the oldest item is younger than the age limit.
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    break
            items.append(item)
            readings += self._estimate(item)
        if self._failures:
            items = [i for i in items if not self._known_poison_given_up(i)]
        return items

    def _known_poison_given_up(self, item: _Item) -> bool:
        """A redelivered message that already failed ``max_attempts`` times goes straight to the
        dead letters instead of failing again."""
        if self._failures.get(_identity(item.message), 0) < self._config.max_attempts:
            return False
        item.attempts = self._config.max_attempts
        self._give_up(item, RuntimeError("this message failed before, in as many attempts"))
        return True

    @staticmethod
    def _estimate(item: _Item) -> int:
        # Counting the readings exactly would parse twice; one reading per ~90 bytes is close.
        if item.message.readings is not None:
            return max(1, len(item.message.readings))
        return max(1, len(item.message.payload) // 90)

    def _flush(self, items: list[_Item]) -> None:
        readings_items = [i for i in items if i.kind == "readings"]
        for item in readings_items:
            self.metrics.messages_received.labels(item.message.source).inc()
        # Order between live batches and the spooled backlog does not matter: every write is
        # idempotent and keyed by reading time, so live traffic is written directly when it can.
        if self._database_due():
            try:
                self._write_items(items)
            except StorageUnavailableError as err:
                self._database_failed(err)
            except Exception as err:  # noqa: BLE001 - StorageRejectedError or a defect
                log.error(
                    "writing a batch failed; writing it message by message",
                    error=f"{type(err).__name__}: {err}"[:500],
                )
                if self._write_isolating(items):
                    self._ack(items)
                    return
            else:
                self._ack(items)
                return
        self._spool_items(items)

    def _write_isolating(self, items: list[_Item]) -> bool:
        """Write message by message; dead-letter each one the database refuses
        (``storage_rejected``) or that fails in any other way (``processing_error``). False when
        the database went away meanwhile (the caller spools)."""
        for item in items:
            try:
                self._write_items([item])
            except StorageUnavailableError as err:
                self._database_failed(err)
                return False
            except Exception as err:  # noqa: BLE001 - StorageRejectedError or a defect
                msg = item.message
                if not isinstance(err, StorageRejectedError):
                    self._count_failure(item)
                dead = processing_error(msg, self._limits, err)
                try:
                    self._writer.write(Batch(dead_letters=[dead], messages=1))
                except (StorageRejectedError, StorageUnavailableError) as again:
                    self._database_failed(again)
                    return False
                self.metrics.rejected.labels(msg.source, dead.reason.value).inc()
        return True

    def _write_items(self, items: list[_Item]) -> WriteResult:
        index = self._registry()
        batch = self._validate(items, index)
        result = self._writer.write(batch)
        self._database_ok()
        self._record(batch, result)
        return result

    def _validate(self, items: list[_Item], index: RegistryIndex) -> Batch:
        batch = Batch()
        for item in items:
            if item.kind == "status":
                self._status(item.message, index, batch)
                continue
            one = validate_guarded(item.message, index, self._limits)
            if (
                any(d.reason in _REGISTRY_MISS for d in one.dead_letters)
                and self._reload_for_miss()
            ):
                index = self._index or index
                one = validate_guarded(item.message, index, self._limits)
            batch.extend(one)
        return batch

    def _status(self, msg: InboundMessage, index: RegistryIndex, batch: Batch) -> None:
        gateway_id = index.gateways.get((msg.enterprise_code or "", msg.gateway_code or ""))
        try:
            doc = orjson.loads(msg.payload) if msg.payload else {}
            status = doc.get("status") if isinstance(doc, dict) else None
        except orjson.JSONDecodeError:
            status = None
        if gateway_id is None or status not in {"online", "offline"}:
            log.debug("status ignored", topic=msg.topic)
            return
        batch.statuses.append((gateway_id, str(status), msg.received_at))

    def _ack(self, items: list[_Item]) -> None:
        for item in items:
            try:
                item.ack()
            except Exception as err:  # noqa: BLE001 - a source gone away must not stop the writer
                log.warning("acknowledgement failed", error=str(err), origin=item.origin)
        self._forget(*items)

    def _forget(self, *items: _Item) -> None:
        with self._unacked_lock:
            self._unacked -= len(items)
            for item in items:
                self._pending[item.origin] = self._pending.get(item.origin, 1) - 1
            self.metrics.unacked.set(self._unacked)

    def _record(self, batch: Batch, result: WriteResult) -> None:
        m = self.metrics
        self.written_batches += 1
        sources = {row[4] for row in batch.rows}
        source = _SOURCE_NAMES.get(next(iter(sources)), "mixed") if len(sources) == 1 else "mixed"
        source = "mqtt" if not sources else source
        m.readings_received.labels(source).inc(batch.readings_received)
        m.readings_written.labels(source).inc(result.inserted)
        m.readings_duplicate.labels(source).inc(result.duplicates)
        if result.conflicts:
            m.reading_conflicts.labels(source).inc(result.conflicts)
            log.warning(
                "re-sent readings with another value kept their first value",
                conflicts=result.conflicts,
            )
        for dl in batch.dead_letters:
            m.rejected.labels(dl.source, dl.reason.value).inc()
        if batch.rows:
            m.batch_readings.observe(len(batch.rows))
            m.flush_seconds.observe(result.seconds)
            now = datetime.now(UTC)
            step = max(1, len(batch.rows) // 100)
            for row in batch.rows[::step]:
                m.lag_seconds.observe(max(0.0, (now - row[1]).total_seconds()))
        for gid, act in batch.gateways.items():
            name = self._gateway_names.get(gid)
            if name is not None:
                m.gateway_last_seen.labels(*name).set(act.last_seen.timestamp())
        for gid, gaps in result.sequence_gaps.items():
            name = self._gateway_names.get(gid)
            if name is not None:
                m.gateway_sequence_gaps.labels(*name).set(gaps)

    # ---- registry ---------------------------------------------------------------------------
    def _registry(self) -> RegistryIndex:
        age = time.monotonic() - self._index_loaded_at
        if self._index is None or age >= self._config.registry_refresh_s:
            self._load_registry()
        assert self._index is not None
        return self._index

    def _reload_for_miss(self) -> bool:
        if time.monotonic() - self._index_loaded_at < _MISS_RELOAD_S:
            return False
        self._load_registry()
        return True

    def _load_registry(self) -> None:
        try:
            with self._db.connect() as conn:
                index = load_index(conn)
        except Exception as err:
            if self._index is None:
                raise StorageUnavailableError(f"cannot load the registry: {err}") from err
            log.warning("registry reload failed; keeping the previous snapshot", error=str(err))
            return
        self._index = index
        self._index_loaded_at = time.monotonic()
        self._gateway_names = {gid: codes for codes, gid in index.gateways.items()}
        self.metrics.registry_meters.set(len(index))
        self.metrics.registry_reloads.inc()

    # ---- database health and the spool ------------------------------------------------------
    def _database_due(self) -> bool:
        return self._db_up or time.monotonic() >= self._retry_at

    def _database_ok(self) -> None:
        if not self._db_up:
            log.info("database reachable; writing directly")
        self._db_up = True
        self._backoff = 0.5
        self.metrics.database_up.set(1)

    def _database_failed(self, err: Exception) -> None:
        self.metrics.db_errors.inc()
        self.metrics.database_up.set(0)
        if self._db_up or self._backoff <= 0.5:
            log.error("database unavailable; spooling", error=str(err), retry_in_s=self._backoff)
        else:
            log.debug("database still unavailable", error=str(err), retry_in_s=self._backoff)
        self._db_up = False
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self._config.db_retry_max_s)

    def _spool_items(self, items: list[_Item]) -> None:
        while not self._spool.has_room():
            # Full: stop acknowledging; the broker holds the rest (up to its own queue limit).
            self.metrics.spool_full.set(1)
            self._heartbeat = time.monotonic()  # waiting for room is not a stall
            self._maybe_drain_spool(force_wait=True)
            if self._stop.is_set() and not self._spool.has_room():
                return  # unacknowledged: the broker will redeliver after restart
        self.metrics.spool_full.set(0)
        self._spool.append(i.message for i in items)
        self.metrics.spooled_messages.inc(len(items))
        self._refresh_spool_metrics()
        self._ack(items)

    def _maybe_drain_spool(self, *, force_wait: bool = False) -> None:
        if self._spool_segments == 0:
            return
        if not self._database_due():
            if force_wait:
                time.sleep(min(0.5, max(0.0, self._retry_at - time.monotonic())))
            return
        budget_end = time.monotonic() + _DRAIN_BUDGET_S
        for segment in self._spool.segments():
            try:
                messages = list(Spool.read(segment))
            except SpoolCorruptError as err:
                log.error("corrupt spool segment set aside", segment=str(segment), error=str(err))
                self.metrics.spool_corrupt.inc()
                Spool.quarantine(segment)
                self._refresh_spool_metrics()
                continue
            items = [_Item(self._kind(m), m, _noop) for m in messages]
            try:
                self._write_items(items)
            except StorageUnavailableError as err:
                self._database_failed(err)
                return
            except Exception:  # noqa: BLE001 - StorageRejectedError or a defect: isolate
                if not self._write_isolating(items):
                    return
            Spool.remove(segment)
            self._refresh_spool_metrics()
            if time.monotonic() > budget_end and not self._stop.is_set():
                return  # interleave: live traffic must not wait for the whole backlog
        log.info("spool drained")

    @staticmethod
    def _kind(msg: InboundMessage) -> MessageKind:
        return "status" if msg.topic is not None and msg.topic.endswith("/status") else "readings"

    def _refresh_spool_metrics(self) -> None:
        segments = self._spool.segments()
        self._spool_segments = len(segments)
        self.metrics.spool_segments.set(len(segments))
        self.metrics.spool_bytes.set(sum(p.stat().st_size for p in segments))


def _noop() -> None:
    return None


def _identity(msg: InboundMessage) -> bytes:
    """A message's identity by content: a redelivery has the same one."""
    h = hashlib.blake2b(digest_size=16)
    h.update((msg.topic or "").encode())
    h.update(b"\0")
    h.update(msg.payload if msg.readings is None else encode_readings(msg.readings))
    return h.digest()


def build_engine(
    db: DatabaseSettings,
    ingest: IngestSettings,
    registry: CollectorRegistry,
    *,
    spool_dir: Path | None = None,
    engine: Engine | None = None,
) -> IngestEngine:
    """The engine as every ingest entry point configures it from settings."""
    return IngestEngine(
        config=EngineConfig(
            batch_max_readings=ingest.batch_max_readings,
            batch_max_age_s=ingest.batch_max_age_ms / 1000,
            registry_refresh_s=ingest.registry_refresh_s,
            db_retry_max_s=ingest.db_retry_max_s,
            max_attempts=ingest.max_attempts,
            stall_s=ingest.writer_stall_s,
        ),
        limits=Limits.from_settings(ingest, db),
        engine=engine or make_engine(db, pool_size=2),
        writer=ReadingWriter(db),
        spool=Spool(spool_dir or ingest.spool_dir, ingest.spool_max_bytes),
        metrics=IngestMetrics(registry),
    )
