"""One password check for every way in (the token endpoint, the console's login form): the
login throttle first, then the account, counted as the throttle's docstring says."""

from __future__ import annotations

import math
import time

from services.api.context import ApiContext
from services.api.security import Principal
from services.api.throttle import Throttled, address_key
from services.api.users import authenticate
from services.core.logging import get_logger

log = get_logger(__name__)


def check_login(
    ctx: ApiContext, user: str, secret: str, host: str | None
) -> Principal | Throttled | None:
    """The account if ``secret`` is its password; a refusal while the throttle holds the
    username or the address (``secret`` then is not checked); None for wrong credentials."""
    attempt = ctx.logins.begin(user, host, time.monotonic())
    if isinstance(attempt, Throttled):
        ctx.metrics.logins_throttled.labels(attempt.limit).inc()
        return attempt
    try:
        with ctx.primary_reads.connect() as conn:  # a changed password counts at once
            who = authenticate(conn, user, secret)
    except BaseException:
        ctx.logins.abandoned(attempt)
        raise
    if who is None:
        for reached in ctx.logins.failed(attempt, time.monotonic()):
            log.warning(
                "login throttled",
                limit=reached.limit,
                username=_printable(user),
                client=address_key(host),
                retry_after_s=math.ceil(reached.retry_after_s),
            )
        return None
    ctx.logins.succeeded(attempt)
    return who


def _printable(text: str) -> str:
    """A caller-chosen name as one log field: no control characters, at most 64 characters."""
    return "".join(c if c.isprintable() else "?" for c in text[:64])
