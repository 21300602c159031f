"""The simulated district: 30 enterprises of Xiqing's towns with four data centres and budgets
(the gateway fleet, one reading a minute), six Modbus TCP workshop sub-meters, a DL/T 645 workshop
sub-meter behind a simulated TCP serial server, a Sparkplug B edge node's metering devices, and the
data centre commissioned during the demo, all in one registry document.

Within an enterprise the registry file is authoritative, so everything of an enterprise (its
gateway meters, its Modbus meters, the commissioned data centre) is in the same document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import yaml

from services.core.devices.dlt645.loader import shipped_maps as dlt645_maps
from services.core.devices.loader import shipped_maps
from services.core.domain.roles import COUNTED_ROLES, MeterRole
from simulators.district.production import CLINKER, CLINKER_INDUSTRY, CLINKER_QUOTA
from simulators.gateways.fleet import (
    ELECTRIC_POINTS,
    LOCAL,
    EnterpriseSim,
    Fleet,
    FleetConfig,
    GatewaySim,
    MeterSim,
    SiteSim,
    build_fleet,
    primary_rate,
    registry_document,
)
from simulators.meters.cli import meter_entry
from simulators.meters.device import SimulatedMeter
from simulators.meters.dlt645_meter import Dlt645Meter, addresses
from simulators.sparkplug.cli import registry_yaml as sparkplug_bindings

ENTERPRISES = 30
DATA_CENTRES = 4
INTERVAL_S = 60  # the gateway meters: a reading a minute

# The Modbus path: workshop sub-meters of two plants without budgets or data centres (the fleet's
# fifth and sixth enterprises), read over Modbus TCP from the meter simulator. Sub-meters stay
# out of the enterprises' boundary consumption, so the alerts the district is built to cause are
# the same with or without them. Mean loads stay within every map's register range.
MODBUS_METERS = (  # (enterprise index in the fleet, meter code, device map, mean kW)
    (4, "MB-1", "eastron-sdm630", 18.0),
    (4, "MB-2", "schneider-iem3155", 12.0),
    (4, "MB-3", "acrel-adl3000", 22.0),
    (5, "MB-1", "acrel-adl3000", 9.0),
    (5, "MB-2", "eastron-sdm630", 15.0),
    (5, "MB-3", "schneider-iem3155", 24.0),
)
MODBUS_PORT = 5020  # as `energymon simulate meters`; the demo takes another when this one is taken
MODBUS_INTERVAL_S = 15

# The DL/T 645 path: one workshop sub-meter of another plant (the fleet's eighth enterprise), read
# through a simulated TCP serial server by the same poller as the Modbus meters.
DLT645_ENTERPRISE = 7  # index in the fleet
DLT645_METER = "DL-1"
DLT645_MAP = "dlt645-2007-common"
DLT645_BASE_KW = 16.0
DLT645_PORT = 8899  # as `energymon simulate dlt645-meters`; another when this one is taken

# The Sparkplug B path: an edge node whose metering devices are workshop sub-meters of a ninth
# plant, published by `energymon simulate sparkplug` to the demo's Sparkplug host.
SPARKPLUG_ENTERPRISE = 8  # index in the fleet
SPARKPLUG_GROUP = "demo-district"
SPARKPLUG_NODE = "edge-1"
SPARKPLUG_DEVICES = 2
SPARKPLUG_INTERVAL_S = 15

# The data centre commissioned during the demo: a fifth data-centre site in an enterprise without
# a data centre, budget or Modbus meters, with a gateway of its own. Its meters are 15-minute
# interval meters (the settlement interval): with one reading expected per bucket, the first
# reading completes its coverage, which is counted from a point's first reading (a one-minute
# meter would need thirteen readings in its first bucket before it counted as covered).
DC_NEW = "dc-new"
DC_NEW_ENTERPRISE = 6  # index in the fleet
DC_NEW_GATEWAY = "gw-dc"
DC_NEW_CLASS = "new_large"
DC_NEW_PUE = 1.18  # healthy: below its class's limit
DC_NEW_IT_KW = 3200.0
DC_NEW_INTERVAL_S = 900

REVISED_ENTERPRISE = 0  # the fleet's first enterprise: its electricity budget is already spent
OVERRUN_ENTERPRISE = 1  # the second: its budget is projected to be overrun, not yet breached


@dataclass(frozen=True)
class ModbusMeter:
    enterprise: str
    code: str
    sim: SimulatedMeter


def fleet_config(*, seed: int, budget_year: int) -> FleetConfig:
    """The gateway fleet, as ``energymon simulate gateways`` builds it from the same options."""
    return FleetConfig(
        seed=seed,
        enterprises=ENTERPRISES,
        gateways_per_enterprise=1,
        meters_per_gateway=3,
        data_centres=DATA_CENTRES,
        interval_s=INTERVAL_S,
        budget_year=budget_year,
    )


def simulator_options(config: FleetConfig) -> list[str]:
    """The options of `energymon simulate gateways` that make it publish the fleet of
    ``config`` (the budgets are the registry's business, not the gateways')."""
    return [
        "--seed",
        str(config.seed),
        "--enterprises",
        str(config.enterprises),
        "--gateways-per-enterprise",
        str(config.gateways_per_enterprise),
        "--meters-per-gateway",
        str(config.meters_per_gateway),
        "--data-centres",
        str(config.data_centres),
        "--interval",
        str(config.interval_s),
    ]


def modbus_meters(fleet: Fleet, *, seed: int) -> tuple[ModbusMeter, ...]:
    """The Modbus meters, unit ids 1..N on one simulator port."""
    maps = shipped_maps()
    return tuple(
        ModbusMeter(
            fleet.enterprises[ent].code,
            code,
            SimulatedMeter(unit, maps[model], base_kw, seed + unit),
        )
        for unit, (ent, code, model, base_kw) in enumerate(MODBUS_METERS, start=1)
    )


def dlt645_meter(*, seed: int) -> Dlt645Meter:
    """The DL/T 645 meter, the first address on its line."""
    (address,) = addresses(1)
    return Dlt645Meter(address, dlt645_maps()[DLT645_MAP], DLT645_BASE_KW, seed + 401)


def sparkplug_meters() -> list[dict[str, Any]]:
    """The registry meters bound to the edge node's devices, as the simulator names them."""
    meters: list[dict[str, Any]] = yaml.safe_load(
        sparkplug_bindings(SPARKPLUG_GROUP, SPARKPLUG_NODE, SPARKPLUG_DEVICES)
    )
    return [{**m, "role": MeterRole.SUB.value, "interval_s": SPARKPLUG_INTERVAL_S} for m in meters]


