"""An enterprise page's tables: energy by carrier with the factors used, its meters per site,
and its energy intensity (value added and each product against its quota)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from services.api.console.energy_tables import Gettext
from services.api.console.tables import Column, Kind, Row, Table, table
from services.api.console.wording import Wording
from services.api.models.intensity import EnterpriseIntensityOut
from services.core.store.connectivity import MeterLastReading
from services.core.store.consumption import CarrierTotal
from services.core.store.registry import Enterprise, Meter, Site


def about(ent: Enterprise, _: Gettext) -> tuple[str, str]:
    return (_("Enterprise"), f"{ent.name} ({ent.code})")


def carrier_table(
    ent: Enterprise, carriers: Sequence[CarrierTotal], _: Gettext, words: Wording
) -> Table:
    """Year to date per carrier: amount, tce and tCO2 with each factor, its unit and source."""
    rows = []
    for t in carriers:
        coal, co2 = t.kgce, t.tco2
        no_co2 = "" if co2 or t.carrier == "water" else _("no CO2 factor")
        rows.append(
            (
                _(t.carrier) + (f" ({t.region})" if t.carrier == "electricity" else ""),
                t.amount,
                t.unit,
                None if coal is None else coal.value / 1000,
                None if coal is None else coal.factor.value,
                "" if coal is None else f"kgce/{coal.factor.unit}",
                "" if coal is None else words.factor_source(coal.factor),
                None if co2 is None else co2.value,
                None if co2 is None else co2.factor.value,
                "" if co2 is None else f"tCO2/{co2.factor.unit}",
                no_co2 if co2 is None else words.factor_source(co2.factor),
            )
        )
    return table(
        "carrier-figures",
        _("Year to date by carrier, with the factors used"),
        (
            Column(_("Carrier")),
            Column(_("Amount"), kind=Kind.NUMBER, places=1),
            Column(_("Unit")),
            Column(_("Energy"), "tce", Kind.NUMBER, 3),
            Column(_("Standard coal factor"), kind=Kind.NUMBER, places=None),
            Column(_("Factor unit")),
            Column(_("Source")),
            Column("CO2", "tCO2", Kind.NUMBER, 3),
            Column(_("CO2 factor"), kind=Kind.NUMBER, places=None),
            Column(_("Factor unit")),
            Column(_("Source")),
        ),
        rows,
        filters=(about(ent, _), (_("Window"), _("Year to date"))),
    )


def meter_tables(
    ent: Enterprise,
    sites: Sequence[Site],
    meters: Sequence[Meter],
    status: Mapping[str, str],
    last: Mapping[str, MeterLastReading],
    _: Gettext,
) -> list[Table]:
    """One table per site: each meter with its status and last reading."""
    columns = (
        Column(_("Meter")),
        Column(_("Carrier")),
        Column(_("Role")),
        Column(_("Protocol")),
        Column(_("Status")),
        Column(_("Last reading"), kind=Kind.TIME),
    )
    out = []
    for s in sites:
        rows = [
            Row(
                (
                    m.code,
                    _(m.carrier),
                    _(m.role),
                    m.protocol,
                    _(status[m.code]),
                    last[m.code].last_reading_at if m.code in last else None,
                ),
                links={0: f"/console/enterprises/{ent.code}/meters/{quote(m.code, safe='')}"},
                cell_attrs={4: {"class": f"status-{status[m.code]}"}},
            )
            for m in meters
            if m.site == s.code
        ]
        title = _("Sites and meters") + f": {s.name or s.code}"
        out.append(
            table(
                f"meters-{s.code}",
                title,
                columns,
                rows,
                filters=(about(ent, _), (_("Site"), s.code)),
            )
        )
    return out


def intensity_tables(
    ent: Enterprise, it: EnterpriseIntensityOut, _: Gettext, words: Wording
) -> list[Table]:
    """Energy per 10^4 CNY of value added and each product's unit-product energy."""
    va = it.value_added
    period = (_("Period"), va.current.period)
    value_added = table(
        "value-added-intensity",
        _("Energy per 10^4 CNY of value added"),
        (
            Column(_("Figure")),
            Column(_("This period"), kind=Kind.NUMBER, places=4),
            Column(_("Last year"), kind=Kind.NUMBER, places=4),
            Column(_("Unit")),
            Column(_("Change on last year")),
            Column(_("Completeness"), kind=Kind.SHARE, places=1),
            Column(_("Note")),
        ),
        [
            Row(
                (
                    _("Energy per 10^4 CNY of value added"),
                    va.current.value,
                    va.last_year.value,
                    va.current.unit,
                    words.sentence(va.yoy.text),
                    va.current.completeness.share,
                    ""
                    if va.current.value is not None
                    else _("insufficient data") + f" ({words.sentence(va.current.reason)})",
                ),
                attrs={"class": "low" if va.current.value is None else ""},
            )
        ],
        filters=(about(ent, _), period),
    )
    products = table(
        "product-intensity",
        _("Unit-product energy"),
        (
            Column(_("Product")),
            Column(_("Code")),
            Column(_("Plant")),
            Column(_("Unit-product energy"), kind=Kind.NUMBER, places=2),
            Column(_("Last year"), kind=Kind.NUMBER, places=2),
            Column(_("Unit")),
            Column(_("Verdict")),
            Column(_("Standard and clause")),
            Column(_("Completeness"), kind=Kind.SHARE, places=1),
        ),
        [
            Row(
                (
                    p.name,
                    p.code,
                    _(p.plant),
                    p.current.value,
                    p.last_year.value,
                    p.current.unit,
                    words.sentence(p.quota.text),
                    p.quota.clause or p.quota.standard or _("no quota standard for this product"),
                    p.current.completeness.share,
                ),
                attrs={
                    "class": "over" if p.quota.verdict == "over_limit" else "",
                    "data-product": p.code,
                },
            )
            for p in it.products
        ],
        filters=(about(ent, _), period),
    )
    return [value_added, products]
