"""Tables more than one console page shows: energy by day and data completeness by carrier."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from services.api.console.tables import Column, Kind, Row, Table, as_date, table

Gettext = Callable[[str], str]


class _Energy(Protocol):
    @property
    def tce(self) -> float: ...

    @property
    def tco2(self) -> float: ...


def daily_energy(
    name: str, title: str, days: Sequence[tuple[str, _Energy]], _: Gettext, scope: str
) -> Table:
    """Daily tce and tCO2; ``scope``: whose (the district, a town, an enterprise)."""
    window = f"{days[0][0]} – {days[-1][0]}" if days else ""
    return table(
        name,
        title,
        (
            Column(_("Day"), kind=Kind.DATE),
            Column(_("Energy"), "tce", Kind.NUMBER, 3),
            Column("CO2", "tCO2", Kind.NUMBER, 3),
        ),
        [(as_date(d), e.tce, e.tco2) for d, e in days],
        filters=((_("Scope"), scope), (_("Window"), window)),
    )


def completeness(
    name: str, rows: Sequence[tuple[str, float]], low: float, _: Gettext, scope: str
) -> Table:
    """This month's share of the expected intervals per carrier (below ``low`` marked)."""
    return table(
        name,
        _("Data completeness this month"),
        (Column(_("Carrier")), Column(_("Completeness"), kind=Kind.SHARE, places=1)),
        [
            Row((_(carrier), share), attrs={"class": "low" if share < low else ""})
            for carrier, share in rows
        ],
        filters=((_("Scope"), scope),),
    )
