"""The shipped Grafana dashboards: every SQL query runs against a migrated database with the
dashboard's macros and variables filled in as Grafana fills them, and the figures they show for a
seeded data centre are the platform's; every data source they use is provisioned."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import yaml

from services.core.factors import default_factors
from services.core.settings import DatabaseSettings
from tests.support.deploy import DEPLOY, dashboard_sql, dashboards

NOW = datetime.now(UTC)
FROM, TO = NOW - timedelta(days=2), NOW
GRAFANA_MACRO = re.compile(r"\$__timeFilter\(([^)]+)\)")
VARIABLE = re.compile(r"\$\w+")


def render(sql: str, *, towns: list[str], site: int) -> str:
    """Fill macros and variables as Grafana's PostgreSQL data source does."""
    sql = GRAFANA_MACRO.sub(
        lambda m: f"{m.group(1)} BETWEEN '{FROM.isoformat()}' AND '{TO.isoformat()}'", sql
    )
    sql = (
        sql.replace("$tz", "Asia/Shanghai")
        .replace("$town", ", ".join(f"'{t}'" for t in towns))
        .replace("$site", str(site))
    )
    assert VARIABLE.findall(sql) == [], "a macro or variable the test does not know"
    return sql


@pytest.fixture
def seeded(small_district: DatabaseSettings) -> tuple[DatabaseSettings, int, list[str]]:
    """Yesterday and today in 15-minute buckets for dc-1: facility 130 kWh, IT 100 kWh each."""
    with psycopg.connect(small_district.libpq_url) as conn:
        ids = dict(
            conn.execute(
                """SELECT m.code, p.id FROM points p JOIN meters m ON m.id = p.meter_id
                   WHERE m.code IN ('DC-IN-1', 'DC-IT-1') AND p.quantity = 'energy_import_kwh'"""
            ).fetchall()
        )
        start = (NOW - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
        rows = [
            (ids[code], start + timedelta(minutes=15 * i), energy, 15, 15, False)
            for i in range(96)
            for code, energy in (("DC-IN-1", 130.0), ("DC-IT-1", 100.0))
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO consumption_15m (point_id, bucket, energy, readings, expected, "
                "estimated) VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )
        site = conn.execute("SELECT id FROM sites WHERE code = 'dc-1'").fetchone()
        towns = [r[0] for r in conn.execute("SELECT DISTINCT town FROM enterprises")]
    assert site is not None
    return small_district, int(site[0]), towns


def _run(db: DatabaseSettings, sql: str) -> list[dict[str, Any]]:
    with psycopg.connect(db.libpq_url) as conn, conn.cursor() as cur:
        cur.execute(sql.encode())
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _panel(board: str, title: str) -> str:
    for panel in dashboards()[board]["panels"]:
        if panel["title"] == title:
            return str(panel["targets"][0]["rawSql"])
    raise KeyError(title)


def test_every_dashboard_query_runs_against_a_migrated_database(
    seeded: tuple[DatabaseSettings, int, list[str]],
) -> None:
    db, site, towns = seeded
    queries = dashboard_sql()
    assert len(queries) >= 15
    for board, sql in queries:
        try:
            _run(db, render(sql, towns=towns, site=site))
        except psycopg.Error as err:
            pytest.fail(f"{board}: {err}\n{sql}")


def test_the_pue_dashboard_shows_the_seeded_data_centre_at_1_30_against_1_25(
    seeded: tuple[DatabaseSettings, int, list[str]],
) -> None:
    db, site, towns = seeded
    table = _run(
        db,
        render(
            _panel("datacentre-pue.json", "Data centres against their limits"),
            towns=towns,
            site=site,
        ),
    )
    assert [
        (r["site"], r["class"], float(r["limit"]), float(r["pue_in_range"])) for r in table
    ] == [("dc-1", "new_large", 1.25, 1.3)]
    hourly = _run(
        db, render(_panel("datacentre-pue.json", "Hourly PUE — $site"), towns=towns, site=site)
    )
    assert len(hourly) in (24, 25)
    assert {round(float(r["pue"]), 6) for r in hourly} == {1.3}


def test_the_district_tce_is_the_facility_electricity_in_standard_coal(
    seeded: tuple[DatabaseSettings, int, list[str]],
) -> None:
    db, site, towns = seeded
    [row] = _run(
        db,
        render(
            _panel("district-overview.json", "Comprehensive energy in range"),
            towns=towns,
            site=site,
        ),
    )
    # 96 buckets x 130 kWh at the facility meter (IT is a sub-meter, not counted again)
    assert float(row["tce"]) == pytest.approx(96 * 130 * 0.1229 / 1000)


def test_the_inline_coefficients_are_the_shipped_gb_t_2589_factors() -> None:
    factors = default_factors()
    sql = _panel("district-overview.json", "Comprehensive energy in range")
    inline = re.findall(r"\('(\w+)', '(\w+)', ([\d.]+)\)", sql)
    assert len(inline) == 8
    for carrier, unit, kgce in inline:
        assert float(kgce) == pytest.approx(factors.kgce(carrier, 1.0, unit, NOW.date()).value), (
            carrier
        )


def test_every_data_source_a_dashboard_uses_is_provisioned() -> None:
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "energymon.yaml").read_text()
    )
    uids = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    used: set[tuple[str, str]] = set()
    for board in dashboards().values():
        for panel in board["panels"]:
            used.add((panel["datasource"]["uid"], panel["datasource"]["type"]))
            for target in panel["targets"]:
                used.add((target["datasource"]["uid"], target["datasource"]["type"]))
    assert used
    assert all(uids.get(uid) == kind for uid, kind in used), (used, uids)
    assert {b["uid"] for b in dashboards().values()} == {
        "energymon-district",
        "energymon-pue",
        "energymon-ingest",
    }
