"""`db upgrade` and `accounting recompute` where TimescaleDB storage decides what they may do, on
plain PostgreSQL: the server's answers that only a TimescaleDB host gives (extension installed but
not preloaded; raw readings dropped by retention) are put in place of the probes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest

from services.cli import main
from services.core.db import make_engine
from services.core.schema import timescale
from services.core.schema.storage_plan import TimescaleProbe
from services.core.settings import DatabaseSettings

NOT_PRELOADED = TimescaleProbe(available=True, installed=False, preloaded=False)


def test_the_probe_reads_plain_postgresql_as_it_is(db_settings: DatabaseSettings) -> None:
    engine = make_engine(db_settings)
    with engine.connect() as conn:
        found = timescale.probe(conn)
        assert (found.installed, found.preloaded) == (False, False)
        assert timescale.hypertables(conn) == frozenset()
        assert timescale.raw_horizon(conn, now=datetime.now(UTC), retention_days=1) is None
    engine.dispose()


def _upgrade(
    db: DatabaseSettings,
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    monkeypatch.setenv("ENERGYMON_DATABASE_URL", db.url)
    monkeypatch.setenv("ENERGYMON_DATABASE_TIMESCALE", mode)
    monkeypatch.setenv("ENERGYMON_LOG_FORMAT", "json")
    monkeypatch.setattr(timescale, "probe", lambda _conn: NOT_PRELOADED)
    code = main(["db", "upgrade"])
    out, err = capsys.readouterr()
    return code, out, err


def test_timescale_on_without_the_preload_fails_in_one_line_naming_the_setting(
    db_settings: DatabaseSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _upgrade(db_settings, "on", monkeypatch, capsys)
    assert code != 0
    assert out == ""
    first = err.splitlines()[0]
    assert first.startswith("energymon: error: ENERGYMON_DATABASE_TIMESCALE=on but timescaledb")
    assert "shared_preload_libraries" in first
    assert "Traceback" not in err


def test_timescale_auto_without_the_preload_upgrades_to_plain_postgresql_with_a_warning(
    db_settings: DatabaseSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _upgrade(db_settings, "auto", monkeypatch, capsys)
    assert code == 0
    assert out.strip().endswith("(plain PostgreSQL)")
    warnings = [json.loads(line) for line in err.splitlines() if "timescaledb_not_used" in line]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    assert "shared_preload_libraries" in warnings[0]["reason"]


def test_recompute_over_a_period_retention_dropped_refuses_and_marks_nothing(
    small_district: DatabaseSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    horizon = datetime(2026, 1, 5, tzinfo=UTC)
    monkeypatch.setenv("ENERGYMON_DATABASE_URL", small_district.url)
    monkeypatch.setattr(timescale, "raw_horizon", lambda _conn, **_kw: horizon)
    with psycopg.connect(small_district.libpq_url) as conn:
        conn.execute(
            "INSERT INTO readings (point_id, ts, value, received_at, source) "
            "SELECT id, %s, 1.0, now(), 1 FROM points LIMIT 1",
            (datetime(2026, 3, 1, tzinfo=UTC),),
        )
    for since in ([], ["--since", "2025-12-01T00:00:00+08:00"]):
        code = main(["accounting", "recompute", "--mark-only", *since])
        out, err = capsys.readouterr()
        assert code != 0
        assert out == ""
        assert err.splitlines() == [
            "energymon: error: raw readings before 2026-01-05T00:00:00+00:00 are gone (dropped "
            "by retention, ENERGYMON_DATABASE_RETENTION_DAYS); recompute from --since "
            "2026-01-06T00:00:00+00:00 or later"
        ]
    with psycopg.connect(small_district.libpq_url) as conn:
        assert conn.execute("SELECT count(*) FROM rollup_dirty").fetchone() == (0,)
    # a period after the horizon is marked as usual
    later = ["--since", "2026-02-01T00:00+08:00"]
    assert main(["accounting", "recompute", "--mark-only", *later]) == 0
    with psycopg.connect(small_district.libpq_url) as conn:
        assert conn.execute("SELECT count(*) FROM rollup_dirty").fetchone() == (1,)
