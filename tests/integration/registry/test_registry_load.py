"""`energymon registry load` provisions a district idempotently and names bad lines precisely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings

FIXTURE = Path(__file__).parents[2] / "fixtures" / "district_small.yaml"


def _snapshot(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute("""
            SELECT e.code, s.code, s.kind, s.dc_class, m.code, m.carrier, m.role, m.multiplier,
                   m.active, g.code, p.quantity, p.unit, p.kind, p.active
            FROM meters m JOIN enterprises e ON e.id = m.enterprise_id
            JOIN sites s ON s.id = m.site_id LEFT JOIN gateways g ON g.id = m.gateway_id
            JOIN points p ON p.meter_id = m.id ORDER BY 1, 2, 5, 11""").fetchall()


def _cli(db: DatabaseSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENERGYMON_DATABASE_URL": db.url}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_loading_the_same_file_twice_changes_nothing_the_second_time(
    db_settings: DatabaseSettings,
) -> None:
    first = _cli(db_settings, "registry", "load", str(FIXTURE))
    assert first.returncode == 0, first.stderr
    assert "meters created 5, points created 6" in first.stdout
    before = _snapshot(db_settings)
    second = _cli(db_settings, "registry", "load", str(FIXTURE))
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout
    assert "updated" not in second.stdout
    assert "deactivated" not in second.stdout
    assert _snapshot(db_settings) == before
    assert len(before) == 6
    assert (
        "91120111MA05K8XX3E",
        "dc-1",
        "data_centre",
        "new_large",
        "DC-IT-1",
        "electricity",
        "it_load",
        1,
        True,
        None,
        "energy_import_kwh",
        "kWh",
        "cumulative",
        True,
    ) in before


def test_a_changed_file_updates_in_place_and_deactivates_what_it_no_longer_lists(
    db_settings: DatabaseSettings,
) -> None:
    engine = make_engine(db_settings)
    text = FIXTURE.read_text()
    with engine.begin() as conn:
        apply_district(conn, parse_district(text))
    changed = (
        text.replace("multiplier: 80", "multiplier: 120")
        .replace("points: [energy_import_kwh, power_kw]", "points: [energy_import_kwh]")
        .replace(
            "          - code: G-1\n            carrier: natural_gas\n            protocol: mqtt\n"
            "            points: [gas_volume_m3]\n",
            "",
        )
    )
    with engine.begin() as conn:
        report = apply_district(conn, parse_district(changed))
    assert report.counts[("meters", "updated")] == 1
    assert report.counts[("meters", "deactivated")] == 1
    assert report.counts[("points", "deactivated")] == 1
    rows = {(r[4], r[10]): r for r in _snapshot(db_settings)}
    assert rows[("M-100", "energy_import_kwh")][7] == 120
    assert rows[("M-100", "power_kw")][13] is False
    assert rows[("G-1", "gas_volume_m3")][8] is False
    with engine.begin() as conn:  # and back: reactivated, same ids
        apply_district(conn, parse_district(text))
    assert all(r[8] and r[13] for r in _snapshot(db_settings))
    engine.dispose()


def test_an_invalid_file_is_refused_with_the_field_and_line_and_changes_nothing(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FIXTURE.read_text().replace("carrier: natural_gas", "carrier: plutonium"))
    result = _cli(db_settings, "registry", "load", str(bad))
    assert result.returncode == 2
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "plutonium" in t)
    assert f"line {line}: enterprises[0].sites[0].meters[1].carrier" in result.stderr
    assert _snapshot(db_settings) == []


def test_a_wrong_check_character_names_the_expected_one(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FIXTURE.read_text().replace("91120111MA05K8XX3E", "91120111MA05K8XX3Q"))
    result = _cli(db_settings, "registry", "load", "--dry-run", str(bad))
    assert result.returncode == 2
    assert "line 3: enterprises[0].code" in result.stderr
    assert "expected 'E'" in result.stderr


def test_sub_of_is_stored_once_every_meter_exists_and_goes_with_the_sub_meters(
    db_settings: DatabaseSettings,
) -> None:
    from tests.support.quality import add_sub_meters

    def parents() -> dict[str, object]:
        with psycopg.connect(db_settings.libpq_url) as conn:
            rows = conn.execute(
                "SELECT m.code, p.code FROM meters m LEFT JOIN meters p ON p.id = m.sub_of "
                "WHERE m.active"
            ).fetchall()
        return {str(code): parent for code, parent in rows}

    add_sub_meters(db_settings)
    assert {k: v for k, v in parents().items() if v} == {"F-1": "M-100", "F-2": "M-100"}
    engine = make_engine(db_settings)
    with engine.begin() as conn:
        report = apply_district(conn, parse_district(FIXTURE.read_text()))
    engine.dispose()
    assert ("meters", "deactivated") in report.counts
    assert not any(parents().values())


def test_products_and_their_attribution_are_stored_and_replaced_only_when_changed(
    db_settings: DatabaseSettings,
) -> None:
    text = FIXTURE.read_text() + (
        "    products:\n"
        "      - {code: cold, name: cold storage, unit: t, "
        "attribution: [{site: store-1}]}\n"
    )

    def attribution() -> list[tuple[object, ...]]:
        with psycopg.connect(db_settings.libpq_url) as conn:
            return conn.execute(
                "SELECT p.code, p.unit, p.plant, s.code, m.code, a.share FROM products p "
                "JOIN product_attribution a ON a.product_id = p.id "
                "LEFT JOIN sites s ON s.id = a.site_id LEFT JOIN meters m ON m.id = a.meter_id "
                "WHERE p.active ORDER BY 1, 4, 5"
            ).fetchall()

    engine = make_engine(db_settings)
    with engine.begin() as conn:
        first = apply_district(conn, parse_district(text))
    assert first.counts[("products", "created")] == 1
    assert attribution() == [("cold", "t", "existing", "store-1", None, 1.0)]
    with engine.begin() as conn:
        again = apply_district(conn, parse_district(text))
    assert not again.changed
    shared = text.replace("[{site: store-1}]", "[{meter: B-1, share: 0.25}]")
    with engine.begin() as conn:
        changed = apply_district(conn, parse_district(shared))
    assert changed.counts[("product_attribution", "replaced")] == 1
    assert attribution() == [("cold", "t", "existing", None, "B-1", 0.25)]
    with engine.begin() as conn:
        gone = apply_district(conn, parse_district(FIXTURE.read_text()))
    engine.dispose()
    assert gone.counts[("products", "deactivated")] == 1
    assert attribution() == []


def test_a_products_registered_date_makes_its_figures_due_from_that_month(
    db_settings: DatabaseSettings,
) -> None:
    from datetime import date
    from zoneinfo import ZoneInfo

    from services.core.store.production import missing

    product = "      - {code: cold, name: cold storage, unit: t, attribution: [{site: store-1}]"
    text = FIXTURE.read_text() + f"    products:\n{product}, registered: 2026-10-01}}\n"
    months = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    zone = ZoneInfo("Asia/Shanghai")
    engine = make_engine(db_settings)
    with engine.begin() as conn:
        apply_district(conn, parse_district(text))
    with engine.connect() as conn:
        owed = [(m.month, m.products) for m in missing(conn, months=months, zone=zone)]
    assert owed == [(date(2026, 10, 1), ("cold",)), (date(2026, 11, 1), ("cold",))]
    with engine.begin() as conn:
        moved = apply_district(conn, parse_district(text.replace("2026-10-01", "2026-11-01")))
        again = apply_district(conn, parse_district(text.replace("2026-10-01", "2026-11-01")))
    with engine.connect() as conn:
        owed = [(m.month, m.products) for m in missing(conn, months=months, zone=zone)]
    engine.dispose()
    assert moved.counts[("products", "updated")] == 1
    assert not again.changed
    assert owed == [(date(2026, 11, 1), ("cold",))]


def test_an_enterprises_measured_heating_values_convert_its_fuels(
    db_settings: DatabaseSettings,
) -> None:
    from datetime import date

    from services.core.factors import default_factors
    from services.core.store.factors import enterprise_factors

    text = FIXTURE.read_text().replace(
        "  - code: 91120111MA06L2QW8F",
        "    heating_values:\n"
        "      - {carrier: natural_gas, unit: m3, kj_per_unit: 36000, valid_from: 2026-01-01,"
        " source: supplier certificate}\n"
        "  - code: 91120111MA06L2QW8F",
    )
    engine = make_engine(db_settings)
    with engine.begin() as conn:
        apply_district(conn, parse_district(text))
        ids = dict(conn.exec_driver_sql("SELECT code, id FROM enterprises").all())
        sets = enterprise_factors(conn, default_factors(), ids.values())
    engine.dispose()
    on = date(2026, 11, 1)
    measured = sets[ids["91120111MA05K8XX3E"]].kgce("natural_gas", 29_307, "m3", on)
    assert measured.value == pytest.approx(36_000)
    assert measured.factor.measured
    other = sets[ids["91120111MA06L2QW8F"]].kgce("natural_gas", 1, "m3", on)
    assert other.value == pytest.approx(1.2143)


def test_a_dry_run_lists_each_changed_field_and_changes_nothing(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    assert _cli(db_settings, "registry", "load", str(FIXTURE)).returncode == 0
    before = _snapshot(db_settings)
    edited = tmp_path / "edited.yaml"
    edited.write_text(FIXTURE.read_text().replace("multiplier: 80", "multiplier: 120"))
    result = _cli(db_settings, "registry", "load", "--dry-run", str(edited))
    assert result.returncode == 0, result.stderr
    assert "~ meters 91120111MA05K8XX3E/M-100: multiplier 80 -> 120" in result.stdout
    assert result.stdout.count("\n~ ") + result.stdout.startswith("~ ") == 1
    assert "would apply" in result.stdout
    assert _snapshot(db_settings) == before
