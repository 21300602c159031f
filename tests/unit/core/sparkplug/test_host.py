"""The host's edge node sessions: births, deaths, seq, aliases and rebirth requests."""

from __future__ import annotations

from services.core.sparkplug.codec import DataType, MetricOut, decode_payload, encode_payload
from services.core.sparkplug.host import (
    Ignored,
    NodeState,
    RebirthCause,
    Skipped,
    SparkplugHost,
    Step,
)
from services.core.sparkplug.topic import MessageType, Topic, parse_topic

G, N = "plant", "edge-1"
T0 = 1_764_633_600_000  # 2025-12-02T00:00:00Z in ms


def _topic(kind: MessageType, device: str | None = None) -> Topic:
    return Topic(G, kind, N, device)


def _birth(host: SparkplugHost, bd_seq: int = 1, now: float = 0.0) -> Step:
    payload = encode_payload(
        [
            MetricOut(bd_seq, DataType.INT64, name="bdSeq", timestamp_ms=T0),
            MetricOut(False, DataType.BOOLEAN, name="Node Control/Rebirth", timestamp_ms=T0),
            MetricOut(10.0, DataType.DOUBLE, name="Energy", alias=1, timestamp_ms=T0),
            MetricOut(5, DataType.INT32, name="Power", alias=2, timestamp_ms=T0),
        ],
        timestamp_ms=T0,
        seq=0,
    )
    return host.handle(_topic(MessageType.NBIRTH), decode_payload(payload), now)


def _data(
    host: SparkplugHost,
    seq: int,
    value: float,
    *,
    alias: int = 1,
    ts: int | None = None,
    historical: bool = False,
    now: float = 0.0,
) -> Step:
    payload = encode_payload(
        [
            MetricOut(
                value,
                DataType.DOUBLE,
                alias=alias,
                timestamp_ms=ts or T0 + seq * 1000,
                is_historical=historical,
            )
        ],
        timestamp_ms=T0,
        seq=seq,
        with_datatype=False,
    )
    return host.handle(_topic(MessageType.NDATA), decode_payload(payload), now)


def _death(host: SparkplugHost, bd_seq: int) -> Step:
    payload = encode_payload(
        [MetricOut(bd_seq, DataType.INT64, name="bdSeq")], timestamp_ms=T0, seq=None
    )
    return host.handle(_topic(MessageType.NDEATH), decode_payload(payload), 0.0)


def test_topics_parse_and_reject():
    assert parse_topic("spBv1.0/plant/NDATA/edge-1") == Topic(G, MessageType.NDATA, N)
    assert parse_topic("spBv1.0/plant/DDATA/edge-1/m1") == Topic(G, MessageType.DDATA, N, "m1")
    assert parse_topic("spBv1.0/STATE/host") is None
    assert parse_topic("spBv1.0/plant/NDATA/edge-1/m1") is None  # node message with a device
    assert parse_topic("spBv1.0/plant/DDATA/edge-1") is None
    assert parse_topic("energymon/v1/x/y/readings") is None


def test_birth_values_are_stored_without_bdseq_and_control_metrics():
    host = SparkplugHost()
    step = _birth(host)
    assert [(v.name, v.value) for v in step.values] == [("Energy", 10.0), ("Power", 5.0)]
    assert step.skipped[Skipped.CONTROL] == 2
    (view,) = host.nodes()
    assert (view.state, view.bd_seq, view.births) == (NodeState.ONLINE, 1, 1)


def test_data_resolves_aliases_from_the_birth():
    host = SparkplugHost()
    _birth(host)
    step = _data(host, 1, 11.5)
    assert [(v.name, v.value, v.timestamp_ms) for v in step.values] == [("Energy", 11.5, T0 + 1000)]
    assert step.rebirth is None


def test_data_before_birth_is_ignored_and_asks_a_rebirth():
    host = SparkplugHost()
    step = _data(host, 4, 1.0)
    assert step.ignored is Ignored.BEFORE_BIRTH
    assert step.values == []
    assert step.rebirth is RebirthCause.DATA_BEFORE_BIRTH


def test_an_unknown_alias_asks_a_rebirth_and_skips_only_that_metric():
    host = SparkplugHost()
    _birth(host)
    step = _data(host, 1, 3.0, alias=99)
    assert step.rebirth is RebirthCause.UNKNOWN_ALIAS
    assert step.skipped[Skipped.UNKNOWN_ALIAS] == 1


def test_a_seq_gap_beyond_the_window_asks_exactly_one_rebirth():
    host = SparkplugHost(reorder_window=2, rebirth_min_interval_s=30)
    _birth(host)
    _data(host, 1, 1.0)
    step = _data(host, 7, 2.0, now=1.0)  # 2-6 lost
    assert step.rebirth is RebirthCause.SEQ_GAP
    assert [v.value for v in step.values] == [2.0]  # still stored
    again = _data(host, 12, 3.0, now=2.0)  # another gap within the interval
    assert again.rebirth is None
    assert again.rebirth_suppressed is RebirthCause.SEQ_GAP
    assert host.nodes()[0].rebirth_requests == {"seq_gap": 1}