def commissioned_data_centre(fleet: Fleet) -> Fleet:
    """The data centre commissioned during the demo, as a fleet of its one gateway: its facility
    meter reads its IT load times its PUE, as the fleet's data centres do."""
    host = fleet.enterprises[DC_NEW_ENTERPRISE]
    seed = fleet.config.seed
    it = MeterSim(
        "DCN-IT",
        DC_NEW,
        "electricity",
        MeterRole.IT_LOAD,
        1.0,
        ELECTRIC_POINTS,
        DC_NEW_IT_KW,
        0.0,
        seed + 501,
    )
    facility = MeterSim(
        "DCN-IN",
        DC_NEW,
        "electricity",
        MeterRole.FACILITY_TOTAL,
        1.0,
        ELECTRIC_POINTS,
        DC_NEW_IT_KW * DC_NEW_PUE,
        0.0,
        seed + 502,
        pue=DC_NEW_PUE,
        it_meter=it,
    )
    site = SiteSim(DC_NEW, "data_centre", DC_NEW_CLASS, [facility, it])
    ent = EnterpriseSim(
        host.code, host.name, host.industry, host.town, [GatewaySim(DC_NEW_GATEWAY, [facility, it])]
    )
    ent.sites.append(site)
    return Fleet(replace(fleet.config, data_centres=1, interval_s=DC_NEW_INTERVAL_S), [ent])


def revised_amount(fleet: Fleet) -> float:
    """The revised budget: a year of the enterprise's counted electricity (boundary and data-centre
    facility meters) at 1.5 times their mean load, rounded up to two significant figures, so
    neither the share used nor a projection comes near it."""
    ent = fleet.enterprises[REVISED_ENTERPRISE]
    mean_kw = sum(
        m.base
        for _, _, m in Fleet(fleet.config, [ent]).meters()
        if m.carrier == "electricity" and m.role in COUNTED_ROLES
    )
    year_kwh = mean_kw * 24 * 366 * 1.5
    step = 10 ** max(0, math.floor(math.log10(year_kwh)) - 1)
    return float(math.ceil(year_kwh / step) * step)


