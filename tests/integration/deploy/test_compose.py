"""deploy/compose.yaml: valid against the Compose specification, and the stack it describes is the
one docs/deploy.md promises (two ingest replicas with their own sessions, two accounting and two
alerts processes, every mounted file shipped)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import yaml

from tests.support.deploy import DEPLOY

COMPOSE = DEPLOY / "compose.yaml"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_the_compose_file_validates_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stack_has_two_ingest_replicas_two_alerts_processes_and_every_part() -> None:
    services = _compose()["services"]
    assert set(services) >= {
        "timescaledb", "migrate", "registry-load", "mqtt-credentials", "mosquitto", "ingest-1",
        "ingest-2", "modbus", "sparkplug", "accounting-1", "accounting-2", "alerts-1", "alerts-2",
        "api", "prometheus", "grafana",
    }  # fmt: skip
    energymon = {n: s for n, s in services.items() if s.get("image", "").startswith("${ENERGYMON")}
    commands = {n: s["command"] for n, s in energymon.items() if n != "mqtt-credentials"}
    assert commands == {
        "migrate": ["db", "upgrade"],
        "registry-load": ["registry", "load", "/etc/energymon/district.yaml"],
        "ingest-1": ["ingest", "mqtt"],
        "ingest-2": ["ingest", "mqtt"],
        "modbus": ["ingest", "modbus"],
        "sparkplug": ["ingest", "sparkplug"],
        "accounting-1": ["accounting", "run"],
        "accounting-2": ["accounting", "run"],
        "alerts-1": ["alerts", "run"],
        "alerts-2": ["alerts", "run"],
        "api": ["api"],
    }
    # ingest replicas share the partitions' sessions under distinct names, each with its own spool
    ingest_env = [services[n]["environment"] for n in ("ingest-1", "ingest-2")]
    assert len({env["ENERGYMON_INGEST_REPLICA_ID"] for env in ingest_env}) == 2
    assert {env.get("ENERGYMON_INGEST_CLIENT_ID") for env in ingest_env} == {None}  # one base
    assert {env["ENERGYMON_INGEST_PARTITIONS"] for env in ingest_env} == {"4"}
    spooling = ("ingest-1", "ingest-2", "modbus", "sparkplug")
    spools = {services[n]["volumes"][0].split(":")[0] for n in spooling}
    assert len(spools) == 4
    for name, svc in energymon.items():
        assert svc["environment"]["ENERGYMON_ENV"] == "production", name
        assert svc["environment"]["ENERGYMON_DATABASE_URL"].startswith("postgresql://energymon:")
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")
    # the services wait for the schema
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_every_file_the_stack_mounts_is_shipped() -> None:
    services = _compose()["services"]
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                continue  # a named volume
            if source == "./district.yaml":
                continue  # the operator's own registry file
            assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is not in deploy/"
    assert (DEPLOY / "env.example").exists()
    assert (DEPLOY / "Dockerfile").exists()
    assert _compose()["x-energymon"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_the_image_runs_as_a_non_root_user_with_energymon_as_entrypoint() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    users = [line for line in lines if line.startswith("USER ")]
    assert users == ["USER 10001:10001"]
    assert 'ENTRYPOINT ["energymon"]' in lines
