"""A Sparkplug edge node through the shipped broker: it logs in with its gateway's account on the
TLS gateway listener and may publish only as its own node; the ingest account on the internal
listener receives its messages and may send it rebirth commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update

from services.core.db import make_engine
from services.core.schema.tables import meters
from services.core.settings import DatabaseSettings
from tests.integration.broker.conftest import DeployBroker, running_deploy_broker
from tests.integration.broker.probe import NOT_AUTHORIZED
from tests.integration.conftest import ENT_A

BINDING = {"sparkplug": {"group": "plant-1", "node": "edge-7", "metrics": {"E": "power_kw"}}}


@pytest.fixture
def sparkplug_broker(small_district: DatabaseSettings) -> Iterator[DeployBroker]:
    engine = make_engine(small_district)
    with engine.begin() as conn:  # M-100 sits behind gw-01: gw-01's account is the edge node's
        conn.execute(update(meters).where(meters.c.code == "M-100").values(connection=BINDING))
    engine.dispose()
    with running_deploy_broker(small_district) as broker:
        yield broker


def test_an_edge_node_publishes_as_itself_and_the_host_reads_and_commands_it(sparkplug_broker):
    b = sparkplug_broker
    host = b.ingest()
    assert host.connect() == 0
    host.subscribe("spBv1.0/#")
    edge = b.gateway(ENT_A, "gw-01")
    assert edge.connect() == 0
    ncmd = "spBv1.0/plant-1/NCMD/edge-7"
    edge.subscribe(ncmd)
    assert edge.publish("spBv1.0/plant-1/NBIRTH/edge-7", b"birth") in (0, 16)
    assert edge.publish("spBv1.0/plant-1/DDATA/edge-7/meter-1", b"data") in (0, 16)
    host.wait_received(1, "spBv1.0/plant-1/NBIRTH/edge-7")
    host.wait_received(1, "spBv1.0/plant-1/DDATA/edge-7/meter-1")
    assert host.publish(ncmd, b"rebirth") == 0
    edge.wait_received(1, ncmd)
    assert host.publish("spBv1.0/STATE/energymon", b'{"online": true}', retain=True) == 0
    # another node's topics, its own commands, a host's STATE: refused
    assert edge.publish("spBv1.0/plant-1/NDATA/edge-8", b"x") == NOT_AUTHORIZED
    other = b.gateway(ENT_A, "gw-02")
    assert other.connect() == 0
    assert other.publish("spBv1.0/plant-1/NDATA/edge-7", b"spoof") == NOT_AUTHORIZED
    assert other.publish("spBv1.0/STATE/energymon", b"{}") == NOT_AUTHORIZED
    other.close()
    edge.close()
    host.close()
