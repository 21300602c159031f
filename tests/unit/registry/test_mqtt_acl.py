from __future__ import annotations

import base64

import pytest

from services.core.errors import ConfigError
from services.core.registry.mqtt_acl import (
    mosquitto_hash,
    plan_credentials,
    read_credentials,
    render_credentials,
    render_files,
    render_gateway_acl,
    render_internal_acl,
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


def test_a_gateway_writes_its_own_readings_and_status_and_reads_only_its_own_commands() -> None:
    acl = render_gateway_acl([("E1", "g1"), ("E1", "g2")], "energymon")
    block = acl.split("user E1.g1\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block == [
        "topic write energymon/v1/E1/g1/readings",
        "topic write energymon/v1/E1/g1/status",
        "topic read energymon/v1/E1/g1/commands",
    ]
    grants = [line for line in acl.splitlines() if line.startswith("topic ")]
    assert not any("+" in line or "#" in line or "$share" in line for line in grants)
    assert "energymon-ingest" not in acl


def test_ingest_reads_every_gateways_readings_and_status_and_writes_their_commands() -> None:
    acl = render_internal_acl("site7", "energymon-ingest")
    assert [line for line in acl.splitlines() if line and not line.startswith("#")] == [
        "user energymon-ingest",
        "topic read site7/v1/+/+/readings",
        "topic read site7/v1/+/+/status",
        "topic write site7/v1/+/+/commands",
        "topic read spBv1.0/#",
        "topic write spBv1.0/STATE/+",
        "topic write spBv1.0/+/NCMD/+",
    ]


def test_a_gateway_bound_to_a_sparkplug_node_publishes_only_as_that_node() -> None:
    acl = render_gateway_acl(
        [("E1", "g1"), ("E1", "g2")], "energymon", {("E1", "g1"): {("plant", "edge-7")}}
    )
    block = acl.split("user E1.g1\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block[3:] == [
        "topic write spBv1.0/plant/NBIRTH/edge-7",
        "topic write spBv1.0/plant/NDATA/edge-7",
        "topic write spBv1.0/plant/NDEATH/edge-7",
        "topic write spBv1.0/plant/DBIRTH/edge-7/+",
        "topic write spBv1.0/plant/DDATA/edge-7/+",
        "topic write spBv1.0/plant/DDEATH/edge-7/+",
        "topic read spBv1.0/plant/NCMD/edge-7",
        "topic read spBv1.0/plant/DCMD/edge-7/+",
        "topic read spBv1.0/STATE/+",
    ]
    other = acl.split("user E1.g2\n", 1)[1]
    assert "spBv1.0" not in other


def test_each_listeners_password_file_holds_only_its_own_accounts() -> None:
    gws = [("E1", "g1"), ("E2", "g9")]
    creds = plan_credentials(gws, {})
    files = render_files(gws, creds, "energymon")
    assert sorted(files) == [
        "credentials.csv", "gateways.acl", "gateways.passwd", "internal.acl", "internal.passwd",
    ]  # fmt: skip

    def users(name: str) -> list[str]:
        return [line.split(":", 1)[0] for line in files[name].splitlines()]

    assert users("internal.passwd") == ["energymon-ingest"]
    assert users("gateways.passwd") == ["E1.g1", "E2.g9"]
    assert read_credentials(files["credentials.csv"]) == {c.username: c.password for c in creds}


def test_ingests_password_comes_from_the_operator_when_given() -> None:
    known = {"energymon-ingest": "old", "E1.g1": "gw-secret"}
    creds = plan_credentials([("E1", "g1")], known, "energymon-ingest", "from-the-url")
    assert [(c.username, c.password) for c in creds] == [
        ("energymon-ingest", "from-the-url"),
        ("E1.g1", "gw-secret"),
    ]
    kept = plan_credentials([("E1", "g1")], known, "energymon-ingest", None)
    assert kept[0].password == "old"


def test_an_ingest_account_named_like_a_gateway_is_refused() -> None:
    with pytest.raises(ConfigError, match="also a gateway"):
        plan_credentials([("E1", "g1")], {}, "E1.g1")
