"""What a meter measures for the accounting: its role in the registry.

An enterprise's (or site's) consumption is what its boundary meters count; a data centre's total
facility energy is a boundary too (it is the site's supply); sub-meters and IT-load meters measure
energy already inside a boundary and are never added to it (GB/T 2589-2020 counts each energy
input to the reporting unit once). PUE = facility_total / it_load over the same window.
"""

from __future__ import annotations

from enum import StrEnum


class MeterRole(StrEnum):
    BOUNDARY = "boundary"
    SUB = "sub"
    FACILITY_TOTAL = "facility_total"
    IT_LOAD = "it_load"


COUNTED_ROLES: frozenset[MeterRole] = frozenset({MeterRole.BOUNDARY, MeterRole.FACILITY_TOTAL})
"""The roles whose energy makes up an enterprise's or a site's consumption."""

PUE_ROLES: tuple[MeterRole, MeterRole] = (MeterRole.FACILITY_TOTAL, MeterRole.IT_LOAD)
"""Numerator and denominator of PUE."""
