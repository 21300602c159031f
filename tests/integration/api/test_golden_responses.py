"""Every route's answers, byte for byte, for one fixed seeded district and every role.

The seeded district (two enterprises, a day of readings, budgets, alerts and a demand-response
event at fixed times) is asked a fixed sequence of requests: every route as every role
(anonymous, admin, officer, both enterprises, a gateway), with its variants (intervals, windows,
filters, pages followed by their cursors, formats) and its refusals (validation errors, ranges,
time zones, cursors, limits and their precedence when several are wrong at once). Each answer's
status, content type, relevant headers and body are compared with ``golden/responses.json``;
the OpenAPI document must still hold everything in ``golden/openapi.json`` (it may gain, never
lose). The API's clock is frozen for the run; the only value normalised is ``created_at`` of a
demand-response event, which the database's clock sets.

After an intended change of an answer: ``ENERGYMON_UPDATE_GOLDEN=1`` rewrites both files; review
their diff like code.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from openpyxl import load_workbook

from services.accounting.rollup import catch_up
from services.core.alerting.lifecycle import Finding, Open, Severity
from services.core.alerting.store import acknowledge, apply, resolve
from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from tests.integration.api.conftest import DAY, ApiHarness, feed
from tests.integration.conftest import ENT_A, ENT_B, FIXTURES

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ENERGYMON_UPDATE_GOLDEN") == "1"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # the API's frozen clock: 10:00 in Shanghai
SEEDED = datetime(2026, 11, 18, 1, 30, tzinfo=UTC)  # when the seeded alerts opened
ROLES = (None, "admin", "officer", "ent_a", "ent_b", "gw_a")
HEADERS = ("content-disposition", "www-authenticate", "retry-after", "last-modified")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
A = f"/api/v1/enterprises/{ENT_A}"
B = f"/api/v1/enterprises/{ENT_B}"
UNKNOWN = "/api/v1/enterprises/91120111MA09ZZZZ9Z"
DAY_RANGE = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}
TWO_HOURS = {"from": DAY.isoformat(), "to": (DAY + timedelta(hours=2)).isoformat()}
NOVEMBER = {"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"}
YEAR = {"from": "2026-01-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00"}
TOO_LONG = {"from": "2025-01-01T00:00:00+08:00", "to": "2026-11-20T00:00:00+08:00"}
REVERSED = {"from": DAY_RANGE["to"], "to": DAY_RANGE["from"]}
NAIVE = {"from": "2026-11-17T00:00:00", "to": "2026-11-18T00:00:00"}
BEFORE_FACTORS = {"from": "1990-01-01T00:00:00+08:00", "to": "1990-02-01T00:00:00+08:00"}
LONG_TOWN = "T" * 70

Params = list[tuple[str, str]]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Params = field(default_factory=list)
    roles: tuple[str | None, ...] = ROLES
    json_body: Any = None
    content: bytes | None = None
    content_type: str | None = None
    follow: str | None = None  # a paged answer: also ask for every next page, by this cursor key


def _q(*dicts: dict[str, str], **more: str) -> Params:
    out: Params = []
    for d in (*dicts, more):
        out += [(k, v) for k, v in d.items()]
    return out


def _get(
    path: str, *dicts: dict[str, str], roles: tuple[str | None, ...] = ROLES, **more: str
) -> Call:
    return Call("GET", path, _q(*dicts, **more), roles)


def _some(path: str, *dicts: dict[str, str], **more: str) -> Call:
    """A variant asked by the roles that see different answers: officer and both tenants."""
    return _get(path, *dicts, roles=("officer", "ent_a", "ent_b"), **more)


def _one(path: str, *dicts: dict[str, str], role: str = "officer", **more: str) -> Call:
    return _get(path, *dicts, roles=(role,), **more)


def _reads() -> list[Call]:
    meter_readings = f"{A}/meters/M-100/points/energy_import_kwh/readings"
    calls = [
        _get("/api/v1/me"),
        # registry
        _get("/api/v1/enterprises"),
        _some("/api/v1/enterprises", town="Zhangjiawo"),
        _some("/api/v1/enterprises", industry="G"),
        Call("GET", "/api/v1/enterprises", [("limit", "1")], ("officer",), follow="next_cursor"),
        _one("/api/v1/enterprises", limit="1001"),
        _one("/api/v1/enterprises", limit="0"),
        _one("/api/v1/enterprises", cursor="!!not-base64"),
        _one("/api/v1/enterprises", limit="1001", cursor="!!not-base64"),
        _one("/api/v1/enterprises", cursor="e30"),
        _one("/api/v1/enterprises", limit="0", town="Jingwu"),
    ]
    for base in (A, B, UNKNOWN):
        for tail in ("", "/sites", "/gateways", "/meters"):
            calls.append(_get(base + tail))
    # raw readings
    calls += [
        _get(meter_readings, TWO_HOURS),
        _some(meter_readings, TWO_HOURS, tz="UTC"),
        Call("GET", meter_readings, _q(TWO_HOURS, limit="3"), ("officer",), follow="next_cursor"),
        _one(f"{A}/meters/M-100/points/gas_volume_m3/readings", TWO_HOURS),
        _one(f"{A}/meters/NOPE/points/energy_import_kwh/readings", TWO_HOURS),
        _one(f"{B}/meters/B-1/points/energy_import_kwh/readings", TWO_HOURS, limit="5"),
        _one(meter_readings),
        _one(meter_readings, REVERSED),
        _one(meter_readings, NAIVE),
        _one(meter_readings, TOO_LONG),
        _one(meter_readings, TWO_HOURS, tz="Mars/Olympus"),
        _one(meter_readings, TWO_HOURS, limit="1001"),
        _one(meter_readings, TWO_HOURS, limit="0"),
        _one(meter_readings, TWO_HOURS, cursor="!!"),
        _one(meter_readings, TOO_LONG, limit="0"),
        _one(meter_readings, TOO_LONG, limit="1001"),
        _one(meter_readings, TWO_HOURS, limit="1001", tz="Mars/Olympus"),
        _one(meter_readings, TWO_HOURS, limit="1001", cursor="!!"),
        _one(meter_readings, TOO_LONG, tz="Mars/Olympus"),
        _one(meter_readings, limit="0"),
        _one(meter_readings, {"from": "x"}, limit="0", cursor="!!"),
    ]
    calls += _consumption()
    calls += _energy()
    calls += _pue_budgets_demand()
    calls += _reports()
    calls += _alerts_read()
    return calls


def _consumption() -> list[Call]:
    ent, meter = f"{A}/consumption", f"{A}/meters/DC-IT-1/consumption"
    town, district = "/api/v1/towns/Zhangjiawo/consumption", "/api/v1/district/consumption"
    calls = [
        _get(ent, DAY_RANGE),
        _get(f"{B}/consumption", DAY_RANGE),
        _get(f"{UNKNOWN}/consumption", DAY_RANGE),
        _get(meter, DAY_RANGE),
        _get(f"{B}/meters/B-1/consumption", DAY_RANGE),
        _get(town, DAY_RANGE),
        _get("/api/v1/towns/Jingwu/consumption", DAY_RANGE),
        _get(district, DAY_RANGE),
    ]
    for interval, window in (
        ("15m", TWO_HOURS),
        ("1h", DAY_RANGE),
        ("1mo", NOVEMBER),
        ("1y", YEAR),
    ):
        calls += [
            _some(ent, window, interval=interval),
            _one(meter, window, interval=interval),
            _one(town, window, interval=interval),
            _one(district, window, interval=interval),
        ]
    calls += [
        _some(ent, DAY_RANGE, site="dc-1", interval="1h"),
        _one(ent, DAY_RANGE, site="plant-1", tz="Europe/Berlin"),
        _one(ent, DAY_RANGE, site="nowhere"),
        _one(meter, DAY_RANGE, interval="1h", tz="UTC"),
        _one(f"{A}/meters/M-100/consumption", DAY_RANGE, point="energy_import_kwh"),
        _one(f"{A}/meters/M-100/consumption", DAY_RANGE, point="power_kw"),
        _one(f"{A}/meters/NOPE/consumption", DAY_RANGE),
        _one(town, DAY_RANGE, tz="UTC", interval="1h"),
        _one(district, DAY_RANGE, tz="America/New_York", interval="1h"),
        _one("/api/v1/towns/Atlantis/consumption", DAY_RANGE),
        _one(f"/api/v1/towns/{LONG_TOWN}/consumption", DAY_RANGE),
    ]
    for path in (ent, meter, town, district):
        calls += [
            _one(path),
            _one(path, {"from": DAY_RANGE["from"]}),
            _one(path, {"from": "yesterday", "to": DAY_RANGE["to"]}),
            _one(path, DAY_RANGE, interval="2h"),
            _one(path, REVERSED),
            _one(path, NAIVE),
            _one(path, TOO_LONG),
            _one(path, DAY_RANGE, tz="Mars/Olympus"),
            _one(path, TOO_LONG, interval="2h"),
            _one(path, TOO_LONG, tz="Mars/Olympus"),
            _one(path, REVERSED, tz="Mars/Olympus", interval="1h"),
        ]
    calls += [
        _one(f"{UNKNOWN}/consumption", REVERSED),
        _one(f"{UNKNOWN}/consumption", DAY_RANGE, interval="2h"),
        _one(f"{UNKNOWN}/consumption", DAY_RANGE, tz="Mars/Olympus"),
        _one(f"{B}/consumption", TOO_LONG, role="ent_a"),
        _one(f"{B}/consumption", DAY_RANGE, tz="Mars/Olympus", role="ent_a"),
        _one("/api/v1/towns/Atlantis/consumption", TOO_LONG),
        _one("/api/v1/towns/Atlantis/consumption", DAY_RANGE, tz="Mars/Olympus"),
        _one(f"/api/v1/towns/{LONG_TOWN}/consumption", interval="2h"),
        _one(f"/api/v1/towns/{LONG_TOWN}/consumption", TOO_LONG),
        _one(f"/api/v1/towns/{LONG_TOWN}/consumption", role="ent_a"),
        _one(district, TOO_LONG, interval="2h", role="ent_a"),
        _one(district, role=None),
        _one(meter, {"from": "x"}, interval="2h", point="power_kw"),
        _one(ent, {"to": "x"}, site="dc-1", interval="2h"),
    ]
    return calls


def _energy() -> list[Call]:
    ent, periods = f"{A}/energy", f"{A}/energy/periods"
    town, district = "/api/v1/towns/Zhangjiawo/energy", "/api/v1/district/energy"
    calls = [
        _get(ent, DAY_RANGE),
        _get(f"{B}/energy", DAY_RANGE),
        _get(f"{UNKNOWN}/energy", DAY_RANGE),
        _get(periods, NOVEMBER),
        _get(town, DAY_RANGE),
        _get("/api/v1/towns/Jingwu/energy", DAY_RANGE),
        _get(district, DAY_RANGE),
        _some(ent, DAY_RANGE, method="equal"),
        _one(ent, DAY_RANGE, site="dc-1"),
        _one(ent, DAY_RANGE, site="plant-1", method="equal"),
        _one(periods, NOVEMBER, interval="1d"),
        _one(periods, YEAR, interval="1y", site="dc-1"),
        _one(periods, NOVEMBER, interval="1d", method="equal"),
        _one(periods, NOVEMBER, interval="15m"),
        _one(town, DAY_RANGE, method="equal"),
        _one(district, NOVEMBER, method="equal"),
        _one("/api/v1/towns/Atlantis/energy", DAY_RANGE),
        _one(f"/api/v1/towns/{LONG_TOWN}/energy", DAY_RANGE),
    ]
    for path in (ent, periods, town, district):
        calls += [
            _one(path),
            _one(path, DAY_RANGE, method="coal"),
            _one(path, REVERSED),
            _one(path, NAIVE),
            _one(path, TOO_LONG),
            _one(path, TOO_LONG, method="coal"),
            _one(path, BEFORE_FACTORS),
        ]
    calls += [
        _one(f"{UNKNOWN}/energy", REVERSED),
        _one(f"{UNKNOWN}/energy/periods", NOVEMBER, interval="1h"),
        _one("/api/v1/towns/Atlantis/energy", TOO_LONG),
        _one(f"/api/v1/towns/{LONG_TOWN}/energy", method="coal"),
        _one(periods, {"from": "x"}, interval="1h", method="coal"),
    ]
    return calls


def _pue_budgets_demand() -> list[Call]:
    pue, ranking = f"{A}/sites/dc-1/pue", "/api/v1/data-centres/pue-ranking"
    custom = {**DAY_RANGE, "window": "custom"}
    calls = [
        _get(pue),
        _get(pue, custom),
        _get(f"{B}/sites/dc-b/pue"),
        _get(f"{A}/sites/plant-1/pue"),
        _get(f"{UNKNOWN}/sites/dc-1/pue"),
        _one(f"{A}/sites/nowhere/pue"),
    ]
    for window in ("hour", "day", "mtd", "rolling_24h", "rolling_30d"):
        calls.append(_one(pue, window=window))
    calls += [
        _one(pue, window="custom"),
        _one(pue, {"from": DAY_RANGE["from"]}, window="custom"),
        _one(pue, TOO_LONG, window="custom"),
        _one(pue, REVERSED, window="custom"),
        _one(pue, NAIVE, window="custom"),
        _one(pue, DAY_RANGE),  # a named window ignores from and to
        _one(pue, window="week"),
        _one(pue, TOO_LONG, window="week"),
        _one(pue, {"from": "x"}, window="week"),
        _one(f"{A}/sites/plant-1/pue", TOO_LONG, window="custom"),
        _one(f"{UNKNOWN}/sites/dc-1/pue", window="custom"),
        _get(ranking),
        _some(ranking, window="mtd"),
        _one(ranking, window="custom"),
        _one(ranking, window="week"),
        _get("/api/v1/budgets/status"),
    ]
    peak = f"{A}/peak-demand"
    calls += [
        _get(peak, DAY_RANGE),
        _get(f"{B}/peak-demand", DAY_RANGE),
        _one(peak, NOVEMBER),
        _one(peak, {"from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"}),
        _one(peak),
        _one(peak, REVERSED),
        _one(peak, NAIVE),
        _one(peak, TOO_LONG),
        _one(f"{UNKNOWN}/peak-demand", DAY_RANGE),
        _one(f"{UNKNOWN}/peak-demand", TOO_LONG),
        _get("/api/v1/demand-response/events"),
        _get("/api/v1/demand-response/events/1/results"),
        _one("/api/v1/demand-response/events/99/results"),
        _one("/api/v1/demand-response/events/0/results"),
        _one("/api/v1/demand-response/events/x/results"),
    ]
    return calls


def _reports() -> list[Call]:
    ent, district = (
        f"/api/v1/reports/enterprises/{ENT_A}/monthly",
        "/api/v1/reports/district/monthly",
    )
    calls = [
        _get(ent, month="2026-11"),
        _get(f"/api/v1/reports/enterprises/{ENT_B}/monthly", month="2026-11"),
        _get(district, month="2026-11"),
        _some(ent),  # the last full month of the frozen clock
        _one(district),
    ]
    for fmt in ("csv", "xlsx"):
        calls += [
            _some(ent, month="2026-11", format=fmt),
            _one(district, month="2026-11", format=fmt),
        ]
    calls += [
        _one(ent, month="2026-11", method="equal"),
        _one(district, month="2026-11", method="equal", format="csv"),
        _one(ent, month="2026-13"),
        _one(ent, month="0000-01"),
        _one(ent, month="1999-12"),
        _one(ent, month="2026-11", format="pdf"),
        _one(ent, month="0000-01", format="pdf"),
        _one(ent, month="2026-13", format="pdf", method="coal"),
        _one(district, month="0000-01"),
        _one(f"/api/v1/reports/enterprises/{ENT_B}/monthly", month="0000-01", role="ent_a"),
        _one(f"/api/v1/reports/enterprises/{ENT_B}/monthly", month="2026-11", role="ent_a"),
        _one("/api/v1/reports/enterprises/91120111MA09ZZZZ9Z/monthly", month="2026-11"),
    ]
    return calls


def _alerts_read() -> list[Call]:
    alerts = "/api/v1/alerts"
    calls = [
        _get(alerts),
        Call("GET", alerts, [("limit", "2")], ("officer", "ent_a"), follow="next_cursor"),
        _some(alerts, type="pue_over_limit"),
        _one(alerts, type="silent_meter", severity="warning"),
        _one(alerts, severity="critical"),
        Call("GET", alerts, [("state", "open"), ("state", "acknowledged")], ("officer", "ent_b")),
        _one(alerts, state="resolved"),
        _some(alerts, enterprise=ENT_B),
        _one(alerts, subject=f"{ENT_A}/dc"),
        _one(alerts, subject="%"),
        _one(alerts, {"from": "2026-11-18T09:40:00+08:00"}),
        _one(alerts, {"to": "2026-11-18T09:40:00+08:00"}),
        _one(alerts, type="bogus"),
        _one(alerts, state="closed", severity="loud"),
        _one(alerts, limit="1001"),
        _one(alerts, limit="0"),
        _one(alerts, cursor="!!"),
        _one(alerts, limit="1001", cursor="!!"),
        _one(alerts, {"from": "soon"}),
        _one(alerts, type="bogus", limit="0"),
        _one(alerts, {"from": "soon"}, limit="0", severity="loud"),
    ]
    for alert_id in ("1", "2", "3", "4", "5"):
        calls.append(_get(f"{alerts}/{alert_id}"))
    calls += [_one(f"{alerts}/999"), _one(f"{alerts}/0"), _one(f"{alerts}/x")]
    return calls


def _writes() -> list[Call]:
    events = "/api/v1/demand-response/events"
    slot = {"name": "Afternoon peak", "start": "2026-11-19T14:00:00+08:00"}
    district = yaml.safe_load((FIXTURES / "district_small.yaml").read_text())
    ent_b = dict(district["enterprises"][1], name="Jingwu Cold Storage Co.")
    ent_b_more = dict(
        ent_b,
        sites=[
            *ent_b["sites"],
            {"code": "office", "kind": "public_building", "meters": []},
        ],
    )
    officer_writes = ("officer", "ent_a", "admin")
    return [
        # demand response
        Call(
            "POST",
            events,
            roles=(None, "ent_a", "gw_a", "officer"),
            json_body={**slot, "end": "2026-11-19T16:00:00+08:00", "note": "20 % target"},
        ),
        Call(
            "POST",
            events,
            roles=("officer",),
            json_body={**slot, "end": "2026-11-19T16:10:00+08:00"},
        ),
        Call(
            "POST",
            events,
            roles=("officer",),
            json_body={**slot, "end": "2026-11-21T16:00:00+08:00"},
        ),
        Call(
            "POST",
            events,
            roles=("officer",),
            json_body={**slot, "end": "2026-11-19T13:00:00+08:00"},
        ),
        Call("POST", events, roles=("officer",), json_body={**slot, "end": "2026-11-19T16:00:00"}),
        Call("POST", events, roles=("officer",), json_body={"start": slot["start"]}),
        Call("POST", events, roles=("officer",), json_body={**slot, "name": "", "end": "x"}),
        Call(
            "POST", events, roles=("admin",), content=b"not json", content_type="application/json"
        ),
        _get(events),
        _one(f"{events}/2/results", role="ent_a"),
        # alerts
        Call("POST", "/api/v1/alerts/1/acknowledge", roles=(None, "gw_a", "ent_a"), json_body={}),
        Call(
            "POST",
            "/api/v1/alerts/1/acknowledge",
            roles=("officer",),
            json_body={"comment": "on it"},
        ),
        Call("POST", "/api/v1/alerts/1/acknowledge", roles=("admin",), json_body={}),
        Call("POST", "/api/v1/alerts/999/acknowledge", roles=("officer",), json_body={}),
        Call("POST", "/api/v1/alerts/2/acknowledge", roles=("officer",), json_body={"comment": 5}),
        Call("POST", "/api/v1/alerts/2/resolve", roles=("officer",), json_body={}),
        Call("POST", "/api/v1/alerts/2/resolve", roles=("officer",), json_body={"comment": ""}),
        Call(
            "POST", "/api/v1/alerts/2/resolve", roles=officer_writes, json_body={"comment": "fixed"}
        ),
        Call("POST", "/api/v1/alerts/0/resolve", roles=("officer",), json_body={"comment": "x"}),
        _get("/api/v1/alerts"),
        _one("/api/v1/alerts/2", role="ent_b"),
        # HTTP ingest
        *_ingest(),
        # the registry (last: it changes what the reads above saw)
        Call(
            "POST",
            "/api/v1/registry/apply",
            roles=(None, "officer", "ent_a", "gw_a"),
            content=b"enterprises: []",
            content_type="application/yaml",
        ),
        Call(
            "POST",
            "/api/v1/registry/apply",
            roles=("admin",),
            content=yaml.safe_dump({"enterprises": [ent_b]}).encode(),
            content_type="application/yaml",
        ),
        Call(
            "POST",
            "/api/v1/registry/apply",
            roles=("admin",),
            content=json.dumps({"enterprises": [ent_b]}).encode(),
            content_type="application/json",
        ),
        Call(
            "POST",
            "/api/v1/registry/apply",
            roles=("admin",),
            content=b"enterprises:\n  - code: 123\n    name: x\n",
            content_type="application/yaml",
        ),
        Call(
            "POST",
            "/api/v1/registry/apply",
            roles=("admin",),
            content=b"{not json",
            content_type="application/yaml",
        ),
        Call(
            "PUT",
            f"/api/v1/registry/enterprises/{ENT_B}",
            roles=("officer", "admin"),
            content=json.dumps(ent_b_more).encode(),
            content_type="application/json",
        ),
        Call(
            "PUT",
            f"/api/v1/registry/enterprises/{ENT_A}",
            roles=("admin",),
            content=json.dumps(ent_b).encode(),
            content_type="application/json",
        ),
        Call(
            "PUT",
            f"/api/v1/registry/enterprises/{ENT_B}",
            roles=("admin",),
            content=b"- a list",
            content_type="application/yaml",
        ),
        Call(
            "PUT",
            f"/api/v1/registry/enterprises/{ENT_B}",
            roles=("admin",),
            content=b"code: [unclosed",
            content_type="application/yaml",
        ),
        Call(
            "PUT",
            f"/api/v1/registry/enterprises/{ENT_B}",
            roles=("admin",),
            content=yaml.safe_dump({**ent_b, "sites": [{"code": "s", "kind": "moon"}]}).encode(),
            content_type="application/yaml",
        ),
        _one(f"{B}/sites", role="admin"),
        Call("DELETE", f"/api/v1/registry/enterprises/{ENT_B}", roles=("officer", "admin")),
        Call("DELETE", "/api/v1/registry/enterprises/91120111MA09ZZZZ9Z", roles=("admin",)),
        _get("/api/v1/enterprises", roles=("officer", "ent_b")),
        _one(B, role="admin"),
        _one(f"{B}/meters", role="admin"),
    ]


def _ingest() -> list[Call]:
    def reading(**changes: object) -> dict[str, object]:
        return {
            "meter": "M-100",
            "point": "energy_import_kwh",
            "ts": "2026-11-19T08:15:00+08:00",
            "value": 2000.5,
            "unit": "kWh",
            **changes,
        }

    good = {
        "seq": 7,
        "readings": [reading(), reading(ts="2026-11-19T08:30:00+08:00", value=2001.0)],
    }
    mixed = {
        "seq": 8,
        "readings": [
            reading(ts="2026-11-19T08:45:00+08:00", value=2002.0),
            reading(meter="B-1"),
            reading(point="gas_volume_m3", unit="m3"),
            reading(meter="DC-IN-1", ts="not a time"),
        ],
    }
    path = "/api/v1/ingest/readings"
    return [
        Call("POST", path, roles=ROLES, json_body=good),
        Call("POST", path, roles=("gw_a",), json_body=good),
        Call("POST", path, roles=("gw_a",), json_body=mixed),
        Call(
            "POST",
            path,
            roles=("gw_a",),
            content=b"\xff\xfe not json",
            content_type="application/json",
        ),
        Call("POST", path, roles=("gw_a",), json_body={"readings": "none"}),
        _one(
            f"{A}/meters/M-100/points/energy_import_kwh/readings",
            {"from": "2026-11-19T08:00:00+08:00", "to": "2026-11-19T09:00:00+08:00"},
        ),
    ]


def _auth() -> list[Call]:
    token = "/api/v1/auth/token"
    form = "application/x-www-form-urlencoded"
    return [
        Call(
            "POST",
            token,
            roles=(None,),
            content=b"grant_type=password&username=ent_a&password=correct+horse+battery",
            content_type=form,
        ),
        Call(
            "POST",
            token,
            roles=(None,),
            content=b"grant_type=client_credentials&client_id=gw_a&client_secret=correct+horse+battery",
            content_type=form,
        ),
        Call(
            "POST",
            token,
            roles=(None,),
            content=b"grant_type=password&username=ent_a&password=wrong",
            content_type=form,
        ),
        Call(
            "POST",
            token,
            roles=(None,),
            content=b"grant_type=password&username=ent_a",
            content_type=form,
        ),
        Call(
            "POST",
            token,
            roles=(None,),
            content=b"grant_type=implicit&username=ent_a&password=x",
            content_type=form,
        ),
        Call("POST", token, roles=(None,), content=b"", content_type=form),
        Call("GET", "/api/v1/me", roles=("bad-token",)),
        Call("GET", "/api/v1/me", roles=("bad-key",)),
    ]


# ------------------------------------------------------------------ the seeded district


@pytest.fixture
def api_overrides() -> dict[str, object]:
    # one token asks a few hundred questions in a second or two
    return {"rate_limit_per_s": 1e6, "rate_limit_burst": 1_000_000}


@pytest.fixture
def golden(api: ApiHarness, monkeypatch: pytest.MonkeyPatch) -> ApiHarness:
    spec = yaml.safe_load((FIXTURES / "district_small.yaml").read_text())
    spec["enterprises"][0]["budgets"] = [
        {"year": 2026, "amount": 10},
        {"year": 2026, "carrier": "electricity", "unit": "kWh", "amount": 40000},
        {
            "year": 2026,
            "carrier": "natural_gas",
            "unit": "m3",
            "amount": 900,
            "site": "plant-1",
            "monthly": {11: 100, 12: 100},
        },
    ]
    spec["enterprises"][1]["budgets"] = [{"year": 2026, "amount": 5}]
    # the harness's data centre of B, kept active by listing it
    spec["enterprises"][1]["sites"].append(
        {"code": "dc-b", "name": "DC B", "kind": "data_centre", "dc_class": "existing"}
    )
    engine = make_engine(api.db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(yaml.safe_dump(spec)))
    for meter, per_15m in (("DC-IN-1", 13.0), ("DC-IT-1", 10.0), ("M-100", 1.0), ("B-1", 5.5)):
        feed(api, meter, per_15m)
    catch_up(engine)
    with engine.begin() as conn:
        _seed_alerts(conn)
    engine.dispose()
    with psycopg.connect(api.db.libpq_url) as conn:
        conn.execute(
            "INSERT INTO dr_events (name, start_at, end_at, note, created_by, created_at) "
            "VALUES ('Morning peak', %s, %s, NULL, 'officer', %s)",
            (DAY + timedelta(hours=10), DAY + timedelta(hours=11), SEEDED),
        )
    _freeze_clock(monkeypatch)
    return api


def _seed_alerts(conn: Any) -> None:
    """The harness's two silent-meter alerts moved to fixed times, and three more."""
    from sqlalchemy import text

    conn.execute(
        text("UPDATE alerts SET opened_at = :t, updated_at = :t, last_evaluated_at = :t"),
        {"t": SEEDED},
    )
    conn.execute(text("UPDATE alert_events SET at = :t"), {"t": SEEDED})
    ids = dict(conn.execute(text("SELECT code, id FROM enterprises")).all())
    dc = conn.execute(text("SELECT id FROM sites WHERE code = 'dc-1'")).scalar_one()
    later = SEEDED + timedelta(minutes=30)
    apply(
        conn,
        [
            Open(
                Finding(
                    "pue_over_limit",
                    "site",
                    dc,
                    f"{ENT_A}/dc-1",
                    "ytd",
                    True,
                    Severity.CRITICAL,
                    title=f"PUE 1.300 of {ENT_A}/dc-1 above its limit 1.25 (ytd)",
                    value=1.3,
                    limit=1.25,
                    enterprise_id=ids[ENT_A],
                    evidence={"dc_class": "new_large"},
                )
            ),
            Open(
                Finding(
                    "budget_warning",
                    "budget",
                    4,
                    f"{ENT_B} 2026 energy (tce)",
                    "2026",
                    True,
                    title=f"{ENT_B} 2026 energy (tce): 81% of the budget used",
                    value=0.81,
                    limit=0.8,
                    enterprise_id=ids[ENT_B],
                    evidence={"share": 0.81},
                )
            ),
            Open(
                Finding(
                    "pue_insufficient_data",
                    "site",
                    dc,
                    f"{ENT_A}/dc-1",
                    "mtd",
                    True,
                    Severity.WARNING,
                    title="PUE not computable",
                    value=None,
                    limit=None,
                    enterprise_id=ids[ENT_A],
                    evidence={},
                )
            ),
        ],
        later,
    )
    acknowledge(conn, 4, "officer", later + timedelta(minutes=5), "seen")
    resolve(conn, 5, "officer", later + timedelta(minutes=10), "meters back")


