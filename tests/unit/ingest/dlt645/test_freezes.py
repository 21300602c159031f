"""Which daily freezes a DL/T 645 poll reads: the DIs of 上N次, when the newest is due, how far
back after an outage, and where a meter that keeps fewer freezes ends the backfill."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.devices.dlt645.values import encode_time, encode_value, parse_format
from services.ingest.dlt645.freezes import (
    FreezeReader,
    freeze_dis,
    freeze_due,
    older_wanted,
)
from services.ingest.modbus.connection import FailureReason, PollError

SHANGHAI = ZoneInfo("Asia/Shanghai")
KWH = parse_format("XXXXXX.XX")
MIDNIGHT = datetime(2026, 12, 2, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("n", "time_di", "energy_di"),
    [(1, 0x05060001, 0x05060101), (2, 0x05060002, 0x05060102), (10, 0x0506000A, 0x0506010A)],
)
def test_the_n_th_last_freeze_is_di0_n(n: int, time_di: int, energy_di: int) -> None:
    assert freeze_dis(n) == (time_di, energy_di)


@pytest.mark.parametrize("n", [0, 256])
def test_no_freeze_outside_one_byte_of_di0(n: int) -> None:
    with pytest.raises(ValueError, match="上1次"):
        freeze_dis(n)


@pytest.mark.parametrize(
    ("known", "now", "resumed", "due"),
    [
        (None, MIDNIGHT, False, True),  # first contact
        (MIDNIGHT, MIDNIGHT + timedelta(hours=23, minutes=59), False, False),
        (MIDNIGHT, MIDNIGHT + timedelta(days=1), False, True),
        (MIDNIGHT, MIDNIGHT + timedelta(hours=1), True, True),  # back after failed polls
    ],
)
def test_the_newest_freeze_is_due_once_a_day_or_after_failures(
    known: datetime | None, now: datetime, resumed: bool, due: bool
) -> None:
    assert freeze_due(known, now, resumed=resumed) is due


def test_going_back_stops_at_the_day_after_the_newest_held_or_at_the_limit() -> None:
    held = MIDNIGHT - timedelta(days=3)
    assert older_wanted(MIDNIGHT, held, 1, 7)  # two midnights between: read on
    assert not older_wanted(held + timedelta(days=1), held, 3, 7)  # the next day of the held one
    assert older_wanted(MIDNIGHT, None, 6, 7)  # first contact reads to the limit
    assert not older_wanted(MIDNIGHT, None, 7, 7)


class _Meter:
    """Answers the freeze DIs of ``kept`` freezes (newest first) and counts the requests."""

    def __init__(self, kept: int) -> None:
        self.freezes = [(MIDNIGHT - timedelta(days=d), 1000.0 - 10 * d) for d in range(kept)]
        self.asked: list[int] = []

    async def request(self, di: int) -> bytes:
        self.asked.append(di)
        n = di & 0xFF
        if n > len(self.freezes):
            raise PollError(FailureReason.EXCEPTION_CODE, "无请求数据", 2, permanent=True)
        at, kwh = self.freezes[n - 1]
        if di >> 8 == 0x050600:
            return encode_time(at)
        return b"".join(encode_value(v, KWH) for v in (kwh, kwh / 2, kwh / 2))


def _read(reader: FreezeReader, meter: _Meter, *, resumed: bool = False) -> list[datetime]:
    got = asyncio.run(reader.read(meter.request, resumed=resumed))
    return [at for _p, _v, _u, at in got]


def test_first_contact_reads_back_to_the_limit_then_only_new_freezes() -> None:
    meter, now = _Meter(kept=10), MIDNIGHT + timedelta(hours=2)
    reader = FreezeReader(SHANGHAI, KWH, "kWh", limit=4, now=lambda: now)
    assert _read(reader, meter) == [MIDNIGHT - timedelta(days=d) for d in range(4)]
    meter.asked.clear()
    now += timedelta(minutes=1)  # resent without an exchange for a while (a refused message)
    assert _read(reader, meter) == [MIDNIGHT - timedelta(days=d) for d in range(4)]
    now += timedelta(minutes=2)
    assert _read(reader, meter) == []  # not due until the next midnight
    assert meter.asked == []
    meter.freezes.insert(0, (MIDNIGHT + timedelta(days=1), 1010.0))
    now = MIDNIGHT + timedelta(days=1, minutes=1)
    assert _read(reader, meter) == [MIDNIGHT + timedelta(days=1)]
    assert meter.asked == [0x05060001, 0x05060101]  # one read of the new freeze, no more


def test_after_an_outage_every_missed_midnight_is_read_and_no_held_one() -> None:
    meter = _Meter(kept=10)
    reader = FreezeReader(SHANGHAI, KWH, "kWh", now=lambda: MIDNIGHT)
    reader.known = MIDNIGHT - timedelta(days=3)
    got = asyncio.run(reader.read(meter.request, resumed=True))
    assert [(at, v) for _p, v, _u, at in got] == [
        (MIDNIGHT, 1000.0),
        (MIDNIGHT - timedelta(days=1), 990.0),
        (MIDNIGHT - timedelta(days=2), 980.0),
    ]
    assert reader.known == MIDNIGHT
    assert 0x05060104 not in meter.asked  # the held freeze's energy is not read again


def test_a_meter_keeping_fewer_freezes_ends_the_backfill_without_failing() -> None:
    meter = _Meter(kept=2)
    reader = FreezeReader(SHANGHAI, KWH, "kWh", now=lambda: MIDNIGHT)
    assert _read(reader, meter) == [MIDNIGHT, MIDNIGHT - timedelta(days=1)]


def test_a_refused_newest_freeze_fails_the_poll_and_moves_nothing() -> None:
    meter = _Meter(kept=0)
    reader = FreezeReader(SHANGHAI, KWH, "kWh", now=lambda: MIDNIGHT)
    with pytest.raises(PollError):
        _read(reader, meter)
    assert reader.known is None


class _TwoWayMeter(_Meter):
    """Also answers the reverse blocks (050602NN): a tenth of the forward total."""

    def __init__(self, kept: int, *, reverse: bool = True) -> None:
        super().__init__(kept)
        self.reverse = reverse

    async def request(self, di: int) -> bytes:
        if di >> 8 != 0x050602:
            return await super().request(di)
        self.asked.append(di)
        if not self.reverse:
            raise PollError(FailureReason.EXCEPTION_CODE, "无请求数据", 2, permanent=True)
        kwh = self.freezes[(di & 0xFF) - 1][1] / 10
        return b"".join(encode_value(v, KWH) for v in (kwh, kwh / 2, kwh / 2))


def test_a_meter_feeding_export_energy_has_its_reverse_freezes_backfilled_too() -> None:
    meter = _TwoWayMeter(kept=10)
    reader = FreezeReader(SHANGHAI, KWH, "kWh", now=lambda: MIDNIGHT, reverse_format=KWH)
    reader.known = MIDNIGHT - timedelta(days=2)
    got = asyncio.run(reader.read(meter.request, resumed=True))
    assert [(p, v, at) for p, v, _u, at in got] == [
        ("energy_import_kwh", 1000.0, MIDNIGHT),
        ("energy_export_kwh", 100.0, MIDNIGHT),
        ("energy_import_kwh", 990.0, MIDNIGHT - timedelta(days=1)),
        ("energy_export_kwh", 99.0, MIDNIGHT - timedelta(days=1)),
    ]
    assert reader.known == MIDNIGHT
    assert 0x05060203 not in meter.asked  # the held freeze's reverse block is not read either


def test_a_meter_refusing_the_reverse_block_keeps_its_forward_freezes_and_is_not_asked_again() -> (
    None
):
    meter = _TwoWayMeter(kept=3, reverse=False)
    reader = FreezeReader(SHANGHAI, KWH, "kWh", now=lambda: MIDNIGHT, reverse_format=KWH)
    got = asyncio.run(reader.read(meter.request, resumed=False))
    assert [(p, at) for p, _v, _u, at in got] == [
        ("energy_import_kwh", MIDNIGHT - timedelta(days=d)) for d in range(3)
    ]
    assert [di for di in meter.asked if di >> 8 == 0x050602] == [0x05060201]
