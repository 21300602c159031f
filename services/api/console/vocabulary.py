"""Words the templates translate from data (states, severities, carriers, windows, roles…):
listed here so that ``scripts/console-messages`` extracts them into the catalogue."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker
    return message


WORDS = (
    # alert states, severities and history actions
    N_("open"),
    N_("acknowledged"),
    N_("resolved"),
    N_("info"),
    N_("warning"),
    N_("critical"),
    N_("opened"),
    N_("severity_changed"),
    N_("clearing"),
    N_("notified"),
    # budget states and verdicts
    N_("ok"),
    N_("within"),
    N_("projected_overrun"),
    N_("exceeded"),
    N_("insufficient_data"),
    # PUE windows
    N_("rolling_24h"),
    N_("mtd"),
    N_("ytd"),
    # roles of accounts and meters
    N_("admin"),
    N_("officer"),
    N_("enterprise"),
    N_("gateway"),
    N_("boundary"),
    N_("sub"),
    N_("facility_total"),
    N_("it_load"),
    # meter status
    N_("online"),
    N_("silent"),
    N_("no_data"),
    N_("inactive"),
    # site kinds and data-centre classes
    N_("industrial"),
    N_("data_centre"),
    N_("public_building"),
    N_("new_large"),
    N_("new_super_large"),
    N_("existing"),
    N_("none"),
    # what applying a registry file does to rows
    N_("created"),
    N_("updated"),
    N_("unchanged"),
    N_("deactivated"),
    N_("replaced"),
    N_("sub_of changed"),
    # the registry's tables and what a registry file does to a row of them
    N_("enterprises"),
    N_("gateways"),
    N_("sites"),
    N_("meters"),
    N_("points"),
    N_("budgets"),
    N_("products"),
    N_("product_attribution"),
    N_("added"),
    N_("removed"),
    N_("changed"),
    # counter events
    N_("rollover"),
    N_("reset"),
    N_("spike_excluded"),
    N_("drop_unexplained"),
    N_("bad_read"),
    # energy carriers
    N_("electricity"),
    N_("natural_gas"),
    N_("water"),
    N_("steam"),
    N_("heat"),
    N_("raw_coal"),
    N_("diesel"),
    N_("gasoline"),
    N_("lpg"),
    N_("coke_oven_gas"),
    # intensity periods, rankings and quota verdicts
    N_("month"),
    N_("quarter"),
    N_("intensity"),
    N_("quota_distance"),
    N_("yoy"),
    N_("over_limit"),
    N_("above_entry"),
    N_("leader"),
    N_("no_quota"),
    N_("new"),
    # production figures: kinds, periods and history actions
    N_("output"),
    N_("value_added"),
    N_("gross_output"),
    N_("day"),
    N_("revised"),
    N_("locked"),
    N_("unlocked"),
)
