"""The console's session and CSRF protection.

The session cookie holds a signed, expiring JWT (services/api/security.py) issued for the
console's own audience (``<ENERGYMON_API_AUDIENCE>-console``), so a console cookie is never an
API bearer token; it is HttpOnly, SameSite=Lax, and Secure when configured or in production.

CSRF: double-submit. A random token lives in its own HttpOnly cookie; every page carries it
(a hidden ``csrf_token`` field in forms, a ``<meta>`` that htmx sends as ``X-CSRF-Token``), and
every POST must present the cookie's value in the field or the header (compared in constant
time). A cross-site page can make a browser send the cookie but cannot read it to write the
field. The token is renewed at login.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from services.api.context import ApiContext
from services.api.security import InvalidTokenError, Principal, Role, decode_token, issue_token
from services.core.settings import ApiSettings

SESSION_COOKIE = "energymon_session"
CSRF_COOKIE = "energymon_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CONSOLE_ROLES = frozenset({Role.ADMIN, Role.OFFICER, Role.ENTERPRISE})


class LoginRequiredError(Exception):
    """No valid console session: the browser is sent to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfError(Exception):
    """A POST without the page's CSRF token."""


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    secure: bool
    session_s: int

    @classmethod
    def of(cls, ctx: ApiContext) -> CookiePolicy:
        api = ctx.config.api
        secure = api.console_secure_cookie or ctx.config.common.env == "production"
        return cls(secure=secure, session_s=api.console_session_s)


def _console_settings(api: ApiSettings, *, ttl_s: int | None = None) -> ApiSettings:
    update: dict[str, object] = {"audience": f"{api.audience}-console"}
    if ttl_s is not None:
        update["token_ttl_s"] = ttl_s
    return api.model_copy(update=update)


def session_principal(ctx: ApiContext, request: Request) -> Principal | None:
    """The console user of this request's session cookie, if it is valid and may use the
    console."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        who = decode_token(token, _console_settings(ctx.config.api))
    except InvalidTokenError:
        return None
    return who if who.role in CONSOLE_ROLES else None


def start_session(ctx: ApiContext, response: Response, who: Principal) -> None:
    policy = CookiePolicy.of(ctx)
    token = issue_token(who, _console_settings(ctx.config.api, ttl_s=policy.session_s))
    _set(response, SESSION_COOKIE, token, policy, max_age=policy.session_s)
    _set(response, CSRF_COOKIE, secrets.token_urlsafe(32), policy, max_age=None)


def end_session(ctx: ApiContext, response: Response) -> None:
    policy = CookiePolicy.of(ctx)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/console", secure=policy.secure, httponly=True)


def csrf_token(request: Request) -> str | None:
    """The token this request's pages carry: the cookie's (None: a new one must be set)."""
    return request.cookies.get(CSRF_COOKIE) or None


def ensure_csrf_cookie(ctx: ApiContext, request: Request, response: Response, token: str) -> None:
    if request.cookies.get(CSRF_COOKIE) != token:
        _set(response, CSRF_COOKIE, token, CookiePolicy.of(ctx), max_age=None)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


async def check_csrf(request: Request) -> None:
    """Refuse a POST whose form field or header does not carry the cookie's token."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfError


def _set(
    response: Response, name: str, value: str, policy: CookiePolicy, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        secure=policy.secure,
        httponly=True,
        samesite="lax",
    )
