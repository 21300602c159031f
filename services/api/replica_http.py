"""The read replica at the HTTP edge: each request's context reads where
:func:`services.api.replica.choose` says, and answers say what came of it.

- An answer read from a replica more than ``ENERGYMON_DATABASE_READ_MAX_LAG_S`` behind carries
  ``X-Energymon-Replica-Behind-S: <whole seconds, rounded up>`` (console pages also say so).
- Read-your-writes in the console: a successful console request that may have written (any
  method but GET and HEAD) answers with the cookie ``energymon_wal``, the primary's WAL position
  after it (``pg_current_wal_insert_lsn()``: at or past its commit). A console page asked for with
  the cookie reads the primary until the replica has replayed that position, then the replica,
  and the cookie is dropped. The cookie only moves its owner's reads between the two servers.
"""

from __future__ import annotations

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.context import ApiContext
from services.api.replica import ReadChoice, behind_header, choose
from services.core.logging import get_logger
from services.core.store.replica import inserted_lsn

log = get_logger("api.replica")

HEADER = "X-Energymon-Replica-Behind-S"
WAL_COOKIE = "energymon_wal"
CONSOLE = "/console"
_STATE = "energymon_read"  # the request's ReadChoice, in the ASGI scope's state
_READS = frozenset({"GET", "HEAD"})
# longer than any lag a replica is kept in service with; past it the page says how far behind
WAL_COOKIE_S = 3600
_LSN_DIGITS = 20  # a 64-bit position in decimal


def request_context(request: Request) -> ApiContext:
    """The app's context for this request: reading the replica or the primary."""
    ctx: ApiContext = request.app.state.ctx
    if ctx.watch is None:
        return ctx
    choice = choose(
        ctx.watch.state,
        writes=request.method not in _READS,
        written=written_position(request.cookies.get(WAL_COOKIE)),
        max_lag_s=ctx.config.db.read_max_lag_s,
    )
    setattr(request.state, _STATE, choice)
    return ctx.reading(choice)


def written_position(cookie: str | None) -> int | None:
    """The WAL position of the cookie (None: absent or not a position)."""
    if cookie is None or not cookie.isdigit() or len(cookie) > _LSN_DIGITS:
        return None
    return int(cookie)


class ReplicaAnswers:
    """ASGI middleware: the lag header, and the console's ``energymon_wal`` cookie."""

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.ctx.watch is None:
            await self.app(scope, receive, send)
            return

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = await self._start(scope, message)
            await send(message)

        await self.app(scope, receive, answer)

    async def _start(self, scope: Scope, message: Message) -> Message:
        choice: ReadChoice | None = scope.get("state", {}).get(_STATE)
        console = scope["path"] == CONSOLE or scope["path"].startswith(CONSOLE + "/")
        wrote = console and scope["method"] not in _READS and message["status"] < 400
        if choice is None and not wrote:
            return message
        headers = MutableHeaders(raw=list(message["headers"]))
        if choice is not None and choice.behind_s is not None:
            headers[HEADER] = behind_header(choice.behind_s)
        if wrote:
            try:
                position = await run_in_threadpool(self._position)
            except Exception as err:  # noqa: BLE001 - the change is made; only its echo is lost
                log.warning("cannot read the primary's WAL position after a change", error=str(err))
            else:
                headers.append("set-cookie", self._cookie(str(position), WAL_COOKIE_S))
        elif console and choice is not None and choice.replayed:
            headers.append("set-cookie", self._cookie("", 0))
        return {**message, "headers": headers.raw}

    def _position(self) -> int:
        with self.ctx.primary_reads.connect() as conn:
            return inserted_lsn(conn)

    def _cookie(self, value: str, max_age: int) -> str:
        carrier = Response()
        carrier.set_cookie(
            WAL_COOKIE,
            value,
            max_age=max_age,
            path=CONSOLE,
            # as the console's session cookie (services/api/console/session.py)
            secure=self.ctx.config.api.console_secure_cookie
            or self.ctx.config.common.env == "production",
            httponly=True,
            samesite="lax",
        )
        return carrier.headers["set-cookie"]
