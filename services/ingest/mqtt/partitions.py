"""Which MQTT partition a gateway's messages belong to, and what a partition subscribes to.

A partition is one persistent broker session (client id ``<base>-p<k>``) with ordinary, non-shared
subscriptions, which Mosquitto restores from its persistence after a restart (2.0 does not restore
shared subscriptions: messages published before ingest re-subscribed were acknowledged to the
gateway and dropped). With one partition it subscribes to every gateway with wildcards; with
``n`` partitions, partition ``k`` subscribes, per enterprise, to the enterprises whose code hashes
to ``k`` (CRC-32, stable across processes and versions), so each message has exactly one session.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable


def partition_of(enterprise: str, partitions: int) -> int:
    return zlib.crc32(enterprise.encode()) % partitions


def client_id(base: str, partition: int) -> str:
    return f"{base}-p{partition}"


def topic_filters(
    root: str, partition: int, partitions: int, enterprises: Iterable[str]
) -> frozenset[str]:
    """The readings and status filters partition ``partition`` of ``partitions`` holds."""
    if partitions == 1:
        return frozenset({f"{root}/v1/+/+/readings", f"{root}/v1/+/+/status"})
    mine = [e for e in enterprises if partition_of(e, partitions) == partition]
    return frozenset(f"{root}/v1/{ent}/+/{kind}" for ent in mine for kind in ("readings", "status"))
