"""The enterprise's monthly report carries its intensity: value added, and each product against
its quota with the clause, in the JSON and in the files' Intensity table."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.api.report_files import enterprise_tables
from services.api.routes.reports import enterprise_out
from services.core.db import make_engine
from services.core.factors import default_factors
from services.core.quotas import default_quotas
from services.core.settings import DatabaseSettings
from services.core.store.reports import Month, enterprise_reports
from tests.support.intensity import ENT_A, SHANGHAI, enter, feed_month, provision

NOV = date(2026, 11, 1)


def test_the_monthly_report_has_an_intensity_section(small_district: DatabaseSettings) -> None:
    provision(small_district)
    feed_month(
        small_district, NOV, {("M-100", "energy_import_kwh"): 1.0, ("G-1", "gas_volume_m3"): 0.5}
    )
    enter(small_district, ENT_A, NOV, 50.0, product="hot-metal")
    engine = make_engine(small_district)
    with engine.connect() as conn:
        (report,) = enterprise_reports(
            conn,
            default_factors(),
            Month(2026, 11),
            SHANGHAI,
            codes=[ENT_A],
            now=datetime(2026, 12, 5, tzinfo=UTC),
            quotas=default_quotas(),
        )
    engine.dispose()
    value_added, hot_metal = report.intensity
    assert value_added.subject == "value_added"
    assert value_added.value is None
    assert "no value added entered for 2026-11" in value_added.reason
    # 30 064.752 kgce over 50 t = 601.3 kgce/t, above GB 21256-2025's blast-furnace 限定值 415
    assert hot_metal.value == pytest.approx(601.29504)
    assert hot_metal.verdict == "over_limit"
    assert hot_metal.quota == "GB 21256-2025 4.3, Table 3, grade 3"
    assert hot_metal.output == 50.0
    out = enterprise_out(report, zone=SHANGHAI)
    assert out.intensity[1].value == pytest.approx(601.295)
    table = next(t for t in enterprise_tables(out) if t.title == "Intensity")
    assert table.header[:4] == ["subject", "code", "name", "value"]
    assert table.rows[1][:4] == ["product", "hot-metal", "hot metal", 601.295]
