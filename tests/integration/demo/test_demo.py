"""`energymon demo` on a machine where nothing is configured: it starts its own PostgreSQL and
Mosquitto, gets ready, ingests simulated readings over every path (MQTT gateways, polled Modbus
meters, a polled DL/T 645 meter, a Sparkplug B edge node) and serves them through the API, plays
its three scripted episodes (a data centre commissioned during the demo, a budget revision, an
enterprise's late production figures) whose alerts open and then resolve, judges last month's
clinker against its quota, and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.services import free_port, wait_for


def _children_of(pid: int) -> set[int]:
    out = subprocess.run(
        ["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True
    ).stdout
    tree = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    found, frontier = set(), {pid}
    while frontier:
        nxt = {p for p, parent in tree if parent in frontier} - found
        found |= nxt
        frontier = nxt
    return found


def _alert_history(
    db_url: str,
    *,
    rule: str,
    subject: str | None = None,
    enterprise: str | None = None,
    live_only: bool = False,
) -> list[tuple[str, str, bool, list[str]]]:
    """(window, state, resolved_at set, event actions in order) of the alerts whose rule matches
    the pattern ``rule``, of ``subject`` / ``enterprise`` when given, live ones only if asked."""
    with psycopg.connect(db_url, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT a.time_window, a.state, a.resolved_at IS NOT NULL AND "
            "a.resolved_at > a.opened_at, (SELECT array_agg(ev.action ORDER BY ev.id) "
            "FROM alert_events ev WHERE ev.alert_id = a.id) "
            "FROM alerts a WHERE a.rule ~ %(rule)s "
            "AND (%(subject)s::text IS NULL OR a.subject = %(subject)s) "
            "AND (%(enterprise)s::text IS NULL OR a.enterprise_id = "
            "(SELECT id FROM enterprises WHERE code = %(enterprise)s)) "
            "AND (NOT %(live_only)s OR a.state <> 'resolved') ORDER BY a.id",
            {"rule": rule, "subject": subject, "enterprise": enterprise, "live_only": live_only},
        ).fetchall()
    return [(w, state, resolved, list(actions or [])) for w, state, resolved, actions in rows]


def _opened_then_resolved(history: list[tuple[str, str, bool, list[str]]]) -> bool:
    """Every alert resolved, after it opened, with its history from "opened" to "resolved"."""
    return bool(history) and all(
        state == "resolved"
        and resolved
        and actions[:1] == ["opened"]
        and actions[-1:] == ["resolved"]
        for _, state, resolved, actions in history
    )


def _severities(db_url: str, rule: str) -> dict[str, str]:
    """Subject -> severity of the alerts of ``rule``."""
    with psycopg.connect(db_url, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT subject, severity FROM alerts WHERE rule = %s", (rule,)
        ).fetchall()
    return {str(subject): str(severity) for subject, severity in rows}


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            os.kill(p, 0)
        except ProcessLookupError:
            continue
        state = (
            Path(f"/proc/{p}/stat").read_text().split()[2] if Path(f"/proc/{p}").exists() else "X"
        )
        if state != "Z":
            alive.add(p)
    return alive


def _embedded_db_url(data_dir: Path) -> str:
    """The demo's database on its embedded cluster (postmaster.pid's fourth line is the port)."""
    port = (data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[3].strip()
    return f"postgresql://postgres@127.0.0.1:{port}/energymon_demo"


def _modbus_meters_polled(db_url: str) -> dict[str, int]:
    """Per registered Modbus meter (enterprise/code): its readings from the poller (source 2)."""
    with psycopg.connect(db_url, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT e.code || '/' || m.code, (SELECT count(*) FROM points p JOIN readings r "
            "ON r.point_id = p.id WHERE p.meter_id = m.id AND r.source = 2) "
            "FROM meters m JOIN enterprises e ON e.id = m.enterprise_id "
            "WHERE m.protocol = 'modbus' AND m.active"
        ).fetchall()
    return {name: int(n) for name, n in rows}


def _meter_sources(db_url: str, enterprise: str, meter: str) -> set[int]:
    """The sources of a meter's stored readings (readings.source codes)."""
    with psycopg.connect(db_url, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT DISTINCT r.source FROM readings r JOIN points p ON p.id = r.point_id "
            "JOIN meters m ON m.id = p.meter_id JOIN enterprises e ON e.id = m.enterprise_id "
            "WHERE e.code = %s AND m.code = %s",
            (enterprise, meter),
        ).fetchall()
    return {int(source) for (source,) in rows}


