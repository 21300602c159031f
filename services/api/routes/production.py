"""Production and economic figures of an enterprise: list (JSON, CSV, XLSX), submit (JSON rows or
a CSV/XLSX/JSON/YAML file), history, month locks, and the district's missing months."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Path, Query, Response, UploadFile

from services.api.deps import Ctx, Officer, Reader, local_times
from services.api.models.common import STANDARD_PROBLEMS, problem_responses
from services.api.models.production import (
    ROW_EXAMPLES,
    LockIn,
    LockOut,
    MissingOut,
    MissingReportOut,
    ProductionChangeOut,
    ProductionEntryOut,
    SubmissionOut,
)
from services.api.params import Code, FileFormat
from services.api.problems import Problem
from services.api.render import file_response, model_response
from services.api.report_files import CSV, FILES, Table, table_csv, workbook
from services.api.security import Principal
from services.api.tenancy import visible_enterprise
from services.api.xlsx import XLSX
from services.core.domain.production import (
    SubmissionError,
    due_date,
    last_due_month,
    next_month,
)
from services.core.production_files import (
    ProductionFileError,
    Rows,
    file_format,
    list_rows,
    read_rows,
)
from services.core.store import production as store
from services.core.store.registry import Enterprise

router = APIRouter(prefix="/api/v1", tags=["production"], responses=STANDARD_PROBLEMS)
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
MonthPath = Annotated[str, Path(pattern=_MONTH, description="The month, YYYY-MM")]
MonthQuery = Annotated[str | None, Query(pattern=_MONTH, description="One month, YYYY-MM")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="One calendar year")]
Product = Annotated[str | None, Query(max_length=64, description="One product's code")]
Reason = Annotated[
    str | None, Query(max_length=2000, description="Why: written to the history of each change")
]
_ENTRY_FIELDS = tuple(ProductionEntryOut.model_fields)


def _month(text: str) -> date:
    try:
        month = date.fromisoformat(f"{text}-01")
    except ValueError as err:  # e.g. year 0000, which the pattern lets through
        raise Problem(400, f"no such month: {text}", kind="invalid-range") from err
    if not 2000 <= month.year <= 2100:
        raise Problem(400, "the month is out of range", kind="invalid-range")
    return month


def _range(year: int | None, month: str | None) -> tuple[date | None, date | None]:
    if month is not None:
        start = _month(month)
        if year is not None and year != start.year:
            raise Problem(400, f"month {month} is not in year {year}", kind="invalid-range")
        return start, next_month(start)
    if year is not None:
        return date(year, 1, 1), date(year + 1, 1, 1)
    return None, None


def _entry_out(e: store.Entry, ent: Enterprise, ctx: Ctx) -> dict[str, Any]:
    values = {"enterprise": ent.code, **{f: getattr(e, f) for f in _ENTRY_FIELDS[1:]}}
    return local_times(values, ctx.config.common.zone)


@router.get(
    "/enterprises/{code}/production",
    response_model=list[ProductionEntryOut],
    responses=FILES,
    summary="Production and economic figures of an enterprise",
)
def list_production(
    ctx: Ctx,
    who: Reader,
    code: Code,
    year: Year = None,
    month: MonthQuery = None,
    product: Product = None,
    format: FileFormat = "json",
) -> Response:
    """The figures as last entered (each with its revision, who entered it and when), by month:
    a month's figures before its days; economic figures after the products'. Filter by `year`,
    `month` and `product`; `format=csv` or `format=xlsx` for a file of the same rows."""
    start, end = _range(year, month)
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        rows = store.entries(conn, enterprise_id=ent.id, start=start, end=end, product=product)
    out = [_entry_out(e, ent, ctx) for e in rows]
    if format == "json":
        return model_response(list[ProductionEntryOut], [ProductionEntryOut(**r) for r in out])
    table = Table("Production", list(_ENTRY_FIELDS), [list(r.values()) for r in out])
    name = f"production-{code}"
    if format == "xlsx":
        return file_response(workbook([table]), media_type=XLSX, filename=f"{name}.xlsx")
    return file_response(table_csv(table), media_type=CSV, filename=f"{name}.csv")


def _submit(ctx: Ctx, who: Principal, code: str, rows: Rows, reason: str | None) -> Response:
    now = datetime.now(UTC)
    try:
        with ctx.engine.begin() as conn:
            ent = visible_enterprise(conn, who, code)  # own, or any for officers
            result = store.submit_rows(
                conn,
                enterprise_id=ent.id,
                rows=rows,
                by=who.username,
                reason=reason,
                now=now,
                zone=ctx.config.common.zone,
            )
    except SubmissionError as err:
        n = len(err.errors)
        raise Problem(
            422,
            f"{n} bad row{'s' if n != 1 else ''}: nothing of the submission was stored",
            kind="invalid-production",
            errors=[{"row": e.row, "reason": e.reason} for e in err.errors],
        ) from err
    except store.MonthLockedError as err:
        raise Problem(
            409,
            str(err),
            kind="month-locked",
            locks=[
                {
                    "month": f"{lk.month:%Y-%m}",
                    "locked_by": lk.locked_by,
                    "locked_at": lk.locked_at.astimezone(ctx.config.common.zone).isoformat(),
                    "reason": lk.reason,
                }
                for lk in err.locks
            ],
        ) from err
    out = {
        "created": result.created,
        "revised": result.revised,
        "unchanged": result.unchanged,
        "entries": [_entry_out(e, ent, ctx) for e in result.entries],
    }
    return model_response(SubmissionOut, SubmissionOut.model_validate(out))


@router.post(
    "/enterprises/{code}/production",
    response_model=SubmissionOut,
    summary="Submit production and economic figures (a JSON list of rows)",
)
def submit_production(
    ctx: Ctx,
    who: Reader,
    code: Code,
    rows: Annotated[list[Any], Body(examples=ROW_EXAMPLES)],
    reason: Reason = None,
) -> Response:
    """Each row is a product's output for a month or a day (`period`, `product`, `output`,
    `unit`: the product's registered unit) or the month's economic figures
    (`value_added_10k_cny` and/or `gross_output_10k_cny`, in 10^4 CNY at comparable prices of
    `price_base_year`). A new figure is created; another value for a stored one revises it
    (revision + 1; it replaces, never adds); the same value changes nothing. A submission is
    stored whole or not at all: 422 lists every bad row with its number (the list's item, from
    1) and reason; 409 when a month is locked. Enterprise accounts submit for their own
    enterprise; officers and admins for any."""
    return _submit(ctx, who, code, list_rows(rows), reason)


@router.post(
    "/enterprises/{code}/production/upload",
    response_model=SubmissionOut,
    responses=problem_responses(415),
    summary="Submit production and economic figures as a CSV, XLSX, JSON or YAML file",
)
def upload_production(
    ctx: Ctx,
    who: Reader,
    code: Code,
    file: Annotated[
        UploadFile,
        File(description="production.csv, .xlsx, .json or .yaml", examples=["production.csv"]),
    ],
    reason: Annotated[
        str | None,
        Form(max_length=2000, description="Why: in the history", examples=["monthly return"]),
    ] = None,
) -> Response:
    """The rows of the file (the header names the fields, as the JSON rows'); row numbers in a
    422 are the file's lines (CSV), the sheet's rows (XLSX, first sheet) or the list's items.
    A file of another type is 415; one that cannot be read is 400."""
    name = file.filename or "the file"
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)  # another's is 404 whatever the file
    try:
        fmt = file_format(name, file.content_type)
        rows = read_rows(file.file.read(), fmt, name=name)
    except ProductionFileError as err:
        status, kind = (415, "unsupported-media-type") if err.unsupported else (400, "unreadable")
        raise Problem(status, str(err), kind=kind) from err
    return _submit(ctx, who, code, rows, reason)


@router.get(
    "/enterprises/{code}/production/history",
    response_model=list[ProductionChangeOut],
    summary="Every change to an enterprise's production figures and month locks",
)
def production_history(
    ctx: Ctx, who: Reader, code: Code, year: Year = None, month: MonthQuery = None
) -> Response:
    """Oldest first: created and revised figures (old -> new value, unit, who, when, why) and
    month locks and unlocks (who, when, why)."""
    start, end = _range(year, month)
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        changes = store.history(conn, enterprise_id=ent.id, start=start, end=end)
    zone = ctx.config.common.zone
    out = [
        local_times(
            {
                "action": c.action,
                "month": f"{c.month:%Y-%m}",
                "product": c.product,
                "kind": c.kind,
                "period": c.period,
                "period_start": c.period_start,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "unit": c.unit,
                "changed_by": c.changed_by,
                "changed_at": c.changed_at,
                "reason": c.reason,
            },
            zone,
        )
        for c in changes
    ]
    return model_response(list[ProductionChangeOut], [ProductionChangeOut(**c) for c in out])


def _lock_out(ctx: Ctx, code: str, lock: store.Lock, *, locked: bool) -> Response:
    out = {
        "enterprise": code,
        "month": f"{lock.month:%Y-%m}",
        "locked": locked,
        "locked_by": lock.locked_by,
        "locked_at": lock.locked_at.astimezone(ctx.config.common.zone),
        "reason": lock.reason,
    }
    return model_response(LockOut, LockOut.model_validate(out))


def _change_lock(
    ctx: Ctx, who: Principal, code: str, month: str, reason: str, *, locked: bool
) -> Response:
    """Lock (or unlock) the month; 409 when it already is (or is not) locked."""
    change = store.lock_month if locked else store.unlock_month
    start = _month(month)
    with ctx.engine.begin() as conn:
        ent = visible_enterprise(conn, who, code)
        try:
            lock = change(
                conn,
                enterprise_id=ent.id,
                month=start,
                by=who.username,
                reason=reason,
                now=datetime.now(UTC),
            )
        except store.LockStateError as err:
            raise Problem(409, str(err), kind="lock-state") from err
    return _lock_out(ctx, code, lock, locked=locked)


@router.post(
    "/enterprises/{code}/production/locks/{month}",
    response_model=LockOut,
    summary="Lock a month's production figures (officer)",
)
def lock_month(ctx: Ctx, who: Officer, code: Code, month: MonthPath, body: LockIn) -> Response:
    """A locked month takes no more figures (a submission touching it answers 409) until it is
    unlocked; the lock and its reason go to the history. 409 if it is locked already.
    Officers and admins."""
    return _change_lock(ctx, who, code, month, body.reason, locked=True)


@router.delete(
    "/enterprises/{code}/production/locks/{month}",
    response_model=LockOut,
    summary="Unlock a month's production figures (officer)",
)
def unlock_month(
    ctx: Ctx,
    who: Officer,
    code: Code,
    month: MonthPath,
    reason: Annotated[str, Query(min_length=1, max_length=2000, description="Why it reopens")],
) -> Response:
    """Reopens the month for corrections; the unlock and its reason go to the history. Answers
    the lock that was removed; 409 if the month is not locked. Officers and admins."""
    return _change_lock(ctx, who, code, month, reason, locked=False)


@router.get(
    "/district/production/missing",
    response_model=MissingReportOut,
    summary="Enterprises whose month's production or value added is missing (officer)",
)
def missing_production(ctx: Ctx, _who: Officer, month: MonthQuery = None) -> Response:
    """For `month` (default the latest whose due day has passed): the active enterprises with
    active products lacking a product's output or the value added, once the month's due day
    (`ENERGYMON_PRODUCTION_DUE_DAY` of the next month) has passed; before it, `overdue` is false
    and the list is empty. Officers and admins."""
    common = ctx.config.common
    today = datetime.now(UTC).astimezone(common.zone).date()
    start = _month(month) if month else last_due_month(today, common.production_due_day)
    due = due_date(start, common.production_due_day)
    overdue = today > due
    found: list[store.MissingFigures] = []
    if overdue:
        with ctx.reads.connect() as conn:
            found = store.missing(conn, months=[start], zone=common.zone)
    out = {
        "month": f"{start:%Y-%m}",
        "due": due,
        "overdue": overdue,
        "enterprises": [
            MissingOut(
                enterprise=m.enterprise,
                name=m.name,
                town=m.town,
                products=list(m.products),
                value_added=m.value_added,
            )
            for m in found
        ],
    }
    return model_response(MissingReportOut, MissingReportOut.model_validate(out))
