"""Cross-references inside a district file: every code it names is one it defines.

The file is authoritative for each enterprise it lists (loading it deactivates what it no longer
names), so a budget's site or a meter's gateway must be defined in the same enterprise of the same
file. Each problem carries the path of the field at fault, for the line number of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.core.domain.quantities import MEASURED_ONLY_CARRIERS
from services.core.domain.roles import COUNTED_ROLES

if TYPE_CHECKING:  # spec.parse_district runs these checks: no import cycle at run time
    from services.core.registry.spec import DistrictSpec, EnterpriseSpec

Location = tuple[int | str, ...]


@dataclass(frozen=True)
class ReferenceProblem:
    location: Location
    message: str


def _repeats(codes: list[str]) -> Iterator[tuple[int, str]]:
    """The index and code of every second and later occurrence of a code."""
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            yield i, code
        seen.add(code)


def _enterprise(ent: EnterpriseSpec, at: Location) -> Iterator[ReferenceProblem]:
    for i, code in _repeats([g.code for g in ent.gateways]):
        yield ReferenceProblem((*at, "gateways", i, "code"), f"gateway {code} is listed twice")
    for i, code in _repeats([s.code for s in ent.sites]):
        yield ReferenceProblem((*at, "sites", i, "code"), f"site {code} is listed twice")
    meters = [(s, m) for s, site in enumerate(ent.sites) for m in range(len(site.meters))]
    codes = [ent.sites[s].meters[m].code for s, m in meters]
    for i, code in _repeats(codes):
        s, m = meters[i]
        yield ReferenceProblem(
            (*at, "sites", s, "meters", m, "code"),
            f"meter {code} is listed twice (meter codes are unique within an enterprise)",
        )
    gateways = {g.code for g in ent.gateways}
    for s, m in meters:
        meter = ent.sites[s].meters[m]
        if meter.gateway is not None and meter.gateway not in gateways:
            yield ReferenceProblem(
                (*at, "sites", s, "meters", m, "gateway"),
                f"meter {meter.code} names gateway {meter.gateway!r}, which this enterprise does "
                f"not list (its gateways: {', '.join(sorted(gateways)) or 'none'})",
            )
    yield from _sub_meters(ent, at, meters)
    sites = {site.code for site in ent.sites}
    for b, budget in enumerate(ent.budgets):
        if budget.site is not None and budget.site not in sites:
            yield ReferenceProblem(
                (*at, "budgets", b, "site"),
                f"the budget names site {budget.site!r}, which this enterprise does not list "
                f"(its sites: {', '.join(sorted(sites)) or 'none'})",
            )
    yield from _products(ent, at)
    yield from _heating_values(ent, at, meters)


def _heating_values(
    ent: EnterpriseSpec, at: Location, meters: list[tuple[int, int]]
) -> Iterator[ReferenceProblem]:
    """A meter of a carrier without a shipped coefficient needs the enterprise's measured
    heating value for it; one carrier's measured values do not overlap in time."""
    measured = {h.carrier for h in ent.heating_values}
    for s, m in meters:
        meter = ent.sites[s].meters[m]
        if meter.carrier in MEASURED_ONLY_CARRIERS and meter.carrier not in measured:
            yield ReferenceProblem(
                (*at, "sites", s, "meters", m, "carrier"),
                f"meter {meter.code} counts {meter.carrier.value}, which converts to standard coal "
                "only by a measured heating value: list it in the enterprise's heating_values",
            )
    for i, h in enumerate(ent.heating_values):
        for other in ent.heating_values[:i]:
            if other.carrier == h.carrier and (
                (other.valid_to is None or h.valid_from <= other.valid_to)
                and (h.valid_to is None or other.valid_from <= h.valid_to)
            ):
                yield ReferenceProblem(
                    (*at, "heating_values", i, "valid_from"),
                    f"two measured heating values of {h.carrier.value} are valid at once",
                )


