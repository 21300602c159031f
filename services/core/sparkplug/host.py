"""The host application's view of its edge nodes: sessions, sequence numbers, aliases, rebirths.

Pure: no broker, no clock (``now`` is passed in, in monotonic seconds). The ingest adapter feeds
each decoded message to :meth:`SparkplugHost.handle` on one thread and acts on the
:class:`Step` it gets back: store the values, publish the rebirth request if one is asked for.

What it implements, from the Eclipse Sparkplug 3.0.0 specification:

- Sessions (chapter 5, "Operational Behavior": Edge Node and Device session establishment and
  termination): NBIRTH opens a node's session and declares its metrics and aliases; DBIRTH does the
  same for a device; NDEATH closes the node and its devices, DDEATH one device.
- ``bdSeq`` (6.4.5 and the NBIRTH/NDEATH payload descriptions): the NDEATH names the session it
  ends by its ``bdSeq`` metric; a death whose ``bdSeq`` is not the current birth's is stale (the
  broker delivered the Will of an older connection after the node had reconnected) and is ignored.
- ``seq`` (6.4.5): every message but NDEATH carries 0-255, +1 per message of the node (its
  devices included), wrapping to 0 after 255. A message up to ``reorder_window`` ahead is held
  until the missing ones arrive; if they have not after ``reorder_timeout_s``, or a message is
  further ahead, that is a gap: the held messages are processed in order and a rebirth is asked.
  A message behind (a late or replayed one) is processed without moving the sequence: storage is
  idempotent, so a replay stores nothing twice.
- Rebirth (section "Node Control/Rebirth"): an NCMD with the boolean metric
  ``Node Control/Rebirth`` = true makes the node publish its births again; asked on a gap, an
  alias no birth declared, or data from a node (or device) without a session, at most once per
  ``rebirth_min_interval_s`` per node.
- Aliases (6.4.6): births carry name and alias; data may carry the alias only.
- ``is_historical`` (6.4.6): such values are passed on to be stored, but never become a metric's
  latest value here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from services.core.sparkplug.codec import Metric, Payload, is_numeric, resign
from services.core.sparkplug.topic import MessageType, Topic

BD_SEQ = "bdSeq"
REBIRTH_METRIC = "Node Control/Rebirth"
_CONTROL_PREFIXES = ("Node Control/", "Device Control/")
_SEQ_MODULO = 256


class RebirthCause(StrEnum):
    """Why a rebirth was asked: a metric label, so a closed set."""

    SEQ_GAP = "seq_gap"
    UNKNOWN_ALIAS = "unknown_alias"
    DATA_BEFORE_BIRTH = "data_before_birth"


class Ignored(StrEnum):
    """Why a whole message was not acted on: a metric label, so a closed set."""

    STALE_DEATH = "stale_death"
    BEFORE_BIRTH = "before_birth"
    NO_SEQ = "no_seq"
    HELD = "held_for_reorder"


class Skipped(StrEnum):
    """Why one metric of a message yields no value: a metric label, so a closed set."""

    CONTROL = "control"
    NULL = "null"
    NOT_NUMERIC = "not_numeric"
    UNKNOWN_ALIAS = "unknown_alias"


class NodeState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNBORN = "unborn"  # seen, never born while this host ran


class Value(NamedTuple):
    """A metric value to store: ``timestamp_ms`` None when neither the metric nor the payload
    had one (the caller then uses the time of receipt). A named tuple: one per metric."""

    device: str | None
    name: str
    timestamp_ms: int | None
    value: float
    is_historical: bool


@dataclass(slots=True)
class Step:
    """What handling one message (or a timer tick) produced."""

    values: list[Value] = field(default_factory=list)
    rebirth: RebirthCause | None = None  # publish a rebirth request now (already rate-limited)
    rebirth_suppressed: RebirthCause | None = None  # wanted, but one was asked too recently
    ignored: Ignored | None = None
    skipped: Counter[Skipped] = field(default_factory=Counter)
    released: int = 0  # held messages processed by this step


@dataclass(frozen=True, slots=True)
class _Definition:
    device: str | None
    name: str
    datatype: int | None


@dataclass(slots=True)
class _Held:
    seq: int
    topic: Topic
    payload: Payload
    since: float


@dataclass(slots=True)
class _Node:
    state: NodeState = NodeState.UNBORN
    bd_seq: int | None = None
    expected: int | None = None
    aliases: dict[int, _Definition] = field(default_factory=dict)
    names: dict[tuple[str | None, str], _Definition] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)
    held: dict[int, _Held] = field(default_factory=dict)
    rebirth_at: float | None = None
    rebirths: Counter[RebirthCause] = field(default_factory=Counter)
    births: int = 0
    latest: dict[tuple[str | None, str], tuple[int | None, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NodeView:
    """A node as the host sees it, for metrics and the API."""

    group: str
    node: str
    state: NodeState
    bd_seq: int | None
    devices: tuple[str, ...]
    births: int
    rebirth_requests: dict[str, int]


class SparkplugHost:
    def __init__(
        self,
        *,
        reorder_window: int = 8,
        reorder_timeout_s: float = 2.0,
        rebirth_min_interval_s: float = 30.0,
    ) -> None:
        if not 0 <= reorder_window < _SEQ_MODULO // 2:
            raise ValueError("the reorder window is 0 to 127 messages")
        self.reorder_window = reorder_window
        self.reorder_timeout_s = reorder_timeout_s
        self.rebirth_min_interval_s = rebirth_min_interval_s
        self._nodes: dict[tuple[str, str], _Node] = {}

    # ---- queries ------------------------------------------------------------------------------
    def nodes(self) -> list[NodeView]:
        return [
            NodeView(
                group,
                node,
                n.state,
                n.bd_seq,
                tuple(sorted(n.devices)),
                n.births,
                {c.value: k for c, k in n.rebirths.items()},
            )
            for (group, node), n in sorted(self._nodes.items())
        ]

    def latest(
        self, group: str, node: str, device: str | None, name: str
    ) -> tuple[int | None, float] | None:
        """The newest live (not historical) value of a metric: (timestamp ms, value)."""
        n = self._nodes.get((group, node))
        return None if n is None else n.latest.get((device, name))

    # ---- messages -----------------------------------------------------------------------------
    def handle(self, topic: Topic, payload: Payload, now: float) -> Step:
        node = self._nodes.setdefault(topic.node_key, _Node())
        step = Step()
        kind = topic.kind
        if kind is MessageType.NBIRTH:
            self._node_birth(node, payload, step)
            return step
        if kind is MessageType.NDEATH:
            self._node_death(node, payload, step)
            return step
        if kind in (MessageType.NCMD, MessageType.DCMD):
            return step  # commands are for edge nodes (ours included): nothing to store
        if node.state is not NodeState.ONLINE or node.expected is None:
            step.ignored = Ignored.BEFORE_BIRTH
            self._ask_rebirth(node, RebirthCause.DATA_BEFORE_BIRTH, now, step)
            return step
        seq = payload.seq
        if seq is None or not 0 <= seq < _SEQ_MODULO:
            step.ignored = Ignored.NO_SEQ
            self._ask_rebirth(node, RebirthCause.SEQ_GAP, now, step)
            return step
        ahead = (seq - node.expected) % _SEQ_MODULO
        if ahead == 0:
            self._apply(node, topic, payload, now, step)
            node.expected = (seq + 1) % _SEQ_MODULO
            self._release_in_order(node, now, step)
        elif ahead <= self.reorder_window:
            node.held[seq] = _Held(seq, topic, payload, now)
            step.ignored = Ignored.HELD
            self._expire_held(node, now, step)
        elif ahead < _SEQ_MODULO // 2:
            # Further ahead than the window: messages were lost. Process what is held, then this.
            self._gap(node, now, step)
            self._apply(node, topic, payload, now, step)
            node.expected = (seq + 1) % _SEQ_MODULO
        else:
            # Behind: late (given up as lost already) or replayed. Its values are stored (storage
            # keeps the first of a metric at a time); the session's sequence does not move.
            self._apply(node, topic, payload, now, step)
        return step

    def tick(self, now: float) -> dict[tuple[str, str], Step]:
        """Declare the gaps whose held messages waited longer than the reorder timeout: what
        that produced, by (group, node)."""
        steps: dict[tuple[str, str], Step] = {}
        for key, node in self._nodes.items():
            if node.held:
                step = Step()
                self._expire_held(node, now, step)
                if step.released or step.rebirth or step.rebirth_suppressed:
                    steps[key] = step
        return steps

    # ---- sessions -----------------------------------------------------------------------------
    def _node_birth(self, node: _Node, payload: Payload, step: Step) -> None:
        node.state = NodeState.ONLINE
        node.bd_seq = _bd_seq(payload)
        node.expected = ((payload.seq or 0) + 1) % _SEQ_MODULO
        node.aliases.clear()
        node.names.clear()
        node.devices.clear()
        node.held.clear()
        node.births += 1
        self._declare(node, None, payload.metrics)
        self._values(node, None, payload, step)

    def _node_death(self, node: _Node, payload: Payload, step: Step) -> None:
        bd_seq = _bd_seq(payload)
        if node.state is not NodeState.ONLINE or (bd_seq is not None and bd_seq != node.bd_seq):
            step.ignored = Ignored.STALE_DEATH
            return
        node.state = NodeState.OFFLINE
        node.expected = None
        node.devices.clear()
        node.held.clear()

    def _apply(self, node: _Node, topic: Topic, payload: Payload, now: float, step: Step) -> None:
        kind, device = topic.kind, topic.device
        if kind is MessageType.DBIRTH:
            assert device is not None  # parse_topic guarantees it
            node.devices.add(device)
            self._declare(node, device, payload.metrics)
        elif kind is MessageType.DDEATH:
            node.devices.discard(device or "")
            return
        elif kind is MessageType.DDATA and device not in node.devices:
            step.ignored = Ignored.BEFORE_BIRTH
            self._ask_rebirth(node, RebirthCause.DATA_BEFORE_BIRTH, now, step)
            return
        if self._values(node, device, payload, step):
            self._ask_rebirth(node, RebirthCause.UNKNOWN_ALIAS, now, step)

    @staticmethod
    def _declare(node: _Node, device: str | None, metrics: tuple[Metric, ...]) -> None:
        for m in metrics:
            if m.name is None:
                continue
            d = _Definition(device, m.name, m.datatype)
            node.names[(device, m.name)] = d
            if m.alias is not None:
                node.aliases[m.alias] = d

    def _values(self, node: _Node, device: str | None, payload: Payload, step: Step) -> bool:
        """Append the message's values to ``step``; True when an alias was not declared."""
        unknown_alias = False
        for m in payload.metrics:
            if m.name is not None:
                d = node.names.get((device, m.name)) or _Definition(device, m.name, m.datatype)
            else:
                found = node.aliases.get(m.alias) if m.alias is not None else None
                if found is None or found.device != device:
                    step.skipped[Skipped.UNKNOWN_ALIAS] += 1
                    unknown_alias = True
                    continue
                d = found
            name = d.name
            if name == BD_SEQ or name.startswith(_CONTROL_PREFIXES):
                step.skipped[Skipped.CONTROL] += 1
                continue
            datatype = m.datatype if m.datatype is not None else d.datatype
            if m.is_null:
                step.skipped[Skipped.NULL] += 1
                continue
            if m.value is None or not is_numeric(datatype if datatype is not None else 10):
                step.skipped[Skipped.NOT_NUMERIC] += 1
                continue
            value = m.value
            if m.datatype is None and datatype is not None:
                value = resign(value, datatype)  # a data message omits the datatype
            ts = m.timestamp_ms if m.timestamp_ms is not None else payload.timestamp_ms
            step.values.append(Value(device, name, ts, value, m.is_historical))
            if not m.is_historical:
                key = (device, name)
                seen = node.latest.get(key)
                if seen is None or seen[0] is None or (ts is not None and ts >= seen[0]):
                    node.latest[key] = (ts, value)
        return unknown_alias

    # ---- sequence -----------------------------------------------------------------------------
    def _release_in_order(self, node: _Node, now: float, step: Step) -> None:
        while node.expected is not None and node.expected in node.held:
            held = node.held.pop(node.expected)
            self._apply(node, held.topic, held.payload, now, step)
            step.released += 1
            node.expected = (held.seq + 1) % _SEQ_MODULO

    def _expire_held(self, node: _Node, now: float, step: Step) -> None:
        if node.held and min(h.since for h in node.held.values()) + self.reorder_timeout_s <= now:
            self._gap(node, now, step)

    def _gap(self, node: _Node, now: float, step: Step) -> None:
        """Messages are missing: process what is held, in sequence order, and ask a rebirth."""
        self._ask_rebirth(node, RebirthCause.SEQ_GAP, now, step)
        expected = node.expected if node.expected is not None else 0
        for held in sorted(node.held.values(), key=lambda h: (h.seq - expected) % _SEQ_MODULO):
            self._apply(node, held.topic, held.payload, now, step)
            step.released += 1
            node.expected = (held.seq + 1) % _SEQ_MODULO
        node.held.clear()

    def _ask_rebirth(self, node: _Node, cause: RebirthCause, now: float, step: Step) -> None:
        if step.rebirth is not None:
            return  # one request per step is enough
        if node.rebirth_at is not None and now - node.rebirth_at < self.rebirth_min_interval_s:
            step.rebirth_suppressed = cause
            return
        node.rebirth_at = now
        node.rebirths[cause] += 1
        step.rebirth = cause


def _bd_seq(payload: Payload) -> int | None:
    for m in payload.metrics:
        if m.name == BD_SEQ and m.value is not None:
            return int(m.value)
    return None
