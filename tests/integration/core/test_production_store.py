"""Production figures in the database: revisions replace and are written to the history, a locked
month refuses a whole submission, and the missing report lists what is late."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from services.core.db import make_engine
from services.core.domain.production import SubmissionError
from services.core.schema.tables import enterprises, production_entries
from services.core.settings import DatabaseSettings
from services.core.store import production as store
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.production import add_products

T = TypeVar("T")
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
STEEL = {"period": "2026-11", "product": "steel", "output": 1250, "unit": "t"}
VALUE_ADDED = {"period": "2026-11", "value_added_10k_cny": 830, "price_base_year": 2020}


@pytest.fixture
def engine(small_district: DatabaseSettings) -> Iterator[Engine]:
    engine = make_engine(small_district)
    add_products(
        engine,
        [(ENT_A, "steel", "crude steel", "t"), (ENT_A, "castings", "grey iron castings", "t")],
        registered=datetime(2026, 9, 15, tzinfo=UTC),
    )
    add_products(engine, [(ENT_B, "ice", "ice blocks", "t")], registered=NOW)
    yield engine
    engine.dispose()


def _ent(engine: Engine, code: str = ENT_A) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(enterprises.c.id).where(enterprises.c.code == code)).scalar_one()
        )


def _read(engine: Engine, query: Callable[..., T], **kw: Any) -> T:
    with engine.connect() as conn:
        return query(conn, **kw)


def _submit(
    engine: Engine, *rows: dict[str, Any], by: str = "clerk", reason: str | None = None
) -> store.SubmitResult:
    with engine.begin() as conn:
        return store.submit_rows(
            conn,
            enterprise_id=_ent(engine),
            rows=enumerate(rows, start=1),
            by=by,
            reason=reason,
            now=NOW,
            zone=ZONE,
        )


def test_a_month_entered_twice_is_one_figure_revised_with_its_history(engine: Engine) -> None:
    first = _submit(engine, STEEL, VALUE_ADDED, by="clerk")
    assert (first.created, first.revised, first.unchanged) == (2, 0, 0)
    again = _submit(engine, STEEL | {"output": 1310}, by="officer", reason="weighbridge recount")
    assert (again.created, again.revised, again.unchanged) == (0, 1, 0)
    (entry,) = _read(engine, store.entries, enterprise_id=_ent(engine), product="steel")
    assert (entry.value, entry.revision, entry.entered_by) == (1310.0, 2, "officer")
    changes = _read(engine, store.history, enterprise_id=_ent(engine))
    assert [
        (c.action, c.product, c.kind, c.old_value, c.new_value, c.unit, c.changed_by, c.reason)
        for c in changes
    ] == [
        ("created", "steel", "output", None, 1250.0, "t", "clerk", None),
        ("created", None, "value_added", None, 830.0, "10^4 CNY", "clerk", None),
        ("revised", "steel", "output", 1250.0, 1310.0, "t", "officer", "weighbridge recount"),
    ]


def test_the_same_value_again_changes_nothing(engine: Engine) -> None:
    _submit(engine, STEEL)
    again = _submit(engine, STEEL, by="someone else")
    assert (again.created, again.revised, again.unchanged) == (0, 0, 1)
    (entry,) = _read(engine, store.entries, enterprise_id=_ent(engine))
    assert (entry.revision, entry.entered_by) == (1, "clerk")
    assert len(_read(engine, store.history, enterprise_id=_ent(engine))) == 1


def test_a_submission_with_one_bad_row_stores_nothing(engine: Engine) -> None:
    with pytest.raises(SubmissionError) as info:
        _submit(engine, STEEL, STEEL | {"product": "castings", "unit": "kt"}, VALUE_ADDED)
    assert [(e.row, e.reason) for e in info.value.errors] == [
        (2, "product castings is entered in t, not kt")
    ]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(production_entries)).scalar() == 0


def test_a_locked_month_refuses_the_whole_submission_naming_who_locked_it(engine: Engine) -> None:
    ent = _ent(engine)
    _submit(engine, STEEL)
    with engine.begin() as conn:
        store.lock_month(
            conn, enterprise_id=ent, month=date(2026, 11, 1), by="officer", reason="audited",
            now=NOW,
        )  # fmt: skip
    october = STEEL | {"period": "2026-10"}
    with pytest.raises(store.MonthLockedError) as info:
        _submit(engine, october, STEEL | {"period": "2026-11-03", "output": 40})
    assert str(info.value) == (
        "month 2026-11 is locked (by officer at 2026-12-02 09:00 UTC: audited): nothing was "
        "stored; an officer unlocks it to correct it"
    )
    assert len(_read(engine, store.entries, enterprise_id=ent)) == 1
    with engine.begin() as conn, pytest.raises(store.LockStateError):
        store.lock_month(
            conn, enterprise_id=ent, month=date(2026, 11, 1), by="x", reason="y", now=NOW
        )
    with engine.begin() as conn:
        store.unlock_month(
            conn, enterprise_id=ent, month=date(2026, 11, 1), by="admin", reason="correction",
            now=NOW,
        )  # fmt: skip
    assert _submit(engine, october).created == 1
    actions = [
        (c.action, c.changed_by, c.reason) for c in _read(engine, store.history, enterprise_id=ent)
    ]
    assert actions[1:3] == [("locked", "officer", "audited"), ("unlocked", "admin", "correction")]


def test_entries_filter_by_month_range_and_product(engine: Engine) -> None:
    _submit(
        engine,
        STEEL,
        STEEL | {"period": "2026-10"},
        STEEL | {"product": "castings"},
        STEEL | {"period": "2026-11-05", "output": 41},
        VALUE_ADDED,
    )
    ent = _ent(engine)
    nov = _read(
        engine, store.entries, enterprise_id=ent, start=date(2026, 11, 1), end=date(2026, 12, 1)
    )
    assert [(e.product, e.kind, e.period, str(e.period_start)) for e in nov] == [
        ("castings", "output", "month", "2026-11-01"),
        ("steel", "output", "month", "2026-11-01"),
        (None, "value_added", "month", "2026-11-01"),
        ("steel", "output", "day", "2026-11-05"),
    ]
    steel = _read(engine, store.entries, enterprise_id=ent, product="steel")
    assert [str(e.period_start) for e in steel] == ["2026-10-01", "2026-11-01", "2026-11-05"]


def test_missing_lists_products_without_output_and_months_without_value_added(
    engine: Engine,
) -> None:
    _submit(engine, STEEL, STEEL | {"period": "2026-10"}, VALUE_ADDED)
    months = [date(2026, 8, 1), date(2026, 10, 1), date(2026, 11, 1)]
    with engine.connect() as conn:
        found = store.missing(conn, months=months, zone=ZONE)
    # August is before A's products were registered; B's product was registered in December
    assert [(m.enterprise, m.month, m.products, m.value_added) for m in found] == [
        (ENT_A, date(2026, 10, 1), ("castings",), True),
        (ENT_A, date(2026, 11, 1), ("castings",), False),
    ]


def test_a_day_figure_for_every_day_of_the_month_counts_as_the_months_output(
    engine: Engine,
) -> None:
    days = [
        {"period": f"2026-11-{d:02d}", "product": "castings", "output": 3, "unit": "t"}
        for d in range(1, 31)
    ]
    _submit(engine, STEEL, VALUE_ADDED, *days[:-1])
    with engine.connect() as conn:
        (late,) = store.missing(conn, months=[date(2026, 11, 1)], zone=ZONE)
    assert late.products == ("castings",)
    with engine.connect() as conn:
        figures = store.month_figures(conn, month=date(2026, 11, 1))
    assert [(f.product, f.kind, f.value, f.from_days) for f in figures] == [
        ("steel", "output", 1250.0, False),
        (None, "value_added", 830.0, False),
    ]  # castings lacks a day: no month figure
    _submit(engine, days[-1])
    with engine.connect() as conn:
        assert store.missing(conn, months=[date(2026, 11, 1)], zone=ZONE) == []
        figures = store.month_figures(conn, month=date(2026, 11, 1), enterprise_ids=[_ent(engine)])
    castings = figures[0]
    assert (castings.product, castings.value, castings.unit, castings.from_days) == (
        "castings",
        90.0,
        "t",
        True,
    )