def counted_kwh_per_day(fleet: Fleet, index: int) -> float:
    """An enterprise's counted electricity (boundary and data-centre facility meters) per day in
    the simulation: the mean of its meters' rates over a week at 15-minute steps, times 24 h."""
    ent = fleet.enterprises[index]
    counted = [
        m
        for _, _, m in Fleet(fleet.config, [ent]).meters()
        if m.carrier == "electricity" and m.role in COUNTED_ROLES
    ]
    monday = datetime(2026, 1, 4, 16, tzinfo=UTC)  # 2026-01-05 00:00 in Asia/Shanghai
    steps = 7 * 96
    kw = sum(
        primary_rate(m, monday + timedelta(minutes=15 * k), k)
        for k in range(steps)
        for m in counted
    )
    return kw / steps * 24


def overrun_amount(fleet: Fleet, *, counted_from: datetime, now: datetime, zone: tzinfo) -> float:
    """The second enterprise's electricity budget for ``now``'s year: above what it has used by
    ``now`` (its readings count from ``counted_from``, the history's start, or the year's start
    if later) and below its run-rate projection to the year's end: halfway between, so the
    alert is an early warning (``budget_projected_overrun``), not a breach."""
    local = now.astimezone(zone)
    year_start = datetime(local.year, 1, 1, tzinfo=zone)
    year_end = datetime(local.year + 1, 1, 1, tzinfo=zone)
    used_days = (now - max(counted_from, year_start)).total_seconds() / 86400
    left_days = (year_end - now).total_seconds() / 86400
    daily = counted_kwh_per_day(fleet, OVERRUN_ENTERPRISE)
    return float(math.ceil(daily * (max(0.0, used_days) + left_days / 2)))


