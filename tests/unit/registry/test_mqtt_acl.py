from __future__ import annotations

import base64

from services.core.registry.mqtt_acl import (
    mosquitto_hash,
    plan_credentials,
    read_credentials,
    render_acl,
    render_credentials,
)


def test_password_hash_matches_mosquitto_passwd_byte_for_byte() -> None:
    # produced by `mosquitto_passwd -b pw alice secret` (Mosquitto 2.0.11)
    salt = base64.b64decode("vABxm22in32NVw5O")
    assert mosquitto_hash("secret", salt=salt) == (
        "$7$101$vABxm22in32NVw5O$uVnuJ+qGG3z1Csw3zJyZKx4oRG3bUaiBVBe7pxYOXBh6Qp/xS2zJuSVHZ8aRYcH1"
        "jFHHMw+SdyPhathYgGhGhQ=="
    )


def test_rerunning_keeps_passwords_adds_new_gateways_and_drops_removed_ones() -> None:
    first = plan_credentials([("E1", "g1"), ("E1", "g2")], {})
    known = read_credentials(render_credentials(first))
    second = plan_credentials([("E1", "g1"), ("E2", "g9")], known)
    names = [c.username for c in second]
    assert names == ["energymon-ingest", "E1.g1", "E2.g9"]
    assert second[0].password == first[0].password
    assert second[1].password == first[1].password
    assert second[2].password not in {c.password for c in first}
    assert len(second[2].password) >= 24


def test_a_gateway_may_write_only_its_own_topics() -> None:
    acl = render_acl([("E1", "g1")], "energymon")
    block = acl.split("user E1.g1\n", 1)[1].strip().splitlines()
    assert block == [
        "topic write energymon/v1/E1/g1/readings",
        "topic write energymon/v1/E1/g1/status",
    ]