def _freeze_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """``datetime.now`` answers ``NOW`` in every API module, whatever its name or layout."""
    real = datetime

    class _Meta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, real)

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, real)

    class Frozen(real, metaclass=_Meta):
        def __new__(cls, *args: Any, **kwargs: Any) -> datetime:  # type: ignore[misc]
            return real(*args, **kwargs)

        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return NOW.astimezone(tz) if tz is not None else NOW.replace(tzinfo=None)

        @classmethod
        def fromisoformat(cls, value: str) -> datetime:  # type: ignore[override]
            return real.fromisoformat(value)

        @classmethod
        def __get_pydantic_core_schema__(cls, _source: Any, handler: Any) -> Any:
            # FastAPI may read a route's annotations after the patch: they still mean datetime
            return handler(real)

    for name, module in list(sys.modules.items()):
        if name.startswith("services.api") and getattr(module, "datetime", None) is real:
            monkeypatch.setattr(module, "datetime", Frozen)


# ------------------------------------------------------------------ asking and comparing


def _ask(api: ApiHarness, call: Call, role: str | None, params: Params) -> dict[str, Any]:
    headers: dict[str, str] = {}
    if role == "bad-token":
        headers["Authorization"] = "Bearer not.a.token"
    elif role == "bad-key":
        headers["X-API-Key"] = "emk_nothing"
    else:
        headers.update(api.as_(role))
    if call.content_type:
        headers["Content-Type"] = call.content_type
    resp = api.client.request(
        call.method,
        call.path,
        params=params,
        headers=headers,
        json=call.json_body,
        content=call.content,
    )
    media = resp.headers.get("content-type", "")
    body: Any = _sheets(resp.content) if media == XLSX else resp.text
    if "/demand-response/events" in call.path and isinstance(body, str):
        body = re.sub(r'"created_at":"[^"]*"', '"created_at":"<database clock>"', body)
    query = "&".join(f"{k}={v}" for k, v in params)
    return {
        "call": f"{call.method} {call.path}{'?' + query if query else ''} as {role or 'anonymous'}",
        "status": resp.status_code,
        "content_type": media,
        "headers": {h: resp.headers[h] for h in HEADERS if h in resp.headers}
        | ({"age": "present"} if "age" in resp.headers else {}),
        "body": body,
    }


