"""Production and economic figures: submissions (created, revised or unchanged, each change in the
history), month locks, listings and the months whose figures are missing.

A submission is one transaction. The enterprise's row is locked first (``FOR UPDATE``), so that
submissions and lock changes of one enterprise take turns: revision numbers never race and a month
cannot be locked between the check and the write. A re-entry replaces the figure (revision + 1),
never adds to it; the same value again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, tuple_, update

from services.core.domain.production import (
    Figure,
    Kind,
    PeriodKind,
    ProductRef,
    next_month,
    validate_submission,
)
from services.core.errors import EnergymonError
from services.core.schema.tables import (
    enterprises,
    production_entries,
    production_history,
    production_locks,
    products,
)
from services.core.store.sql import is_any

_E = production_entries.c
_H = production_history.c
_L = production_locks.c
_P = products.c


class MonthLockedError(EnergymonError):
    """A submission touches a locked month; nothing of it was stored."""

    def __init__(self, locks: Sequence[Lock]) -> None:
        self.locks = list(locks)
        super().__init__(
            "; ".join(
                f"month {lk.month:%Y-%m} is locked (by {lk.locked_by} at "
                f"{lk.locked_at:%Y-%m-%d %H:%M} UTC" + (f": {lk.reason}" if lk.reason else "") + ")"
                for lk in self.locks
            )
            + ": nothing was stored; an officer unlocks it to correct it"
        )


class LockStateError(EnergymonError):
    """Locking a locked month, or unlocking one that is not locked."""


@dataclass(frozen=True, slots=True)
class Lock:
    enterprise_id: int
    month: date
    locked_by: str
    locked_at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    enterprise_id: int
    product: str | None  # None for value added and gross output
    kind: str
    period: str
    period_start: date
    value: float
    unit: str
    price_base_year: int | None
    revision: int
    entered_by: str
    entered_at: datetime
    comment: str | None


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    enterprise_id: int
    entry_id: int | None
    product: str | None
    kind: str | None
    period: str | None
    period_start: date | None
    action: str
    month: date
    old_value: float | None
    new_value: float | None
    unit: str | None
    changed_by: str
    changed_at: datetime
    reason: str | None


@dataclass(slots=True)
class SubmitResult:
    created: int = 0
    revised: int = 0
    unchanged: int = 0
    entries: list[Entry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MonthFigure:
    """A month's figure as intensity uses it: the month figure, or else the sum of a day figure
    for every day of the month (``from_days``)."""

    enterprise_id: int
    product: str | None  # None for value added and gross output
    kind: str
    month: date
    value: float
    unit: str
    price_base_year: int | None
    from_days: bool


@dataclass(frozen=True, slots=True)
class MissingFigures:
    """An enterprise whose month lacks figures: the products without output, and whether value
    added is missing."""

    enterprise_id: int
    enterprise: str
    name: str
    town: str
    month: date
    products: tuple[str, ...]
    value_added: bool


def product_refs(conn: Connection, *, enterprise_id: int) -> dict[str, ProductRef]:
    """The enterprise's products (active or not) by code."""
    stmt = select(_P.code, _P.unit, _P.active).where(_P.enterprise_id == enterprise_id)
    return {r.code: ProductRef(r.code, r.unit, r.active) for r in conn.execute(stmt)}


def _hold_enterprise(conn: Connection, enterprise_id: int) -> None:
    conn.execute(
        select(enterprises.c.id).where(enterprises.c.id == enterprise_id).with_for_update()
    )


def locks_of(
    conn: Connection, *, enterprise_id: int, months: Sequence[date] | None = None
) -> list[Lock]:
    """The enterprise's locked months (of ``months``, if given), oldest first."""
    stmt = select(_L.enterprise_id, _L.month, _L.locked_by, _L.locked_at, _L.reason).where(
        _L.enterprise_id == enterprise_id
    )
    if months is not None:
        stmt = stmt.where(_L.month.in_(sorted(set(months))))
    return [Lock(*r) for r in conn.execute(stmt.order_by(_L.month))]


def _entry_columns() -> list[Any]:
    return [
        _E.id,
        _E.enterprise_id,
        _P.code.label("product"),
        _E.kind,
        _E.period,
        _E.period_start,
        _E.value,
        _E.unit,
        _E.price_base_year,
        _E.revision,
        _E.entered_by,
        _E.entered_at,
        _E.comment,
    ]


def _entries_from() -> Any:
    return production_entries.outerjoin(products, _P.id == _E.product_id)


