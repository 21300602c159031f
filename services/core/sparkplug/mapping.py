"""Which registry meter and point each Sparkplug metric feeds, and host values as typed readings.

Meters declare their binding in the registry (services/core/registry/sparkplug.py); this module
reads the active ones back and turns the host's values into :class:`Reading` messages for the one
pipeline, so units, plausibility, dead letters and exactly-once storage are those of every source.
A metric the registry does not bind still becomes a reading, named so that validation
dead-letters it with the usual reason: ``unknown_point`` when its device (or node) is bound to a
meter, ``unknown_meter`` when only its node is known; a node bound to no meter has no enterprise,
and its messages are dead-lettered whole as ``unknown_enterprise``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import Connection, select

from services.core.logging import get_logger
from services.core.pipeline.model import InboundMessage, Reading
from services.core.registry.sparkplug import binding_of
from services.core.schema.tables import enterprises, meters
from services.core.sparkplug.host import Value

log = get_logger(__name__)

_MS_MIN, _MS_MAX = 946_684_800_000, 4_102_444_800_000  # 2000-01-01 .. 2100-01-01


@dataclass(frozen=True, slots=True)
class Target:
    meter: str
    point: str
    unit: str | None


@dataclass(frozen=True, slots=True)
class SparkplugMapping:
    """Bindings keyed by (group, node, device); ``device`` None is the node's own metrics."""

    targets: dict[tuple[str, str, str | None, str], Target] = field(default_factory=dict)
    devices: dict[tuple[str, str, str | None], str] = field(default_factory=dict)  # -> meter
    nodes: dict[tuple[str, str], str] = field(default_factory=dict)  # -> enterprise

    def __len__(self) -> int:
        return len(self.targets)


def load_mapping(conn: Connection) -> SparkplugMapping:
    """The active meters' Sparkplug bindings. A node bound to meters of two enterprises keeps the
    first (by meter id) and the conflict is logged: one edge node belongs to one enterprise."""
    rows = conn.execute(
        select(meters.c.code, meters.c.connection, enterprises.c.code.label("enterprise"))
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .where(meters.c.active, enterprises.c.active, meters.c.connection.is_not(None))
        .order_by(meters.c.id)
    )
    targets: dict[tuple[str, str, str | None, str], Target] = {}
    devices: dict[tuple[str, str, str | None], str] = {}
    nodes: dict[tuple[str, str], str] = {}
    for row in rows:
        try:
            binding = binding_of(row.connection)
        except ValidationError as err:
            log.error("sparkplug binding unreadable", meter=row.code, error=str(err)[:300])
            continue
        if binding is None:
            continue
        node = (binding.group, binding.node)
        owner = nodes.setdefault(node, row.enterprise)
        if owner != row.enterprise:
            log.error(
                "sparkplug node bound to meters of two enterprises; keeping the first",
                group=binding.group,
                node=binding.node,
                meter=row.code,
                enterprise=row.enterprise,
                kept=owner,
            )
            continue
        devices.setdefault((*node, binding.device), row.code)
        for name, b in binding.metrics.items():
            targets[(*node, binding.device, name)] = Target(row.code, b.point, b.unit)
    return SparkplugMapping(targets, devices, nodes)


def to_message(
    mapping: SparkplugMapping,
    node_key: tuple[str, str],
    topic: str,
    values: list[Value],
    received_at: datetime,
) -> tuple[InboundMessage | None, int]:
    """The values as one pipeline message of the node's enterprise (None: no values), and how
    many values were left out for a timestamp outside the years 2000-2100."""
    group, node = node_key
    enterprise = mapping.nodes.get((group, node))
    readings: list[Reading] = []
    bad_ts = 0
    last_ms, last_ts = None, received_at  # the metrics of a message mostly share one timestamp
    for v in values:
        ms = v.timestamp_ms
        if ms is None:
            ts = received_at
        elif ms == last_ms:
            ts = last_ts
        elif _MS_MIN <= ms <= _MS_MAX:
            ts = last_ts = datetime.fromtimestamp(ms / 1000, UTC)
            last_ms = ms
        else:
            bad_ts += 1
            continue
        target = mapping.targets.get((group, node, v.device, v.name))
        if target is not None:
            readings.append(Reading(target.meter, target.point, ts, v.value, target.unit))
            continue
        meter = mapping.devices.get((group, node, v.device))
        # unbound: validation dead-letters it (unknown_point, or unknown_meter)
        readings.append(Reading(meter or v.device or node, v.name, ts, v.value))
    if not readings:
        return None, bad_ts
    message = InboundMessage(
        source="mqtt",
        topic=topic,
        enterprise_code=enterprise,
        gateway_code=None,
        payload=b"",
        received_at=received_at,
        readings=tuple(readings),
    )
    return message, bad_ts
