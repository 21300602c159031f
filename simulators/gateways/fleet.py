"""A seedable fleet of simulated gateways and meters, and the readings they produce.

Pure: no network, no clock. The same seed, configuration and start time give the same fleet and
the same readings. Power follows a daily and weekly load shape with noise; cumulative counters
integrate that power (so power and counters agree); a data centre's facility meter reads its IT
load times the site's PUE, which drifts a little with the time of day (cooling).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import yaml

from services.core.domain.quantities import QuantityCode
from services.core.domain.roles import COUNTED_ROLES, MeterRole
from services.core.domain.uscc import uscc_check_char

TOWNS = (
    "Yangliuqing",
    "Xinkou",
    "Jingwu",
    "Wangwenzhuang",
    "Zhangjiawo",
    "Zhongbei",
    "Dasi",
    "Liqizhuang",
)
INDUSTRIES = (
    ("C33", "Precision Castings"),
    ("C17", "Textiles"),
    ("C26", "Chemicals"),
    ("C36", "Auto Parts"),
    ("C13", "Food Processing"),
    ("C30", "Building Materials"),
    ("C39", "Electronics"),
    ("G59", "Cold Storage"),
)
LOCAL = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST


@dataclass(frozen=True)
class FleetConfig:
    seed: int = 1
    enterprises: int = 6
    gateways_per_enterprise: int = 1
    meters_per_gateway: int = 3
    data_centres: int = 2
    interval_s: int = 900
    dc_pues: tuple[float, ...] = (1.32, 1.42, 1.20, 1.62)
    reset_rate: float = 0.0  # chance per counter per interval of a meter reset (counter to 0)
    budget_year: int = 2026  # the year of the demo budgets in the registry file


@dataclass(frozen=True)
class PointSim:
    quantity: QuantityCode
    unit: str


ELECTRIC_POINTS = (
    PointSim(QuantityCode.ENERGY_IMPORT_KWH, "kWh"),
    PointSim(QuantityCode.POWER_KW, "kW"),
)
"""An electricity meter's points: its energy counter and its active power."""


@dataclass
class MeterSim:
    code: str
    site: str
    carrier: str
    role: MeterRole
    multiplier: float
    points: tuple[PointSim, ...]
    base: float  # mean primary-side rate: kW, m3/h or t/h
    phase: float
    noise_seed: int
    pue: float | None = None
    it_meter: MeterSim | None = None  # a facility meter follows its site's IT meter
    counter: float = 0.0  # raw register value (primary / multiplier)


@dataclass
class SiteSim:
    code: str
    kind: str
    dc_class: str | None = None
    meters: list[MeterSim] = field(default_factory=list)


@dataclass
class GatewaySim:
    code: str
    meters: list[MeterSim] = field(default_factory=list)


@dataclass
class EnterpriseSim:
    code: str
    name: str
    industry: str
    town: str
    gateways: list[GatewaySim] = field(default_factory=list)
    sites: list[SiteSim] = field(default_factory=list)


@dataclass
class Fleet:
    config: FleetConfig
    enterprises: list[EnterpriseSim]

    def meters(self) -> Iterator[tuple[EnterpriseSim, GatewaySim, MeterSim]]:
        for ent in self.enterprises:
            for gw in ent.gateways:
                for m in gw.meters:
                    yield ent, gw, m


_Row = tuple[str, str, datetime, float]  # meter, point, ts, value


@dataclass(frozen=True)
class GatewayMessage:
    enterprise: str
    gateway: str
    seq: int
    payload: bytes
    readings: tuple[tuple[str, str, datetime, float], ...]  # meter, point, ts, value