def submit(
    conn: Connection,
    *,
    enterprise_id: int,
    figures: Sequence[Figure],
    by: str,
    reason: str | None = None,
    now: datetime,
) -> SubmitResult:
    """Store validated ``figures`` in the caller's transaction: a new key is created
    (revision 1), another value for a stored key revises it (revision + 1, replacing the value),
    the same value changes nothing. Each change writes a history row (who, when, old -> new, unit,
    ``reason`` or else the row's comment). MonthLockedError when any figure's month is locked:
    nothing is written."""
    _hold_enterprise(conn, enterprise_id)
    locked = locks_of(conn, enterprise_id=enterprise_id, months=[f.period.month for f in figures])
    if locked:
        raise MonthLockedError(locked)
    stmt = select(_P.code, _P.id).where(_P.enterprise_id == enterprise_id)
    ids = {r.code: r.id for r in conn.execute(stmt)}
    stored = _stored(conn, enterprise_id, figures)
    result = SubmitResult()
    created: list[Figure] = []
    revised: list[tuple[Figure, Entry]] = []
    for f in figures:
        old = stored.get(f.key)
        if old is None:
            created.append(f)
        elif (old.value, old.price_base_year) != (f.value, f.price_base_year):
            revised.append((f, old))
        else:
            result.unchanged += 1
    new_ids: list[int] = []
    if created:
        new_ids = list(
            conn.execute(
                insert(production_entries).returning(_E.id, sort_by_parameter_order=True),
                [
                    {
                        "enterprise_id": enterprise_id,
                        "product_id": ids[f.product] if f.product else None,
                        "kind": f.kind.value,
                        "period": f.period.kind.value,
                        "period_start": f.period.start,
                        "revision": 1,
                        "entered_by": by,
                        "entered_at": now,
                        **_figure_values(f),
                    }
                    for f in created
                ],
            ).scalars()
        )
    if revised:
        conn.execute(
            _revise_statement(),
            [
                {"b_id": old.id, "b_entered_by": by, "b_entered_at": now}
                | _figure_values(f, prefix="b_")
                for f, old in revised
            ],
        )
    result.created, result.revised = len(created), len(revised)
    changes: list[tuple[Figure, int, float | None]] = [
        (f, i, None) for f, i in zip(created, new_ids, strict=True)
    ]
    changes += [(f, old.id, old.value) for f, old in revised]
    if changes:
        conn.execute(
            insert(production_history),
            [
                {
                    "enterprise_id": enterprise_id,
                    "entry_id": entry_id,
                    "action": "created" if old_value is None else "revised",
                    "month": f.period.month,
                    "old_value": old_value,
                    "new_value": f.value,
                    "unit": f.unit,
                    "changed_by": by,
                    "changed_at": now,
                    "reason": reason or f.comment,
                }
                for f, entry_id, old_value in changes
            ],
        )
    result.entries = _submitted(conn, enterprise_id, figures)
    return result


def _figure_values(f: Figure, *, prefix: str = "") -> dict[str, Any]:
    values = {
        "value": f.value,
        "unit": f.unit,
        "price_base_year": f.price_base_year,
        "comment": f.comment,
    }
    return {prefix + k: v for k, v in values.items()}


@lru_cache(maxsize=1)
def _revise_statement() -> Any:
    """A revision of one entry, executed for many (``b_`` parameters): the value is replaced,
    the revision goes up by one."""
    return (
        update(production_entries)
        .where(_E.id == bindparam("b_id"))
        .values(
            value=bindparam("b_value"),
            unit=bindparam("b_unit"),
            price_base_year=bindparam("b_price_base_year"),
            comment=bindparam("b_comment"),
            entered_by=bindparam("b_entered_by"),
            entered_at=bindparam("b_entered_at"),
            revision=_E.revision + 1,
        )
    )


def _submitted(conn: Connection, enterprise_id: int, figures: Sequence[Figure]) -> list[Entry]:
    """The figures as now stored, in the submission's order."""
    stored = _stored(conn, enterprise_id, figures)
    return [stored[f.key] for f in figures]


def submit_rows(
    conn: Connection,
    *,
    enterprise_id: int,
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    by: str,
    reason: str | None = None,
    now: datetime,
    zone: ZoneInfo,
) -> SubmitResult:
    """Validate numbered rows against the enterprise's products (SubmissionError lists every bad
    row) and ``submit`` them: the one way a submission is stored, from the API or the command."""
    figures = validate_submission(
        rows, product_refs(conn, enterprise_id=enterprise_id), today=now.astimezone(zone).date()
    )
    return submit(conn, enterprise_id=enterprise_id, figures=figures, by=by, reason=reason, now=now)