def _api_token(api_port: int, lines: list[str]) -> str:
    """An access token for the officer login the demo prints."""
    username, password = next(
        m.groups() for line in lines if (m := re.search(r"console: .*\(login (\S+) / (\S+),", line))
    )
    answer = httpx.post(
        f"http://127.0.0.1:{api_port}/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _api_readings(
    api_port: int, token: str, enterprise: str, meter: str, point: str
) -> list[float]:
    """The values the API serves for a point over the last hour."""
    now = datetime.now(UTC)
    answer = httpx.get(
        f"http://127.0.0.1:{api_port}/api/v1/enterprises/{enterprise}/meters/{meter}/points/"
        f"{point}/readings",
        params={
            "from": (now - timedelta(hours=1)).isoformat(),
            "to": (now + timedelta(minutes=5)).isoformat(),
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return [float(item["value"]) for item in answer.json()["items"]]


def _field_protocols_reach_the_api(lines: list[str], api_port: int, db_url: str) -> None:
    """The DL/T 645 meter and the Sparkplug edge node the demo announces: their readings are
    served by the API, stored from their own sources (DL/T 645: source 5; Sparkplug: through
    the MQTT-side pipeline, source 1), and the edge node is online."""
    dlt645 = next(
        m
        for line in lines
        if (m := re.search(r"dlt645: +meter (\S+)/(\S+) \(address \d{12}\)", line))
    )
    sparkplug = next(
        m
        for line in lines
        if (m := re.search(r"sparkplug: edge node (\S+)/(\S+) .* meters of (\S+): (\S+) \(", line))
    )
    token = _api_token(api_port, lines)
    dl_ent, dl_meter = dlt645.groups()
    group, node, sp_ent, sp_meter = sparkplug.groups()
    for enterprise, meter in ((dl_ent, dl_meter), (sp_ent, sp_meter)):
        for point in ("energy_import_kwh", "power_kw"):
            wait_for(
                lambda e=enterprise, m=meter, p=point: bool(
                    _api_readings(api_port, token, e, m, p)
                ),
                60,
                f"readings of {enterprise}/{meter} {point} in the API",
            )
        energy = _api_readings(api_port, token, enterprise, meter, "energy_import_kwh")
        assert all(v > 0 for v in energy), energy
    assert _meter_sources(db_url, dl_ent, dl_meter) == {5}
    assert _meter_sources(db_url, sp_ent, sp_meter) == {1}
    nodes = httpx.get(
        f"http://127.0.0.1:{api_port}/api/v1/enterprises/{sp_ent}/sparkplug-nodes",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert [(n["group"], n["node"], n["state"]) for n in nodes] == [(group, node, "online")]


def _officer_sees_the_breaches_in_the_console(lines: list[str], api_port: int) -> None:
    """The demo prints the console's address and the officer login that opens it; the data
    centres the demo makes breach are marked over their limit on the ranking."""
    printed = next(
        m
        for line in lines
        if (m := re.search(r"console: +(http://\S+/console/) +\(login (\S+) / (\S+),", line))
    )
    url, username, password = printed.groups()
    assert url == f"http://127.0.0.1:{api_port}/console/"
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get("login")
        login = client.post(
            "login",
            data={
                "username": username,
                "password": password,
                "csrf_token": client.cookies.get("energymon_csrf", path="/console") or "",
            },
        )
        assert login.status_code == 303, login.text
        page = client.get("data-centres?window=rolling_24h")
    over = set(re.findall(r'<tr class="over" data-site="\S+/(dc-\d)">', page.text))
    assert over == {"dc-1", "dc-4"}


@pytest.mark.slow
@pytest.mark.timeout(360)  # a month of history, three episodes; about 110 s on a quiet machine
def test_the_demo_runs_on_embedded_services_and_stops_cleanly(tmp_path: Path) -> None:
    api_port, ingest_port, alerts_port = free_port(), free_port(), free_port()
    modbus_metrics_port, sparkplug_metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENERGYMON_")}
    env.update(
        ENERGYMON_API_PORT=str(api_port),
        ENERGYMON_INGEST_METRICS_PORT=str(ingest_port),
        ENERGYMON_ALERTS_METRICS_PORT=str(alerts_port),
        ENERGYMON_MODBUS_METRICS_PORT=str(modbus_metrics_port),
        ENERGYMON_SPARKPLUG_METRICS_PORT=str(sparkplug_metrics_port),
        ENERGYMON_ACCOUNTING_METRICS_PORT=str(free_port()),
        # the scripted episodes, quicker: dc-new publishes 10 s after "ready", the budget is
        # revised after 20 s; evaluations every 5 s, alerts resolve after 10 s clear
        ENERGYMON_DEMO_EPISODE_DELAY_S="10",
        ENERGYMON_ALERTS_INTERVAL_S="5",
        ENERGYMON_ALERTS_HOLD_S="10",
    )
    # under /tmp (not pytest's 0700 tree): as root the cluster runs as 'postgres', which must
    # be able to reach its directory
    data_dir = Path(tempfile.mkdtemp(prefix="energymon-demo-"))
    data_dir.chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "demo", "--embedded", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError("the demo exited:\n" + "".join(lines))
            return any("[demo] ready" in line for line in lines)

        wait_for(ready, 120, "the demo's ready")
        assert any("embedded PostgreSQL" in line for line in lines)
        assert any("embedded Mosquitto" in line for line in lines)
        # the Modbus path: simulated meters on a loopback port, registered in the district
        announced = next(
            m
            for line in lines
            if (m := re.search(r"modbus: +(\d+) meters on 127\.0\.0\.1:(\d+)", line))
        )
        modbus_count, modbus_port = int(announced.group(1)), int(announced.group(2))
        modbus_meters = {
            f"{m.group(1)}/{code}"
            for line in lines
            if (m := re.search(r"modbus meters of (\S+): (.*)$", line))
            for code in re.findall(r"(\S+) \(unit \d+, ", m.group(2))
        }
        assert modbus_count >= 4
        assert len(modbus_meters) == modbus_count
        assert any(f"127.0.0.1:{modbus_metrics_port}/metrics" in line for line in lines)
        db_url = _embedded_db_url(data_dir)
        with psycopg.connect(db_url, connect_timeout=5) as conn:
            ports = conn.execute(
                "SELECT DISTINCT (connection->>'port')::int FROM meters "
                "WHERE protocol = 'modbus' AND active"
            ).fetchall()
        assert ports == [(modbus_port,)]
        assert set(_modbus_meters_polled(db_url)) == modbus_meters
        # the demo says how to point the CLI at it, and doing so works from another shell
        env_file = next(
            Path(m.group(1)) for line in lines if (m := re.search(r"CLI: +source (\S+)", line))
        )
        cli = subprocess.run(
            [
                "bash",
                "-c",
                'source "$1" && "$2" alerts list',
                "_",
                str(env_file),
                str(Path(sys.executable).with_name("energymon")),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("ENERGYMON_")},
        )
        assert cli.returncode == 0, cli.stderr
        assert f":{db_url.rsplit(':', 1)[1]}" in env_file.read_text()

        def stored() -> int:
            counts = [
                int(m.group(1).replace(",", ""))
                for line in lines
                if (m := re.search(r"readings stored ([\d,]+)", line))
            ]
            return max(counts, default=0)

        wait_for(lambda: stored() > 1000, 60, "readings to be stored")

        def pue_alerts() -> set[str]:
            return {line.split()[3] for line in lines if "alert: pue_over_limit" in line}

        # the demo fleet is built to breach: dc-1 (new large, 1.32 > 1.25) and dc-4 (existing,
        # 1.62 > 1.5); dc-2 (1.42 existing) and dc-3 (1.20 new) stay within their limits
        wait_for(
            lambda: {s.split("/")[1] for s in pue_alerts()} == {"dc-1", "dc-4"},
            120,
            "the demo's PUE alerts",
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/readyz", timeout=5) as resp:
            assert resp.status == 200
        _officer_sees_the_breaches_in_the_console(lines, api_port)
        # every Modbus demo meter's polls arrive through the pipeline as source 2 (modbus)
        wait_for(
            lambda: all(n > 0 for n in _modbus_meters_polled(db_url).values()),
            60,
            "readings from every Modbus meter",
        )

        def polls_counted() -> bool:
            return any(
                (m := re.search(r"\(mqtt [\d,]+, modbus ([\d,]+), dlt645 ([\d,]+)\)", line))
                and "0" not in (m.group(1), m.group(2))
                for line in lines
            )

        # the totals are printed every 30 s
        wait_for(polls_counted, 45, "the running totals to count Modbus and DL/T 645 readings")
        url = f"http://127.0.0.1:{modbus_metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            assert b"energymon_ingest_modbus" in resp.read()
        # the field protocols: a DL/T 645 meter polled beside the Modbus meters and a Sparkplug
        # edge node published to the demo's Sparkplug host
        _field_protocols_reach_the_api(lines, api_port, db_url)

        # episode 1: the data centre commissioned during the demo reports insufficient data
        # (rolling 24 h, month and year to date) until its gateway publishes, then resolves
        windows = {"rolling_24h", "mtd", "ytd"}

        def printed(pattern: str) -> list[tuple[int, re.Match[str]]]:
            return [(i, m) for i, line in enumerate(lines) if (m := re.search(pattern, line))]

        def dc_new_resolved() -> bool:
            return {
                m.group(2)
                for _, m in printed(r"alert resolved: pue_insufficient_data (\S+/dc-new) (\S+)")
            } == windows

        wait_for(dc_new_resolved, 90, "the commissioned data centre's alerts to resolve")
        (started_at, started), *_ = printed(r"dc-new: gateway starts publishing \((\S+/dc-new) ")
        dc_new = started.group(1)
        for window in windows:
            opened = printed(rf"alert opened: pue_insufficient_data {re.escape(dc_new)} {window}")
            resolved = printed(
                rf"alert resolved: pue_insufficient_data {re.escape(dc_new)} {window}"
            )
            assert opened
            assert resolved
            assert opened[0][0] < started_at < resolved[0][0]
        history = _alert_history(db_url, rule="^pue_insufficient_data$", subject=dc_new)
        assert {w for w, *_ in history} == windows
        assert _opened_then_resolved(history), history
        # the new site stays healthy: no PUE breach of it, ever
        assert not _alert_history(db_url, rule="^pue_over_limit$", subject=dc_new)

        # episode 2: the budget revision resolves the enterprise's budget_exceeded alert
        def budget_resolved() -> bool:
            return any(
                m.group(1) == r.group(1)
                for _, r in printed(r"budget revised: (\S+) \d{4} electricity 1 -> ")
                for _, m in printed(r"alert resolved: budget_exceeded (\S+) ")
            )

        wait_for(budget_resolved, 90, "the revised budget's alert to resolve")
        (revised_at, revised), *_ = printed(r"budget revised: (\S+) \d{4} electricity 1 -> ")
        enterprise = revised.group(1)
        assert printed(rf"alert opened: budget_exceeded {enterprise} ")[0][0] < revised_at
        assert printed(rf"alert resolved: budget_exceeded {enterprise} ")[0][0] > revised_at
        history = _alert_history(db_url, rule="^budget_exceeded$", enterprise=enterprise)
        assert _opened_then_resolved(history), history
        # the revised amount is a real budget: no other budget alert of the enterprise is live
        live = _alert_history(db_url, rule="^budget_", enterprise=enterprise, live_only=True)
        assert not live, live
        with psycopg.connect(db_url, connect_timeout=5) as conn:
            (amount,) = conn.execute(
                "SELECT b.amount FROM budgets b JOIN enterprises e ON e.id = b.enterprise_id "
                "WHERE e.code = %s AND b.active",
                (enterprise,),
            ).fetchone() or (None,)
        assert amount is not None
        assert amount > 1_000_000

        # dual control: the gateways' history makes last month complete; the cement plant
        # whose clinker is over GB 16780-2021's limit gets a critical quota_over_limit alert
        assert printed(r"history: [\d,]+ readings stored in \d+ s")
        (_, over), *_ = printed(r"clinker (\S+): over the limit \(")
        clinker = f"{over.group(1)}/clinker"
        wait_for(
            lambda: _alert_history(db_url, rule="^quota_over_limit$", subject=clinker),
            60,
            "the over-quota plant's alert",
        )
        assert _severities(db_url, "quota_over_limit") == {clinker: "critical"}

        # episode 3: the late enterprise's production_missing alert resolves once it submits
        (_, late), *_ = printed(r"production: (\S+) \(a cement plant\) (is late|has not)")
        if late.group(2) == "is late":  # not on the due day itself: nothing is overdue yet
            enterprise = late.group(1)

            def late_resolved() -> bool:
                return bool(printed(rf"alert resolved: production_missing {enterprise} "))

            wait_for(late_resolved, 90, "the late enterprise's alert to resolve")
            (submitted_at, _), *_ = printed(rf"production: {enterprise} submitted its \S+ ")
            assert printed(rf"alert opened: production_missing {enterprise} ")[0][0] < submitted_at
            history = _alert_history(db_url, rule="^production_missing$", enterprise=enterprise)
            assert _opened_then_resolved(history), history
            # every other enterprise submitted on time
            assert not _alert_history(db_url, rule="^production_missing$", live_only=True)

        descendants = _children_of(proc.pid)
        assert descendants  # postgres, mosquitto, the simulators
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    reader.join(5)
    assert proc.returncode == 0, "".join(lines)
    assert any("[demo] stopped" in line for line in lines)
    wait_for(lambda: not _alive(descendants), 15, "every child process to exit")
    shutil.rmtree(data_dir, ignore_errors=True)
