"""Provisioning the simulated district: migrate, write and apply its registry file, make sure the
demo officer exists, and read what an earlier run left of the commissioned data centre."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from services.core.domain.quantities import QuantityCode
from services.core.registry.spec import parse_district
from services.core.registry.store import ApplyReport, apply_district
from services.core.schema.migrate import upgrade
from services.core.settings import DatabaseSettings
from services.core.store.activity import site_counters
from services.core.store.budgets import active_budgets
from services.demo.output import kwh, say
from simulators.district.episodes import BudgetRevision, Commissioning
from simulators.district.layout import (
    DLT645_METER,
    MODBUS_INTERVAL_S,
    SPARKPLUG_GROUP,
    SPARKPLUG_INTERVAL_S,
    SPARKPLUG_NODE,
    District,
    sparkplug_meters,
)

DEMO_OFFICER = ("officer", "demo-officer-password")


@dataclass(frozen=True)
class DcHistory:
    """What earlier runs left of the commissioned data centre: its first and last readings and
    each meter's last counter value (its gateway carries on from there)."""

    first: datetime | None = None
    last: datetime | None = None
    counters: dict[str, float] = field(default_factory=dict)


def apply_district_file(engine: Engine, district: District, path: Path) -> ApplyReport:
    """Write the registry file and apply it, as `energymon registry load` would."""
    path.write_text(district.to_yaml(), encoding="utf-8")
    with engine.begin() as conn:
        return apply_district(conn, parse_district(path.read_text("utf-8")))


def provision(
    engine: Engine,
    db: DatabaseSettings,
    *,
    district: District,
    path: Path,
    revision: BudgetRevision,
    commissioning: Commissioning,
) -> DcHistory:
    """Migrate, provision the simulated district, make sure the demo officer exists.

    The registry file is written and applied on every start (applying is idempotent): an
    unchanged district reports "unchanged", the Modbus meters' connection follows the port the
    meter simulator got this time, and a budget revised by an earlier run goes back to its
    breaching amount. Returns what an earlier run left of the commissioned data centre."""
    say(f"migrating ... revision {upgrade(engine, db)}")
    stored = _stored_budget(engine, revision)
    report = apply_district_file(engine, district, path)
    say(f"district provisioned from {path}: {report.summary()}")
    if stored is not None and stored != revision.before_kwh:
        say(
            f"budget of {revision.enterprise} reset to {kwh(revision.before_kwh)} kWh (revised "
            f"to {kwh(stored)} kWh by an earlier run), so the revision episode replays"
        )
    _list_modbus_meters(district)
    _list_field_protocols(district)
    _ensure_officer(engine)
    return _dc_history(engine, commissioning)


def _stored_budget(engine: Engine, revision: BudgetRevision) -> float | None:
    """The revised enterprise's active electricity budget in the database, if any."""
    with engine.connect() as conn:
        found = [
            b.amount
            for b, _ in active_budgets(conn, year=revision.year)
            if b.enterprise == revision.enterprise and b.carrier == "electricity" and not b.site
        ]
    return float(found[0]) if found else None


def _list_modbus_meters(district: District) -> None:
    say(
        f"modbus:   {len(district.modbus_meters)} meters on 127.0.0.1:{district.modbus_port} "
        f"(simulated), polled every {MODBUS_INTERVAL_S} s"
    )
    for code in dict.fromkeys(m.enterprise for m in district.modbus_meters):
        listed = ", ".join(
            f"{m.code} (unit {m.sim.unit_id}, {m.sim.device.model})"
            for m in district.modbus_meters
            if m.enterprise == code
        )
        say(f"  modbus meters of {code}: {listed}")


def _list_field_protocols(district: District) -> None:
    m = district.dlt645
    say(
        f"dlt645:   meter {district.dlt645_enterprise}/{DLT645_METER} (address {m.address}) on "
        f"127.0.0.1:{district.dlt645_port} (simulated serial server), polled every "
        f"{MODBUS_INTERVAL_S} s by the same poller"
    )
    bound = ", ".join(
        f"{b['code']} ({b['connection']['sparkplug']['device']})" for b in sparkplug_meters()
    )
    say(
        f"sparkplug: edge node {SPARKPLUG_GROUP}/{SPARKPLUG_NODE} (simulated, every "
        f"{SPARKPLUG_INTERVAL_S} s), its devices bound to meters of "
        f"{district.sparkplug_enterprise}: {bound}"
    )


def _ensure_officer(engine: Engine) -> None:
    from services.api.security import Role
    from services.api.users import AccountError, create_user

    with engine.begin() as conn, contextlib.suppress(AccountError):  # kept from an earlier run
        create_user(conn, username=DEMO_OFFICER[0], password=DEMO_OFFICER[1], role=Role.OFFICER)


def _dc_history(engine: Engine, commissioning: Commissioning) -> DcHistory:
    with engine.connect() as conn:
        seen = site_counters(
            conn,
            enterprise=commissioning.enterprise,
            site=commissioning.site,
            quantity=QuantityCode.ENERGY_IMPORT_KWH,
        )
    if not seen:
        return DcHistory()
    return DcHistory(
        min(c.first_at for c in seen),
        max(c.last_at for c in seen),
        {c.meter: c.last_value for c in seen},
    )
