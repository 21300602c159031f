"""Which partition a gateway's messages belong to, and what each partition subscribes to."""

from __future__ import annotations

from services.ingest.mqtt.partitions import client_id, partition_of, topic_filters

ENTS = [f"9112011100000{n:04d}X" for n in range(200)]


def test_one_partition_subscribes_to_every_gateway_with_wildcards() -> None:
    assert topic_filters("energymon", 0, 1, ENTS) == {
        "energymon/v1/+/+/readings",
        "energymon/v1/+/+/status",
    }


def test_every_enterprise_belongs_to_exactly_one_of_n_partitions() -> None:
    n = 4
    filters = [topic_filters("em", k, n, ENTS) for k in range(n)]
    for ent in ENTS:
        holders = [k for k in range(n) if f"em/v1/{ent}/+/readings" in filters[k]]
        assert holders == [partition_of(ent, n)]
        assert f"em/v1/{ent}/+/status" in filters[holders[0]]
    assert all(len(f) > 0 for f in filters)  # 200 enterprises spread over all four


def test_the_assignment_is_stable_across_processes() -> None:
    # CRC-32, not Python's salted hash(): every replica and every version agrees
    assert [partition_of("91120111MA05K8XX3E", n) for n in (1, 2, 3, 4)] == [0, 1, 1, 1]
    assert client_id("energymon-ingest", 3) == "energymon-ingest-p3"
