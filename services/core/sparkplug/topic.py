"""Sparkplug topic namespace (Eclipse Sparkplug 3.0.0, chapter 4 "Topics and Messages"):
``spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]`` for edge nodes and devices,
``spBv1.0/STATE/<host_id>`` for host applications."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

NAMESPACE = "spBv1.0"


class MessageType(StrEnum):
    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    NDATA = "NDATA"
    DDATA = "DDATA"
    NCMD = "NCMD"
    DCMD = "DCMD"


_NODE_TYPES = frozenset(
    {MessageType.NBIRTH, MessageType.NDEATH, MessageType.NDATA, MessageType.NCMD}
)
_TYPES = {t.value: t for t in MessageType}


@dataclass(frozen=True, slots=True)
class Topic:
    group: str
    kind: MessageType
    node: str
    device: str | None = None

    @property
    def node_key(self) -> tuple[str, str]:
        return (self.group, self.node)

    def __str__(self) -> str:
        tail = f"/{self.device}" if self.device is not None else ""
        return f"{NAMESPACE}/{self.group}/{self.kind.value}/{self.node}{tail}"


def parse_topic(topic: str) -> Topic | None:
    """An edge node's or device's topic; None for anything else (STATE, another namespace, a
    node message with a device part or a device message without one)."""
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != NAMESPACE:
        return None
    kind = _TYPES.get(parts[2])
    if kind is None or not all(parts[1:]):
        return None
    if (kind in _NODE_TYPES) != (len(parts) == 4):
        return None
    return Topic(parts[1], kind, parts[3], parts[4] if len(parts) == 5 else None)


def state_topic(host_id: str) -> str:
    """Where a host application announces itself (section 4.2, "Sparkplug Host Application")."""
    return f"{NAMESPACE}/STATE/{host_id}"


def command_topic(group: str, node: str) -> str:
    return str(Topic(group, MessageType.NCMD, node))