@dataclass(frozen=True)
class District:
    """The gateway fleet, the Modbus meters (served on ``modbus_port``), the DL/T 645 meter
    (served on ``dlt645_port``), the commissioned data centre, and budget amounts changed since
    the district was built (enterprise -> amount). The Sparkplug edge node's meters are fixed."""

    fleet: Fleet
    modbus_meters: tuple[ModbusMeter, ...]
    dc_new: Fleet
    dlt645: Dlt645Meter
    modbus_port: int = MODBUS_PORT
    dlt645_port: int = DLT645_PORT
    budgets: Mapping[str, float] = field(default_factory=dict)
    products_registered: date | None = None  # the cement plants' clinker, registered that day

    @classmethod
    def build(
        cls,
        *,
        seed: int,
        budget_year: int,
        history_from: datetime | None = None,
        now: datetime | None = None,
        zone: tzinfo = LOCAL,
    ) -> District:
        """The district; with ``history_from`` (the gateways' history start) and ``now``, the
        second enterprise's budget is sized for the history and the cement plants' clinker is
        registered on the history's first day (the first month whose figures they owe)."""
        fleet = build_fleet(fleet_config(seed=seed, budget_year=budget_year))
        district = cls(
            fleet,
            modbus_meters(fleet, seed=seed),
            commissioned_data_centre(fleet),
            dlt645_meter(seed=seed),
        )
        if history_from is None or now is None:
            return district
        amount = overrun_amount(fleet, counted_from=history_from, now=now, zone=zone)
        return replace(
            district.with_budget(fleet.enterprises[OVERRUN_ENTERPRISE].code, amount),
            products_registered=history_from.astimezone(zone).date(),
        )

    def served_on(self, port: int, dlt645_port: int | None = None) -> District:
        """The district with its Modbus meters registered on ``port`` (and its DL/T 645 meter on
        ``dlt645_port`` when given)."""
        return replace(self, modbus_port=port, dlt645_port=dlt645_port or self.dlt645_port)

    @property
    def dlt645_enterprise(self) -> str:
        return self.fleet.enterprises[DLT645_ENTERPRISE].code

    @property
    def sparkplug_enterprise(self) -> str:
        return self.fleet.enterprises[SPARKPLUG_ENTERPRISE].code

    def with_budget(self, enterprise: str, amount: float) -> District:
        """The district with ``enterprise``'s budgets changed to ``amount``."""
        return replace(self, budgets={**self.budgets, enterprise: amount})

    def budget_amount(self, enterprise: str) -> float:
        """The amount of ``enterprise``'s first budget in the document."""
        doc = next(e for e in self.document()["enterprises"] if e["code"] == enterprise)
        return float(doc["budgets"][0]["amount"])

    def document(self) -> dict[str, Any]:
        """The registry document: the fleet's, plus the Modbus, DL/T 645 and Sparkplug meters
        (each in its enterprise's first plant) and the commissioned data centre with its
        gateway."""
        doc = registry_document(self.fleet)
        by_code = {ent["code"]: ent for ent in doc["enterprises"]}

        def plant(enterprise: str) -> list[dict[str, Any]]:
            sites = by_code[enterprise]["sites"]
            meters: list[dict[str, Any]] = next(s for s in sites if s["kind"] == "industrial")[
                "meters"
            ]
            return meters

        for m in self.modbus_meters:
            plant(m.enterprise).append(self._modbus_entry(m))
        plant(self.dlt645_enterprise).append(self._dlt645_entry())
        plant(self.sparkplug_enterprise).extend(sparkplug_meters())
        for ent in self.dc_new.enterprises:
            host = by_code[ent.code]
            host["gateways"] += [{"code": g.code} for g in ent.gateways]
            host["sites"] += [_commissioned_site(site) for site in ent.sites]
        for code, amount in self.budgets.items():
            for budget in by_code[code].get("budgets", []):
                budget["amount"] = amount
        for ent in self.fleet.enterprises:
            if ent.industry == CLINKER_INDUSTRY:
                by_code[ent.code]["products"] = [self._clinker()]
        return doc

    def _clinker(self) -> dict[str, Any]:
        """A cement plant's clinker: judged by GB 16780-2021 (an existing plant: against the
        限定值), its energy that of the whole plant."""
        standard, product = CLINKER_QUOTA
        entry: dict[str, Any] = {
            "code": CLINKER,
            "name": "水泥熟料 cement clinker",
            "unit": "t",
            "quota": {"standard": standard, "product": product},
            "plant": "existing",
            "attribution": [{"site": "plant-1"}],
        }
        if self.products_registered is not None:
            entry["registered"] = self.products_registered
        return entry

    def to_yaml(self) -> str:
        """The registry file, as `energymon registry load` reads it."""
        header = (
            f"# Generated by `energymon demo --seed {self.fleet.config.seed}`: the simulated "
            "district (MQTT gateways, Modbus and DL/T 645 meters, a Sparkplug edge node; "
            "rewritten on every start).\n"
        )
        return header + yaml.safe_dump(self.document(), sort_keys=False, allow_unicode=True)

    def _modbus_entry(self, m: ModbusMeter) -> dict[str, Any]:
        return {
            "code": m.code,
            "carrier": "electricity",
            "protocol": "modbus",
            "role": MeterRole.SUB.value,
            "interval_s": MODBUS_INTERVAL_S,
            "connection": {
                "host": "127.0.0.1",
                "port": self.modbus_port,
                "unit_id": m.sim.unit_id,
                "map": m.sim.device.model,
                "interval_s": MODBUS_INTERVAL_S,
                "timeout_s": 2.0,
            },
            "points": sorted(m.sim.device.fed_points()),
        }

    def _dlt645_entry(self) -> dict[str, Any]:
        m = self.dlt645
        line = {"transport": "tcp", "host": "127.0.0.1", "port": self.dlt645_port}
        return meter_entry(
            DLT645_METER,
            "dlt645",
            MODBUS_INTERVAL_S,
            {**line, "address": m.address, "map": DLT645_MAP, "timeout_s": 2.0},
            m.data_map.fed_points(),
            serial=m.address,
            role=MeterRole.SUB.value,
        )


def _commissioned_site(site: SiteSim) -> dict[str, Any]:
    return {
        "code": site.code,
        "name": "Data centre commissioned during the demo",
        "kind": site.kind,
        "dc_class": site.dc_class,
        "meters": [
            {
                "code": m.code,
                "carrier": m.carrier,
                "protocol": "mqtt",
                "gateway": DC_NEW_GATEWAY,
                "multiplier": m.multiplier,
                "role": m.role.value,
                "interval_s": DC_NEW_INTERVAL_S,
                "points": [p.quantity.value for p in m.points],
            }
            for m in site.meters
        ],
    }