def _products(ent: EnterpriseSpec, at: Location) -> Iterator[ReferenceProblem]:
    """Each product's attribution names sites and meters of the enterprise, a site only if it has
    a counted meter, never a meter inside a site the product already takes whole; and no site or
    meter is shared out beyond 100 % across the products."""
    for i, code in _repeats([p.code for p in ent.products]):
        yield ReferenceProblem((*at, "products", i, "code"), f"product {code} is listed twice")
    site_of = {m.code: s.code for s in ent.sites for m in s.meters}
    counted = {s.code: [m for m in s.meters if m.role in COUNTED_ROLES] for s in ent.sites}
    taken: dict[tuple[str, str], float] = {}
    for p, product in enumerate(ent.products):
        whole_sites = {a.site for a in product.attribution if a.site is not None}
        for a, part in enumerate(product.attribution):
            where = (*at, "products", p, "attribution", a)
            if part.site is not None:
                if part.site not in counted:
                    yield ReferenceProblem(
                        (*where, "site"),
                        f"product {product.code} takes site {part.site!r}, which this enterprise "
                        "does not list",
                    )
                    continue
                if not counted[part.site]:
                    yield ReferenceProblem(
                        (*where, "site"),
                        f"product {product.code} takes site {part.site}, which has no boundary "
                        "meter to count: name the meters instead",
                    )
                key = ("site", part.site)
            else:
                meter = str(part.meter)
                if meter not in site_of:
                    yield ReferenceProblem(
                        (*where, "meter"),
                        f"product {product.code} takes meter {meter!r}, which this enterprise "
                        "does not list",
                    )
                    continue
                if site_of[meter] in whole_sites:
                    yield ReferenceProblem(
                        (*where, "meter"),
                        f"product {product.code} takes meter {meter} and its whole site "
                        f"{site_of[meter]}: the meter would count twice",
                    )
                key = ("meter", meter)
            taken[key] = taken.get(key, 0.0) + part.share
            if taken[key] > 1 + 1e-9:
                yield ReferenceProblem(
                    (*where, "share"),
                    f"{key[0]} {key[1]} is shared out {taken[key]:.0%} across the products "
                    "(at most 100 %)",
                )


def _sub_meters(
    ent: EnterpriseSpec, at: Location, meters: list[tuple[int, int]]
) -> Iterator[ReferenceProblem]:
    """Each ``sub_of`` names another meter of the enterprise with the same carrier and a
    cumulative quantity in common (what the balance compares), without cycles."""
    from services.core.registry.spec import balanced_quantities  # spec imports this module

    by_code = {ent.sites[s].meters[m].code: ent.sites[s].meters[m] for s, m in meters}
    for s, m in meters:
        meter = ent.sites[s].meters[m]
        if meter.sub_of is None:
            continue
        where = (*at, "sites", s, "meters", m, "sub_of")
        parent = by_code.get(meter.sub_of)
        if parent is None:
            yield ReferenceProblem(
                where,
                f"meter {meter.code} is sub_of {meter.sub_of!r}, which this enterprise does not "
                "list",
            )
        elif parent.carrier != meter.carrier:
            yield ReferenceProblem(
                where,
                f"meter {meter.code} ({meter.carrier.value}) cannot be a sub-meter of "
                f"{parent.code} ({parent.carrier.value}): the carriers differ",
            )
        elif not balanced_quantities(parent, meter):
            yield ReferenceProblem(
                where,
                f"meter {meter.code} and its parent {parent.code} share no cumulative point "
                "(the balance compares the same quantity in the same unit)",
            )
        else:
            seen = [meter.code]
            up = by_code.get(meter.sub_of)
            while up is not None and up.code not in seen:
                seen.append(up.code)
                up = by_code.get(up.sub_of) if up.sub_of is not None else None
            if up is not None:
                yield ReferenceProblem(
                    where, f"sub_of forms a cycle: {' -> '.join([*seen, up.code])}"
                )


def reference_problems(spec: DistrictSpec) -> Iterator[ReferenceProblem]:
    """Every duplicate code and every reference to a code the file does not define, in file
    order."""
    for i, code in _repeats([e.code for e in spec.enterprises]):
        yield ReferenceProblem(("enterprises", i, "code"), f"enterprise {code} is listed twice")
    for i, ent in enumerate(spec.enterprises):
        yield from _enterprise(ent, ("enterprises", i))
