"""The shipped Prometheus configuration and rules: promtool accepts them, their unit tests pass,
and a real Prometheus scraping the real services finds every target up and every rule healthy;
every metric a rule or dashboard names is one the services export."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.settings import DatabaseSettings, MqttSettings
from tests.support.deploy import (
    PROMETHEUS,
    exposed_families,
    is_exposed,
    metric_names_used,
    promql_expressions,
)
from tests.support.ingest import IngestProcess, start_ingest, start_service
from tests.support.services import free_port, wait_for

PROMTOOL = shutil.which("promtool")
PROMETHEUS_BIN = shutil.which("prometheus")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS_BIN is None, reason="prometheus not installed (Debian: apt-get install prometheus)"
)


def _shipped_rule_count() -> int:
    files = sorted(PROMETHEUS.glob("rules/*.yml"))
    return sum(
        len(group["rules"]) for f in files for group in yaml.safe_load(f.read_text())["groups"]
    )


def _promtool(*args: str) -> str:
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_shipped_config_and_rules() -> None:
    assert "SUCCESS" in _promtool("check", "config", "prometheus.yml")
    out = _promtool("check", "rules", *(str(p) for p in sorted(PROMETHEUS.glob("rules/*.yml"))))
    assert f"SUCCESS: {_shipped_rule_count()} rules found" in out


@needs_promtool
def test_the_rules_unit_tests_pass() -> None:
    assert "SUCCESS" in _promtool("test", "rules", "tests/rules_test.yml")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def platform(
    small_district: DatabaseSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> Iterator[dict[str, list[IngestProcess]]]:
    """MQTT ingest, the Modbus poller, the Sparkplug host, two accounting and two alerts processes
    and the API, as real processes."""
    db = {"ENERGYMON_DATABASE_URL": small_district.url, "ENERGYMON_DATABASE_TIMESCALE": "off"}
    procs: dict[str, list[IngestProcess]] = {"energymon-ingest": [start_ingest(
        small_district, mqtt_settings, tmp_path
    )]}  # fmt: skip
    port = free_port()
    procs["energymon-modbus"] = [
        start_service(
            ["ingest", "modbus"],
            {
                **db,
                "ENERGYMON_MODBUS_METRICS_PORT": str(port),
                "ENERGYMON_MODBUS_SPOOL_DIR": str(tmp_path / "spool-modbus"),
            },
            tmp_path,
            "modbus",
            port,
        )
    ]
    port = free_port()
    procs["energymon-sparkplug"] = [
        start_service(
            ["ingest", "sparkplug"],
            {
                **db,
                "ENERGYMON_MQTT_URL": mqtt_settings.url,
                "ENERGYMON_SPARKPLUG_HOST_ID": f"host-{mqtt_settings.topic_root}",
                "ENERGYMON_SPARKPLUG_METRICS_PORT": str(port),
                "ENERGYMON_SPARKPLUG_SPOOL_DIR": str(tmp_path / "spool-sparkplug"),
            },
            tmp_path,
            "sparkplug",
            port,
        )
    ]
    procs["energymon-accounting"] = []
    for i in (1, 2):
        port = free_port()
        procs["energymon-accounting"].append(
            start_service(
                ["accounting", "run"],
                {
                    **db,
                    "ENERGYMON_ACCOUNTING_METRICS_PORT": str(port),
                    "ENERGYMON_ACCOUNTING_INTERVAL_S": "2",
                },
                tmp_path,
                f"accounting-{i}",
                port,
            )
        )
    procs["energymon-alerts"] = []
    for i in (1, 2):
        port = free_port()
        procs["energymon-alerts"].append(
            start_service(
                ["alerts", "run"],
                {
                    **db,
                    "ENERGYMON_ALERTS_METRICS_PORT": str(port),
                    "ENERGYMON_ALERTS_INTERVAL_S": "2",
                },
                tmp_path,
                f"alerts-{i}",
                port,
            )
        )
    port = free_port()
    procs["energymon-api"] = [
        start_service(["api"], {**db, "ENERGYMON_API_PORT": str(port)}, tmp_path, "api", port)
    ]
    try:
        for group in procs.values():
            for p in group:
                p.wait_ready(60)
        yield procs
    finally:
        for group in procs.values():
            for p in group:
                p.stop()


@needs_prometheus
def test_a_real_prometheus_scrapes_every_service_and_evaluates_every_rule(
    platform: dict[str, list[IngestProcess]], tmp_path: Path
) -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(PROMETHEUS / r) for r in config["rule_files"]]
    shipped_jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert shipped_jobs == set(platform)
    for job in config["scrape_configs"]:
        job["static_configs"] = [
            {"targets": [f"127.0.0.1:{p.metrics_port}" for p in platform[job["job_name"]]]}
        ]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    web = free_port()
    assert PROMETHEUS_BIN is not None
    log = (tmp_path / "prometheus.log").open("ab")
    prom = subprocess.Popen(
        [
            PROMETHEUS_BIN,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{web}/api/v1"
    expected = sum(len(group) for group in platform.values())
    try:

        def targets_up() -> bool:
            try:
                active = _get(f"{base}/targets")["data"]["activeTargets"]
            except OSError:
                return False
            return len(active) == expected and all(t["health"] == "up" for t in active)

        try:
            wait_for(targets_up, 60, "every target up")
        except TimeoutError:
            detail = [
                (t["scrapeUrl"], t["health"], t["lastError"])
                for t in _get(f"{base}/targets")["data"]["activeTargets"]
            ]
            pytest.fail(f"targets not all up: {detail}")
        active = _get(f"{base}/targets")["data"]["activeTargets"]
        assert sorted(t["labels"]["job"] for t in active) == sorted(
            job for job, group in platform.items() for _ in group
        )

        def rules_healthy() -> bool:
            groups = _get(f"{base}/rules")["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return len(rules) == _shipped_rule_count() and all(
                r["health"] == "ok" and r.get("lastEvaluation", "").startswith("2") for r in rules
            )

        wait_for(rules_healthy, 30, "every rule evaluated without error")

        def leaders(metric: str = "energymon_alerts_leader") -> float | None:
            result = _get(f"{base}/query?query=sum({metric})")["data"]["result"]
            return float(result[0]["value"][1]) if result else None

        # two alerts processes, exactly one of them evaluating
        wait_for(lambda: leaders() == 1.0, 30, "one alerts leader seen by Prometheus")
        # two accounting processes, exactly one of them rolling up
        wait_for(
            lambda: leaders("energymon_accounting_leader") == 1.0,
            30,
            "one accounting leader seen by Prometheus",
        )
        # every expression of the rules and dashboards parses and evaluates on live data
        for expr in promql_expressions():
            answer = _get(f"{base}/query?query={urllib.parse.quote(expr)}")
            assert answer["status"] == "success", expr
        time.sleep(2)
        firing = [
            a["labels"]["alertname"]
            for a in _get(f"{base}/alerts")["data"]["alerts"]
            if a["labels"]["alertname"]
            in ("EnergymonTargetDown", "EnergymonEvaluatorDown", "EnergymonAccountingDown")
        ]
        assert firing == []
    finally:
        prom.terminate()
        prom.wait(20)
        log.close()


def test_every_metric_a_rule_or_dashboard_names_is_exported(
    platform: dict[str, list[IngestProcess]],
) -> None:
    families: set[str] = set()
    for group in platform.values():
        for p in group:
            families |= exposed_families(p.metrics())
    used = metric_names_used()
    assert len(used) >= 15
    missing = sorted(name for name in used if not is_exposed(name, families))
    assert missing == []
