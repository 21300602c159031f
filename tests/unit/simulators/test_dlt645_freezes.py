"""The simulated DL/T 645 meter's freezes: one at every local midnight it runs through, the
last ones kept newest first (what a poller's backfill reads as 上1次..上N次)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.core.devices.dlt645.loader import shipped_maps
from services.core.devices.dlt645.values import decode_time
from simulators.meters.dlt645_meter import Dlt645Meter, NoSuchDataError, silent_since

SHANGHAI = ZoneInfo("Asia/Shanghai")
COMMON = shipped_maps()["dlt645-2007-common"]


def test_an_outage_leaves_a_freeze_at_every_midnight_it_spanned() -> None:
    meter = Dlt645Meter("000000000001", COMMON, 20.0, seed=1)
    now = datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI)
    silent_since(meter, 3, now)
    assert [f.at for f in meter.freezes] == [
        datetime(2026, 12, d, tzinfo=SHANGHAI) for d in (3, 2, 1)
    ] + [datetime(2026, 11, 30, tzinfo=SHANGHAI)]
    totals = [f.forward[0] for f in meter.freezes]
    assert totals == sorted(totals, reverse=True)
    assert meter.forward_total > totals[0]


def test_the_n_th_last_freeze_answers_di0_n_and_an_older_one_is_refused() -> None:
    meter = Dlt645Meter("000000000001", COMMON, 20.0, seed=1)
    silent_since(meter, 2, datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI))
    assert decode_time(meter.payload(0x05060003), SHANGHAI) == datetime(
        2026, 12, 1, tzinfo=SHANGHAI
    )
    with pytest.raises(NoSuchDataError):
        meter.payload(0x05060004)
