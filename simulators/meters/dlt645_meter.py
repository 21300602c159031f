"""A simulated DL/T 645-2007 meter: monotonic energy counters by tariff, instantaneous values,
and its last daily freezes (上1次 to 上N次, DI0 = N), answered per data identifier.

The values are the simulator's own choices, not the standard's: power follows the fleet's load
shape, energy integrates it into the tariff the hour of day falls in (a simulated time-of-use
table), the combined active energy is forward + reverse, the meter freezes its energy at local
midnight (Asia/Shanghai) and keeps its last ``FREEZES_KEPT`` freezes. ``run_through`` moves a meter
across a span at once (an outage: the meter silent while its counters and freezes go on).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.core.devices.dlt645.model import DataItem, DataMap
from services.core.devices.dlt645.values import encode_time, encode_value
from services.core.domain.quantities import QUANTITIES
from services.core.domain.units import conversion_factor
from simulators.gateways.fleet import load_shape

LOCAL = ZoneInfo("Asia/Shanghai")
TARIFFS = 4
# the simulated time-of-use table: tariff number (1..4) by local hour
FREEZES_KEPT = 31  # the simulator's choice, not the standard's
FREEZE_CLASS = 0x0506  # DI3 DI2 of the daily freezes (table A.6); DI0 is 上N次
_TARIFF_BY_HOUR = [4] * 7 + [3] + [2] * 3 + [1] * 2 + [3] * 4 + [2] * 2 + [1] * 3 + [3] + [4] * 2


@dataclass(frozen=True, slots=True)
class Freeze:
    at: datetime  # local midnight
    forward: tuple[float, ...]  # total, tariff 1..4
    reverse: tuple[float, ...]


class NoSuchDataError(LookupError):
    """The meter holds no such data identifier (its reply: ERR bit 无请求数据)."""


@dataclass
class Dlt645Meter:
    address: str  # 12 digits
    data_map: DataMap
    base_kw: float
    seed: int
    forward_kwh: list[float] = field(default_factory=list)  # index 0 unused: tariffs 1..4
    reverse_kwh: list[float] = field(default_factory=list)
    power_kw: float = 0.0
    freezes: deque[Freeze] = field(
        default_factory=lambda: deque(maxlen=FREEZES_KEPT)
    )  # newest first
    _rng: random.Random = field(init=False)
    _at: datetime | None = field(default=None, init=False)  # where run_through left off

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.forward_kwh = [0.0] + [self._rng.uniform(1_000, 20_000) for _ in range(TARIFFS)]
        self.reverse_kwh = [0.0] + [self._rng.uniform(0, 5) for _ in range(TARIFFS)]

    @property
    def frozen_at(self) -> datetime | None:
        return self.freezes[0].at if self.freezes else None

    @property
    def frozen_forward(self) -> tuple[float, ...]:
        return self.freezes[0].forward if self.freezes else ()

    @property
    def forward_total(self) -> float:
        return sum(self.forward_kwh)

    @property
    def reverse_total(self) -> float:
        return sum(self.reverse_kwh)

    def advance(self, now: datetime, dt_s: float) -> None:
        """Move to ``now``: power follows the load shape and integrates into the hour's tariff;
        reaching local midnight freezes the day's energy (the freeze holds the counters as they
        were at midnight, the last freeze before ``now`` when starting)."""
        local = now.astimezone(LOCAL)
        self.power_kw = self.base_kw * load_shape(now, 0.0) * (1 + self._rng.uniform(-0.03, 0.03))
        self.forward_kwh[_TARIFF_BY_HOUR[local.hour]] += self.power_kw * dt_s / 3600
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.frozen_at is None or midnight > self.frozen_at:
            self.freeze(midnight)

    def run_through(self, end: datetime, step_s: float = 60.0) -> None:
        """Advance to ``end`` in steps of ``step_s`` from the last freeze's day on (a meter that
        starts at a local midnight and steps whole minutes freezes its counters exactly there)."""
        if self.frozen_at is None:
            raise ValueError("advance the meter to its start first")
        at = self._at if self._at is not None else self.frozen_at
        while at < end:
            dt = min(step_s, (end - at).total_seconds())
            at += timedelta(seconds=dt)
            self.advance(at, dt)
            self._at = at

    def freeze(self, at: datetime) -> None:
        """Freeze the counters as they stand, as taken at ``at``."""
        self.freezes.appendleft(
            Freeze(
                at,
                (self.forward_total, *self.forward_kwh[1:]),
                (self.reverse_total, *self.reverse_kwh[1:]),
            )
        )

    def payload(self, di: int) -> bytes:
        """The data bytes this meter answers for ``di`` (raises NoSuchDataError): a daily
        freeze's item with DI0 = N answers with the N-th last freeze, as the map's 上1次 item."""
        nth = di & 0xFF if di >> 16 == FREEZE_CLASS else 1
        item = self.data_map.by_di().get(di & ~0xFF | 1 if nth > 1 else di)
        if item is None or not 1 <= nth <= len(self.freezes):
            raise NoSuchDataError(f"{di:08X}")
        if item.format is None:
            return encode_time(self.freezes[nth - 1].at)
        values = self.values(item, nth)
        return b"".join(encode_value(v, item.format) for v in values)

    def values(self, item: DataItem, nth: int = 1) -> list[float]:
        """The engineering values of ``item`` in its unit (a block: total then tariffs); a daily
        freeze's from the ``nth`` last freeze."""
        source = self._sources(nth).get(item.di)
        if source is None:
            raise NoSuchDataError(item.di_text)
        values = source()
        if item.format is not None:  # what the format can hold, as a meter displays it
            scale = 10**item.format.decimals
            values = [round(v * scale) / scale for v in values]
        return values

    def _sources(self, nth: int = 1) -> dict[int, Callable[[], list[float]]]:
        current_a = self.power_kw * 1000 / (3 * 220 * 0.95) if self.power_kw else 0.0
        out: dict[int, Callable[[], list[float]]] = {
            0x00000000: lambda: [self.forward_total + self.reverse_total],
            0x00010000: lambda: [self.forward_total],
            0x00020000: lambda: [self.reverse_total],
            0x02030000: lambda: [self.power_kw],
            0x02060000: lambda: [0.95],
            0x02800002: lambda: [50.0],
            0x05060101: lambda: list(self.freezes[nth - 1].forward),
            0x05060201: lambda: list(self.freezes[nth - 1].reverse),
        }
        for t in range(1, TARIFFS + 1):
            out |= self._tariff_sources(t)
        for phase in (1, 2, 3):
            out |= self._phase_sources(phase, current_a)
        return out

    def _tariff_sources(self, t: int) -> dict[int, Callable[[], list[float]]]:
        def combined() -> list[float]:
            return [self.forward_kwh[t] + self.reverse_kwh[t]]

        def forward() -> list[float]:
            return [self.forward_kwh[t]]

        def reverse() -> list[float]:
            return [self.reverse_kwh[t]]

        return {t << 8: combined, 0x00010000 | t << 8: forward, 0x00020000 | t << 8: reverse}

    def _phase_sources(self, phase: int, current_a: float) -> dict[int, Callable[[], list[float]]]:
        def voltage() -> list[float]:
            return [219.0 + phase]

        def current() -> list[float]:
            return [current_a]

        def power() -> list[float]:
            return [self.power_kw / 3]

        return {
            0x02010000 | phase << 8: voltage,
            0x02020000 | phase << 8: current,
            0x02030000 | phase << 8: power,
        }

    def expected(self) -> dict[str, float]:
        """What the platform should store per point, in the point's unit."""
        out = {}
        for point, item in self.data_map.fed_points().items():
            unit = QUANTITIES[point].unit
            out[point] = self.values(item)[0] * conversion_factor(item.unit, unit)
        return out


def silent_since(meter: Dlt645Meter, days: int, now: datetime) -> None:
    """Start ``meter`` at the local midnight ``days`` days before ``now``'s and run it through to
    ``now``: what a meter nobody read for those days holds (its counters and freezes went on)."""
    local = now.astimezone(LOCAL)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    meter.advance(midnight - timedelta(days=days), 0)
    meter.run_through(now)


def addresses(count: int, first: int = 1) -> list[str]:
    """``count`` meter addresses on one line: 000000000001, 000000000002, ..."""
    return [f"{n:012d}" for n in range(first, first + count)]