def uscc(rng: random.Random) -> str:
    """A well-formed unified social credit code (Tianjin Xiqing registration prefix)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91120111" + "".join(rng.choice(alphabet) for _ in range(9))
    return body + uscc_check_char(body)


def build_fleet(config: FleetConfig) -> Fleet:
    rng = random.Random(config.seed)
    ents: list[EnterpriseSim] = []
    for i in range(config.enterprises):
        industry, label = INDUSTRIES[i % len(INDUSTRIES)]
        town = TOWNS[i % len(TOWNS)]
        ent = EnterpriseSim(uscc(rng), f"{town} {label} Co. {i + 1}", industry, town)
        plant = SiteSim("plant-1", "industrial")
        ent.sites.append(plant)
        for g in range(config.gateways_per_enterprise):
            gw = GatewaySim(f"gw-{g + 1:02d}")
            for k in range(config.meters_per_gateway):
                kind = k % 4
                code = f"M-{g + 1}{k + 1:02d}"
                if kind == 3:
                    meter = MeterSim(
                        code,
                        plant.code,
                        "natural_gas",
                        MeterRole.BOUNDARY,
                        1.0,
                        (PointSim(QuantityCode.GAS_VOLUME_M3, "m3"),),
                        rng.uniform(20, 200),
                        rng.uniform(0, 2),
                        rng.randrange(2**31),
                    )
                elif kind == 2 and k > 0:
                    meter = MeterSim(
                        code,
                        plant.code,
                        "steam",
                        MeterRole.BOUNDARY,
                        1.0,
                        (PointSim(QuantityCode.STEAM_MASS_T, "t"),),
                        rng.uniform(0.5, 4),
                        rng.uniform(0, 2),
                        rng.randrange(2**31),
                    )
                else:
                    meter = MeterSim(
                        code,
                        plant.code,
                        "electricity",
                        MeterRole.BOUNDARY if k == 0 else MeterRole.SUB,
                        rng.choice((40, 80, 120)),
                        ELECTRIC_POINTS,
                        rng.uniform(200, 3000),
                        rng.uniform(0, 2),
                        rng.randrange(2**31),
                    )
                gw.meters.append(meter)
                plant.meters.append(meter)
            ent.gateways.append(gw)
        ents.append(ent)
    for d in range(config.data_centres):
        ent = ents[d % len(ents)]
        pue = config.dc_pues[d % len(config.dc_pues)]
        dc_class = "new_large" if d % 2 == 0 else "existing"
        site = SiteSim(f"dc-{d + 1}", "data_centre", dc_class)
        it_kw = rng.uniform(2000, 8000)
        it = MeterSim(
            f"DC{d + 1}-IT",
            site.code,
            "electricity",
            MeterRole.IT_LOAD,
            1.0,
            ELECTRIC_POINTS,
            it_kw,
            0.0,
            rng.randrange(2**31),
        )
        facility = MeterSim(
            f"DC{d + 1}-IN",
            site.code,
            "electricity",
            MeterRole.FACILITY_TOTAL,
            1.0,
            ELECTRIC_POINTS,
            it_kw * pue,
            0.0,
            rng.randrange(2**31),
            pue=pue,
            it_meter=it,
        )
        site.meters += [facility, it]
        ent.sites.append(site)
        ent.gateways[0].meters += [facility, it]
    return Fleet(config, ents)


def _noise(seed: int, step: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{step}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") / 2**64) * 2 - 1  # uniform in [-1, 1)


def load_shape(ts: datetime, phase: float) -> float:
    """Daily and weekly shape around 1.0: low at night, high in working hours, lower at weekends."""
    local = ts.astimezone(LOCAL)
    hour = local.hour + local.minute / 60
    daily = 0.75 + 0.35 * math.sin((hour - 8 - phase) / 24 * 2 * math.pi)
    weekly = 0.8 if local.weekday() >= 5 else 1.0
    return daily * weekly


def primary_rate(meter: MeterSim, ts: datetime, step: int) -> float:
    """kW (or m3/h, t/h) on the primary side at ``ts``."""
    if meter.it_meter is not None and meter.pue is not None:
        local_hour = ts.astimezone(LOCAL).hour
        cooling = 1 + 0.03 * math.sin((local_hour - 15) / 24 * 2 * math.pi)  # warmer afternoon
        return primary_rate(meter.it_meter, ts, step) * (1 + (meter.pue - 1) * cooling)
    if meter.role == MeterRole.IT_LOAD:
        return meter.base * (0.97 + 0.03 * _noise(meter.noise_seed, step))
    return max(
        0.0, meter.base * load_shape(ts, meter.phase) * (1 + 0.05 * _noise(meter.noise_seed, step))
    )


def advance(
    fleet: Fleet,
    ts: datetime,
    step: int,
    *,
    elapsed_s: float | None = None,
    counters_only: bool = False,
) -> dict[str, list[tuple[str, str, float]]]:
    """Move every counter to ``ts`` (``elapsed_s`` after its previous reading, default one
    interval); the readings at ``ts`` by gateway key, without instantaneous points when
    ``counters_only``."""
    dt_h = (fleet.config.interval_s if elapsed_s is None else elapsed_s) / 3600
    out: dict[str, list[tuple[str, str, float]]] = {}
    for ent, gw, m in fleet.meters():
        rate = primary_rate(m, ts, step)
        if fleet.config.reset_rate and (_noise(m.noise_seed ^ 0x5EED, step) + 1) / 2 < (
            fleet.config.reset_rate
        ):
            m.counter = 0.0  # a replaced or reset meter starts again from zero
        m.counter += rate * dt_h / m.multiplier
        rows = out.setdefault(f"{ent.code}/{gw.code}", [])
        for p in m.points:
            if p.quantity == QuantityCode.POWER_KW:
                if counters_only:
                    continue
                rows.append((m.code, p.quantity, round(rate / m.multiplier, 4)))
            else:
                rows.append((m.code, p.quantity, round(m.counter, 4)))
    return out


class ReadingStream:
    """The fleet's readings interval after interval from ``start``, as messages per gateway.

    Stateful: counters, the noise step and every gateway's ``seq`` continue from one call to the
    next, so a backlog and live publishing form one consistent stream.
    """

    def __init__(self, fleet: Fleet, start: datetime, readings_per_message: int = 50) -> None:
        self.fleet = fleet
        self.next_ts = start
        self.step = 0
        self.readings_per_message = readings_per_message
        self.seqs: dict[str, int] = {}
        self.last_ts: datetime | None = None  # the previous reading's time

    def _advance(self, ts: datetime, *, counters_only: bool = False) -> dict[str, list[_Row]]:
        """Every meter's readings at ``ts``, the counters integrating the power since the
        previous reading (one interval before the first)."""
        elapsed = None if self.last_ts is None else (ts - self.last_ts).total_seconds()
        rows = advance(self.fleet, ts, self.step, elapsed_s=elapsed, counters_only=counters_only)
        self.step += 1
        self.last_ts = ts
        return {
            key: [(m, p, ts, v) for m, p, v in gateway_rows] for key, gateway_rows in rows.items()
        }

    def take(self, steps: int) -> Iterator[GatewayMessage]:
        interval = timedelta(seconds=self.fleet.config.interval_s)
        for _ in range(steps):
            ts = self.next_ts
            rows_by_gateway = self._advance(ts)
            self.next_ts = ts + interval
            for key, rows in rows_by_gateway.items():
                for i in range(0, len(rows), self.readings_per_message):
                    yield self._message(key, rows[i : i + self.readings_per_message])

    def history(self, until: datetime, interval_s: int) -> Iterator[GatewayMessage]:
        """Store and forward: what the gateways kept from ``next_ts`` until ``until`` (excluded),
        a reading every ``interval_s``, sent as full messages of several intervals each. Only the
        cumulative points are kept (instantaneous power is not stored and forwarded); counters
        run on without a reset, and the stream carries on at ``until``."""
        interval = timedelta(seconds=interval_s)
        kept: dict[str, list[_Row]] = {}
        ts = self.next_ts
        while ts < until:
            for key, rows in self._advance(ts, counters_only=True).items():
                buffer = kept.setdefault(key, [])
                buffer += rows
                while len(buffer) >= self.readings_per_message:
                    yield self._message(key, buffer[: self.readings_per_message])
                    del buffer[: self.readings_per_message]
            ts += interval
        for key, buffer in kept.items():
            if buffer:
                yield self._message(key, buffer)
        self.next_ts = max(self.next_ts, until)

    def _message(self, key: str, rows: list[_Row]) -> GatewayMessage:
        ent, gw = key.split("/")
        seq = self.seqs.get(key, 1)
        self.seqs[key] = seq + 1
        readings = [_reading(m, p, ts.astimezone(LOCAL).isoformat(), v) for m, p, ts, v in rows]
        return GatewayMessage(
            ent, gw, seq, orjson.dumps({"seq": seq, "readings": readings}), tuple(rows)
        )


def messages(
    fleet: Fleet, start: datetime, steps: int, readings_per_message: int = 50
) -> Iterator[GatewayMessage]:
    """Readings for ``steps`` intervals from ``start``, grouped into messages per gateway."""
    return ReadingStream(fleet, start, readings_per_message).take(steps)


def _reading(meter: str, point: str, iso: str, value: float) -> dict[str, Any]:
    reading: dict[str, Any] = {"meter": meter, "point": point, "ts": iso, "value": value}
    if point == QuantityCode.ENERGY_IMPORT_KWH:
        reading["unit"] = "kWh"  # optional in the contract; sent for one quantity to exercise it
    return reading


def registry_document(fleet: Fleet) -> dict[str, Any]:
    ents: list[dict[str, Any]] = []
    for ent in fleet.enterprises:
        gateway_of = {m.code: gw.code for gw in ent.gateways for m in gw.meters}
        sites = []
        for site in ent.sites:
            meters = [
                {
                    "code": m.code,
                    "carrier": m.carrier,
                    "protocol": "mqtt",
                    "gateway": gateway_of[m.code],
                    "multiplier": m.multiplier,
                    "role": m.role.value,
                    "interval_s": fleet.config.interval_s,
                    "points": [p.quantity.value for p in m.points],
                }
                for m in site.meters
            ]
            entry: dict[str, Any] = {"code": site.code, "kind": site.kind, "meters": meters}
            if site.dc_class:
                entry["dc_class"] = site.dc_class
            sites.append(entry)
        doc: dict[str, Any] = {
            "code": ent.code,
            "name": ent.name,
            "industry": ent.industry,
            "town": ent.town,
            "grid_region": "north",
            "gateways": [{"code": g.code} for g in ent.gateways],
            "sites": sites,
        }
        budget = _demo_budget(fleet, len(ents))
        if budget is not None:
            doc["budgets"] = [budget]
        ents.append(doc)
    return {"enterprises": ents}


def _demo_budget(fleet: Fleet, index: int) -> dict[str, Any] | None:
    """Budgets that make the district's alerts visible at once: the first enterprise's electricity
    budget is already spent (a breach); the second's is twice a few hours' use, so it is projected
    to be overrun long before the year ends (an early warning; the demo, whose gateways send weeks
    of history, sizes it for that: simulators/district/layout.py overrun_amount)."""
    if index > 1:
        return None
    ent = fleet.enterprises[index]
    boundary_kw = sum(
        m.base
        for g in ent.gateways
        for m in g.meters
        if m.carrier == "electricity" and m.role in COUNTED_ROLES
    )
    amount = 1.0 if index == 0 else round(max(1.0, boundary_kw * 4), 1)
    return {
        "year": fleet.config.budget_year,
        "carrier": "electricity",
        "unit": "kWh",
        "amount": amount,
    }


def fleet_to_registry_yaml(fleet: Fleet) -> str:
    header = (
        f"# Generated by `energymon simulate gateways --seed {fleet.config.seed}`: the "
        "simulated district.\n"
    )
    return header + yaml.safe_dump(registry_document(fleet), sort_keys=False, allow_unicode=True)
