"""Rendering: one Jinja2 environment per language, and the page context every template gets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.api.console.i18n import LANG_COOKIE, LANGUAGES, chosen_language, translations
from services.api.console.session import csrf_token, ensure_csrf_cookie, new_csrf_token
from services.api.console.tables import Table, file_stem, workbook
from services.api.console.wording import Wording
from services.api.context import ApiContext
from services.api.render import file_response
from services.api.security import Principal
from services.api.xlsx import XLSX

TEMPLATES = Path(__file__).parent / "templates"
# pages and their tables' files are built per request from what this user may see: no proxy
# or browser may keep one
_NO_STORE = {"Cache-Control": "no-store"}
EXPORT_PARAM = "xlsx"
# scripts only from the console's own static files (no inline script); ECharts and htmx set
# inline styles on the elements they draw
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalogue = translations(lang)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.filters["num"] = number
    env.filters["pct"] = percent
    # the core's verdicts, reasons and alert titles in this language (the API keeps English)
    words = Wording(catalogue.gettext, lang)
    env.filters["said"] = words.sentence
    env.filters["pue_said"] = words.pue
    env.filters["title_said"] = words.alert_title
    env.filters["source_said"] = words.factor_source
    return env


_ENVIRONMENTS: dict[str, Environment] = {}


def environment(lang: str) -> Environment:
    env = _ENVIRONMENTS.get(lang)
    if env is None:
        env = _ENVIRONMENTS.setdefault(lang, _environment(lang))
    return env


def number(value: float | None, places: int = 2) -> str:
    """A figure as officers read it: grouped thousands, fixed places; blank when unknown."""
    return "" if value is None else f"{value:,.{places}f}"


def percent(value: float | None, places: int = 1) -> str:
    return "" if value is None else f"{value * 100:.{places}f} %"


def gettext_for(request: Request) -> Callable[[str], str]:
    """The request's language's ``gettext``, for words a route puts into a chart."""
    return translations(chosen_language(request.cookies.get(LANG_COOKIE))).gettext


def wording_for(request: Request) -> Wording:
    """The core's verdicts, reasons and titles in the request's language, for table cells."""
    lang = chosen_language(request.cookies.get(LANG_COOKIE))
    return Wording(translations(lang).gettext, lang)


class TableNotFoundError(Exception):
    """``?xlsx=`` names no table of the page: answered 404."""


def render(
    ctx: ApiContext,
    request: Request,
    template: str,
    *,
    who: Principal | None = None,
    own: str | None = None,
    status_code: int = 200,
    tables: Sequence[Table] | None = None,
    **data: Any,
) -> Response:
    """The page, or with ``?xlsx=NAME`` (a GET) the page's table NAME as an XLSX file: the same
    route built both, so the file has the rows the page shows to this user. ``tables`` None:
    an answer without tables (an error page, a form), which never answers a file."""
    lang = chosen_language(request.cookies.get(LANG_COOKIE))
    zone: ZoneInfo = ctx.config.common.zone
    wanted = request.query_params.get(EXPORT_PARAM) if request.method == "GET" else None
    if wanted is not None and tables is not None:
        found = next((t for t in tables if t.name == wanted), None)
        if found is None:
            raise TableNotFoundError(wanted)
        return export(found, zone=zone, lang=lang)
    token = csrf_token(request) or new_csrf_token()
    body = (
        environment(lang)
        .get_template(template)
        .render(
            request=request,
            who=who,
            own=own,
            lang=lang,
            languages=LANGUAGES,
            csrf=token,
            zone=zone,
            min_completeness=ctx.config.common.min_completeness,
            # read from a replica further behind than ENERGYMON_DATABASE_READ_MAX_LAG_S
            replica_behind_s=ctx.replica_behind_s,
            local=lambda ts: _local(ts, zone),
            tables={t.name: t for t in tables or ()},
            export_href=lambda t: export_href(request, t),
            **data,
        )
    )
    response = HTMLResponse(body, status_code=status_code, headers=_NO_STORE)
    response.headers["Content-Security-Policy"] = CSP
    ensure_csrf_cookie(ctx, request, response, token)
    return response


def export(t: Table, *, zone: ZoneInfo, lang: str) -> Response:
    now = datetime.now(UTC)
    ascii_name, name = file_stem(t, now, zone)
    body = workbook(t, zone=zone, generated_at=now, gettext=translations(lang).gettext)
    response = file_response(
        body, media_type=XLSX, filename=f"{ascii_name}.xlsx", utf8_filename=f"{name}.xlsx"
    )
    response.headers.update(_NO_STORE)
    return response


def export_href(request: Request, t: Table) -> str:
    """The page that shows ``t`` (the request's own, with its filters) asking for its file."""
    if t.page is not None:
        return f"{t.page}?{urlencode({EXPORT_PARAM: t.name})}"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != EXPORT_PARAM]
    return f"{request.url.path}?{urlencode([*params, (EXPORT_PARAM, t.name)])}"


def _local(ts: datetime | None, zone: ZoneInfo) -> str:
    return "" if ts is None else ts.astimezone(zone).strftime("%Y-%m-%d %H:%M")
