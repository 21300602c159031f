"""Core fragments several stores share: times on the database's clock and id-array matches.

Leases and heartbeats are compared with ``now()`` (the transaction's start on the database server),
never with a process's own clock, so processes on hosts with skewed clocks agree on who holds
what. A set of ids is passed as one array parameter (``= ANY(...)``), not an ``IN`` list of one
parameter per id: one statement however many devices a district has.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, func, literal
from sqlalchemy.dialects.postgresql import ARRAY


def seconds_ago(seconds: float) -> ColumnElement[datetime]:
    """``now() - seconds`` on the database's clock."""
    return func.now() - timedelta(seconds=seconds)


def seconds_ahead(seconds: float) -> ColumnElement[datetime]:
    """``now() + seconds`` on the database's clock."""
    return func.now() + timedelta(seconds=seconds)


def int_array(values: Collection[int]) -> ColumnElement[list[int]]:
    """``values`` as one ``integer[]`` parameter (the psycopg dialect casts it)."""
    return literal(sorted(values), ARRAY(Integer))


def is_any(column: ColumnElement[Any], values: Collection[int]) -> ColumnElement[bool]:
    """``column = ANY(values)``: false for no values."""
    return column == any_(int_array(values))
