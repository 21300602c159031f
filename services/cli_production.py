"""``energymon production``: submit, list and correct production and economic figures, lock and
unlock months, and list the months whose figures are missing.

A submission refused for bad rows prints one line per bad row (its file line, sheet row or list
item, and why) and stores nothing; every other mistake is one or two lines.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from services.core.errors import EnergymonError

if TYPE_CHECKING:
    from sqlalchemy import Connection

_ROW_WORD = {"csv": "line", "xlsx": "row", "json": "item", "yaml": "item"}


def _month(text: str) -> date:
    from services.core.domain.production import Period, PeriodKind

    try:
        period = Period.parse(text)
    except ValueError as err:
        raise EnergymonError(f"--month {text!r} is not a month such as 2026-11") from err
    if period.kind is not PeriodKind.MONTH:
        raise EnergymonError(f"--month {text!r} is a day: give the month, e.g. 2026-11")
    return period.start


def _who(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by)
    try:
        return getpass.getuser()
    except (OSError, KeyError) as err:
        raise EnergymonError("cannot tell who you are: name yourself with --by NAME") from err


def _enterprise_id(conn: Connection, code: str) -> int:
    from services.core.store.registry import enterprise

    ent = enterprise(conn, code=code)
    if ent is None:
        raise EnergymonError(f"no enterprise {code} in the registry")
    return ent.id


def _submit(args: argparse.Namespace) -> int:
    from services.core.db import make_engine
    from services.core.domain.production import SubmissionError
    from services.core.production_files import file_format, read_rows
    from services.core.settings import CommonSettings, DatabaseSettings
    from services.core.store.production import submit_rows

    path = Path(args.file)
    fmt = file_format(path.name)
    rows = read_rows(path.read_bytes(), fmt, name=path.name)
    try:
        with make_engine(DatabaseSettings()).begin() as conn:
            result = submit_rows(
                conn,
                enterprise_id=_enterprise_id(conn, args.enterprise),
                rows=rows,
                by=_who(args),
                reason=args.reason,
                now=datetime.now(UTC),
                zone=CommonSettings().zone,
            )
    except SubmissionError as err:
        n = len(err.errors)
        print(
            f"energymon: error: {path.name}: {n} bad row{'s' if n != 1 else ''}, nothing stored",
            file=sys.stderr,
        )
        for e in err.errors:
            print(f"  {_ROW_WORD[fmt]} {e.row}: {e.reason}", file=sys.stderr)
        return 1
    print(
        f"{path.name}: {result.created} created, {result.revised} revised, "
        f"{result.unchanged} unchanged"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from services.core.db import make_engine
    from services.core.settings import DatabaseSettings
    from services.core.store.production import entries

    start = date(args.year, 1, 1) if args.year else None
    end = date(args.year + 1, 1, 1) if args.year else None
    with make_engine(DatabaseSettings()).connect() as conn:
        rows = entries(
            conn,
            enterprise_id=_enterprise_id(conn, args.enterprise),
            start=start,
            end=end,
            product=args.product,
        )
    print("period,product,kind,value,unit,price_base_year,revision,entered_by,entered_at")
    for e in rows:
        label = f"{e.period_start:%Y-%m}" if e.period == "month" else e.period_start.isoformat()
        print(
            f"{label},{e.product or ''},{e.kind},{e.value:g},{e.unit},"
            f"{e.price_base_year or ''},{e.revision},{e.entered_by},"
            f"{e.entered_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        )
    return 0


def _history(args: argparse.Namespace) -> int:
    from services.core.db import make_engine
    from services.core.settings import DatabaseSettings
    from services.core.store.production import history

    start = date(args.year, 1, 1) if args.year else None
    end = date(args.year + 1, 1, 1) if args.year else None
    with make_engine(DatabaseSettings()).connect() as conn:
        changes = history(
            conn, enterprise_id=_enterprise_id(conn, args.enterprise), start=start, end=end
        )
    for c in changes:
        parts = [f"{c.changed_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}", f"{c.month:%Y-%m}", c.action]
        if c.kind:
            parts.append(c.product or c.kind)
        if c.new_value is not None:
            old = "" if c.old_value is None else f"{c.old_value:g} -> "
            parts.append(f"{old}{c.new_value:g} {c.unit}")
        parts.append(f"by {c.changed_by}")
        if c.reason:
            parts.append(f"({c.reason})")
        print(" ".join(parts))
    return 0


def _lock(args: argparse.Namespace) -> int:
    from services.core.db import make_engine
    from services.core.settings import DatabaseSettings
    from services.core.store.production import lock_month, unlock_month

    month = _month(args.month)
    act = lock_month if args.production_cmd == "lock" else unlock_month
    with make_engine(DatabaseSettings()).begin() as conn:
        act(
            conn,
            enterprise_id=_enterprise_id(conn, args.enterprise),
            month=month,
            by=_who(args),
            reason=args.reason,
            now=datetime.now(UTC),
        )
    print(f"{args.enterprise} {args.month}: {args.production_cmd}ed by {_who(args)}")
    return 0


def _missing(args: argparse.Namespace) -> int:
    from services.core.db import make_engine
    from services.core.domain.production import due_date, last_due_month
    from services.core.settings import CommonSettings, DatabaseSettings
    from services.core.store.production import missing

    common = CommonSettings()
    today = datetime.now(UTC).astimezone(common.zone).date()
    month = _month(args.month) if args.month else last_due_month(today, common.production_due_day)
    due = due_date(month, common.production_due_day)
    if today <= due:
        print(f"{month:%Y-%m} is due on {due.isoformat()}: nothing is missing yet")
        return 0
    with make_engine(DatabaseSettings()).connect() as conn:
        found = missing(conn, months=[month], zone=common.zone)
    print("enterprise,name,town,month,products_missing,value_added_missing")
    for m in found:
        print(
            f"{m.enterprise},{m.name},{m.town},{m.month:%Y-%m},{' '.join(m.products)},"
            f"{str(m.value_added).lower()}"
        )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    prod = sub.add_parser(
        "production", help="production and economic figures (output, value added)"
    ).add_subparsers(dest="production_cmd", required=True, metavar="SUBCOMMAND")

    def enterprise(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--enterprise",
            required=True,
            metavar="CODE",
            help="unified social credit code, e.g. 91120111MA05K8XX3E",
        )

    submit = prod.add_parser(
        "submit",
        help="store a file of figures (CSV, XLSX, JSON or YAML): all of it, or nothing and "
        "every bad row",
    )
    submit.add_argument("file", metavar="FILE", help="production.csv, .xlsx, .json or .yaml")
    enterprise(submit)
    submit.add_argument("--by", metavar="NAME", help="who enters it (default: your login)")
    submit.add_argument("--reason", metavar="TEXT", help="why: written to the history")
    submit.set_defaults(func=_submit)

    for name, func, what in (
        ("list", _list, "the figures as last entered (CSV)"),
        ("history", _history, "every change to the figures and month locks, oldest first"),
    ):
        p = prod.add_parser(name, help=what)
        enterprise(p)
        p.add_argument("--year", type=int, metavar="YEAR", help="one calendar year, e.g. 2026")
        if name == "list":
            p.add_argument("--product", metavar="CODE", help="one product's code, e.g. steel")
        p.set_defaults(func=func)

    for name, what in (
        ("lock", "lock a month: its figures take no more changes"),
        ("unlock", "unlock a month for corrections"),
    ):
        p = prod.add_parser(name, help=what)
        enterprise(p)
        p.add_argument("--month", required=True, metavar="MONTH", help="e.g. 2026-11")
        p.add_argument("--reason", required=True, metavar="TEXT", help="why: in the history")
        p.add_argument("--by", metavar="NAME", help="the officer (default: your login)")
        p.set_defaults(func=_lock)

    miss = prod.add_parser(
        "missing",
        help="enterprises lacking a month's output or value added after its due day "
        "(ENERGYMON_PRODUCTION_DUE_DAY of the next month) (CSV)",
    )
    miss.add_argument(
        "--month", metavar="MONTH", help="e.g. 2026-11 (default: the latest overdue month)"
    )
    miss.set_defaults(func=_missing)
