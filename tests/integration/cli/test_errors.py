"""A user's mistakes through the installed ``energymon`` script: one or two lines saying what failed
and which flag or setting controls it, a non-zero exit, no traceback (unless ``--debug``)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from services.core.settings import DatabaseSettings
from tests.support import db as dbs
from tests.support.cli import run_cli
from tests.support.services import free_port

ENT = "91120111MA05K8XX3E"
FIXTURE = Path(__file__).parents[2] / "fixtures" / "district_small.yaml"

DATABASE_COMMANDS = [
    ("db", "upgrade"),
    ("registry", "load", str(FIXTURE)),
    ("alerts", "list"),
    ("alerts", "ack", "1", "--by", "officer"),
    ("budgets", "status"),
    ("budgets", "set", ENT, "--year", "2026", "--amount", "100"),
    ("report", "pue", "--enterprise", ENT, "--site", "dc-1"),
    ("report", "tce", "--enterprise", ENT, "--from", "2026-01-01", "--to", "2026-02-01"),
    ("report", "consumption", "--enterprise", ENT, "--from", "2026-01-01", "--to", "2026-01-02"),
    ("export", "readings", "--enterprise", ENT, "--from", "2026-01-01", "--to", "2026-01-02"),
    ("accounting", "rebuild-days"),
    ("accounting", "run", "--once"),
    ("users", "api-key", "nobody"),
]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_clear_error_naming_the_setting(
    command: tuple[str, ...], closed_port: int
) -> None:
    url = f"postgresql://postgres:secret@127.0.0.1:{closed_port}/energymon"
    result = run_cli(*command, env={"ENERGYMON_DATABASE_URL": url})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"127.0.0.1:{closed_port}" in lines[0]
    assert "secret" not in result.stderr
    assert "ENERGYMON_DATABASE_URL" in result.stderr


def test_a_database_that_does_not_exist_is_named(pg_server: str) -> None:
    url = pg_server.rsplit("/", 1)[0] + "/energymon_no_such_database"
    result = run_cli("alerts", "list", env={"ENERGYMON_DATABASE_URL": url})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert 'database "energymon_no_such_database" does not exist' in result.stderr


@pytest.fixture
def empty_database(pg_server: str) -> Iterator[str]:
    """A database without the energymon schema (never migrated)."""
    name = f"energymon_empty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield dbs.with_database(pg_server, name)
    dbs.drop(pg_server, name)


@pytest.mark.parametrize("command", [("alerts", "list"), ("budgets", "status")], ids=" ".join)
def test_a_database_without_the_schema_says_to_upgrade_it(
    command: tuple[str, ...], empty_database: str
) -> None:
    result = run_cli(*command, env={"ENERGYMON_DATABASE_URL": empty_database})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert "no energymon schema" in lines[0]
    assert "energymon db upgrade" in lines[1]


def test_debug_shows_the_traceback(closed_port: int) -> None:
    env = {"ENERGYMON_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed_port}/x"}
    by_flag = run_cli("--debug", "alerts", "list", env=env)
    by_setting = run_cli("alerts", "list", env={**env, "ENERGYMON_DEBUG": "1"})
    for result in (by_flag, by_setting):
        assert result.returncode != 0
        assert "Traceback" in result.stderr
        assert "OperationalError" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("registry", "load"),
        ("registry", "load", "--dry-run"),
        ("devices", "check"),
        ("quotas", "check"),
    ],
    ids=" ".join,
)
def test_a_missing_file_is_one_line(command: tuple[str, ...], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    result = run_cli(*command, str(missing))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"energymon: error: cannot open {missing}: No such file or directory"
    ]


@pytest.mark.parametrize(
    "command", [("registry", "load"), ("devices", "check"), ("quotas", "check")], ids=" ".join
)
def test_a_yaml_syntax_error_is_one_line_with_its_line(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("enterprises:\n  - code: [unclosed\n")
    result = run_cli(*command, str(broken))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines() + result.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert "line 3: not valid YAML: expected ',' or ']'" in lines[0]


def test_a_custom_pue_window_without_its_ends_says_what_it_needs() -> None:
    result = run_cli("report", "pue", "--enterprise", ENT, "--site", "dc-1", "--window", "custom")
    assert result.returncode == 2
    assert result.stderr == "energymon: error: --window custom needs --from and --to\n"


@pytest.mark.parametrize("flag", [("--workers", "0"), ("--port", "70000")], ids=" ".join)
def test_a_bad_api_flag_is_named_as_the_flag(flag: tuple[str, str]) -> None:
    result = run_cli("api", *flag, timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith(f"energymon: error: {' '.join(flag)}: Input should be")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_malformed_setting_names_the_variable() -> None:
    result = run_cli("api", env={"ENERGYMON_API_PORT": "eighty"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("energymon: error: ENERGYMON_API_PORT='eighty'")
    assert len(result.stderr.strip().splitlines()) == 2


def test_a_budget_on_a_site_the_file_does_not_define_is_refused_with_its_line(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    text = FIXTURE.read_text()
    budget = "    budgets:\n      - {year: 2026, amount: 900, site: plant-9}\n"
    bad = tmp_path / "district.yaml"
    bad.write_text(
        text.replace("  - code: 91120111MA06L2QW8F\n", budget + "  - code: 91120111MA06L2QW8F\n")
    )
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "plant-9" in t)
    result = run_cli("registry", "load", str(bad), env={"ENERGYMON_DATABASE_URL": db_settings.url})
    assert result.returncode == 2
    assert f"line {line}: enterprises[0].budgets[0].site" in result.stderr
    assert "'plant-9'" in result.stderr
    assert "budgets created" not in result.stdout


def test_a_meter_on_a_gateway_the_enterprise_does_not_list_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "district.yaml"
    bad.write_text(FIXTURE.read_text().replace("gateway: gw-01", "gateway: gw-09", 1))
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "gw-09" in t)
    result = run_cli("registry", "load", "--dry-run", str(bad))
    assert result.returncode == 2
    assert f"line {line}: enterprises[0].sites[0].meters[0].gateway" in result.stderr


def test_a_site_listed_twice_is_refused_at_the_second(tmp_path: Path) -> None:
    text = FIXTURE.read_text().replace("      - code: dc-1\n", "      - code: plant-1\n")
    bad = tmp_path / "district.yaml"
    bad.write_text(text)
    line = [i for i, t in enumerate(text.splitlines(), 1) if "- code: plant-1" in t][1]
    result = run_cli("registry", "load", "--dry-run", str(bad))
    assert result.returncode == 2
    assert f"line {line}: enterprises[0].sites[1].code: site plant-1 is listed twice" in (
        result.stderr
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield int(sock.getsockname()[1])


def test_the_api_port_in_use_is_one_line_naming_the_flag_and_setting(
    db_settings: DatabaseSettings, busy_port: int
) -> None:
    env = {"ENERGYMON_DATABASE_URL": db_settings.url}
    result = run_cli("api", "--port", str(busy_port), env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"127.0.0.1:{busy_port}" in result.stderr
    assert "--port or ENERGYMON_API_PORT" in result.stderr


@pytest.mark.parametrize(
    ("command", "setting"),
    [
        (("alerts", "run"), "ENERGYMON_ALERTS_METRICS_PORT"),
        (("accounting", "run"), "ENERGYMON_ACCOUNTING_METRICS_PORT"),
        (("ingest", "mqtt"), "ENERGYMON_INGEST_METRICS_PORT"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_a_service_metrics_port_in_use_names_its_setting(
    db_settings: DatabaseSettings, busy_port: int, command: tuple[str, ...], setting: str
) -> None:
    env = {"ENERGYMON_DATABASE_URL": db_settings.url, setting: str(busy_port)}
    result = run_cli(*command, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"127.0.0.1:{busy_port}" in result.stderr
    assert setting in result.stderr.splitlines()[-1]


def test_gateways_without_a_broker_name_the_broker_setting(closed_port: int) -> None:
    env = {"ENERGYMON_MQTT_URL": f"mqtt://127.0.0.1:{closed_port}"}
    result = run_cli("simulate", "gateways", "--steps", "1", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"127.0.0.1:{closed_port}" in result.stderr
    assert "ENERGYMON_MQTT_URL" in result.stderr


def test_a_sub_meter_of_a_meter_the_enterprise_does_not_list_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "district.yaml"
    bad.write_text(
        FIXTURE.read_text().replace(
            "{code: DC-IT-1, carrier: electricity,",
            "{code: DC-IT-1, sub_of: DC-IN-9, carrier: electricity,",
        )
    )
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "DC-IN-9" in t)
    result = run_cli("registry", "load", "--dry-run", str(bad))
    assert result.returncode == 2
    assert f"line {line}: enterprises[0].sites[1].meters[1].sub_of" in result.stderr
    assert "'DC-IN-9'" in result.stderr


def test_a_pue_report_for_a_site_that_is_no_data_centre_is_one_line(
    db_settings: DatabaseSettings,
) -> None:
    env = {"ENERGYMON_DATABASE_URL": db_settings.url}
    assert run_cli("registry", "load", str(FIXTURE), env=env).returncode == 0
    result = run_cli(
        "report", "pue", "--enterprise", "91120111MA05K8XX3E", "--site", "plant-1", env=env
    )
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip().splitlines() == [
        "energymon: error: 91120111MA05K8XX3E has no active data-centre site 'plant-1' "
        "(check --enterprise and --site against the district file)"
    ]
    assert result.stdout == ""