def _stored(
    conn: Connection, enterprise_id: int, figures: Sequence[Figure]
) -> dict[tuple[str | None, Kind, PeriodKind, date], Entry]:
    """The stored entries of the figures' keys."""
    if not figures:
        return {}
    keys = {(f.kind.value, f.period.kind.value, f.period.start) for f in figures}
    stmt = (
        select(*_entry_columns())
        .select_from(_entries_from())
        .where(
            _E.enterprise_id == enterprise_id,
            tuple_(_E.kind, _E.period, _E.period_start).in_(sorted(keys)),
        )
    )
    out = {}
    for row in conn.execute(stmt):
        e = Entry(*row)
        out[(e.product, Kind(e.kind), PeriodKind(e.period), e.period_start)] = e
    return out


def entries(
    conn: Connection,
    *,
    enterprise_id: int,
    start: date | None = None,
    end: date | None = None,
    product: str | None = None,
    kind: str | None = None,
) -> list[Entry]:
    """The enterprise's figures as last entered, with ``start <= period_start < end`` (local
    dates; either bound may be open), of one product or kind if given; by period, then product
    (economic figures last), then kind, then days after months."""
    stmt = (
        select(*_entry_columns())
        .select_from(_entries_from())
        .where(_E.enterprise_id == enterprise_id)
    )
    if start is not None:
        stmt = stmt.where(_E.period_start >= start)
    if end is not None:
        stmt = stmt.where(_E.period_start < end)
    if product is not None:
        stmt = stmt.where(_P.code == product)
    if kind is not None:
        stmt = stmt.where(_E.kind == kind)
    stmt = stmt.order_by(
        func.date_trunc("month", _E.period_start),
        _E.period.desc(),  # the month's figure before its days
        _E.period_start,
        _P.code.nulls_last(),
        _E.kind,
    )
    return [Entry(*r) for r in conn.execute(stmt)]


