"""The ``energymon`` command: one subcommand per job.

Each subcommand builds its settings from the environment when it runs (never at import) and
imports only what it needs, so ``energymon --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services import intensity_cli
from services.core.domain.quantities import QuantityCode
from services.core.errors import EnergymonError

if TYPE_CHECKING:
    from datetime import datetime

    from services.core.domain.pue import PueResult

Handler = Callable[[argparse.Namespace], int]

DESCRIPTION = (
    "energymon: online energy monitoring of a district's key energy-using units and data "
    "centres, one subcommand per job."
)
EPILOG = (
    "Run energymon COMMAND --help for a command's options and the ENERGYMON_* settings it reads; "
    "energymon config show lists every setting with its default."
)


def _db_upgrade(_args: argparse.Namespace) -> int:
    from services.core.db import make_engine
    from services.core.logging import configure_logging
    from services.core.schema.migrate import timescale_enabled, upgrade
    from services.core.settings import CommonSettings, DatabaseSettings

    common = CommonSettings()
    configure_logging(common.log_level, common.log_format)  # the fallback warning, as JSON
    db = DatabaseSettings()
    engine = make_engine(db)
    revision = upgrade(engine, db)
    with engine.connect() as conn:
        storage = "TimescaleDB hypertable" if timescale_enabled(conn) else "plain PostgreSQL"
    print(f"database at revision {revision} ({storage})")
    return 0


def _registry_load(args: argparse.Namespace) -> int:
    from services.core.db import make_engine
    from services.core.registry.diff import plan_line
    from services.core.registry.plan import plan_district
    from services.core.registry.spec import parse_district
    from services.core.registry.store import apply_district
    from services.core.settings import DatabaseSettings

    path = Path(args.file)
    spec = parse_district(path.read_text(encoding="utf-8"))
    engine = make_engine(DatabaseSettings())
    with engine.begin() as conn:
        if args.dry_run:
            plan = plan_district(conn, spec)
            conn.rollback()
            report = plan.report
            for change in plan.changes:
                print(plan_line(change))
        else:
            report = apply_district(conn, spec)
    prefix = "would apply" if args.dry_run else "applied"
    print(f"{prefix} {path}: {len(spec.enterprises)} enterprises; {report.summary()}")
    return 0


def _ingest_mqtt(_args: argparse.Namespace) -> int:
    from services.ingest.main import main_mqtt

    return main_mqtt()


def _ingest_sparkplug(_args: argparse.Namespace) -> int:
    from services.ingest.sparkplug.main import main as sparkplug_main

    return sparkplug_main()


def _ingest_modbus(_args: argparse.Namespace) -> int:
    from services.ingest.modbus.main import main as modbus_main

    return modbus_main()


def _export_readings(args: argparse.Namespace) -> int:
    from services.core.db import make_engine
    from services.core.export import iter_readings, parse_instant, write_csv
    from services.core.settings import CommonSettings, DatabaseSettings

    zone = CommonSettings().zone
    engine = make_engine(DatabaseSettings().for_reads())  # the read replica, if there is one
    start = parse_instant(args.from_, zone)
    end = parse_instant(args.to, zone)
    if end <= start:
        raise EnergymonError("--to must be after --from")
    with engine.connect() as conn:
        rows = iter_readings(
            conn,
            enterprise=args.enterprise,
            start=start,
            end=end,
            zone=zone,
            meter=args.meter,
            point=args.point,
        )
        if args.output in (None, "-"):
            n = write_csv(rows, sys.stdout)
        else:
            with open(args.output, "w", encoding="utf-8", newline="") as fh:
                n = write_csv(rows, fh)
    print(f"exported {n} readings", file=sys.stderr)
    return 0


def _config_show(args: argparse.Namespace) -> int:
    from services.core.config_doc import render_markdown

    text = render_markdown()
    if args.check:
        current = Path(args.check).read_text(encoding="utf-8")
        if current != text:
            print(
                f"{args.check} is out of date; regenerate with `energymon config show "
                f"> {args.check}`",
                file=sys.stderr,
            )
            return 1
        return 0
    sys.stdout.write(text)
    return 0


def _mqtt_credentials(args: argparse.Namespace) -> int:
    import os

    from services.core.db import make_engine
    from services.core.registry import mqtt_acl
    from services.core.settings import DatabaseSettings, MqttSettings

    mqtt = MqttSettings()
    endpoint = mqtt.endpoint
    # Ingest logs in with the account in ENERGYMON_MQTT_URL: the broker gets that same password.
    ingest_user = args.ingest_user or endpoint.username or mqtt_acl.INGEST_USER
    ingest_password = endpoint.password if endpoint.username == ingest_user else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    creds_path = out / "credentials.csv"
    existing = (
        mqtt_acl.read_credentials(creds_path.read_text(encoding="utf-8"))
        if creds_path.exists()
        else {}
    )
    with make_engine(DatabaseSettings()).connect() as conn:
        gws = mqtt_acl.active_gateways(conn)
        sparkplug = mqtt_acl.sparkplug_nodes_by_gateway(conn)
    creds = mqtt_acl.plan_credentials(gws, existing, ingest_user, ingest_password)
    files = mqtt_acl.render_files(gws, creds, mqtt.topic_root, ingest_user, sparkplug)
    for name, text in files.items():
        path = out / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    new = sum(1 for c in creds if c.username not in existing)
    print(
        f"wrote {', '.join(files)} to {out}: {len(creds) - 1} gateways, {new} new accounts "
        f"(ingest: {ingest_user}, internal listener only)"
    )
    return 0


def _mqtt_broker_config(args: argparse.Namespace) -> int:
    import os

    from services.core import broker_config

    if args.profile == "deploy":
        broker = broker_config.for_deploy()
    else:
        broker = broker_config.for_demo(
            args.port,
            str(Path(args.data_dir).resolve() / "mosquitto" / "data"),
            run_as_root=os.geteuid() == 0,
        )
    sys.stdout.write(broker_config.render(broker))
    return 0


def _api(args: argparse.Namespace) -> int:
    from services.api.app import main as api_main

    return api_main(host=args.host, port=args.port, workers=args.workers)


def _users_create(args: argparse.Namespace) -> int:
    import getpass
    import os

    from services.api.security import Role
    from services.api.users import create_user
    from services.core.db import make_engine
    from services.core.settings import DatabaseSettings

    password = os.environ.get("ENERGYMON_NEW_USER_PASSWORD") or getpass.getpass("password: ")
    with make_engine(DatabaseSettings()).begin() as conn:
        create_user(
            conn,
            username=args.username,
            password=password,
            role=Role(args.role),
            enterprise_code=args.enterprise,
            gateway_code=args.gateway,
        )
    print(f"created {args.role} {args.username}")
    return 0


def _users_api_key(args: argparse.Namespace) -> int:
    from services.api.users import create_api_key
    from services.core.db import make_engine
    from services.core.settings import DatabaseSettings

    with make_engine(DatabaseSettings()).begin() as conn:
        key = create_api_key(conn, args.username, args.name)
    print(key)
    print("store it now: only its hash is kept", file=sys.stderr)
    return 0


def _users_set_active(args: argparse.Namespace) -> int:
    from services.api.users import set_account_active
    from services.core.db import make_engine
    from services.core.settings import DatabaseSettings

    active = args.users_cmd == "activate"
    with make_engine(DatabaseSettings()).begin() as conn:
        changed = set_account_active(conn, args.username, active=active)
    state = "active" if active else "deactivated"
    print(f"{args.username} {'is now' if changed else 'was already'} {state}")
    return 0


def _alerts_run(_args: argparse.Namespace) -> int:
    from services.alerts.main import main as alerts_main

    return alerts_main()


def _alerts_list(args: argparse.Namespace) -> int:
    from services.core.alerting.store import list_alerts
    from services.core.db import make_engine
    from services.core.settings import DatabaseSettings

    states = ["open", "acknowledged", "resolved"] if args.all else ["open", "acknowledged"]
    with make_engine(DatabaseSettings()).connect() as conn:
        rows = list_alerts(conn, states=states, rule=args.rule, limit=args.limit)
    print(f"{'id':>6}  {'state':<12} {'severity':<9} {'rule':<24} {'opened (UTC)':<20} title")
    for r in rows:
        print(
            f"{r['id']:>6}  {r['state']:<12} {r['severity']:<9} {r['rule']:<24} "
            f"{r['opened_at']:%Y-%m-%d %H:%M:%S}  {r['title']}"
        )
    return 0


def _alerts_act(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from services.core.alerting.store import acknowledge, resolve
    from services.core.db import make_engine
    from services.core.settings import DatabaseSettings

    with make_engine(DatabaseSettings()).begin() as conn:
        if args.alerts_cmd == "ack":
            acknowledge(conn, args.id, args.by, datetime.now(UTC), args.comment)
        else:
            resolve(conn, args.id, args.by, datetime.now(UTC), args.comment)
    print(f"alert {args.id} {'acknowledged' if args.alerts_cmd == 'ack' else 'resolved'}")
    return 0


def _accounting_run(args: argparse.Namespace) -> int:
    if not args.once:
        from services.accounting.main import main as accounting_main

        return accounting_main(interval_s=args.every)
    from services.accounting.main import run_once
    from services.core.logging import configure_logging
    from services.core.settings import AccountingSettings, CommonSettings, DatabaseSettings

    common = CommonSettings()
    configure_logging(common.log_level, common.log_format)
    stats = run_once(DatabaseSettings(), AccountingSettings())
    if stats is None:
        print(ACCOUNTING_ACTIVE + "nothing done here", flush=True)
        return 0
    print(
        f"rollups: {stats.ranges} ranges, {stats.points} points, "
        f"{stats.buckets_written} buckets in {stats.seconds:.2f}s",
        flush=True,
    )
    return 0


ACCOUNTING_ACTIVE = (
    "the accounting service is active (another process holds its lock) and brings the rollups "
    "up to date within ENERGYMON_ACCOUNTING_INTERVAL_S: "
)


def _accounting_rebuild_days(_args: argparse.Namespace) -> int:
    from services.accounting.days import rebuild_days
    from services.core.db import make_engine
    from services.core.settings import CommonSettings, DatabaseSettings

    zone = CommonSettings().zone
    with make_engine(DatabaseSettings()).begin() as conn:
        rows = rebuild_days(conn, zone)
    print(f"daily rollups rebuilt in {zone.key}: {rows} point-days")
    return 0


def _accounting_recompute(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from services.accounting.main import run_once
    from services.accounting.recompute import mark_for_recompute
    from services.core.db import make_engine
    from services.core.schema.storage_plan import recompute_refusal
    from services.core.schema.timescale import raw_horizon
    from services.core.settings import AccountingSettings, DatabaseSettings

    since = datetime.fromisoformat(args.since) if args.since else None
    if since is not None and since.tzinfo is None:
        raise SystemExit("--since needs a UTC offset, e.g. 2026-11-01T00:00:00+08:00")
    db = DatabaseSettings()
    engine = make_engine(db)
    with engine.begin() as conn:
        refusal = recompute_refusal(
            since, raw_horizon(conn, now=datetime.now(UTC), retention_days=db.retention_days)
        )
        if refusal is not None:
            raise EnergymonError(refusal)
        points = mark_for_recompute(conn, since)
    print(f"{points} points marked for recomputation", flush=True)
    engine.dispose()
    if not args.mark_only:
        stats = run_once(DatabaseSettings(), AccountingSettings())
        if stats is None:
            print(ACCOUNTING_ACTIVE + "it recomputes the marked ranges", flush=True)
            return 0
        print(
            f"recomputed {stats.points} points, {stats.buckets_written} buckets in "
            f"{stats.seconds:.1f}s"
        )
    return 0


def _budgets_set(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from services.core.db import make_engine
    from services.core.registry.spec import BudgetSpec
    from services.core.registry.store import set_budget
    from services.core.settings import DatabaseSettings

    monthly = None
    if args.monthly:
        try:
            monthly = {
                int(k): float(v)
                for k, v in (part.split("=", 1) for part in args.monthly.split(","))
            }
        except ValueError as err:
            raise EnergymonError("--monthly is MONTH=AMOUNT,... e.g. 1=30000,2=28000") from err
    if args.carrier is not None and not args.unit:
        raise EnergymonError("a carrier budget needs --unit, the carrier's unit (e.g. kWh)")
    unit = args.unit or "tce"
    try:
        spec = BudgetSpec(
            year=args.year,
            amount=args.amount,
            unit=unit,
            carrier=args.carrier,
            site=args.site,
            monthly=monthly,
        )
    except ValidationError as err:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())
        raise EnergymonError(f"invalid budget: {problems}") from err
    with make_engine(DatabaseSettings()).begin() as conn:
        report = set_budget(conn, args.enterprise, spec)
    what = f"{args.enterprise}{'/' + args.site if args.site else ''} {args.year} " + (
        f"{args.carrier} {args.amount:g} {unit}" if args.carrier else f"{args.amount:g} tce"
    )
    print(f"budget {what}: {report.summary()}")
    return 0


def _budgets_status(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from services.core.db import make_engine
    from services.core.domain.budget import budget_verdict
    from services.core.domain.rounding import amount_digits
    from services.core.factors import default_factors
    from services.core.settings import AlertsSettings, CommonSettings, DatabaseSettings
    from services.core.store.budgets import statuses

    spec = AlertsSettings().budget_thresholds
    common = CommonSettings()
    with make_engine(DatabaseSettings()).connect() as conn:
        rows = statuses(
            conn,
            default_factors(),
            now=datetime.now(UTC),
            zone=common.zone,
            thresholds=tuple(float(t) for t in spec.split(",") if t.strip()),
            min_completeness=common.min_completeness,
        )
    print(
        "enterprise,site,period,carrier,unit,budget,used,share_used,projected,state,"
        "coverage,data_sufficient,verdict"
    )
    for b, st in sorted(rows, key=lambda r: (-r[1].share, r[0].enterprise, r[0].period)):
        digits = amount_digits(b.unit)
        projections = [p for p in (st.projected_run_rate, st.projected_last_year) if p]
        projected = f"{max(projections):.{digits}f}" if projections else ""
        coverage = f"{st.coverage:.4f}" if st.coverage is not None else ""
        print(
            f"{b.enterprise},{b.site},{b.period},{b.carrier},{b.unit},{b.amount:g},"
            f"{st.used:.{digits}f},{st.share:.4f},{projected},{st.state.value},{coverage},"
            f"{str(st.data_sufficient).lower()},{budget_verdict(st).value}"
        )
    return 0


def pue_line(
    r: PueResult,
    *,
    enterprise: str,
    site: str,
    start: datetime,
    end: datetime,
    limit: float | None,
    dc_class: str | None,
) -> str:
    """``energymon report pue``'s answer: the verdict against the limit, then the figures
    (a ratio only when the data supports one)."""
    from services.core.domain.pue import pue_verdict_text
    from services.core.domain.rounding import KWH_DIGITS, PUE_DIGITS, percent

    ratio = f"{r.ratio:.{PUE_DIGITS}f}" if r.ratio is not None else "-"
    limit_text = f"{limit:g}" if limit is not None else "none"
    return (
        f"PUE {enterprise}/{site} {start.isoformat(timespec='seconds')} .. "
        f"{end.isoformat(timespec='seconds')}: {ratio}; "
        f"verdict: {pue_verdict_text(r, limit)}; limit {limit_text}"
        f"{f' ({dc_class})' if dc_class else ''}; "
        f"facility {r.facility_kwh:.{KWH_DIGITS}f} kWh (coverage {percent(r.facility_coverage)}, "
        f"estimated {percent(r.facility_estimated)}), "
        f"IT {r.it_kwh:.{KWH_DIGITS}f} kWh (coverage {percent(r.it_coverage)}, "
        f"estimated {percent(r.it_estimated)}); threshold {percent(r.threshold)}"
    )


def _report(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from services.core.db import make_engine
    from services.core.domain.coefficients import ElectricityMethod
    from services.core.domain.pue import Window, window_bounds
    from services.core.export import parse_instant
    from services.core.factors import default_factors
    from services.core.settings import CommonSettings, DatabaseSettings
    from services.core.store.consumption import PeriodTotals, consumption, totals_by_period
    from services.core.store.pue import site_pue
    from services.core.store.scope import Scope
    from services.core.store.sites import data_centres

    if getattr(args, "window", None) == "custom" and not (args.from_ and args.to):
        raise EnergymonError("--window custom needs --from and --to")
    zone = CommonSettings().zone
    engine = make_engine(DatabaseSettings())
    with engine.connect() as conn:
        if args.report_cmd == "pue":
            from datetime import UTC, datetime

            if args.window == "custom":
                start, end = parse_instant(args.from_, zone), parse_instant(args.to, zone)
            else:
                start, end = window_bounds(Window(args.window), datetime.now(UTC), zone)
            common = CommonSettings()
            dc = next(
                (
                    d
                    for d in data_centres(conn)
                    if (d.enterprise, d.site) == (args.enterprise, args.site)
                ),
                None,
            )
            if dc is None:
                raise EnergymonError(
                    f"{args.enterprise} has no active data-centre site {args.site!r} "
                    "(check --enterprise and --site against the district file)"
                )
            r = site_pue(
                conn,
                enterprise=args.enterprise,
                site=args.site,
                start=start,
                end=end,
                zone=zone,
                threshold=common.min_completeness,
            )
            print(
                pue_line(
                    r,
                    enterprise=args.enterprise,
                    site=args.site,
                    start=start.astimezone(zone),
                    end=end.astimezone(zone),
                    limit=dc.limit,
                    dc_class=dc.dc_class,
                )
            )
            return 0
        start, end = parse_instant(args.from_, zone), parse_instant(args.to, zone)
        if end - start > timedelta(days=3700):
            raise EnergymonError("the range is at most ten years")
        if args.report_cmd == "consumption":
            print("period,carrier,quantity,amount,unit,completeness,estimated")
            for row in consumption(
                conn,
                start=start,
                end=end,
                interval=args.interval,
                zone=zone,
                scope=Scope(enterprise=args.enterprise, site=args.site),
            ):
                print(
                    f"{row.period.isoformat()},{row.carrier},{row.quantity},{row.amount:.3f},"
                    f"{row.unit},{row.completeness:.3f},{str(row.estimated).lower()}"
                )
            return 0
        method = ElectricityMethod(args.method)
        periods = totals_by_period(
            conn,
            default_factors(),
            start=start,
            end=end,
            zone=zone,
            interval=args.interval,
            method=method,
            scope=Scope(enterprise=args.enterprise),
        )
        for period in periods or [PeriodTotals(start, end, [])]:
            if args.interval is not None:
                print(f"{period.start.isoformat()} .. {period.end.isoformat()}")
            print(
                f"standard coal by the {method.value} value for electricity; factors as of "
                f"{period.start.date().isoformat()}"
            )
            total_kgce = total_co2 = 0.0
            for t in period.carriers:
                kgce = t.kgce.value if t.kgce else 0.0
                co2 = t.tco2.value if t.tco2 else 0.0
                total_kgce += kgce
                total_co2 += co2
                source = f"; {t.kgce.factor.source}" if t.kgce else ""
                print(
                    f"{t.carrier:<12} {t.amount:>14,.1f} {t.unit:<4} {kgce / 1000:>12,.3f} tce "
                    f"{co2:>12,.3f} tCO2{source}"
                )
            print(
                f"{'total':<12} {'':>19} {total_kgce / 1000:>12,.3f} tce {total_co2:>12,.3f} tCO2"
            )
    return 0


def _report_quality(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from services.api.quality_out import (
        district_out,
        district_tables,
        enterprise_out,
        enterprise_tables,
    )
    from services.api.report_files import sections_csv, table_csv, workbook
    from services.core.db import make_engine
    from services.core.settings import (
        AlertsSettings,
        CommonSettings,
        DatabaseSettings,
        QualitySettings,
    )
    from services.core.store.quality_report import Period, QualityRules, quality_report

    if args.format == "xlsx" and not args.output:
        raise EnergymonError("--format xlsx writes a file: give --output FILE.xlsx")
    period = Period.parse(args.day or args.month)
    if (args.day is not None) != (len(period.label) == 10):
        raise EnergymonError(f"--day takes YYYY-MM-DD, --month YYYY-MM (not {period.label})")
    zone = CommonSettings().zone
    rules = QualityRules.from_settings(
        QualitySettings(), AlertsSettings(), min_completeness=CommonSettings().min_completeness
    )
    engine = make_engine(DatabaseSettings())
    with engine.connect() as conn:
        report = quality_report(
            conn,
            period=period,
            zone=zone,
            now=datetime.now(UTC),
            rules=rules,
            enterprise=args.enterprise,
        )
    engine.dispose()
    if args.enterprise is not None and not report.enterprises:
        raise EnergymonError(f"no active enterprise {args.enterprise}")
    details = [enterprise_out(e, report, zone) for e in report.enterprises]
    district = district_out(report, rules, zone)
    if args.format == "xlsx":
        one = args.enterprise is not None
        tables = enterprise_tables(details[0]) if one else district_tables(district, details)
        Path(args.output).write_bytes(workbook(tables))
        print(f"wrote {args.output}")
        return 0
    if args.format == "text":
        text = _quality_text(district, details if args.enterprise else [])
    elif args.enterprise is not None:
        text = sections_csv(enterprise_tables(details[0]))
    else:
        text = table_csv(district_tables(district, [])[0])
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _quality_text(district: Any, details: list[Any]) -> str:
    """The ranking, one line per enterprise; with one enterprise, its findings below."""
    lines = [
        f"data quality {district.period} ({district.start.isoformat()} .. "
        f"{district.end.isoformat()}), worst first; completeness = measured / expected "
        "15-minute intervals",
        "rank enterprise          completeness estimated findings silent balance conflicts "
        "late dead_letters",
    ]
    for r in district.enterprises:
        lines.append(
            f"{r.rank:>4} {r.enterprise} {r.completeness:>12.1%} {r.estimated_share:>9.1%} "
            f"{r.findings:>8} {r.silent_meters:>6} {r.balance_deviations:>7} {r.conflicts:>9} "
            f"{r.late_readings:>4} {r.dead_letters:>12}"
        )
    for e in details:
        for s in e.silent_meters:
            since = s.since.isoformat() if s.since else "never reported"
            lines.append(f"silent meter {s.site}/{s.meter} since {since}")
        for b in e.balances:
            if b.verdict == "deviation":
                dev = f"{b.deviation:+.2%}" if b.deviation is not None else "parent used nothing"
                lines.append(
                    f"balance {b.day} {b.meter} {b.parent:.3f} {b.unit} against sub-meters "
                    f"{'+'.join(b.sub_meters)} {b.sub_meters_total:.3f} {b.unit}: {dev}"
                )
        for c in e.conflicts:
            lines.append(
                f"conflicting re-send {c.meter}/{c.quantity} at {c.ts.isoformat()}: kept "
                f"{c.first_value}, re-sent {c.new_value} ({c.source}, {c.received_at.isoformat()})"
            )
        for p in e.points:
            if p.days_consistent is False:
                lines.append(
                    f"days do not add up: {p.meter}/{p.quantity} differ by {p.days_difference}"
                )
        for reason, n in e.dead_letters.items():
            lines.append(f"dead letters {reason}: {n}")
    return "\n".join(lines) + "\n"


def _meters_replace(args: argparse.Namespace) -> int:
    from services.accounting.replacements import register_replacement
    from services.core.db import make_engine
    from services.core.export import parse_instant
    from services.core.settings import CommonSettings, DatabaseSettings

    at = parse_instant(args.at, CommonSettings().zone)
    with make_engine(DatabaseSettings()).begin() as conn:
        rid = register_replacement(
            conn,
            enterprise=args.enterprise,
            meter=args.meter,
            point=args.point,
            at=at,
            old_final=args.old_final,
            new_first=args.new_first,
            serial=args.serial,
            note=args.note,
        )
    print(
        f"replacement {rid} registered for {args.enterprise}/{args.meter} {args.point} at "
        f"{at.isoformat()}; the rollups around it are recomputed by the next rollup pass"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from services.demo.main import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one parser, read top to bottom
    from services.core.config_doc import help_with_settings
    from services.core.settings import (
        AccountingSettings,
        AlertsSettings,
        ApiSettings,
        CommonSettings,
        DatabaseSettings,
        IngestSettings,
        ModbusSettings,
        MqttSettings,
        QuotaSettings,
        SparkplugSettings,
    )

    parser = argparse.ArgumentParser(prog="energymon", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback when a command fails (or set ENERGYMON_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_cmd", required=True, metavar="SUBCOMMAND"
    )
    db.add_parser(
        "upgrade",
        help="migrate the database to the newest schema",
        **help_with_settings(CommonSettings, DatabaseSettings),
    ).set_defaults(func=_db_upgrade)

    reg = sub.add_parser("registry", help="provision enterprises, sites, gateways and meters")
    reg_sub = reg.add_subparsers(dest="registry_cmd", required=True, metavar="SUBCOMMAND")
    load = reg_sub.add_parser("load", help="apply a district YAML file (idempotent)")
    load.add_argument("file", metavar="FILE", help="the district file, e.g. district.yaml")
    load.add_argument("--dry-run", action="store_true", help="validate and report, change nothing")
    load.set_defaults(func=_registry_load)

    ingest = sub.add_parser("ingest", help="ingest services").add_subparsers(
        dest="ingest_cmd", required=True, metavar="SUBCOMMAND"
    )
    ingest.add_parser(
        "mqtt",
        help="subscribe to gateways over MQTT and store readings",
        **help_with_settings(CommonSettings, DatabaseSettings, MqttSettings, IngestSettings),
    ).set_defaults(func=_ingest_mqtt)
    ingest.add_parser(
        "modbus",
        help="poll the registry's Modbus meters (sharded across pollers by leases)",
        **help_with_settings(CommonSettings, DatabaseSettings, IngestSettings, ModbusSettings),
    ).set_defaults(func=_ingest_modbus)
    ingest.add_parser(
        "sparkplug",
        help="the Sparkplug B 3.0 host application: edge nodes' births, data and deaths",
        **help_with_settings(
            CommonSettings, DatabaseSettings, MqttSettings, IngestSettings, SparkplugSettings
        ),
    ).set_defaults(func=_ingest_sparkplug)

    simulate = sub.add_parser("simulate", help="simulators").add_subparsers(
        dest="simulate_cmd", required=True, metavar="SUBCOMMAND"
    )
    from simulators.gateways.cli import add_parser as add_gateways
    from simulators.meters.cli import add_parser as add_meters
    from simulators.meters.dlt645_cli import add_parser as add_dlt645_meters
    from simulators.sparkplug.cli import add_parser as add_sparkplug

    add_gateways(simulate)
    add_meters(simulate)
    add_dlt645_meters(simulate)
    add_sparkplug(simulate)

    export = sub.add_parser("export", help="export data").add_subparsers(
        dest="export_cmd", required=True, metavar="SUBCOMMAND"
    )
    exp = export.add_parser("readings", help="raw readings of an enterprise as CSV")
    exp.add_argument(
        "--enterprise", required=True, help="unified social credit code, e.g. 91120111MA05K8XX3E"
    )
    exp.add_argument(
        "--from",
        dest="from_",
        metavar="FROM",
        required=True,
        help="ISO date or date-time, local time if no offset, e.g. 2026-11-01",
    )
    exp.add_argument("--to", required=True, help="ISO date or date-time (local), exclusive")
    exp.add_argument("--meter", help="only this meter code (default: every meter)")
    exp.add_argument(
        "--point", help="only this point, e.g. energy_import_kwh (default: every point)"
    )
    exp.add_argument("--output", "-o", help="file (default: standard output)")
    exp.set_defaults(func=_export_readings)

    devices = sub.add_parser("devices", help="Modbus and DL/T 645 device maps").add_subparsers(
        dest="devices_cmd", required=True, metavar="SUBCOMMAND"
    )
    check = devices.add_parser("check", help="validate a device map file")
    check.add_argument(
        "file",
        metavar="FILE",
        help="a device map, e.g. services/core/devices/maps/eastron-sdm630.yaml, or a DL/T 645"
        " map (protocol: dlt645), e.g. services/core/devices/dlt645/maps/dlt645-2007-common.yaml",
    )
    check.set_defaults(func=_devices_check)
    discover = devices.add_parser(
        "discover",
        help="read the address of the one DL/T 645 meter on a line (broadcast address AA…AA)",
    )
    discover.add_argument("--host", required=True, help="the serial server, e.g. 192.168.1.50")
    discover.add_argument("--port", type=int, required=True, help="its TCP port")
    discover.add_argument("--timeout-s", type=float, default=2.0, help="how long to wait")
    discover.set_defaults(func=_devices_discover)

    quotas = sub.add_parser(
        "quotas",
        help="product energy-quota standards (单位产品能源消耗限额)",
        **help_with_settings(QuotaSettings),
    ).add_subparsers(dest="quotas_cmd", required=True, metavar="SUBCOMMAND")
    qlist = quotas.add_parser(
        "list", help="the quota entries in use: 限定值, 准入值 and 先进值 with their source"
    )
    qlist.add_argument(
        "--standard",
        metavar="STANDARD",
        help='only this standard, with or without its year, e.g. "GB 16780-2021" or "GB 21256"',
    )
    qlist.set_defaults(func=_quotas_list)
    qcheck = quotas.add_parser("check", help="validate a quota file (YAML, or CSV with a header)")
    qcheck.add_argument("file", metavar="FILE", help="the quota file, e.g. my-quotas.csv")
    qcheck.set_defaults(func=_quotas_check)

    config = sub.add_parser("config", help="settings").add_subparsers(
        dest="config_cmd", required=True, metavar="SUBCOMMAND"
    )
    show = config.add_parser("show", help="print every ENERGYMON_* setting with its default")
    show.add_argument("--check", metavar="FILE", help="fail if FILE differs from the output")
    show.set_defaults(func=_config_show)

    api = sub.add_parser(
        "api",
        help="serve the monitoring API",
        **help_with_settings(
            CommonSettings, DatabaseSettings, ApiSettings, IngestSettings, AccountingSettings
        ),
    )
    api.add_argument("--host", help="listen address (default: ENERGYMON_API_HOST, 127.0.0.1)")
    api.add_argument("--port", type=int, help="listen port (default: ENERGYMON_API_PORT, 8000)")
    api.add_argument(
        "--workers", type=int, metavar="N", help="processes (default: ENERGYMON_API_WORKERS, 1)"
    )
    api.set_defaults(func=_api)

    users = sub.add_parser("users", help="API accounts").add_subparsers(
        dest="users_cmd", required=True, metavar="SUBCOMMAND"
    )
    ucreate = users.add_parser(
        "create", help="create an account (password from ENERGYMON_NEW_USER_PASSWORD or a prompt)"
    )
    ucreate.add_argument("username", metavar="USERNAME", help="the login name, e.g. officer-li")
    ucreate.add_argument(
        "--role",
        required=True,
        choices=["admin", "officer", "enterprise", "gateway"],
        help="admin: everything; officer: reads everything; enterprise: its own enterprise; "
        "gateway: HTTP ingest for its own gateway",
    )
    ucreate.add_argument(
        "--enterprise",
        help="unified social credit code, e.g. 91120111MA05K8XX3E (enterprise and gateway roles)",
    )
    ucreate.add_argument("--gateway", help="gateway code (gateway accounts)")
    ucreate.set_defaults(func=_users_create)
    ukey = users.add_parser("api-key", help="issue an API key for an account (printed once)")
    ukey.add_argument("username", metavar="USERNAME", help="an existing account")
    ukey.add_argument("--name", help="what the key is for")
    ukey.set_defaults(func=_users_api_key)
    for cmd, what in (
        ("deactivate", "stop an account: no login, its tokens, sessions and API keys refused"),
        ("activate", "let a deactivated account log in again (old tokens stay refused)"),
    ):
        uact = users.add_parser(cmd, help=what)
        uact.add_argument("username", metavar="USERNAME", help="an existing account")
        uact.set_defaults(func=_users_set_active)

    alerts = sub.add_parser("alerts", help="alert evaluation and officer actions").add_subparsers(
        dest="alerts_cmd", required=True, metavar="SUBCOMMAND"
    )
    alerts.add_parser(
        "run",
        help="evaluate rules and deliver notifications (HA: run two)",
        **help_with_settings(CommonSettings, DatabaseSettings, AlertsSettings),
    ).set_defaults(func=_alerts_run)
    alist = alerts.add_parser("list", help="live alerts (--all includes resolved)")
    alist.add_argument("--all", action="store_true", help="include resolved alerts")
    alist.add_argument("--rule", help="only this rule, e.g. pue_over_limit")
    alist.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N alerts (default: 100)"
    )
    alist.set_defaults(func=_alerts_list)
    for name, needs_comment in (("ack", False), ("resolve", True)):
        act = alerts.add_parser(name, help=f"{name} an alert as an officer")
        act.add_argument(
            "id", type=int, metavar="ID", help="the alert's id (energymon alerts list)"
        )
        act.add_argument("--by", required=True, help="the officer's name")
        act.add_argument(
            "--comment",
            required=needs_comment,
            help="why, e.g. 'meter replaced'" + (" (required)" if needs_comment else ""),
        )
        act.set_defaults(func=_alerts_act)

    accounting = sub.add_parser("accounting", help="rollups").add_subparsers(
        dest="accounting_cmd", required=True, metavar="SUBCOMMAND"
    )
    arun = accounting.add_parser(
        "run",
        help="the accounting service: keep the rollups current (HA: run two)",
        **help_with_settings(CommonSettings, DatabaseSettings, AccountingSettings),
    )
    arun.add_argument(
        "--every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between passes (default ENERGYMON_ACCOUNTING_INTERVAL_S)",
    )
    arun.add_argument(
        "--once",
        action="store_true",
        help="one pass now, then exit (does nothing while an accounting service is active)",
    )
    arun.set_defaults(func=_accounting_run)
    accounting.add_parser(
        "rebuild-days",
        help="rebuild the daily rollups in ENERGYMON_TIMEZONE (after changing it)",
    ).set_defaults(func=_accounting_rebuild_days)
    recompute = accounting.add_parser(
        "recompute",
        help="recompute the rollups from the raw readings (after correcting a multiplier)",
    )
    recompute.add_argument(
        "--since",
        help="only readings from this time, ISO 8601 with offset, e.g. 2026-11-01T00:00+08:00",
    )
    recompute.add_argument(
        "--mark-only",
        action="store_true",
        help="only mark the ranges; the running rollup job recomputes them",
    )
    recompute.set_defaults(func=_accounting_recompute)

    budgets = sub.add_parser("budgets", help="energy budgets").add_subparsers(
        dest="budgets_cmd", required=True, metavar="SUBCOMMAND"
    )
    bset = budgets.add_parser(
        "set",
        help="create or change one budget (a registry file listing the enterprise's budgets "
        "replaces them on its next load)",
    )
    bset.add_argument(
        "enterprise",
        metavar="ENTERPRISE",
        help="unified social credit code, e.g. 91120111MA05K8XX3E",
    )
    bset.add_argument(
        "--year", type=int, required=True, help="the budget's calendar year, e.g. 2026"
    )
    bset.add_argument(
        "--amount",
        type=float,
        required=True,
        help="the year's amount: tce, or the carrier's unit with --carrier, e.g. 12000",
    )
    bset.add_argument("--carrier", help="a carrier (its unit then), or none for tce")
    bset.add_argument("--unit", help="the carrier's unit, e.g. kWh, m3, t")
    bset.add_argument("--site", help="narrow the budget to one site (its code), e.g. plant-1")
    bset.add_argument("--monthly", help="monthly split MONTH=AMOUNT,..., e.g. 1=30000,2=28000")
    bset.set_defaults(func=_budgets_set)
    budgets.add_parser(
        "status", help="every budget of this year: used, share, projection, state (CSV)"
    ).set_defaults(func=_budgets_status)

    from services.cli_production import add_parser as add_production

    add_production(sub)

    report = sub.add_parser("report", help="check the numbers (CSV or text)").add_subparsers(
        dest="report_cmd", required=True, metavar="SUBCOMMAND"
    )
    for name, what in (
        ("consumption", "consumption per period and carrier (CSV)"),
        ("tce", "standard coal and CO2 per carrier"),
    ):
        rep = report.add_parser(name, help=what)
        rep.add_argument(
            "--enterprise",
            required=True,
            help="unified social credit code, e.g. 91120111MA05K8XX3E",
        )
        rep.add_argument(
            "--from",
            dest="from_",
            metavar="FROM",
            required=True,
            help="ISO date or date-time, local time if no offset, e.g. 2026-01-01",
        )
        rep.add_argument("--to", required=True, help="ISO date or date-time (local), exclusive")
        if name == "consumption":
            rep.add_argument(
                "--interval",
                choices=["15m", "1h", "1d", "1mo", "1y"],
                default="1d",
                help="one row per period and carrier; days, months, years are local (default 1d)",
            )
            rep.add_argument("--site", help="only this site (its code), e.g. plant-1")
        else:
            rep.add_argument(
                "--method",
                choices=["equivalent", "equal"],
                default="equivalent",
                help="electricity to standard coal: equivalent value (当量值, 0.1229 kgce/kWh) or "
                "equal value (等价值, the year's supply coal rate), GB/T 2589-2020 (default: "
                "equivalent)",
            )
            rep.add_argument(
                "--interval",
                choices=["1d", "1mo", "1y"],
                help="one block per local day, month or year (factors of each period's start)",
            )
        rep.set_defaults(func=_report)
    rpue = report.add_parser(
        "pue",
        help="a data centre's PUE over a window: the verdict against its limit, coverage per side",
    )
    rpue.add_argument(
        "--enterprise", required=True, help="unified social credit code, e.g. 91120111MA05K8XX3E"
    )
    rpue.add_argument("--site", required=True, help="the data centre site's code, e.g. dc-1")
    rpue.add_argument(
        "--window",
        default="ytd",
        choices=["hour", "day", "mtd", "ytd", "rolling_24h", "rolling_30d", "custom"],
        help="the current hour, day, month or year to date, the last 24 h or 30 days, or custom "
        "(--from and --to); the compliance figure is ytd (default: ytd)",
    )
    rpue.add_argument(
        "--from", dest="from_", metavar="FROM", help="with --window custom: ISO start (local)"
    )
    rpue.add_argument("--to", help="with --window custom: ISO end (local), exclusive")
    rpue.set_defaults(func=_report)
    rq = report.add_parser(
        "quality",
        help="the data-quality report of an enterprise, or the district ranked worst first",
    )
    rq.add_argument(
        "--enterprise", help="unified social credit code (default: the district, ranked)"
    )
    when = rq.add_mutually_exclusive_group(required=True)
    when.add_argument("--day", help="a local day, YYYY-MM-DD")
    when.add_argument("--month", help="a local month, YYYY-MM")
    rq.add_argument(
        "--format",
        choices=["text", "csv", "xlsx"],
        default="text",
        help="text (default), csv (an enterprise's sections, or the district's ranking) or "
        "xlsx (needs --output)",
    )
    rq.add_argument("--output", "-o", help="file (default: standard output)")
    rq.set_defaults(func=_report_quality)
    intensity_cli.add_parser(report)

    meters_cmd = sub.add_parser("meters", help="meter events").add_subparsers(
        dest="meters_cmd", required=True, metavar="SUBCOMMAND"
    )
    rep = meters_cmd.add_parser(
        "replace", help="register a meter swap so the counter series stays continuous"
    )
    rep.add_argument(
        "--enterprise", required=True, help="unified social credit code, e.g. 91120111MA05K8XX3E"
    )
    rep.add_argument("--meter", required=True, help="the meter's code in the registry, e.g. m-01")
    rep.add_argument(
        "--point",
        default=QuantityCode.ENERGY_IMPORT_KWH.value,
        help="the counter swapped (default: %(default)s)",
    )
    rep.add_argument("--at", required=True, help="ISO date-time of the swap (local if no offset)")
    rep.add_argument(
        "--old-final", type=float, required=True, metavar="VALUE", help="old register's last value"
    )
    rep.add_argument(
        "--new-first", type=float, required=True, metavar="VALUE", help="new register's first value"
    )
    rep.add_argument("--serial", help="the new meter's serial number")
    rep.add_argument("--note", help="free text kept with the replacement, e.g. a work order")
    rep.set_defaults(func=_meters_replace)

    mqtt = sub.add_parser("mqtt", help="broker integration").add_subparsers(
        dest="mqtt_cmd", required=True, metavar="SUBCOMMAND"
    )
    creds = mqtt.add_parser(
        "credentials",
        help="Mosquitto password and ACL files of both listeners for every registered gateway",
    )
    creds.add_argument(
        "--out",
        required=True,
        help="directory for internal.passwd, internal.acl, gateways.passwd, gateways.acl and "
        "credentials.csv (existing passwords in its credentials.csv are kept)",
    )
    creds.add_argument(
        "--ingest-user",
        default=None,
        metavar="USER",
        help="ingest's account on the internal listener (default: the user name in "
        "ENERGYMON_MQTT_URL, else energymon-ingest); it takes the URL's password if it has one",
    )
    creds.set_defaults(func=_mqtt_credentials)
    broker = mqtt.add_parser(
        "broker-config", help="print the mosquitto.conf of a profile (services/core/broker_config)"
    )
    broker.add_argument(
        "--profile",
        choices=["deploy", "demo"],
        default="deploy",
        help="deploy: deploy/mosquitto/mosquitto.conf (internal and TLS gateway listeners, "
        "container paths); demo: the broker energymon demo starts (default: deploy)",
    )
    broker.add_argument(
        "--port",
        type=int,
        default=1883,
        help="demo profile only: the loopback port (the demo itself picks a free one)",
    )
    broker.add_argument(
        "--data-dir",
        default="var/demo",
        metavar="DIR",
        help="demo profile only: the demo's data directory; the broker persists under "
        "DATA_DIR/mosquitto/data (default: var/demo)",
    )
    broker.set_defaults(func=_mqtt_broker_config)

    demo = sub.add_parser("demo", help="run the whole platform with simulated gateways")
    demo.add_argument(
        "--seconds", type=float, default=0, metavar="N", help="stop after N seconds (0 = Ctrl-C)"
    )
    demo.add_argument("--reset", action="store_true", help="wipe the demo data directory first")
    demo.add_argument(
        "--data-dir", default="var/demo", metavar="DIR", help="where an embedded database lives"
    )
    demo.add_argument("--seed", type=int, default=2026, help="the simulated district's seed")
    demo.add_argument(
        "--embedded",
        action="store_true",
        help="always start embedded PostgreSQL and Mosquitto (ignore running ones)",
    )
    demo.set_defaults(func=_demo)
    return parser


def _devices_check(args: argparse.Namespace) -> int:
    from services.core.devices.dlt645 import loader as dlt645_maps
    from services.core.devices.loader import check_command

    try:  # a missing file is one line on stderr, as every command says it (cli_errors)
        text = Path(args.file).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        print(f"{args.file}: not UTF-8 text ({err.reason} at byte {err.start})")
        return 1
    if dlt645_maps.is_dlt645_map(text):
        return dlt645_maps.check_command(args.file, text)
    return int(check_command(args.file))


def _devices_discover(args: argparse.Namespace) -> int:
    import asyncio

    from services.ingest.dlt645.line import Dlt645Line, Dlt645LineSettings
    from services.ingest.modbus.connection import PollError

    async def read() -> str:
        settings = Dlt645LineSettings(host=args.host, port=args.port, timeout_s=args.timeout_s)
        line = Dlt645Line(settings, log_failures=False)  # the answer below says what went wrong
        try:
            return await line.read_address()
        finally:
            line.close()

    try:
        address = asyncio.run(read())
    except PollError as err:
        where = f"{args.host}:{args.port}"
        print(
            f"{where}: no address read ({err}); only one meter may be on the line when its "
            "address is read"
        )
        return 1
    print(address)
    return 0


def _quotas_list(args: argparse.Namespace) -> int:
    from services.quotas_cli import list_command

    return list_command(args)


def _quotas_check(args: argparse.Namespace) -> int:
    from services.quotas_cli import check_command

    return check_command(args.file)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Handler = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # the boundary: expected failures become one or two lines
        from services.cli_errors import debug_requested, explain

        explanation = explain(err, command=command_path(args))
        if explanation is None or args.debug or debug_requested():
            raise
        print(explanation.render(), file=sys.stderr)
        return explanation.exit_code


def command_path(args: argparse.Namespace) -> str:
    """The subcommand that ran, e.g. ``ingest mqtt`` (each level's dest is ``<parent>_cmd``)."""
    words = [args.command]
    while (word := getattr(args, f"{words[-1].replace('-', '_')}_cmd", None)) is not None:
        words.append(word)
    return " ".join(words)


if __name__ == "__main__":
    sys.exit(main())
