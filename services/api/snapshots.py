"""District-wide answers computed once and shared by every caller for a short while.

The data-centre PUE ranking and the budget ranking read every data centre's or every budgeted
enterprise's rollups; they change when the rollups do (about once a minute), not per request.
``Snapshots`` keeps each answer for ``ttl_s`` seconds: a request within the TTL gets the stored
answer; a request after it still gets the stored answer while one background refresh runs
(stale-while-revalidate, for at most another ``ttl_s``); an older or missing answer is computed
in the request, once however many requests wait for it (single flight). The answer is computed
for the whole district and filtered per caller, so an enterprise account sees exactly what it
would see uncached. Each response says how old its answer is (``Age``, ``Last-Modified``).
With ``ttl_s`` 0 every request computes its own answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Generic, TypeVar

import structlog
from fastapi import Response

from services.api.render import json_body, render

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass
class Snapshot(Generic[T]):
    value: T
    computed_at: datetime
    _clock: Callable[[], float] = time.monotonic
    _taken: float = field(init=False)
    _memo: dict[str, Any] = field(default_factory=dict)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._taken = self._clock()

    @property
    def age_s(self) -> float:
        return self._clock() - self._taken

    def memo(self, name: str, make: Callable[[T], Any]) -> Any:
        """A value derived from this snapshot (e.g. its rendered JSON), made once."""
        with self._memo_lock:
            if name not in self._memo:
                self._memo[name] = make(self.value)
            return self._memo[name]

    def headers(self) -> dict[str, str]:
        return {
            "Age": str(int(self.age_s)),
            "Last-Modified": format_datetime(self.computed_at, usegmt=True),
        }


class Snapshots:
    def __init__(self, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, Snapshot[Any]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], T]) -> Snapshot[T]:
        if self.ttl_s <= 0:
            return Snapshot(compute(), datetime.now(UTC), self._clock)
        with self._lock:
            entry = self._entries.get(key)
            key_lock = self._locks.setdefault(key, threading.Lock())
            if entry is not None and entry.age_s < self.ttl_s:
                return entry
            if entry is not None and entry.age_s < 2 * self.ttl_s:
                if key not in self._refreshing:
                    self._refreshing.add(key)
                    threading.Thread(target=self._refresh, args=(key, compute), daemon=True).start()
                return entry
        with key_lock:  # single flight: the first computes, the others wait and take its answer
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None and entry.age_s < self.ttl_s:
                return entry
            fresh = Snapshot(compute(), datetime.now(UTC), self._clock)
            with self._lock:
                self._entries[key] = fresh
            return fresh

    def _refresh(self, key: str, compute: Callable[[], Any]) -> None:
        try:
            with self._locks[key]:
                fresh = Snapshot(compute(), datetime.now(UTC), self._clock)
                with self._lock:
                    self._entries[key] = fresh
        except Exception:  # the stale answer stays until a request computes anew
            log.exception("snapshot refresh failed", key=key)
        finally:
            with self._lock:
                self._refreshing.discard(key)


@dataclass(frozen=True, slots=True)
class Ranked(Generic[T]):
    """One row of a district-wide ranking, with the enterprise it belongs to (who may see it)."""

    enterprise_id: int
    row: T


def ranked_response(
    snap: Snapshot[list[Ranked[Any]]], tp: Any, enterprise_id: int | None
) -> Response:
    """A district-wide ranking as JSON: every row, rendered once per snapshot (``enterprise_id``
    None: officers and admins), or one enterprise's rows."""
    if enterprise_id is None:
        body = snap.memo("all", lambda ranked: render(tp, [r.row for r in ranked]))
    else:
        body = render(tp, [r.row for r in snap.value if r.enterprise_id == enterprise_id])
    return json_body(body, snap.headers())
