"""The core's verdicts, reasons and alert titles in the console's language.

The JSON API answers in the core's English words; the Chinese console must not. Where the page
has the verdict's code and figures (PUE, alerts) the words are built from them; the rest (quota
verdicts, intensity reasons and comparisons) are read back from the core's sentences, whose shapes
are listed here once each (tests/unit/api/console/test_wording.py holds every shape to the core
function that writes it), and said again in the catalogue's words. A sentence of no known shape
is shown as the core wrote it, and the Chinese-screens test
(tests/integration/console/test_console_chinese.py) finds it.

English pages show the core's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.api.console.vocabulary import N_

Gettext = Callable[[str], str]


class PueLike(Protocol):
    verdict: str
    verdict_text: str
    pue: float | None
    limit: float | None
    facility_coverage: float
    it_coverage: float


@dataclass(frozen=True, slots=True)
class _Shape:
    """One sentence the core writes: its pattern, and the catalogue's message with the same
    named fields. A field named ``t_...`` is itself a sentence (said again recursively), ``l_...``
    a comma-separated list of sentences, ``w_...`` a word or a comma-separated list of words from
    the vocabulary."""

    pattern: re.Pattern[str]
    message: str


def _shape(pattern: str, message: str) -> _Shape:
    return _Shape(re.compile(pattern), message)


def _fixed(message: str) -> _Shape:
    """A sentence without figures: the message is its own pattern."""
    return _Shape(re.compile(re.escape(message)), message)


_NUM = r"[-\d.,]+"
_PCT = r"[-\d.]+ ?%"
SHAPES = (
    # quota verdicts (services/core/domain/quota.py)
    _shape(
        r"(?P<w_verdict>over the limit|over the entry value|above the entry value|within the "
        r"limit|within the entry value|leader) \((?P<value>" + _NUM + r") (?P<sign>[>≤]) "
        r"(?P<against>"
        + _NUM
        + r") (?P<unit>\S+), (?P<clause>.+) (?P<level>限定值|准入值|先进值)\)",
        N_("%(w_verdict)s (%(value)s %(sign)s %(against)s %(unit)s, %(clause)s %(level)s)"),
    ),
    _fixed(N_("no quota for this product")),
    _shape(
        r"no quota: (?P<standard>.+) gives no 限定值 for (?P<product>.+)",
        N_("no quota: %(standard)s gives no 限定值 for %(product)s"),
    ),
    _fixed(N_("no value")),
    _fixed(N_("not enough data")),
    # why an intensity figure is insufficient data (services/core/domain/intensity.py)
    _fixed(N_("no attributed meters")),
    _fixed(N_("no meter data: its meters owed none then (not yet reporting)")),
    _shape(
        r"completeness (?P<share>" + _PCT + r") < (?P<threshold>" + _PCT + r") \((?P<measured>\d+)"
        r" of (?P<expected>\d+) collection periods measured\)",
        N_(
            "completeness %(share)s < %(threshold)s (%(measured)s of %(expected)s collection "
            "periods measured)"
        ),
    ),
    _shape(
        r"no (?P<w_what>output|value added) entered for (?P<months>.+)",
        N_("no %(w_what)s entered for %(months)s"),
    ),
    _shape(
        r"(?P<w_what>output|value added) entered in (?P<units>.+), not (?P<unit>\S+)",
        N_("%(w_what)s entered in %(units)s, not %(unit)s"),
    ),
    _shape(
        r"no standard-coal factor for (?P<l_amounts>.+)",
        N_("no standard-coal factor for %(l_amounts)s"),
    ),
    _shape(r"(?P<w_carrier>[a-z_]+) on (?P<day>\d{4}-\d{2}-\d{2})", N_("%(w_carrier)s on %(day)s")),
    _shape(
        r"value added at prices of different base years \((?P<years>.+)\)",
        N_("value added at prices of different base years (%(years)s)"),
    ),
    # the change on last year
    _shape(
        r"(?P<w_moved>up|down) (?P<change>" + _PCT + r") on (?P<against>\S+) \((?P<before>\S+) -> "
        r"(?P<now>\S+) (?P<unit>.+)\)",
        N_("%(w_moved)s %(change)s on %(against)s (%(before)s -> %(now)s %(unit)s)"),
    ),
    _shape(
        r"unchanged on (?P<against>\S+) \((?P<before>\S+) -> (?P<now>\S+) (?P<unit>.+)\)",
        N_("unchanged on %(against)s (%(before)s -> %(now)s %(unit)s)"),
    ),
    _fixed(N_("no comparison: this period has insufficient data")),
    _shape(
        r"no comparison: (?P<against>\S+) insufficient data \((?P<t_reason>.+)\)",
        N_("no comparison: %(against)s insufficient data (%(t_reason)s)"),
    ),
    _shape(
        r"not comparable: value added at (?P<now>\S+) prices, (?P<against>\S+) at (?P<then>\S+) "
        r"prices",
        N_("not comparable: value added at %(now)s prices, %(against)s at %(then)s prices"),
    ),
    # account refusals (services/api/users.py, shared with energymon users)
    _shape(
        r"passwords need at least (?P<n>\d+) characters",
        N_("passwords need at least %(n)s characters"),
    ),
    _shape(
        r"a (?P<w_role>\w+) account needs --enterprise",
        N_("a %(w_role)s account needs an enterprise"),
    ),
    _shape(
        r"enterprise (?P<code>\S+) is not registered", N_("enterprise %(code)s is not registered")
    ),
    _shape(
        r"gateway (?P<gateway>.+) is not registered for (?P<code>\S+)",
        N_("gateway %(gateway)s is not registered for %(code)s"),
    ),
    _shape(r"user (?P<user>'.*') exists", N_("user %(user)s exists")),
    _shape(r"no user (?P<user>'.*')", N_("no user %(user)s")),
    _shape(r"user (?P<user>'.*') is deactivated", N_("user %(user)s is deactivated")),
    _fixed(N_("you cannot deactivate your own account")),
    _shape(r"(?P<user>'.*') is the last active admin", N_("%(user)s is the last active admin")),
    _shape(r"no unrevoked API key (?P<prefix>\S+)", N_("no unrevoked API key %(prefix)s")),
    # the district's decline
    _fixed(N_("insufficient data (no enterprise with sufficient energy and value-added data)")),
    # after the district's: any other reason in brackets
    _shape(r"insufficient data \((?P<t_why>.+)\)", N_("insufficient data (%(t_why)s)")),
    _fixed(N_("no comparison: no enterprise has sufficient data in both years")),
    _shape(
        r"(?P<w_moved>declined|rose) (?P<change>" + _PCT + r") on last year \((?P<n>\d+) "
        r"enterprises like for like\); no target set",
        N_("%(w_moved)s %(change)s on last year (%(n)s enterprises like for like); no target set"),
    ),
    _shape(
        r"(?P<w_moved>declined|rose) (?P<change>" + _PCT + r") on last year \((?P<n>\d+) "
        r"enterprises like for like\): target met \((?P<a>" + _PCT + r") >= (?P<b>" + _PCT + r") "
        r"decline\)",
        N_(
            "%(w_moved)s %(change)s on last year (%(n)s enterprises like for like): target met "
            "(%(a)s >= %(b)s decline)"
        ),
    ),
    _shape(
        r"(?P<w_moved>declined|rose) (?P<change>" + _PCT + r") on last year \((?P<n>\d+) "
        r"enterprises like for like\): behind target \((?P<a>"
        + _PCT
        + r") < (?P<b>"
        + _PCT
        + r") decline\)",
        N_(
            "%(w_moved)s %(change)s on last year (%(n)s enterprises like for like): behind "
            "target (%(a)s < %(b)s decline)"
        ),
    ),
)

# the words inside those sentences
WORDS = (
    N_("over the limit"),
    N_("over the entry value"),
    N_("above the entry value"),
    N_("within the limit"),
    N_("within the entry value"),
    N_("leader"),
    N_("output"),
    N_("value added"),
    N_("up"),
    N_("down"),
    N_("declined"),
    N_("rose"),
)

# what each alert rule finds, for its title (services/alerts/rules/)
RULES = {
    "silent_meter": N_("Meter silent"),
    "gateway_offline": N_("Gateway offline"),
    "modbus_device_offline": N_("Polled meter offline (Modbus, DL/T 645)"),
    "sequence_gap": N_("Messages missing from a gateway"),
    "ingest_partition_unowned": N_("Ingest partition without a replica"),
    "ingest_replica_lost": N_("Ingest replica lost"),
    "pue_over_limit": N_("PUE over its limit"),
    "pue_insufficient_data": N_("PUE not computable: insufficient data"),
    "budget_warning": N_("Budget warning share reached"),
    "budget_projected_overrun": N_("Budget projected to be overrun"),
    "budget_exceeded": N_("Budget exceeded"),
    "low_completeness": N_("Meter data incomplete yesterday"),
    "counter_reset": N_("Meter counter reset or dropped"),
    "counter_rollover": N_("Meter counter rolled over"),
    "spike_excluded": N_("Meter reading spike excluded"),
    "enterprise_low_completeness": N_("Enterprise data incomplete yesterday"),
    "meter_balance_deviation": N_("Meter and its sub-meters disagree"),
    "pue_meter_silent": N_("PUE meter silent"),
    "production_missing": N_("Production figures missing"),
    "quota_over_limit": N_("Product over its energy quota"),
    "intensity_yoy_rise": N_("Energy intensity rose on last year"),
}


class Wording:
    """The words of one language; English gives the core's own."""

    def __init__(self, gettext: Gettext, lang: str) -> None:
        self._ = gettext
        self.english = lang == "en"

    def sentence(self, text: str | None) -> str:
        """One of the core's sentences (or several joined by "; ") in this language."""
        if not text or self.english:
            return text or ""
        said = self._one(text)
        if said is not None:
            return said
        parts = text.split("; ")
        if len(parts) > 1:
            return "；".join(self._one(p) or p for p in parts)
        return text

    def _one(self, text: str) -> str | None:
        for shape in SHAPES:
            found = shape.pattern.fullmatch(text)
            if found is not None:
                return self._(shape.message) % self._fields(found.groupdict())
        return None

    def _fields(self, groups: Mapping[str, str]) -> dict[str, str]:
        fields = {}
        for name, value in groups.items():
            if name.startswith("t_"):
                fields[name] = self.sentence(value)
            elif name.startswith("l_"):
                fields[name] = "、".join(self.sentence(part) for part in value.split(", "))
            elif name.startswith("w_"):
                fields[name] = "、".join(self._(w) for w in value.split(", "))
            else:
                fields[name] = value
        return fields

    def pue(self, row: PueLike, threshold: float) -> str:
        """A PUE verdict in words, from its code and figures (the core's pue_verdict_text)."""
        if self.english:
            return row.verdict_text
        _ = self._
        if row.verdict == "insufficient_data":
            short = [
                _("%(side)s side %(share)s < %(threshold)s")
                % {"side": _(side), "share": _pct(share), "threshold": _pct(threshold)}
                for side, share in (("facility", row.facility_coverage), ("IT", row.it_coverage))
                if share < threshold
            ]
            return _("insufficient data (%(t_why)s)") % {"t_why": "，".join(short)}
        if row.verdict == "no_it_load":
            return _("no IT load (no PUE)")
        ratio = "" if row.pue is None else f"{row.pue:.3f}"
        limit = "" if row.limit is None else f"{row.limit:g}"
        words = {
            "no_limit": _("no limit registered (PUE %(ratio)s)"),
            "over": _("over the limit (%(ratio)s > %(limit)s)"),
            "within": _("within the limit (%(ratio)s <= %(limit)s)"),
        }
        said = words.get(row.verdict)
        return row.verdict_text if said is None else said % {"ratio": ratio, "limit": limit}

    def alert_title(self, alert: Any) -> str:
        """What the rule found and on what; English: the title the rule wrote."""
        title, subject = _field(alert, "title"), _field(alert, "subject")
        rule = RULES.get(_field(alert, "rule"))
        if self.english or rule is None:
            return title
        return self._("%(rule)s: %(subject)s") % {"rule": self._(rule), "subject": subject}

    def factor_source(self, factor: Any) -> str:
        """A conversion factor's source: its Chinese wording where the data file gives one."""
        source = str(getattr(factor, "source", "") or "")
        return source if self.english else str(getattr(factor, "source_zh", "") or source)


def _field(record: Any, name: str) -> str:
    """A field of an alert, whether the page holds it as a mapping or an object."""
    value = record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)
    return "" if value is None else str(value)


def _pct(share: float) -> str:
    return f"{share:.0%}".replace("%", " %")


# the words of the PUE verdicts and alert titles built above
MESSAGES = (
    N_("facility"),
    N_("IT"),
    N_("%(side)s side %(share)s < %(threshold)s"),
    N_("no IT load (no PUE)"),
    N_("no limit registered (PUE %(ratio)s)"),
    N_("over the limit (%(ratio)s > %(limit)s)"),
    N_("within the limit (%(ratio)s <= %(limit)s)"),
    N_("%(rule)s: %(subject)s"),
)
