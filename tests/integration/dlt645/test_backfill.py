"""A DL/T 645 meter nobody could read for three days, back over TCP: the poller reads its stored
daily freezes (上1次..上N次), the missed midnights are stored at the meter's own times with the
frozen counters, the daily rollup then measures those days as counter differences, and after that
a new freeze costs one read of its time and one of its energy."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from services.ingest.dlt645.devices import device_spec as dlt645_spec
from services.ingest.modbus.poller import DeviceState
from simulators.meters.dlt645_meter import Dlt645Meter
from simulators.meters.dlt645_server import Dlt645Fault, Dlt645Server
from simulators.meters.server import running
from tests.support.dlt645 import common_meters, provision
from tests.support.poller import running_poller
from tests.support.services import wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
FREEZE_TIME, FREEZE_ENERGY = 0x05060001, 0x05060101


def _energy(
    db: DatabaseSettings, quantity: str = "energy_import_kwh"
) -> list[tuple[datetime, float]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT r.ts, r.value FROM readings r JOIN points p ON p.id = r.point_id "
            "WHERE p.quantity = %s ORDER BY r.ts",
            (quantity,),
        ).fetchall()
    return [(ts, value) for ts, value in rows]


def _point_id(db: DatabaseSettings) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute("SELECT id FROM points WHERE quantity = 'energy_import_kwh'").fetchone()
    assert row is not None
    return int(row[0])


def _outage(meter: Dlt645Meter, now: datetime) -> tuple[datetime, float]:
    """Run ``meter`` from the local midnight three days before ``now``'s to ``now``; the last
    reading the platform took before the outage (six hours after that midnight)."""
    last = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    meter.advance(last - timedelta(days=3), 0)
    before = last - timedelta(days=3) + timedelta(hours=6)
    meter.run_through(before)
    read = meter.forward_total
    meter.run_through(now)
    return before, read


def test_three_silent_days_are_backfilled_from_the_freezes_and_measured_by_the_rollup(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meter = common_meters(1)[0]
    before, read = _outage(meter, datetime.now(SHANGHAI))
    freezes = list(meter.freezes)  # newest first: the last midnight and the three before it
    assert len(freezes) == 4
    server = Dlt645Server([meter], update_s=3600)  # counters still during the test
    line = {"transport": "tcp", "port": server.port, "timeout_s": 0.3, "daily_freeze": True}
    provision(db_settings, [meter], line)
    pid = _point_id(db_settings)
    writer = ReadingWriter(db_settings)  # what the platform read before the outage
    writer.write(Batch(rows=[(pid, before, round(read, 2), before, 1)]))
    writer.close()

    with (
        running(server),
        running_poller(db_settings, tmp_path, other_factories={"dlt645": dlt645_spec}) as poller,
    ):
        wait_for(lambda: len(_energy(db_settings)) >= 7, 20, "the freezes and live readings")
        stored = dict(_energy(db_settings))
        exported = dict(_energy(db_settings, "energy_export_kwh"))
        for f in freezes:
            assert stored[f.at] == pytest.approx(f.forward[0], abs=0.005)  # XXXXXX.XX
            assert exported[f.at] == pytest.approx(f.reverse[0], abs=0.005)  # 050602NN
        # read once each, the meter refusing 上5次 (it keeps four): the end of the backfill
        assert server.requested[FREEZE_ENERGY] == 1
        assert [server.requested[FREEZE_TIME + n] for n in range(5)] == [1] * 5
        assert server.requested[FREEZE_ENERGY + 4] == 0
        newest = max(stored)
        assert newest > freezes[0].at  # "latest" is still the live reading
        assert stored[newest] == max(stored.values())

        # offline, a new freeze meanwhile, back: that freeze is read once, then not again
        server.faults[meter.address] = Dlt645Fault(silent=True)
        wait_for(lambda: DeviceState.OFFLINE in poller.states().values(), 15, "the meter offline")
        taken = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
        meter.freeze(taken)
        server.faults.clear()
        wait_for(lambda: taken in dict(_energy(db_settings)), 20, "the new freeze stored")
        polls = len(_energy(db_settings))
        wait_for(lambda: len(_energy(db_settings)) >= polls + 3, 20, "three more polls")
        assert server.requested[FREEZE_ENERGY] == 2
        assert server.requested[FREEZE_TIME] == 2
        assert server.requested[FREEZE_TIME + 1] == 1  # the day before was held: not asked

    catch_up(make_engine(db_settings))
    with psycopg.connect(db_settings.libpq_url) as conn:
        days = dict(
            conn.execute(
                "SELECT day, energy FROM consumption_1d WHERE point_id = %s", (pid,)
            ).fetchall()
        )
    oldest_first = freezes[::-1]
    for start, end in pairwise(oldest_first):
        measured = round(end.forward[0], 2) - round(start.forward[0], 2)
        assert days[start.at.date()] == pytest.approx(measured, abs=1e-6)
        # the simulator's own counters at those midnights, to the register's resolution
        assert days[start.at.date()] == pytest.approx(end.forward[0] - start.forward[0], abs=0.01)
