from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from sqlalchemy import Connection, text

from services.accounting.rollup import catch_up
from services.api.app import create_app
from services.api.context import ApiConfig
from services.api.security import Role, configure_hasher
from services.api.users import create_user
from services.core.alerting.lifecycle import Finding, Open
from services.core.alerting.store import apply
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import ApiSettings, CommonSettings, DatabaseSettings, IngestSettings
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.api import serve, token

PASSWORD = "correct horse battery"
USERS = {
    "admin": (Role.ADMIN, None, None),
    "officer": (Role.OFFICER, None, None),
    "ent_a": (Role.ENTERPRISE, ENT_A, None),
    "ent_b": (Role.ENTERPRISE, ENT_B, None),
    "gw_a": (Role.GATEWAY, ENT_A, "gw-01"),
}


@dataclass
class ApiHarness:
    url: str
    client: httpx.Client
    tokens: dict[str, str]
    db: DatabaseSettings
    settings: ApiSettings
    alert_ids: dict[str, int]

    def as_(self, user: str | None) -> dict[str, str]:
        return {} if user is None else {"Authorization": f"Bearer {self.tokens[user]}"}


def api_settings(**overrides: object) -> ApiSettings:
    # cheap hashes keep the suite fast; production keeps argon2id's default cost
    overrides = {"argon2_time_cost": 1, "argon2_memory_kib": 64, **overrides}
    return ApiSettings(
        jwt_keys="k2:second-signing-key-for-the-test-suite,k1:first-signing-key-for-the-test-suite",
        **overrides,
    )  # type: ignore[arg-type]


@pytest.fixture
def api_overrides() -> dict[str, object]:
    return {}


@pytest.fixture
def api_config_extra() -> dict[str, object]:
    """Further ``ApiConfig`` parts (e.g. ``intensity=IntensitySettings(...)``) a module sets."""
    return {}


@pytest.fixture
def api(
    small_district: DatabaseSettings,
    api_overrides: dict[str, object],
    api_config_extra: dict[str, object],
) -> Iterator[ApiHarness]:
    with start_api(small_district, api_overrides, api_config_extra) as harness:
        yield harness


@contextmanager
def start_api(
    db: DatabaseSettings,
    overrides: dict[str, object] | None = None,
    config_extra: dict[str, object] | None = None,
) -> Iterator[ApiHarness]:
    """The API on ``db`` (the small district provisioned): one account per role, enterprise B's
    data centre and an open alert per enterprise; for a fixture of any scope."""
    settings = api_settings(**(overrides or {}))
    configure_hasher(settings.argon2_time_cost, settings.argon2_memory_kib)
    engine = make_engine(db)
    with engine.begin() as conn:
        for name, (role, ent, gw) in USERS.items():
            create_user(
                conn,
                username=name,
                password=PASSWORD,
                role=role,
                enterprise_code=ent,
                gateway_code=gw,
            )
        # enterprise B gets a data centre too, so every tenant-scoped route has a B object
        conn.execute(
            text(
                "INSERT INTO sites (enterprise_id, code, name, kind, dc_class) SELECT id, 'dc-b', "
                "'DC B', 'data_centre', 'existing' FROM enterprises WHERE code = :c"
            ),
            {"c": ENT_B},
        )
        alert_ids = {
            tenant: _seed_alert(conn, code) for tenant, code in (("A", ENT_A), ("B", ENT_B))
        }
    engine.dispose()
    config = ApiConfig(
        CommonSettings(),
        db,
        settings,
        IngestSettings(),
        **(config_extra or {}),  # type: ignore[arg-type]
    )
    app = create_app(config)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        tokens = {name: token(client, name, PASSWORD) for name in USERS}
        yield ApiHarness(url, client, tokens, db, settings, alert_ids)


def _seed_alert(conn: Connection, enterprise: str) -> int:
    """An open silent-meter alert on the enterprise's first meter."""
    now = datetime.now(UTC)
    ent_id, meter_id, meter = conn.execute(
        text(
            "SELECT e.id, m.id, m.code FROM meters m JOIN enterprises e ON e.id = m.enterprise_id "
            "WHERE e.code = :c ORDER BY m.id LIMIT 1"
        ),
        {"c": enterprise},
    ).one()
    actions = [
        Open(
            Finding(
                "silent_meter",
                "meter",
                meter_id,
                f"{enterprise}/{meter}",
                "",
                True,
                title=f"meter {meter} silent",
                value=3600.0,
                limit=2700.0,
                enterprise_id=ent_id,
                evidence={"last_reading_at": None},
            )
        )
    ]
    apply(conn, actions, now)
    return int(conn.execute(text("SELECT max(id) FROM alerts")).scalar_one())


SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 17, tzinfo=SHANGHAI)


def feed(api: ApiHarness, meter: str, per_15m: float, start: datetime = DAY) -> None:
    with psycopg.connect(api.db.libpq_url) as conn:
        pid = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = %s AND p.quantity = 'energy_import_kwh'",
            (meter,),
        ).fetchone()[0]  # type: ignore[index]
    writer = ReadingWriter(api.db)
    writer.write(
        Batch(
            rows=[
                (pid, start + timedelta(minutes=15 * i), 1000 + per_15m * i, start, 1)
                for i in range(97)
            ]
        )
    )
    writer.close()


def shed_load(
    api: ApiHarness, start: datetime, until: datetime, event: tuple[datetime, datetime]
) -> None:
    """M-100 read every 15 minutes from ``start`` to ``until``: 80 kWh a quarter hour (counter
    step 1.0 times its multiplier 80), 40 kWh during ``event``; rolled up."""
    with psycopg.connect(api.db.libpq_url) as conn:
        pid = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = 'M-100' AND p.quantity = 'energy_import_kwh'"
        ).fetchone()[0]  # type: ignore[index]
    rows, value, t = [], 1000.0, start
    while t <= until:
        rows.append((pid, t, value, t, 1))
        value += 0.5 if event[0] <= t < event[1] else 1.0
        t += timedelta(minutes=15)
    writer = ReadingWriter(api.db)
    writer.write(Batch(rows=rows))
    writer.close()
    engine = make_engine(api.db)
    catch_up(engine)
    engine.dispose()


@pytest.fixture
def fed(api: ApiHarness) -> ApiHarness:
    feed(api, "DC-IN-1", 13.0)
    feed(api, "DC-IT-1", 10.0)
    feed(api, "M-100", 1.0)
    engine = make_engine(api.db)
    catch_up(engine)
    engine.dispose()
    return api
