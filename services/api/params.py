"""The parameters several routes share, declared once, and the checks a route applies to them.

Path segments (``Code``, ``Meter``, ``Town``), time ranges (``From``, ``To``), series (``Interval``,
``Tz``), the electricity ``Method`` and paging (``Paging``: ``limit`` and ``cursor``). A resource's
own parameters stay in its route module, and so do the dependencies that gather one resource's
query (``consumption.enterprise_series``, ``alerts.alert_filters``...).

Two rules keep every answer as it was:

- A route takes its parameters either all as arguments or all through dependencies. FastAPI lists
  a route's own parameters before its dependencies' in the OpenAPI document, but validates the
  dependencies' first: mixing the two would reorder the documented parameters (generated clients
  take them in that order) or the errors of a 422.
- A dependency only gathers values. The checks that answer 400 (``check_range``, ``zone_of``,
  ``PageRequest.size``) run in the route, after FastAPI has validated every parameter, so that a
  request with several faults gets the same answer whichever part is wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Path, Query

from services.api import pagination
from services.api.context import ApiContext
from services.api.problems import Problem

T = TypeVar("T")

Code = Annotated[
    str, Path(description="The enterprise's unified social credit code, e.g. 91120111MA05K8XX3E")
]
Meter = Annotated[str, Path(description="The meter's code within the enterprise, e.g. M-100")]
Town = Annotated[str, Path(max_length=64, description="A town of the district, e.g. Xinkou")]
From = Annotated[datetime, Query(alias="from", description="Start, ISO 8601 with offset")]
To = Annotated[datetime, Query(alias="to", description="End (exclusive), ISO 8601 with offset")]
Interval = Annotated[
    str,
    Query(
        pattern="^(15m|1h|1d|1mo|1y)$",
        description="Period length: 15m, 1h, 1d, 1mo or 1y; periods start at local boundaries",
    ),
]
Tz = Annotated[
    str | None,
    Query(description="IANA zone of the periods, e.g. Asia/Shanghai; default ENERGYMON_TIMEZONE"),
]
Method = Annotated[
    str,
    Query(
        pattern="^(equivalent|equal)$",
        description="Electricity to standard coal: equivalent (当量值) or equal value (等价值)",
    ),
]
FileFormat = Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="json, csv or xlsx")]
Limit = Annotated[int, Query(ge=1, description="Page size (at most ENERGYMON_API_MAX_PAGE_SIZE)")]
Cursor = Annotated[
    str | None, Query(description="`next_cursor` of the previous page; omit for the first page")
]


# Instants the platform can hold (timestamptz, local calendars): outside them a conversion would
# overflow (year 1 at +00:01 is year 0 in UTC) long before any data could exist.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def check_instants(*instants: datetime) -> None:
    """Each instant has an offset and lies between 1970 and 2100."""
    if any(t.tzinfo is None for t in instants):
        raise Problem(
            400,
            "from and to need a UTC offset (e.g. 2026-11-01T00:00:00+08:00)",
            kind="invalid-range",
        )
    # aware comparisons never overflow, whatever the offsets
    if any(not _EARLIEST <= t < _LATEST for t in instants):
        raise Problem(400, "from and to must lie between 1970 and 2100", kind="invalid-range")


def check_range(ctx: ApiContext, start: datetime, end: datetime) -> None:
    """[start, end) has offsets, lies between 1970 and 2100, is not empty and is at most
    ``ENERGYMON_API_MAX_RANGE_DAYS``."""
    check_instants(start, end)
    if end <= start:
        raise Problem(400, "to must be after from", kind="invalid-range")
    if end - start > timedelta(days=ctx.config.api.max_range_days):
        raise Problem(
            400, f"the range is at most {ctx.config.api.max_range_days} days", kind="range-too-long"
        )


def zone_of(ctx: ApiContext, tz: str | None) -> ZoneInfo:
    """The zone ``tz`` names, else the platform's."""
    try:
        return ZoneInfo(tz) if tz else ctx.config.common.zone
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise Problem(400, f"unknown time zone {tz!r}", kind="invalid-timezone") from err


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page a list is asked for: its size and the cursor after which it starts."""

    limit: int
    cursor: str | None = None

    def size(self, ctx: ApiContext) -> int:
        """The page size, at most ``ENERGYMON_API_MAX_PAGE_SIZE``."""
        if self.limit > ctx.config.api.max_page_size:
            raise Problem(400, f"limit is at most {ctx.config.api.max_page_size}", kind="limit")
        return self.limit

    def after(self) -> object | None:
        """The sort key the cursor carries; None for the first page."""
        return pagination.decode(self.cursor)

    def after_id(self) -> int | None:
        """The cursor's key as a row id (a positive bigint)."""
        key = self.after()
        if key is not None and not (type(key) is int and 0 < key < 2**63):
            raise _invalid_cursor()
        return key

    def after_text(self) -> str | None:
        """The cursor's key as a code."""
        key = self.after()
        if key is not None and not isinstance(key, str):
            raise _invalid_cursor()
        return key

    def after_instant(self) -> datetime | None:
        """The cursor's key as a timezone-aware instant."""
        key = self.after_text()
        if key is None:
            return None
        try:
            ts = datetime.fromisoformat(key)
        except ValueError as err:
            raise _invalid_cursor() from err
        if ts.tzinfo is None:
            raise _invalid_cursor()
        return ts

    def next_cursor(self, rows: Sequence[T], key: Callable[[T], object]) -> str | None:
        """The cursor of the next page, from ``rows`` fetched one beyond the page's size: the
        sort key of the page's last row; None when this page is the last."""
        return pagination.encode(key(rows[self.limit - 1])) if len(rows) > self.limit else None


def _invalid_cursor() -> Problem:
    """A cursor this list did not hand out (decodable, but not one of its keys)."""
    return Problem(400, "invalid cursor", kind="invalid-cursor")


def paging(default: int) -> Callable[[int, str | None], Awaitable[PageRequest]]:
    """The ``limit`` and ``cursor`` parameters of a list whose pages hold ``default`` items unless
    asked otherwise."""

    async def page(limit: Limit = default, cursor: Cursor = None) -> PageRequest:
        return PageRequest(limit, cursor)

    return page


Paging = Annotated[PageRequest, Depends(paging(100))]
