"""The conversion factors of each enterprise: the shipped ones with its measured heating values
(``enterprises.heating_values``, from the registry), which take precedence (GB/T 2589-2020)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, select

from services.core.domain.coefficients import FactorSet, HeatingValue
from services.core.schema.tables import enterprises


def heating_values(stored: list[dict[str, object]] | None) -> list[HeatingValue]:
    """The measured heating values as the registry stored them."""
    return [
        HeatingValue(
            carrier=str(h["carrier"]),
            unit=str(h["unit"]),
            kj_per_unit=float(str(h["kj_per_unit"])),
            valid_from=date.fromisoformat(str(h["valid_from"])),
            valid_to=date.fromisoformat(str(h["valid_to"])) if h.get("valid_to") else None,
            source=str(h["source"]),
        )
        for h in stored or []
    ]


def enterprise_factors(
    conn: Connection, base: FactorSet, enterprise_ids: Iterable[int]
) -> dict[int, FactorSet]:
    """``base`` with each enterprise's measured heating values (``base`` itself where it has
    none)."""
    ids = list(enterprise_ids)
    rows = conn.execute(
        select(enterprises.c.id, enterprises.c.heating_values).where(enterprises.c.id.in_(ids))
    )
    found = {int(r.id): base.with_measured(heating_values(r.heating_values)) for r in rows}
    return {i: found.get(i, base) for i in ids}


def factors_of_enterprise(conn: Connection, base: FactorSet, code: str) -> FactorSet:
    """``base`` with the measured heating values of the enterprise ``code`` (``base`` if it has
    none, or there is no such enterprise)."""
    stored = conn.execute(
        select(enterprises.c.heating_values).where(enterprises.c.code == code)
    ).scalar()
    return base.with_measured(heating_values(stored))


def measuring_enterprises(
    conn: Connection, base: FactorSet, *, town: str | None = None
) -> dict[str, FactorSet]:
    """The active enterprises (of ``town``) with measured heating values: ``base`` with theirs,
    by enterprise code."""
    stmt = select(enterprises.c.code, enterprises.c.heating_values).where(
        enterprises.c.active, enterprises.c.heating_values.is_not(None)
    )
    if town is not None:
        stmt = stmt.where(enterprises.c.town == town)
    return {
        str(r.code): base.with_measured(heating_values(r.heating_values))
        for r in conn.execute(stmt)
    }
