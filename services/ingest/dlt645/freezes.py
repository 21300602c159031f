"""Reading a DL/T 645-2007 meter's daily freezes (日冻结, table A.6): once per new freeze, and after
an outage every freeze the platform missed.

The meter keeps its last freezes, 上1次 (the newest, DI0 = 01) to 上N次 (DI0 = N, written in binary:
not confirmed from the standard's text beyond 上9次, where BCD would differ), each a time
(``050600NN``), a forward (``050601NN``) and a reverse (``050602NN``) active energy block. A
freeze is read when one can be new: on first contact, when the device comes back after failed
polls, and once the poller's clock has reached a day after the newest freeze it holds (while the
meter's clock lags, the newest freeze's time is read each poll until it changes). Reading goes
back from 上1次 while the freezes are older than a day after the newest one held (on first
contact: up to ``limit``), and stops where the meter refuses a DI (无请求数据: it keeps no older
freeze). Each freeze becomes an ``energy_import_kwh`` reading at its own time, and an
``energy_export_kwh`` one where the meter feeds that point (a meter that refuses the reverse
block is not asked for it again); the pipeline stores a (point, time) once, so reading a freeze
twice costs exchanges, never a second row. The freezes of a read also ride, without an exchange,
in the messages of the polls of the next ``RESEND`` (the pipeline discards what it holds): a
message it refused — a meter the poller polls before the ingest's registry, refreshed every 30 s
by default, knows it — would otherwise lose them until the meter's next outage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.core.devices.dlt645.values import ValueFormat, decode_time, decode_values
from services.ingest.modbus.connection import PollError
from services.ingest.modbus.poller import Dated

FREEZE_TIME_DI = 0x05060001  # (上1次)日冻结时间, table A.6
FREEZE_FORWARD_DI = 0x05060101  # (上1次)日冻结正向有功电能数据, table A.6
FREEZE_REVERSE_DI = 0x05060201  # (上1次)日冻结反向有功电能数据, table A.6
# how far back a first contact reads when the connection does not say (freeze_backfill): the
# standard's count of stored daily freezes could not be confirmed from its text, so a week
DEFAULT_BACKFILL = 7
MAX_BACKFILL = 0xFF  # DI0 is one byte
RESEND = timedelta(minutes=2)  # four of the ingest's default registry refreshes

Request = Callable[[Any], Awaitable[Any]]


def freeze_dis(n: int) -> tuple[int, int]:
    """The time and forward active energy DIs of the n-th last daily freeze (上n次, n >= 1)."""
    if not 1 <= n <= MAX_BACKFILL:
        raise ValueError(f"a daily freeze is 上1次 to 上{MAX_BACKFILL}次, not 上{n}次")
    return FREEZE_TIME_DI & ~0xFF | n, FREEZE_FORWARD_DI & ~0xFF | n


def reverse_di(n: int) -> int:
    """The reverse active energy DI of the n-th last daily freeze (上n次)."""
    freeze_dis(n)  # the same range
    return FREEZE_REVERSE_DI & ~0xFF | n


def freeze_due(known: datetime | None, now: datetime, *, resumed: bool) -> bool:
    """Whether a poll at ``now`` reads the newest freeze: nothing held yet (``known`` None),
    the device back after failed polls, or a day since the newest freeze held (on the meter's
    local calendar: ``known`` carries the meter clock's zone)."""
    return known is None or resumed or now >= known + timedelta(days=1)


def older_wanted(at: datetime, known: datetime | None, n: int, limit: int) -> bool:
    """After storing freeze 上n次 taken ``at``: whether 上(n+1)次 may still be one the platform
    missed (more than a day after the newest held, or anything within ``limit`` when none is)."""
    if n >= limit:
        return False
    return known is None or at - timedelta(days=1) > known


@dataclass
class FreezeReader:
    """One meter's daily freezes, read with the poll's own request function (one request at a
    time on the line). ``known``: the newest freeze stored from this meter, in ``tz``."""

    tz: ZoneInfo
    energy_format: ValueFormat
    unit: str
    limit: int = DEFAULT_BACKFILL
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    known: datetime | None = None
    # the reverse block's format, when the meter feeds energy_export_kwh (None: not read)
    reverse_format: ValueFormat | None = None
    _sent: Dated = field(default_factory=list, init=False)  # the last read's freezes, resent
    _sent_at: datetime | None = field(default=None, init=False)

    async def read(self, request: Request, *, resumed: bool) -> Dated:
        """The freezes this poll should store, newest first; ``known`` moves only when all of them
        were read (a failure raises and the next poll asks again)."""
        now = self.now()
        if not freeze_due(self.known, now, resumed=resumed):
            fresh = self._sent_at is not None and now < self._sent_at + RESEND
            return list(self._sent) if fresh else []
        out: Dated = []
        for n in range(1, self.limit + 1):
            time_di, energy_di = freeze_dis(n)
            try:
                at = decode_time(await request(time_di), self.tz)
            except PollError as err:
                if n > 1 and err.permanent:
                    break  # the meter keeps no older freeze
                raise
            if (self.known is not None and at <= self.known) or (out and at >= out[-1][3]):
                break  # held already, or not older than the last one read (a meter's own gap)
            total = decode_values(await request(energy_di), self.energy_format)[0]
            out.append(("energy_import_kwh", total, self.unit, at))
            if self.reverse_format is not None:
                try:
                    reverse = await request(reverse_di(n))
                except PollError as err:
                    if not err.permanent:
                        raise
                    self.reverse_format = None  # the meter keeps no reverse freezes
                else:
                    total = decode_values(reverse, self.reverse_format)[0]
                    out.append(("energy_export_kwh", total, self.unit, at))
            if not older_wanted(at, self.known, n, self.limit):
                break
        if out:
            self.known = max(at for *_, at in out)
            self._sent, self._sent_at = out, now
        return out
