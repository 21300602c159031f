"""Rendering: one Jinja2 environment per language, and the page context every template gets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.api.console.i18n import LANG_COOKIE, LANGUAGES, chosen_language, translations
from services.api.console.session import csrf_token, ensure_csrf_cookie, new_csrf_token
from services.api.console.wording import Wording
from services.api.context import ApiContext
from services.api.security import Principal

TEMPLATES = Path(__file__).parent / "templates"
# pages are built per request from live data: no proxy or browser may keep one
_NO_STORE = {"Cache-Control": "no-store"}
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


def render(
    ctx: ApiContext,
    request: Request,
    template: str,
    *,
    who: Principal | None = None,
    own: str | None = None,
    status_code: int = 200,
    **data: Any,
) -> HTMLResponse:
    lang = chosen_language(request.cookies.get(LANG_COOKIE))
    token = csrf_token(request) or new_csrf_token()
    zone: ZoneInfo = ctx.config.common.zone
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
            local=lambda ts: _local(ts, zone),
            **data,
        )
    )
    response = HTMLResponse(body, status_code=status_code, headers=_NO_STORE)
    response.headers["Content-Security-Policy"] = CSP
    ensure_csrf_cookie(ctx, request, response, token)
    return response


def _local(ts: datetime | None, zone: ZoneInfo) -> str:
    return "" if ts is None else ts.astimezone(zone).strftime("%Y-%m-%d %H:%M")
