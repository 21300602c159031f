"""A column among many ids as one array parameter (``= ANY(:ids)``): a thousand ids stay one bound
value instead of a thousand, which SQLAlchemy would render and psycopg convert one by one."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, literal


def among(column: ColumnElement[int], ids: Iterable[int]) -> ColumnElement[bool]:
    return column == any_(literal(list(ids), ARRAY(Integer)))