def _sheets(content: bytes) -> dict[str, list[list[str]]]:
    """An XLSX answer as its cells (the file itself carries its creation time)."""
    book = load_workbook(io.BytesIO(content))
    return {
        sheet.title: [[repr(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        for sheet in book.worksheets
    }


def _answers(api: ApiHarness) -> Iterator[dict[str, Any]]:
    for call in [*_reads(), *_writes(), *_auth()]:
        for role in call.roles:
            params = call.params
            while True:
                answer = _ask(api, call, role, params)
                yield answer
                cursor = None
                if call.follow and answer["status"] == 200:
                    cursor = json.loads(answer["body"]).get(call.follow)
                if cursor is None:
                    break
                params = [*call.params, ("cursor", cursor)]


def test_every_answer_of_every_route_is_unchanged(golden: ApiHarness) -> None:
    answers = list(_answers(golden))
    path = GOLDEN / "responses.json"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(path.read_text())
    assert [a["call"] for a in answers] == [e["call"] for e in expected]
    changed = [
        f"{a['call']}:\n  expected {json.dumps(e, ensure_ascii=False)[:2000]}\n"
        f"  got      {json.dumps(a, ensure_ascii=False)[:2000]}"
        for a, e in zip(answers, expected, strict=True)
        if a != e
    ]
    assert changed == [], "\n".join(changed[:5])
    assert len(answers) >= 500


def test_the_openapi_document_loses_nothing(api: ApiHarness) -> None:
    document = api.client.get("/openapi.json").json()
    path = GOLDEN / "openapi.json"
    if UPDATE:
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    old = json.loads(path.read_text())
    assert _lost(old, document) == []
    # generated clients take parameters in the document's order: it must not change
    assert _parameter_order(document, old) == _parameter_order(old, old)


def _parameter_order(doc: dict[str, Any], like: dict[str, Any]) -> dict[str, list[str]]:
    """Each operation of ``like``: the names of its parameters in ``doc``'s order, restricted
    to the parameters ``like`` has."""
    out = {}
    for path, item in like["paths"].items():
        for method, op in item.items():
            names = {p["name"] for p in op.get("parameters", [])}
            ordered = doc["paths"][path][method].get("parameters", [])
            out[f"{method} {path}"] = [p["name"] for p in ordered if p["name"] in names]
    return out


def _lost(old: Any, new: Any, where: str = "") -> list[str]:
    """What of ``old`` is missing from ``new``: object members recursively; a list's items each
    need an equal-or-larger counterpart in the new list."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [where or "/"]
        return [
            lost
            for key, value in old.items()
            for lost in (
                _lost(value, new[key], f"{where}/{key}") if key in new else [f"{where}/{key}"]
            )
        ]
    if isinstance(old, list):
        if not isinstance(new, list):
            return [where]
        return [
            f"{where}[{i}]"
            for i, item in enumerate(old)
            if not any(_lost(item, candidate) == [] for candidate in new)
        ]
    return [] if old == new else [where]