def test_reordered_messages_inside_the_window_are_put_back_in_order():
    host = SparkplugHost(reorder_window=4)
    _birth(host)
    held = _data(host, 2, 2.0)
    assert held.ignored is Ignored.HELD
    assert held.values == []
    step = _data(host, 1, 1.0)
    assert [v.value for v in step.values] == [1.0, 2.0]
    assert step.released == 1
    assert step.rebirth is None
    assert _data(host, 3, 3.0).values[0].value == 3.0


def test_a_lost_message_is_declared_after_the_reorder_timeout():
    host = SparkplugHost(reorder_window=4, reorder_timeout_s=2.0)
    _birth(host)
    _data(host, 2, 2.0, now=10.0)  # 1 lost
    assert host.tick(11.0) == {}
    step = host.tick(12.5)[(G, N)]
    assert step.rebirth is RebirthCause.SEQ_GAP
    assert [v.value for v in step.values] == [2.0]
    assert _data(host, 3, 3.0, now=13.0).values[0].value == 3.0  # sequence resumed after 2


def test_seq_wraps_from_255_to_0():
    host = SparkplugHost()
    _birth(host)
    for seq in range(1, 256):
        assert _data(host, seq, float(seq)).rebirth is None
    assert _data(host, 0, 256.0).rebirth is None
    assert _data(host, 1, 257.0).rebirth is None


def test_a_replayed_message_is_passed_on_without_moving_the_sequence():
    host = SparkplugHost()
    _birth(host)
    _data(host, 1, 1.0)
    _data(host, 2, 2.0)
    replay = _data(host, 1, 1.0)
    assert [v.value for v in replay.values] == [1.0]  # storage keeps the first copy
    assert replay.rebirth is None
    assert _data(host, 3, 3.0).rebirth is None


def test_historical_values_are_passed_on_but_never_latest():
    host = SparkplugHost()
    _birth(host)
    _data(host, 1, 20.0, ts=T0 + 60_000)
    step = _data(host, 2, 99.0, ts=T0 + 120_000, historical=True)
    assert step.values[0].is_historical
    assert host.latest(G, N, None, "Energy") == (T0 + 60_000, 20.0)


def test_a_stale_death_does_not_end_a_newer_session():
    host = SparkplugHost()
    _birth(host, bd_seq=4)
    step = _death(host, bd_seq=3)
    assert step.ignored is Ignored.STALE_DEATH
    assert host.nodes()[0].state is NodeState.ONLINE
    _death(host, bd_seq=4)
    assert host.nodes()[0].state is NodeState.OFFLINE
    assert _data(host, 1, 1.0).ignored is Ignored.BEFORE_BIRTH


def test_device_birth_data_and_death():
    host = SparkplugHost()
    _birth(host)
    dbirth = encode_payload(
        [MetricOut(7.0, DataType.FLOAT, name="kWh", alias=10, timestamp_ms=T0)],
        timestamp_ms=T0,
        seq=1,
    )
    step = host.handle(_topic(MessageType.DBIRTH, "m1"), decode_payload(dbirth), 0.0)
    assert [(v.device, v.name) for v in step.values] == [("m1", "kWh")]
    ddata = encode_payload(
        [MetricOut(8.0, DataType.FLOAT, alias=10, timestamp_ms=T0 + 1)],
        timestamp_ms=T0,
        seq=2,
        with_datatype=False,
    )
    step = host.handle(_topic(MessageType.DDATA, "m1"), decode_payload(ddata), 0.0)
    assert [(v.device, v.name, v.value) for v in step.values] == [("m1", "kWh", 8.0)]
    ddeath = encode_payload([], timestamp_ms=T0, seq=3)
    host.handle(_topic(MessageType.DDEATH, "m1"), decode_payload(ddeath), 0.0)
    assert host.nodes()[0].devices == ()
    late = encode_payload([MetricOut(9.0, DataType.FLOAT, alias=10)], timestamp_ms=T0, seq=4)
    step = host.handle(_topic(MessageType.DDATA, "m1"), decode_payload(late), 100.0)
    assert step.ignored is Ignored.BEFORE_BIRTH
    assert step.rebirth is RebirthCause.DATA_BEFORE_BIRTH


def test_a_new_birth_replaces_aliases():
    host = SparkplugHost()
    _birth(host)
    payload = encode_payload(
        [
            MetricOut(2, DataType.INT64, name="bdSeq"),
            MetricOut(1.0, DataType.DOUBLE, name="Energy", alias=50, timestamp_ms=T0),
        ],
        timestamp_ms=T0,
        seq=0,
    )
    host.handle(_topic(MessageType.NBIRTH), decode_payload(payload), 0.0)
    assert _data(host, 1, 5.0, alias=50).values[0].name == "Energy"
    assert _data(host, 2, 5.0, alias=1).skipped[Skipped.UNKNOWN_ALIAS] == 1