def month_figures(
    conn: Connection, *, month: date, enterprise_ids: Sequence[int] | None = None
) -> list[MonthFigure]:
    """Every product's output and each economic figure of ``month`` (its 1st), of the given
    enterprises or all: the month figure where one was entered, else the sum of the days when
    every day of the month has one (in one unit); a product with some days only has no month
    figure. Ordered by enterprise, product (economic figures last), kind."""
    stmt = (
        select(*_entry_columns())
        .select_from(_entries_from())
        .where(_E.period_start >= month, _E.period_start < next_month(month))
        .order_by(_E.enterprise_id, _P.code.nulls_last(), _E.kind, _E.period_start)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(is_any(_E.enterprise_id, enterprise_ids))
    groups: dict[tuple[int, str | None, str], list[Entry]] = {}
    for row in conn.execute(stmt):
        e = Entry(*row)
        groups.setdefault((e.enterprise_id, e.product, e.kind), []).append(e)
    days = (next_month(month) - month).days
    out = []
    for (ent, product, kind), group in groups.items():
        whole = [e for e in group if e.period == PeriodKind.MONTH.value]
        if whole:
            e = whole[0]
            out.append(
                MonthFigure(ent, product, kind, month, e.value, e.unit, e.price_base_year, False)
            )
        elif len(group) == days and len({e.unit for e in group}) == 1:
            total = sum(e.value for e in group)
            out.append(MonthFigure(ent, product, kind, month, total, group[0].unit, None, True))
    return out


def history(
    conn: Connection,
    *,
    enterprise_id: int,
    start: date | None = None,
    end: date | None = None,
) -> list[Change]:
    """Every change to the enterprise's figures and locks of the months ``start <= month < end``,
    oldest first."""
    stmt = (
        select(
            _H.id,
            _H.enterprise_id,
            _H.entry_id,
            _P.code,
            _E.kind,
            _E.period,
            _E.period_start,
            _H.action,
            _H.month,
            _H.old_value,
            _H.new_value,
            _H.unit,
            _H.changed_by,
            _H.changed_at,
            _H.reason,
        )
        .select_from(
            production_history.outerjoin(production_entries, _E.id == _H.entry_id).outerjoin(
                products, _P.id == _E.product_id
            )
        )
        .where(_H.enterprise_id == enterprise_id)
        .order_by(_H.changed_at, _H.id)
    )
    if start is not None:
        stmt = stmt.where(_H.month >= start)
    if end is not None:
        stmt = stmt.where(_H.month < end)
    return [Change(*tuple(r)) for r in conn.execute(stmt)]


def lock_month(
    conn: Connection, *, enterprise_id: int, month: date, by: str, reason: str, now: datetime
) -> Lock:
    """Lock ``month`` (its 1st) of the enterprise: its figures take no more changes until an
    officer unlocks it. LockStateError if it is locked already."""
    _hold_enterprise(conn, enterprise_id)
    held = locks_of(conn, enterprise_id=enterprise_id, months=[month])
    if held:
        lk = held[0]
        raise LockStateError(
            f"month {month:%Y-%m} is already locked (by {lk.locked_by} at "
            f"{lk.locked_at:%Y-%m-%d %H:%M} UTC)"
        )
    lock = Lock(enterprise_id, month, by, now, reason)
    conn.execute(
        insert(production_locks).values(
            enterprise_id=enterprise_id, month=month, locked_by=by, locked_at=now, reason=reason
        )
    )
    _lock_history(conn, lock, "locked", by=by, reason=reason, now=now)
    return lock


def unlock_month(
    conn: Connection, *, enterprise_id: int, month: date, by: str, reason: str, now: datetime
) -> Lock:
    """Unlock ``month``; the removed lock is returned. LockStateError if it is not locked."""
    _hold_enterprise(conn, enterprise_id)
    held = locks_of(conn, enterprise_id=enterprise_id, months=[month])
    if not held:
        raise LockStateError(f"month {month:%Y-%m} is not locked")
    conn.execute(
        production_locks.delete().where(_L.enterprise_id == enterprise_id, _L.month == month)
    )
    _lock_history(conn, held[0], "unlocked", by=by, reason=reason, now=now)
    return held[0]


def _lock_history(
    conn: Connection, lock: Lock, action: str, *, by: str, reason: str, now: datetime
) -> None:
    conn.execute(
        insert(production_history).values(
            enterprise_id=lock.enterprise_id,
            entry_id=None,
            action=action,
            month=lock.month,
            changed_by=by,
            changed_at=now,
            reason=reason,
        )
    )


def missing(conn: Connection, *, months: Sequence[date], zone: ZoneInfo) -> list[MissingFigures]:
    """Per month of ``months`` (each its 1st), the active enterprises with active products whose
    month lacks an output figure of a product or lacks value added. A product's output is there
    with a month figure or a day figure for every day of the month. A product is expected from
    the local month it was registered in on. Ordered by month, then enterprise code."""
    out: list[MissingFigures] = []
    if not months:
        return out
    rows = conn.execute(
        select(
            enterprises.c.id,
            enterprises.c.code,
            enterprises.c.name,
            enterprises.c.town,
            _P.id.label("product_id"),
            _P.code.label("product"),
            _P.created_at,
            _P.registered,
        )
        .join(products, _P.enterprise_id == enterprises.c.id)
        .where(enterprises.c.active, _P.active)
        .order_by(enterprises.c.code, _P.code)
    ).all()
    if not rows:
        return out
    first, last = min(months), next_month(max(months))
    present = _present_figures(conn, [r.id for r in rows], first, last)
    for month in sorted(set(months)):
        days = (next_month(month) - month).days
        by_ent: dict[int, list[Any]] = {}
        for r in rows:
            since = r.registered or r.created_at.astimezone(zone).date()
            if since < next_month(month):
                by_ent.setdefault(r.id, []).append(r)
        for ent_id, prods in by_ent.items():
            lacking = tuple(
                p.product
                for p in prods
                if not _complete(present.get((ent_id, p.product_id, month)), days)
            )
            va = (ent_id, None, month) not in present
            if lacking or va:
                r = prods[0]
                out.append(MissingFigures(ent_id, r.code, r.name, r.town, month, lacking, va))
    return out


def _complete(present: tuple[bool, int] | None, days: int) -> bool:
    return present is not None and (present[0] or present[1] >= days)


def _present_figures(
    conn: Connection, enterprise_ids: Sequence[int], first: date, last: date
) -> dict[tuple[int, int | None, date], tuple[bool, int]]:
    """(enterprise, product or None for value added, month) -> (a month figure exists, days
    with a day figure)."""
    month = func.date_trunc("month", _E.period_start).cast(_E.period_start.type).label("month")
    stmt = (
        select(
            _E.enterprise_id,
            _E.product_id,
            month,
            func.bool_or(_E.period == "month"),
            func.count().filter(_E.period == "day"),
        )
        .where(
            is_any(_E.enterprise_id, enterprise_ids),
            _E.period_start >= first,
            _E.period_start < last,
            or_(_E.kind == "output", and_(_E.kind == "value_added", _E.period == "month")),
        )
        .group_by(_E.enterprise_id, _E.product_id, month)
    )
    return {(r[0], r[1], r[2]): (bool(r[3]), int(r[4])) for r in conn.execute(stmt)}
