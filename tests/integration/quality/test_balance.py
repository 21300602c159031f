"""The meter balance over real rollups: M-100 (x80 CT) against its sub-meters F-1 and F-2."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.core.db import make_engine
from services.core.domain.balance import BalanceVerdict
from services.core.settings import DatabaseSettings
from services.core.store.balance import balance_pairs, daily_balances
from tests.support.feed import feed_counter
from tests.support.quality import add_sub_meters

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 17)
MIDNIGHT = datetime(2026, 11, 17, tzinfo=SHANGHAI)


def _balances(db: DatabaseSettings, days: int = 2) -> list[tuple[date, BalanceVerdict, float]]:
    engine = make_engine(db)
    with engine.connect() as conn:
        rows = daily_balances(
            conn,
            first_day=DAY,
            days=days,
            zone=SHANGHAI,
            now=MIDNIGHT + timedelta(days=5),
            tolerance=0.05,
            threshold=0.9,
        )
    engine.dispose()
    return [
        (b.day, b.balance.verdict, round(b.balance.deviation or 0, 6))
        for b in rows
        if b.pair.meter == "M-100"
    ]


def test_sub_meters_short_of_their_parent_by_more_than_five_percent_are_a_deviation(
    small_district: DatabaseSettings,
) -> None:
    add_sub_meters(small_district)
    # a whole local day (97 readings bound 96 quarter hours) and the next day's first half
    feed_counter(small_district, "M-100", MIDNIGHT, 97 + 48, 1000, 1)  # 80 kWh a quarter (x80)
    feed_counter(small_district, "F-1", MIDNIGHT, 97 + 48, 0, 50)
    feed_counter(small_district, "F-2", MIDNIGHT, 97, 0, 25)  # then silent
    assert _balances(small_district) == [
        (DAY, BalanceVerdict.DEVIATION, 0.0625),  # (80 - 75) / 80
        # the next day: F-2 sent nothing, so the balance rests on too little data
        (DAY + timedelta(days=1), BalanceVerdict.INSUFFICIENT_DATA, 0.375),
    ]


def test_a_balance_within_five_percent_is_not_flagged(small_district: DatabaseSettings) -> None:
    add_sub_meters(small_district)
    feed_counter(small_district, "M-100", MIDNIGHT, 97, 1000, 1)
    feed_counter(small_district, "F-1", MIDNIGHT, 97, 0, 50)
    feed_counter(small_district, "F-2", MIDNIGHT, 97, 0, 26)  # 76 of 80: 5 %, not above
    assert _balances(small_district, days=1) == [(DAY, BalanceVerdict.WITHIN, 0.05)]


def test_the_pairs_follow_the_registry(small_district: DatabaseSettings) -> None:
    engine = make_engine(small_district)
    with engine.connect() as conn:
        assert balance_pairs(conn) == []
    add_sub_meters(small_district)
    with engine.connect() as conn:
        [pair] = balance_pairs(conn)
    engine.dispose()
    assert (pair.meter, pair.quantity, pair.sub_meters) == (
        "M-100",
        "energy_import_kwh",
        ("F-1", "F-2"),
    )
